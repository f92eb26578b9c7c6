"""Functions: create, read, update, delete, tags, account settings.

Configurations are cached in memory (write-through to the store) so the invoke path
never touches SQLite. Every write validates first and stores in one transaction, so
a rejected request changes nothing.

State transitions: AWS answers CreateFunction with ``State: Pending`` and updates with
``LastUpdateStatus: InProgress``, then moves to ``Active``/``Successful`` once the
function is ready. Lamina's functions are ready as soon as the package is stored, so
the stored (and every later) view is already ``Active``/``Successful``, while the
response to the write itself shows the transitional state, as AWS's does.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from lamina.domain import names, validation, versions
from lamina.domain.aliases import is_alias_name
from lamina.domain.errors import (
    InvalidParameterValueException,
    PreconditionFailedException,
    ResourceConflictException,
    ValidationException,
)
from lamina.domain.models import LATEST, FunctionConfig, FunctionLayer
from lamina.store.code import CodeStore, StoredPackage, storage_exceeded
from lamina.store.disk_full import is_disk_full
from lamina.store.ports import FunctionStore

if TYPE_CHECKING:
    from lamina.services.aliases import AliasService
    from lamina.services.layers import LayerService

LIST_PAGE_LIMIT = 50
LARGE_PACKAGE_BYTES = 1 << 20
T = TypeVar("T")
PASSTHROUGH_FIELDS = (
    "VpcConfig",
    "DeadLetterConfig",
    "KMSKeyArn",
    "FileSystemConfigs",
)


async def off_loop_for_large(package: object, check: Callable[[], T]) -> T:
    """Run a check that reads a package's central directory: in a thread for a large
    package (thousands of entries take tens of milliseconds), inline otherwise."""
    if isinstance(package, (bytes, bytearray)) and len(package) >= LARGE_PACKAGE_BYTES:
        return await asyncio.to_thread(check)
    return check()


def now_lambda_timestamp() -> str:
    """``2019-11-21T19:32:12.000+0000``."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"


def s3_unavailable(bucket: str) -> InvalidParameterValueException:
    """A package given by S3 location: Lamina has no S3 (yet)."""
    return InvalidParameterValueException(
        "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: "
        f"The specified bucket does not exist ({bucket}): Lamina has no S3 yet; "
        "upload the package with ZipFile."
    )


