"""Provisioned concurrency (Put/Get/List/DeleteProvisionedConcurrencyConfig).

This service validates requests the way AWS does, stores configurations (SQLite, so they
survive a restart; the environments are initialised again at start-up), keeps the concurrency
limiter's provisioned totals in step, and tells ``runtime.provisioned.ProvisionedEnvironments``
which environments each configuration wants. Every check runs before anything is stored, so a
rejected request changes nothing. Requests arrive shape-validated and typed
(``api.lambda_wire.provisioned``).

Configurations follow what they name: deleting an alias, a version or the function deletes
its configurations (and stops their environments); moving an alias to another version moves
its environments (the new version's are initialised, then the old ones stop): the wiring
connects ``function_changed`` and ``alias_changed`` to this service.
"""

from __future__ import annotations

from lamina.domain import names
from lamina.domain.aliases import Alias, alias_not_found, is_version_number
from lamina.domain.arns import function_arn
from lamina.domain.context import RequestContext
from lamina.domain.models import LATEST, FunctionConfig
from lamina.domain.provisioned import (
    DELETE,
    GET,
    LIST_LIMIT,
    PUT,
    ProvisionedConfig,
    alias_conflict,
    config_not_found,
    latest_refused,
    now_timestamp,
    split,
    version_conflict,
)
from lamina.domain.requests.provisioned import (
    ListProvisionedConcurrency,
    ProvisionedPage,
    ProvisionedTarget,
    ProvisionedView,
    PutProvisionedConcurrency,
)
from lamina.runtime.concurrency import ConcurrencyLimiter
from lamina.runtime.provisioned import ProvisionedEnvironments
from lamina.services.alias_book import AliasBook
from lamina.services.function_catalog import FunctionCatalog
from lamina.services.signals import LambdaSignals
from lamina.store.ports import ProvisionedStore


def _key(function: str, qualifier: str) -> str:
    return f"{function}:{qualifier}"


def _order(qualifier: str) -> tuple[int, int, str]:
    """Versions (by number) before aliases (by name)."""
    if is_version_number(qualifier):
        return (0, int(qualifier), "")
    return (1, 0, qualifier)


