"""Functions: create, read, update, delete, tags, code usage.

Configurations live in the catalog (``services.function_catalog``: cached in memory,
write-through to the store); packages in the code store (``services.function_packages``).
Every write validates first and stores in one transaction, so a rejected request changes
nothing. Requests arrive typed and shape-checked (``api.lambda_wire.functions``); the rules
here are the service's own (AWS's InvalidParameterValueException, 404, 409, 412).

State transitions (``domain.function_states``): AWS answers CreateFunction with ``State:
Pending``, then the function is ``Active``; Lamina's functions are ready as soon as the
package is stored, so only the answer shows ``Pending``. An update is stored ``InProgress``
(a version published with it ``Pending``) and applied after its answer by
``services.function_updates`` (milliseconds); meanwhile another update is refused (409) and
invocations run the configuration from before the update, as on AWS.

Signals: ``function_changed`` after every write to a function (code, configuration,
deletion), ``function_deleted`` after a whole function is deleted.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from functools import partial

from lamina.domain import function_rules, function_states, names, versions
from lamina.domain.errors import (
    InvalidParameterValueException,
    PreconditionFailedException,
    ResourceConflictException,
)
from lamina.domain.models import LATEST, FunctionConfig, FunctionLayer
from lamina.domain.requests.functions import (
    CodeUsage,
    CreatedFunction,
    CreateFunctionRequest,
    FunctionDetails,
    FunctionPage,
    UpdateFunctionCodeRequest,
    UpdateFunctionConfigurationRequest,
)
from lamina.services.function_catalog import FunctionCatalog
from lamina.services.function_packages import (
    FunctionPackages,
    now_lambda_timestamp,
    off_loop_for_large,
    packages_of,
    storage_error,
    zip_of,
)
from lamina.services.function_updates import FunctionUpdates
from lamina.services.signals import LambdaSignals

LIST_PAGE_LIMIT = 50
LATEST_ONLY = (
    "Current operation does not support versions other than $LATEST. "
    "Please set the version to $LATEST or do not set a version in your request."
)


class FunctionService:
    """The function operations over the catalog (configurations) and the packages (code)."""

    def __init__(
        self,
        catalog: FunctionCatalog,
        packages: FunctionPackages,
        signals: LambdaSignals,
        code_url: Callable[[str], str],
        update_settle_seconds: float = 0.0,
    ) -> None:
        self.catalog = catalog
        self.packages = packages
        self.store = catalog.store
        self.aliases = catalog.aliases
        self.region = catalog.region
        self.account = catalog.account
        self._signals = signals
        self._code_url = code_url
        # Applies updates after their answers (``LastUpdateStatus: InProgress`` meanwhile).
        self.updates = FunctionUpdates(catalog, signals, update_settle_seconds)

    # --- lookups (for the other services) ---------------------------------------------------

    def config(self, name: str, version: str = LATEST) -> FunctionConfig | None:
        """A version's configuration (``$LATEST`` by default); None if there is none."""
        return self.catalog.config(name, version)

    def require(
        self, name: str, qualifier: str | None = None, *, route: bool = False
    ) -> FunctionConfig:
        """The configuration a qualifier names (``FunctionCatalog.require``)."""
        return self.catalog.require(name, qualifier, route=route)

    # --- create -------------------------------------------------------------------------------

    async def create(self, request: CreateFunctionRequest) -> CreatedFunction:
        zip_file = request.code.zip_file
        settings = request.settings
        check = partial(
            function_rules.check_create_rules,
            runtime=settings.runtime,
            handler=settings.handler,
            package_type=request.package_type or "Zip",
            environment=settings.environment,
            layers=settings.layers,
            memory_size=settings.memory_size,
            tags=request.tags,
            zip_file=zip_file,
            region=self.region,
        )
        await off_loop_for_large(zip_file, check)
        zip_bytes = zip_of(request.code)
        layers = self.packages.resolve_layers(settings.layers)
        if layers:
            unzipped = await off_loop_for_large(
                zip_bytes, partial(function_rules.validate_zip, zip_bytes)
            )
            self.packages.check_size(unzipped, layers)
        if self.config(request.name) is not None:
            raise ResourceConflictException(f"Function already exist: {request.name}")
        stored = await self.packages.store(zip_bytes, layers)
        try:
            return self._create_stored(request, stored.sha256, len(zip_bytes), layers)
        except sqlite3.OperationalError as exc:
            raise storage_error(exc) from None
        finally:
            await self.packages.release(stored)

    def _create_stored(
        self,
        request: CreateFunctionRequest,
        sha: str,
        code_size: int,
        layers: tuple[FunctionLayer, ...],
    ) -> CreatedFunction:
        name = request.name
        config = FunctionConfig(
            name=name,
            region=self.region,
            account=self.account,
            role=request.settings.role or "",
            runtime=request.settings.runtime,
            handler=request.settings.handler,
            code_sha256=sha,
            code_size=code_size,
            last_modified=now_lambda_timestamp(),
            revision_id=str(uuid.uuid4()),
            architectures=request.architectures or ("x86_64",),
            package_type=request.package_type or "Zip",
            layers=layers,
        )
        config = request.settings.apply_to(config)
        active = config.replace(
            state="Active",
            state_reason=None,
            state_reason_code=None,
            last_update_status="Successful",
            revision_id=str(uuid.uuid4()),
        )
        if not self.store.create(active, dict(request.tags), time.time()):
            raise ResourceConflictException(f"Function already exist: {name}")
        self.catalog.remember(active)
        published = self.catalog.publish(active)[0] if request.publish else None
        return CreatedFunction(config, published)

    # --- read ---------------------------------------------------------------------------------

    def get_function(self, name: str, qualifier: str | None) -> FunctionDetails:
        config = self.require(name, qualifier)
        tags = None
        if qualifier in (None, LATEST):
            tags = self.store.get_tags(name) or None
        return FunctionDetails(config, qualifier, self._code_url(config.code_sha256), tags)

    def get_configuration(self, name: str, qualifier: str | None) -> FunctionConfig:
        return self.require(name, qualifier)

    def list_functions(
        self, *, all_versions: bool, marker: str | None, max_items: int | None
    ) -> FunctionPage:
        """A page of functions by name (at most 50), after ``marker`` (a function name)."""
        limit = min(max_items or LIST_PAGE_LIMIT, LIST_PAGE_LIMIT)
        latest = self.store.list_latest(marker, limit + 1)
        page = latest[:limit]
        configs: list[FunctionConfig] = []
        for config in page:
            configs.append(config)
            if all_versions:
                configs.extend(self.catalog.published(config.name))
        more = len(latest) > limit
        return FunctionPage(configs, all_versions, page[-1].name if more else None)

    # --- update -------------------------------------------------------------------------------

    def _require_latest(
        self, name: str, qualifier: str | None, revision_id: str | None
    ) -> FunctionConfig:
        if qualifier not in (None, LATEST):
            raise InvalidParameterValueException(LATEST_ONLY)
        config = self.require(name)
        if revision_id is not None and revision_id != config.revision_id:
            raise PreconditionFailedException(versions.REVISION_MISMATCH)
        function_states.check_not_updating(config)
        return config

    async def update_code(self, request: UpdateFunctionCodeRequest) -> FunctionConfig:
        """The function as the response shows it: ``InProgress``, or the version published
        with it (``Publish``); ``$LATEST`` unchanged for ``DryRun``."""
        current = self._require_latest(request.name, request.qualifier, request.revision_id)
        check = partial(
            function_rules.check_update_code_rules,
            package_type=current.package_type,
            image_uri=request.code.image_uri,
            zip_file=request.code.zip_file,
        )
        await off_loop_for_large(request.code.zip_file, check)
        zip_bytes = zip_of(request.code)
        if current.layers:
            unzipped = await off_loop_for_large(
                zip_bytes, partial(function_rules.validate_zip, zip_bytes)
            )
            self.packages.check_size(unzipped, current.layers)
        if request.dry_run:
            return current
        stored = await self.packages.store(zip_bytes, current.layers)
        try:
            latest = self._require_latest(request.name, request.qualifier, request.revision_id)
            updated = latest.replace(
                code_sha256=stored.sha256,
                code_size=len(zip_bytes),
                last_modified=now_lambda_timestamp(),
                architectures=request.architectures or latest.architectures,
            )
            # The package before the update serves invocations until the update is applied.
            old = {latest.code_sha256} - {stored.sha256}
            response = self._commit_update(latest, updated, publish=request.publish, release=old)
        except sqlite3.OperationalError as exc:
            raise storage_error(exc) from None
        finally:
            await self.packages.release(stored)
        return response

    async def update_configuration(
        self, request: UpdateFunctionConfigurationRequest
    ) -> FunctionConfig:
        """The function as the response shows it (``LastUpdateStatus: InProgress``)."""
        settings = request.settings
        current = self._require_latest(request.name, request.qualifier, request.revision_id)
        function_rules.check_runtime(settings.runtime)
        function_rules.check_settings_rules(
            settings.environment, settings.layers, settings.memory_size, self.region
        )
        layers: tuple[FunctionLayer, ...] | None = None
        if settings.layers is not None:
            layers = self.packages.resolve_layers(settings.layers)
            if layers:
                self.packages.check_size(self.packages.unzipped_size(current.code_sha256), layers)
                # The merged /opt is built now, in a thread, not at the next cold start.
                await asyncio.to_thread(self.packages.prepare_layers, layers)
            current = self._require_latest(request.name, request.qualifier, request.revision_id)
        updated = settings.apply_to(current).replace(last_modified=now_lambda_timestamp())
        if layers is not None:
            updated = updated.replace(layers=layers)
        # Packages of layer versions deleted meanwhile that nothing uses any more, once the
        # configuration before the update stops serving.
        old: set[str] = set()
        if current.layers != updated.layers:
            old = {layer.code_sha256 for layer in current.layers}
        try:
            return self._commit_update(current, updated, publish=False, release=old)
        except sqlite3.OperationalError as exc:
            raise storage_error(exc) from None

    def _commit_update(
        self,
        previous: FunctionConfig,
        updated: FunctionConfig,
        *,
        publish: bool,
        release: set[str],
    ) -> FunctionConfig:
        """Store ``updated`` as ``$LATEST`` with ``LastUpdateStatus: InProgress`` (and, with
        ``publish``, a new version of it, ``Pending``); ``self.updates`` applies both after
        the answer, then collects the packages in ``release`` that nothing uses any more.
        The answer is ``$LATEST`` in progress, or the version published."""
        in_progress = updated.replace(
            revision_id=str(uuid.uuid4()), **function_states.UPDATE_IN_PROGRESS
        )
        self.catalog.begin_update(previous, in_progress)
        published: FunctionConfig | None = None
        created = False
        try:
            if publish:
                # The answer is the new version, still being created (recorded:
                # TestLambdaVersions::test_publish_with_update).
                published, created = self.catalog.publish(in_progress, pending=True)
        finally:
            # Even if publishing failed, the update stored is applied.
            pending = published.version if created and published is not None else None
            # ``function_changed`` is emitted when it is applied: until then the warm
            # environments of the configuration before the update serve invocations.
            after = partial(self.packages.collect_later, release) if release else None
            self.updates.begin(in_progress.name, pending, after)
        return in_progress if published is None else published

    # --- delete -------------------------------------------------------------------------------

    async def delete(self, name: str, qualifier: str | None) -> None:
        """Delete a function (``qualifier`` None) or one published version. AWS names the
        unqualified ARN when the function is missing, and deleting a version that does not
        exist succeeds (recorded: test_delete_on_nonexisting_version)."""
        if qualifier == LATEST:
            raise InvalidParameterValueException(
                "$LATEST version cannot be deleted without deleting the function."
            )
        latest = self.require(name)
        if qualifier is not None:
            version = self.config(name, qualifier)
            if version is None:
                return
            self.aliases.check_unreferenced(name, qualifier)
            # Deleting frees space: on a full disk its transaction gets the space reserve.
            self.packages.code.free_space_for(lambda: self.store.delete_version(name, qualifier))
            self.catalog.forget_version(name, qualifier)
            shas = packages_of(version)
        else:
            shas = packages_of(latest)
            for published in self.catalog.published(name):
                shas |= packages_of(published)
            self.packages.code.free_space_for(lambda: self.store.delete(name))
            self.catalog.forget_function(name)
            self.updates.forget(name)
            self.aliases.forget_function(name)
        self._signals.function_changed.emit(name)
        if qualifier is None:
            self._signals.function_deleted.emit(name)
        await self.packages.collect_later(shas)

    # --- tags ---------------------------------------------------------------------------------

    def _require_tagged(self, name: str) -> dict[str, str]:
        tags = self.store.get_tags(name)
        if tags is None:
            raise names.function_not_found(self.region, self.account, name)
        return tags

    def tag(self, name: str, tags: Mapping[str, str]) -> None:
        existing = self._require_tagged(name)
        names.validate_tags(tags, existing=existing, require_nonempty=True)
        self._set_tags(name, {**existing, **tags})

    def untag(self, name: str, keys: Sequence[str]) -> None:
        tags = self._require_tagged(name)
        for key in keys:
            tags.pop(key, None)
        self._set_tags(name, tags)

    def list_tags(self, name: str) -> dict[str, str]:
        return self._require_tagged(name)

    def _set_tags(self, name: str, tags: dict[str, str]) -> None:
        """Tags and a new $LATEST RevisionId in one transaction: AWS's RevisionId changes
        with every TagResource/UntagResource (recorded in TestLambdaTags)."""
        latest = self.require(name)
        revised = latest.replace(revision_id=str(uuid.uuid4()))
        self.store.set_tags(name, tags, revised)
        self.catalog.remember(revised)

    # --- account ------------------------------------------------------------------------------

    def code_usage(self) -> CodeUsage:
        """``AccountUsage.TotalCodeSize`` as AWS counts it: the zip of every function version
        and layer version. The limit (``AccountLimit.TotalCodeSize``, configurable) is
        enforced on what code takes on disk, which is more: Lamina keeps each package
        unzipped too (``CodeStore.used_bytes``)."""
        count, _ = self.store.code_usage()
        total = self.packages.total_code_size()
        return CodeUsage(total, count, self.packages.code.limit_bytes)