class FunctionService:
    def __init__(
        self,
        store: FunctionStore,
        code: CodeStore,
        region: str,
        account: str,
        code_url: Callable[[str], str],
        on_change: Callable[[str], None],
        layers: LayerService | None = None,
    ) -> None:
        self.store = store
        self.layers = layers
        self.code = code
        self.region = region
        self.account = account
        self._code_url = code_url
        self._on_change = on_change
        self._cache: dict[tuple[str, str], FunctionConfig] = {}
        # Set when aliases are wired in: alias qualifiers resolve through it.
        self.aliases: AliasService | None = None
        # A function's reserved concurrency, for GetFunction's ``Concurrency`` (set by the
        # server to ``ConcurrencyService.reserved``).
        self.reserved_concurrency: Callable[[str], int | None] | None = None

    # --- lookups -------------------------------------------------------------------

    def ref(self, params: dict[str, Any], operation: str) -> names.FunctionRef:
        return names.parse_function_name(
            params.get("FunctionName", ""),
            operation=operation,
            qualifier=params.get("Qualifier"),
            region=self.region,
            account=self.account,
        )

    def config(self, name: str, version: str = LATEST) -> FunctionConfig | None:
        key = (name, version)
        cached = self._cache.get(key)
        if cached is None:
            cached = self.store.get(name, version)
            if cached is not None:
                self._cache[key] = cached
        return cached

    def require(
        self, name: str, qualifier: str | None = None, *, route: bool = False
    ) -> FunctionConfig:
        """The configuration a qualifier names: ``$LATEST`` (None), a version, or an alias's
        version. ``route``: for an invocation, an alias picks its version by its weights."""
        version = qualifier or LATEST
        if self.aliases is not None and is_alias_name(version):
            alias = self.aliases.lookup(name, version)
            if alias is not None:
                version = self.aliases.route(alias) if route else alias.function_version
        found = self.config(name, version)
        if found is None:
            raise names.function_not_found(self.region, self.account, name, qualifier)
        return found

    def _save(self, config: FunctionConfig) -> None:
        self.store.put_version(config)
        self._cache[(config.name, config.version)] = config

    # --- create -------------------------------------------------------------------

    async def create(self, params: dict[str, Any]) -> dict[str, Any]:
        # Shape validation first (a bad name is reported with every other bad member), then
        # the name's account/region, then the service rules and the package.
        validation.validate_create_shapes(params)
        ref = self.ref(params, "CreateFunction")
        await off_loop_for_large(
            (params.get("Code") or {}).get("ZipFile"),
            partial(validation.validate_create_rules, params, region=self.region),
        )
        zip_bytes, code_size = self._code_from_request(params.get("Code") or {})
        tags = params.get("Tags") or {}
        if tags:
            names.validate_tags(tags)
        layers = self._layers(params.get("Layers"))
        if layers:
            unzipped = await off_loop_for_large(
                zip_bytes, partial(validation.validate_zip, zip_bytes)
            )
            self._check_size(unzipped, layers)
        if self.config(ref.name) is not None:
            raise ResourceConflictException(f"Function already exist: {ref.name}")
        stored = await self._store_package(zip_bytes, layers)
        try:
            return self._create_stored(params, ref.name, stored.sha256, code_size, layers, tags)
        except sqlite3.OperationalError as exc:
            raise _storage_error(exc) from None
        finally:
            await self._release_package(stored)

    def _create_stored(
        self,
        params: dict[str, Any],
        name: str,
        sha: str,
        code_size: int,
        layers: tuple[FunctionLayer, ...],
        tags: dict[str, str],
    ) -> dict[str, Any]:
        config = FunctionConfig(
            name=name,
            region=self.region,
            account=self.account,
            role=params["Role"],
            runtime=params.get("Runtime"),
            handler=params.get("Handler"),
            code_sha256=sha,
            code_size=code_size,
            last_modified=now_lambda_timestamp(),
            revision_id=str(uuid.uuid4()),
            architectures=tuple(params.get("Architectures") or ("x86_64",)),
            package_type=params.get("PackageType") or "Zip",
            layers=layers,
        )
        config = _apply_settings(config, params)
        active = config.replace(
            state="Active",
            state_reason=None,
            state_reason_code=None,
            last_update_status="Successful",
            revision_id=str(uuid.uuid4()),
        )
        if not self.store.create(active, dict(tags), time.time()):
            raise ResourceConflictException(f"Function already exist: {name}")
        self._cache[(name, LATEST)] = active
        response = config.to_wire()
        if params.get("Publish"):
            published, _ = self.publish(active)
            response["Version"] = published.version
        return response

    async def _store_package(
        self, zip_bytes: bytes, layers: tuple[FunctionLayer, ...]
    ) -> StoredPackage:
        """Verify, store and unpack a package (and merge its layers' ``/opt``) in a thread:
        large packages take seconds, which the event loop must not wait for. The package
        stays pinned until ``_release_package``."""

        def work() -> StoredPackage:
            stored = self.code.put(zip_bytes)
            try:
                self._prepare_layers(layers)
            except BaseException:
                self.code.unpin(stored.sha256)
                self._collect_code({stored.sha256})
                raise
            return stored

        return await asyncio.to_thread(work)

    async def _release_package(self, stored: StoredPackage) -> None:
        """After the request: unpinned, and removed again if nothing references it (a
        request that failed after storing it)."""
        self.code.unpin(stored.sha256)
        if stored.new:
            await asyncio.to_thread(self._collect_code, {stored.sha256})

    def _prepare_layers(self, layers: tuple[FunctionLayer, ...]) -> None:
        if layers and self.layers is not None:
            self.layers.prepare_opt([layer.code_sha256 for layer in layers])

    def _layers(self, arns: list[str] | None) -> tuple[FunctionLayer, ...]:
        """The layer versions a request's ``Layers`` names (already validated in shape, count,
        duplicates and region); each must exist."""
        if not arns:
            return ()
        if self.layers is None:
            raise InvalidParameterValueException(f"Layer version {arns[0]} does not exist.")
        return self.layers.resolve(arns)

    def _check_size(self, function_unzipped: int, layers: tuple[FunctionLayer, ...]) -> None:
        if self.layers is not None:
            self.layers.check_size(function_unzipped, layers)

    def publish(
        self, latest: FunctionConfig, description: str | None = None
    ) -> tuple[FunctionConfig, bool]:
        """Publish ``$LATEST`` as the next version (``description`` defaults to $LATEST's);
        ``$LATEST`` gets a new RevisionId. If ``$LATEST`` is unchanged since the last version
        published, that version is answered instead (and nothing changes). Returns the version
        and whether it is new."""
        source = versions.fingerprint(latest)
        number = self.store.next_version(latest.name)
        last = self.config(latest.name, str(int(number) - 1))
        if last is not None and last.published_from == source:
            return last, False
        published = latest.replace(
            version=number,
            revision_id=str(uuid.uuid4()),
            last_modified=now_lambda_timestamp(),
            description=latest.description if description is None else description,
            state="Active",
            state_reason=None,
            state_reason_code=None,
            last_update_status="Successful",
            last_update_status_reason=None,
            last_update_status_reason_code=None,
            published_from=source,
        )
        revised = latest.replace(revision_id=str(uuid.uuid4()))
        self.store.publish(published, revised)
        self._cache[(published.name, published.version)] = published
        self._cache[(revised.name, LATEST)] = revised
        return published, True

    def _code_from_request(self, code: dict[str, Any]) -> tuple[bytes, int]:
        if "ZipFile" in code:
            zip_bytes = code["ZipFile"]
            return zip_bytes, len(zip_bytes)
        if "S3Bucket" in code or "S3Key" in code:
            raise s3_unavailable(code.get("S3Bucket", ""))
        if "ImageUri" in code:
            raise InvalidParameterValueException(
                "Container images are not supported by Lamina yet; use a zip package."
            )
        raise InvalidParameterValueException("Please provide a source for function code.")

    # --- read -------------------------------------------------------------------

    def get_function(self, params: dict[str, Any]) -> dict[str, Any]:
        ref = self.ref(params, "GetFunction")
        config = self.require(ref.name, ref.qualifier)
        out: dict[str, Any] = {
            "Configuration": self._as_named(config, ref.qualifier),
            "Code": {"RepositoryType": "S3", "Location": self._code_url(config.code_sha256)},
        }
        tags = self.store.get_tags(ref.name) or {}
        if tags and ref.qualifier in (None, LATEST):
            out["Tags"] = tags
        reserved = self.reserved_concurrency(ref.name) if self.reserved_concurrency else None
        if reserved is not None:
            out["Concurrency"] = {"ReservedConcurrentExecutions": reserved}
        return out

    def get_configuration(self, params: dict[str, Any]) -> dict[str, Any]:
        ref = self.ref(params, "GetFunctionConfiguration")
        return self._as_named(self.require(ref.name, ref.qualifier), ref.qualifier)

    @staticmethod
    def _as_named(config: FunctionConfig, qualifier: str | None) -> dict[str, Any]:
        """A configuration as read through ``qualifier``: the FunctionArn is the one asked
        for (an alias's ARN for an alias; recorded in TestLambdaAlias::test_alias_lifecycle)."""
        out = config.to_wire(qualified=qualifier is not None)
        if qualifier is not None:
            out["FunctionArn"] = f"{config.arn}:{qualifier}"
        return out

    def list_functions(self, params: dict[str, Any]) -> dict[str, Any]:
        version = params.get("FunctionVersion")
        if version is not None and version != "ALL":
            raise ValidationException(
                f"1 validation error detected: Value '{version}' at 'functionVersion' failed "
                "to satisfy constraint: Member must satisfy enum value set: [ALL]"
            )
        max_items = params.get("MaxItems")
        if max_items is not None and (not isinstance(max_items, int) or not max_items >= 1):
            raise ValidationException(
                f"1 validation error detected: Value '{max_items}' at 'maxItems' failed to "
                "satisfy constraint: Member must have value greater than or equal to 1"
            )
        limit = min(max_items or LIST_PAGE_LIMIT, LIST_PAGE_LIMIT)
        configs = self.store.list_latest(params.get("Marker"), limit + 1)
        out: dict[str, Any] = {}
        page = configs[:limit]
        items: list[dict[str, Any]] = []
        for config in page:
            items.append(config.to_wire(listing=True, qualified=version == "ALL"))
            if version == "ALL":
                for number in self.store.versions(config.name):
                    if number != LATEST:
                        published = self.config(config.name, number)
                        if published is not None:
                            items.append(published.to_wire(listing=True))
        out["Functions"] = items
        if len(configs) > limit:
            out["NextMarker"] = page[-1].name
        return out

    # --- update -------------------------------------------------------------------

    def _require_latest(self, params: dict[str, Any], operation: str) -> FunctionConfig:
        ref = self.ref(params, operation)
        if ref.qualifier not in (None, LATEST):
            raise InvalidParameterValueException(
                "Current operation does not support versions other than $LATEST. "
                "Please set the version to $LATEST or do not set a version in your request."
            )
        config = self.require(ref.name)
        expected = params.get("RevisionId")
        if expected is not None and expected != config.revision_id:
            raise PreconditionFailedException(
                "The Revision Id provided does not match the latest Revision Id. "
                "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
            )
        return config

    async def update_code(self, params: dict[str, Any]) -> dict[str, Any]:
        current = self._require_latest(params, "UpdateFunctionCode")
        await off_loop_for_large(
            params.get("ZipFile"),
            partial(validation.validate_update_code, params, package_type=current.package_type),
        )
        code = {k: params[k] for k in ("ZipFile", "S3Bucket", "S3Key", "ImageUri") if k in params}
        zip_bytes, code_size = self._code_from_request(code)
        architectures = params.get("Architectures")
        if current.layers:
            unzipped = await off_loop_for_large(
                zip_bytes, partial(validation.validate_zip, zip_bytes)
            )
            self._check_size(unzipped, current.layers)
        if params.get("DryRun"):
            return current.to_wire()
        stored = await self._store_package(zip_bytes, current.layers)
        try:
            latest = self._require_latest(params, "UpdateFunctionCode")
            updated = latest.replace(
                code_sha256=stored.sha256,
                code_size=code_size,
                last_modified=now_lambda_timestamp(),
                architectures=tuple(architectures or latest.architectures),
            )
            response = self._commit_update(updated, publish=bool(params.get("Publish")))
        except sqlite3.OperationalError as exc:
            raise _storage_error(exc) from None
        finally:
            await self._release_package(stored)
        if latest.code_sha256 != stored.sha256:
            await asyncio.to_thread(self._collect_code, {latest.code_sha256})
        return response

    async def update_configuration(self, params: dict[str, Any]) -> dict[str, Any]:
        current = self._require_latest(params, "UpdateFunctionConfiguration")
        validation.validate_update_configuration(params, region=self.region)
        if "Layers" in params:
            layers = self._layers(params["Layers"])
            if layers:
                self._check_size(self.code.unzipped_size(current.code_sha256), layers)
                # The merged /opt is built now, in a thread, not at the next cold start.
                await asyncio.to_thread(self._prepare_layers, layers)
            current = self._require_latest(params, "UpdateFunctionConfiguration")
        updated = _apply_settings(current, params).replace(last_modified=now_lambda_timestamp())
        if "Layers" in params:
            updated = updated.replace(layers=layers)
        try:
            response = self._commit_update(updated, publish=False)
        except sqlite3.OperationalError as exc:
            raise _storage_error(exc) from None
        if current.layers != updated.layers:
            # Packages of layer versions deleted meanwhile that nothing uses any more.
            shas = {layer.code_sha256 for layer in current.layers}
            await asyncio.to_thread(self._collect_code, shas)
        return response

    def _commit_update(self, updated: FunctionConfig, *, publish: bool) -> dict[str, Any]:
        in_progress = updated.replace(
            revision_id=str(uuid.uuid4()),
            last_update_status="InProgress",
            last_update_status_reason="The function is being created.",
            last_update_status_reason_code="Creating",
        )
        done = updated.replace(
            revision_id=str(uuid.uuid4()),
            last_update_status="Successful",
            last_update_status_reason=None,
            last_update_status_reason_code=None,
        )
        self._save(done)
        self._on_change(done.name)
        if not publish:
            return in_progress.to_wire()
        # The answer is the new version, still being created (recorded:
        # TestLambdaVersions::test_publish_with_update).
        published, created = self.publish(done)
        if not created:
            return published.to_wire()
        return published.replace(
            state="Pending",
            state_reason="The function is being created.",
            state_reason_code="Creating",
            last_update_status=None,
        ).to_wire()

    # --- delete -------------------------------------------------------------------

    async def delete(self, params: dict[str, Any]) -> dict[str, Any]:
        ref = self.ref(params, "DeleteFunction")
        if ref.qualifier == LATEST:
            raise InvalidParameterValueException(
                "$LATEST version cannot be deleted without deleting the function."
            )
        # AWS names the unqualified ARN when the function is missing, and deleting a version
        # that does not exist succeeds (recorded: test_delete_on_nonexisting_version).
        latest = self.require(ref.name)
        name, qualifier = ref.name, ref.qualifier
        if qualifier is not None:
            number = qualifier
            version = self.config(name, number)
            if version is None:
                return {"StatusCode": 204}
            if self.aliases is not None:
                self.aliases.check_unreferenced(name, number)
            # Deleting frees space: on a full disk its transaction gets the space reserve.
            self.code.free_space_for(lambda: self.store.delete_version(name, number))
            self._cache.pop((name, number), None)
            shas = _packages(version)
        else:
            shas = _packages(latest)
            for number in self.store.versions(ref.name):
                published = self.config(ref.name, number)
                if published is not None:
                    shas |= _packages(published)
            self.code.free_space_for(lambda: self.store.delete(name))
            for key in [k for k in self._cache if k[0] == ref.name]:
                del self._cache[key]
            if self.aliases is not None:
                self.aliases.forget_function(ref.name)
        self._on_change(ref.name)
        # Removing trees takes as long as writing them: in a thread.
        await asyncio.to_thread(self._collect_code, shas)
        return {"StatusCode": 204}

    def _collect_code(self, shas: set[str]) -> None:
        """Remove packages no function version and no layer version references any more."""

        def in_use() -> set[str]:
            used = self.store.referenced_code()
            if self.layers is not None:
                used |= self.layers.referenced_code()
            return used

        self.code.collect(shas, in_use)

    # --- tags -------------------------------------------------------------------

    def _tag_target(self, params: dict[str, Any]) -> str:
        name = names.parse_resource_arn_for_tags(
            params.get("Resource", ""), self.region, self.account
        )
        if self.store.get_tags(name) is None:
            raise names.function_not_found(self.region, self.account, name)
        return name

    def tag(self, params: dict[str, Any]) -> dict[str, Any]:
        name = self._tag_target(params)
        new_tags = params.get("Tags") or {}
        existing = self.store.get_tags(name) or {}
        names.validate_tags(new_tags, existing=existing, require_nonempty=True)
        self._set_tags(name, {**existing, **new_tags})
        return {}

    def untag(self, params: dict[str, Any]) -> dict[str, Any]:
        name = self._tag_target(params)
        keys = params.get("TagKeys")
        names.validate_untag_keys(keys)
        tags = self.store.get_tags(name) or {}
        for key in keys or []:
            tags.pop(key, None)
        self._set_tags(name, tags)
        return {}

    def _set_tags(self, name: str, tags: dict[str, str]) -> None:
        """Tags and a new $LATEST RevisionId in one transaction: AWS's RevisionId changes
        with every TagResource/UntagResource (recorded in TestLambdaTags)."""
        latest = self.require(name)
        revised = latest.replace(revision_id=str(uuid.uuid4()))
        self.store.set_tags(name, tags, revised)
        self._cache[(name, LATEST)] = revised

    def list_tags(self, params: dict[str, Any]) -> dict[str, Any]:
        name = self._tag_target(params)
        return {"Tags": self.store.get_tags(name) or {}}

    # --- account -------------------------------------------------------------------

    def account_settings(self, concurrency_limit: int, unreserved: int) -> dict[str, Any]:
        """``AccountUsage.TotalCodeSize`` as AWS counts it: the zip of every function version
        and layer version. The limit (``AccountLimit.TotalCodeSize``, configurable) is
        enforced on what code takes on disk, which is more: Lamina keeps each package
        unzipped too (``CodeStore.used_bytes``)."""
        count, total = self.store.code_usage()
        if self.layers is not None:
            total += self.layers.total_code_size()
        return {
            "AccountLimit": {
                "TotalCodeSize": self.code.limit_bytes,
                "CodeSizeUnzipped": validation.MAX_UNZIPPED_BYTES,
                "CodeSizeZipped": validation.MAX_ZIPPED_BYTES,
                "ConcurrentExecutions": concurrency_limit,
                "UnreservedConcurrentExecutions": unreserved,
            },
            "AccountUsage": {"TotalCodeSize": total, "FunctionCount": count},
        }


