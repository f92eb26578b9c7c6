"""Create/Get/Update/Delete/ListFunctionUrlConfig(s): one region's function URLs.

Order of checks (recorded: TestLambdaUrl): shape errors come from the edge
(``api.url_wire``), then the function, then its alias, then the configuration. Every check
runs before anything is stored, so a rejected request changes nothing. Configurations are
kept in memory (the data path looks them up by id on every request) and written through to
SQLite off the event loop; an answer is sent once its write is committed.

A configuration goes with its function (``function_deleted``). As on AWS, it outlives its
alias (recorded: ``test_lambda_url_persists_after_alias_delete``): the URL then answers
403, and the management operations answer as if it did not exist until the alias is
created again.
"""

from __future__ import annotations

import asyncio
import secrets
import time

from lamina.domain.arns import function_arn
from lamina.domain.context import RequestContext
from lamina.domain.errors import ResourceConflictException, ResourceNotFoundException
from lamina.domain.names import FunctionRef
from lamina.services.alias_book import AliasBook
from lamina.services.function_catalog import FunctionCatalog
from lamina.services.url_address import UrlAddresses
from lamina.services.url_model import (
    BUFFERED,
    URL_ID_ALPHABET,
    URL_ID_LENGTH,
    FunctionUrlConfig,
    UrlConfigChange,
    UrlConfigPage,
)
from lamina.store.function_url_store import SqliteFunctionUrlStore

FUNCTION_MISSING = "Function does not exist"
RESOURCE_MISSING = "The resource you requested does not exist."
LIST_LIMIT = 50


def new_url_id() -> str:
    """32 random lower-case alphanumerics (about 165 bits)."""
    return "".join(secrets.choice(URL_ID_ALPHABET) for _ in range(URL_ID_LENGTH))


class FunctionUrlService:
    def __init__(
        self,
        store: SqliteFunctionUrlStore,
        catalog: FunctionCatalog,
        aliases: AliasBook,
        addresses: UrlAddresses,
        region: str,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.aliases = aliases
        self.addresses = addresses
        self.region = region
        self._by_id: dict[str, FunctionUrlConfig] = {}
        self._by_target: dict[tuple[str, str | None], FunctionUrlConfig] = {}
        self._writing = asyncio.Lock()
        for config in store.all():
            self._remember(config)

    def close(self) -> None:
        self.store.close()

    # --- the data path --------------------------------------------------------------------

    def lookup(self, url_id: str) -> FunctionUrlConfig | None:
        """The configuration of a URL id, or None."""
        return self._by_id.get(url_id)

    def target_exists(self, config: FunctionUrlConfig) -> bool:
        """Whether the function (and the alias) the URL invokes exist."""
        if config.qualifier is None:
            return self.catalog.config(config.function) is not None
        return self.aliases.lookup(config.function, config.qualifier) is not None

    def url_of(self, config: FunctionUrlConfig) -> str:
        return self.addresses.url(config.url_id, self.region)

    def arn_of(self, ctx: RequestContext, config: FunctionUrlConfig) -> str:
        return function_arn(ctx.region, ctx.account_id, config.function, config.qualifier)

    def function_deleted(self, name: str) -> None:
        """The function's rows went with it (``ON DELETE CASCADE``): forget them."""
        for key in [key for key in self._by_target if key[0] == name]:
            config = self._by_target.pop(key)
            self._by_id.pop(config.url_id, None)

    # --- operations -------------------------------------------------------------------------

    async def create(
        self, ctx: RequestContext, target: FunctionRef, change: UrlConfigChange
    ) -> FunctionUrlConfig:
        async with self._writing:
            self._require_target(target, FUNCTION_MISSING)
            key = (target.name, target.qualifier)
            if key in self._by_target:
                arn = function_arn(ctx.region, ctx.account_id, target.name, target.qualifier)
                raise ResourceConflictException(
                    f"Failed to create function url config for [functionArn = {arn}]. "
                    "Error message:  FunctionUrlConfig exists for this Lambda function"
                )
            url_id = new_url_id()
            while url_id in self._by_id:  # pragma: no cover - 165 random bits
                url_id = new_url_id()
            now = time.time()
            config = FunctionUrlConfig(
                url_id=url_id,
                function=target.name,
                qualifier=target.qualifier,
                auth_type=change.auth_type or "NONE",
                invoke_mode=change.invoke_mode or BUFFERED,
                cors=change.cors,
                created=now,
                modified=now,
            )
            return await self._store(config)

    def get(self, ctx: RequestContext, target: FunctionRef) -> FunctionUrlConfig:
        self._require_target(target, RESOURCE_MISSING)
        return self._current(target)

    async def update(
        self, ctx: RequestContext, target: FunctionRef, change: UrlConfigChange
    ) -> FunctionUrlConfig:
        async with self._writing:
            self._require_target(target, FUNCTION_MISSING)
            current = self._current(target)
            config = FunctionUrlConfig(
                url_id=current.url_id,
                function=current.function,
                qualifier=current.qualifier,
                auth_type=change.auth_type or current.auth_type,
                invoke_mode=change.invoke_mode or current.invoke_mode,
                cors=change.cors if change.cors_given else current.cors,
                created=current.created,
                modified=time.time(),
            )
            return await self._store(config)

    async def delete(self, ctx: RequestContext, target: FunctionRef) -> None:
        async with self._writing:
            self._require_target(target, RESOURCE_MISSING)
            current = self._current(target)
            await asyncio.to_thread(self.store.delete, current.url_id)
            self._forget(current)

    def list_configs(
        self, ctx: RequestContext, name: str, marker: str | None, max_items: int | None
    ) -> UrlConfigPage:
        """The function's URLs (the unqualified one first, then by alias), after ``marker``,
        at most ``max_items`` (50 by default)."""
        if self.catalog.config(name) is None:
            raise ResourceNotFoundException(FUNCTION_MISSING)
        found = sorted(
            (config for (function, _), config in self._by_target.items() if function == name),
            key=_order,
        )
        found = [config for config in found if self.target_exists(config)]
        if marker:
            found = [config for config in found if _order(config) > marker]
        limit = max_items or LIST_LIMIT
        page = tuple(found[:limit])
        return UrlConfigPage(page, _order(page[-1]) if len(found) > limit else None)

    # --- helpers ----------------------------------------------------------------------------

    def _require_target(self, target: FunctionRef, message: str) -> None:
        if self.catalog.config(target.name) is None:
            raise ResourceNotFoundException(message)
        qualifier = target.qualifier
        if qualifier is not None and self.aliases.lookup(target.name, qualifier) is None:
            raise ResourceNotFoundException(message)

    def _current(self, target: FunctionRef) -> FunctionUrlConfig:
        config = self._by_target.get((target.name, target.qualifier))
        if config is None:
            raise ResourceNotFoundException(RESOURCE_MISSING)
        return config

    async def _store(self, config: FunctionUrlConfig) -> FunctionUrlConfig:
        if not await asyncio.to_thread(self.store.put, config):
            raise ResourceNotFoundException(FUNCTION_MISSING)  # deleted meanwhile
        self._remember(config)
        return config

    def _remember(self, config: FunctionUrlConfig) -> None:
        self._by_id[config.url_id] = config
        self._by_target[(config.function, config.qualifier)] = config

    def _forget(self, config: FunctionUrlConfig) -> None:
        self._by_id.pop(config.url_id, None)
        self._by_target.pop((config.function, config.qualifier), None)


def _order(config: FunctionUrlConfig) -> str:
    """The list order and marker: the unqualified URL ("0") before the aliases' (by name)."""
    return "0" if config.qualifier is None else f"1{config.qualifier}"