class ProvisionedConcurrencyService:
    def __init__(
        self,
        store: ProvisionedStore,
        catalog: FunctionCatalog,
        aliases: AliasBook,
        limiter: ConcurrencyLimiter,
        environments: ProvisionedEnvironments,
        signals: LambdaSignals,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.aliases = aliases
        self.limiter = limiter
        self.environments = environments
        # Emits capacity_freed when provisioned concurrency was given back.
        self._signals = signals
        # function -> qualifier -> configuration
        self._configs: dict[str, dict[str, ProvisionedConfig]] = {}
        for config in store.all():
            if self._names_something(config.function, config.qualifier):
                self._configs.setdefault(config.function, {})[config.qualifier] = config
            else:
                store.delete(config.function, config.qualifier)
        for function in self._configs:
            limiter.set_provisioned(function, self._total(function))

    def start(self) -> None:
        """Initialise the environments of every stored configuration (at server start)."""
        for configs in self._configs.values():
            for config in configs.values():
                self._provision(config)

    async def stop(self) -> None:
        await self.environments.stop_all()

    def close(self) -> None:
        self.store.close()

    # --- operations ------------------------------------------------------------------------

    def put(self, ctx: RequestContext, request: PutProvisionedConcurrency) -> ProvisionedView:
        """Configure (or reconfigure) a version's or alias's provisioned environments, within
        the function's and the account's concurrency; their initialisation starts now."""
        name, qualifier = self._target(ctx, request.target, PUT)
        alias = None if is_version_number(qualifier) else self.aliases.lookup(name, qualifier)
        if alias is not None and LATEST in alias.versions:
            # Unverified: an alias of $LATEST is refused like $LATEST itself.
            raise latest_refused(PUT)
        self._check_conflicts(name, qualifier, alias)
        others = sum(c.requested for q, c in self._configs.get(name, {}).items() if q != qualifier)
        total = others + request.requested
        self.limiter.check_provisioned(name, total)
        config = ProvisionedConfig(name, qualifier, request.requested, now_timestamp())
        if not self.store.put(config):
            raise names.function_not_found(ctx.region, ctx.account_id, name, qualifier)
        self._configs.setdefault(name, {})[qualifier] = config
        self.limiter.set_provisioned(name, total)
        self._provision(config)
        return self._view(config)

    def get(self, ctx: RequestContext, target: ProvisionedTarget) -> ProvisionedView:
        name, qualifier = self._target(ctx, target, GET)
        config = self._configs.get(name, {}).get(qualifier)
        if config is None:
            raise config_not_found()
        return self._view(config)

    def delete(self, ctx: RequestContext, target: ProvisionedTarget) -> None:
        """Deleting a configuration that does not exist succeeds (recorded:
        delete_provisioned_config_doesnotexist)."""
        name, qualifier = self._target(ctx, target, DELETE)
        self._drop(name, qualifier)

    def list_configs(
        self, ctx: RequestContext, request: ListProvisionedConcurrency
    ) -> ProvisionedPage:
        """A function's configurations: versions (by number), then aliases (by name)."""
        name = request.function
        limit = request.max_items or LIST_LIMIT
        self.catalog.require(name)
        configs = sorted(self._configs.get(name, {}).values(), key=lambda c: _order(c.qualifier))
        if request.marker:
            after = _order(request.marker)
            configs = [c for c in configs if _order(c.qualifier) > after]
        page = configs[:limit]
        more = len(configs) > limit
        return ProvisionedPage(
            tuple(self._view(config) for config in page), page[-1].qualifier if more else None
        )

    # --- what the rest of Lamina tells this service ---------------------------------------------

    def function_changed(self, name: str) -> None:
        """A function was updated or deleted, or one of its versions deleted."""
        configs = self._configs.get(name)
        if not configs:
            return
        if self.catalog.config(name) is None:
            # The store's rows went with the function (ON DELETE CASCADE).
            for qualifier in configs:
                self.environments.remove(_key(name, qualifier))
            del self._configs[name]
            self.limiter.forget(name)
            self._capacity_changed()
            return
        for qualifier in list(configs):
            if not self._names_something(name, qualifier):
                self._drop(name, qualifier)

    def alias_changed(self, function: str, alias_name: str) -> None:
        """An alias was updated (its environments follow its versions) or deleted (its
        configuration goes with it)."""
        config = self._configs.get(function, {}).get(alias_name)
        if config is None:
            return
        if self.aliases.lookup(function, alias_name) is None:
            self._drop(function, alias_name)
        else:
            self._provision(config)

    # --- helpers ----------------------------------------------------------------------------

    def _view(self, config: ProvisionedConfig) -> ProvisionedView:
        key = _key(config.function, config.qualifier)
        return ProvisionedView(config, self.environments.status(key))

    def _target(
        self, ctx: RequestContext, target: ProvisionedTarget, operation: str
    ) -> tuple[str, str]:
        """The function and the version or alias a request names (AWS's errors when there is
        none, it is ``$LATEST``, or it does not exist)."""
        name, qualifier = target.function, target.qualifier
        if qualifier is None or qualifier == LATEST:
            # Unverified without any qualifier: botocore requires one.
            raise latest_refused(operation)
        if is_version_number(qualifier):
            if self.catalog.config(name, qualifier) is None:
                raise names.function_not_found(ctx.region, ctx.account_id, name, qualifier)
        elif self.aliases.lookup(name, qualifier) is None:
            raise alias_not_found(function_arn(ctx.region, ctx.account_id, name, qualifier))
        return name, qualifier

    def _names_something(self, function: str, qualifier: str) -> bool:
        if is_version_number(qualifier):
            return self.catalog.config(function, qualifier) is not None
        return self.aliases.lookup(function, qualifier) is not None

    def _versions(self, function: str, qualifier: str) -> set[str]:
        """The versions a qualifier provisions."""
        if is_version_number(qualifier):
            return {qualifier}
        alias = self.aliases.lookup(function, qualifier)
        return set(alias.versions) if alias is not None else set()

    def _check_conflicts(self, name: str, qualifier: str, alias: Alias | None) -> None:
        """A version is provisioned once: directly or through one alias."""
        mine = self._versions(name, qualifier)
        for other in self._configs.get(name, {}):
            if other != qualifier and mine & self._versions(name, other):
                raise alias_conflict() if alias is not None else version_conflict()

    def _targets(self, config: ProvisionedConfig) -> dict[str, tuple[FunctionConfig, int]]:
        if is_version_number(config.qualifier):
            wanted = {config.qualifier: config.requested}
        else:
            alias = self.aliases.lookup(config.function, config.qualifier)
            if alias is None:
                return {}
            wanted = split(config.requested, alias.function_version, alias.weights)
        out: dict[str, tuple[FunctionConfig, int]] = {}
        for version, count in wanted.items():
            found = self.catalog.config(config.function, version)
            if found is not None and version != LATEST:
                out[version] = (found, count)
        return out

    def _provision(self, config: ProvisionedConfig) -> None:
        self.environments.configure(
            _key(config.function, config.qualifier), config.function, self._targets(config)
        )

    def _total(self, function: str) -> int:
        return sum(c.requested for c in self._configs.get(function, {}).values())

    def _drop(self, function: str, qualifier: str) -> None:
        configs = self._configs.get(function, {})
        if qualifier not in configs:
            return
        self.store.delete(function, qualifier)
        del configs[qualifier]
        if not configs:
            del self._configs[function]
        self.limiter.set_provisioned(function, self._total(function))
        self.environments.remove(_key(function, qualifier))
        self._capacity_changed()

    def _capacity_changed(self) -> None:
        self._signals.capacity_freed.emit()