def _storage_error(exc: sqlite3.OperationalError) -> Exception:
    """A write the database could not take: a full disk is the caller's storage limit."""
    if is_disk_full(exc):
        return storage_exceeded(disk_full=True)
    return exc


def _packages(config: FunctionConfig) -> set[str]:
    """The packages a function version uses: its code and its layers'."""
    return {config.code_sha256, *(layer.code_sha256 for layer in config.layers)}


def _apply_settings(config: FunctionConfig, params: dict[str, Any]) -> FunctionConfig:
    changes: dict[str, Any] = {}
    if "Role" in params:
        changes["role"] = params["Role"]
    if "Handler" in params:
        changes["handler"] = params["Handler"]
    if "Runtime" in params:
        changes["runtime"] = params["Runtime"]
    if "Description" in params:
        changes["description"] = params["Description"]
    if "Timeout" in params:
        changes["timeout"] = int(params["Timeout"])
    if "MemorySize" in params:
        changes["memory_size"] = int(params["MemorySize"])
    if "Environment" in params:
        changes["environment"] = dict((params["Environment"] or {}).get("Variables") or {})
    if "EphemeralStorage" in params:
        changes["ephemeral_storage"] = int(params["EphemeralStorage"]["Size"])
    if "TracingConfig" in params:
        changes["tracing_mode"] = (params["TracingConfig"] or {}).get("Mode") or "PassThrough"
    if "LoggingConfig" in params:
        logging_config = params["LoggingConfig"] or {}
        log_format = logging_config.get("LogFormat", config.log_format)
        changes["log_format"] = log_format
        if "LogGroup" in logging_config:
            changes["log_group"] = logging_config["LogGroup"]
        if log_format == "JSON":
            changes["application_log_level"] = logging_config.get(
                "ApplicationLogLevel", config.application_log_level or "INFO"
            )
            changes["system_log_level"] = logging_config.get(
                "SystemLogLevel", config.system_log_level or "INFO"
            )
        else:
            changes["application_log_level"] = None
            changes["system_log_level"] = None
    passthrough = dict(config.passthrough)
    for key in PASSTHROUGH_FIELDS:
        if key in params:
            passthrough[key] = params[key]
    if passthrough != config.passthrough:
        changes["passthrough"] = passthrough
    return config.replace(**changes) if changes else config
