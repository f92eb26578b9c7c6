"""Aliases: create, read, update, delete, list.

Aliases live in the region's ``AliasBook`` (memory, write-through to the store), which the
function service reads too (alias qualifiers, versions an alias routes to), so neither
service needs the other's internals. Requests arrive shape-validated and typed
(``api.lambda_wire.aliases``); this service checks the rules that need data (the function and
its versions exist, the routing is allowed, the revision matches) before anything is stored,
so a rejected request changes nothing. An alias has its own RevisionId: creating or updating
one changes neither ``$LATEST``'s nor any version's (recorded in
TestLambdaRevisions::test_function_revisions_version_and_alias). An update or delete emits
``alias_changed`` (provisioned concurrency follows its alias).
"""

from __future__ import annotations

import uuid

from lamina.domain import names, versions
from lamina.domain.aliases import (
    Alias,
    alias_exists,
    alias_not_found,
    alias_not_found_for_update,
    check_routing,
)
from lamina.domain.arns import function_arn
from lamina.domain.context import RequestContext
from lamina.domain.errors import PreconditionFailedException
from lamina.domain.requests.aliases import (
    AliasKey,
    AliasPage,
    CreateAlias,
    ListAliases,
    UpdateAlias,
)
from lamina.services.alias_book import AliasBook
from lamina.services.function_catalog import FunctionCatalog
from lamina.services.signals import LambdaSignals

# Aliases per ListAliases page at most (AWS documents no limit; Lamina uses its lists' 50).
LIST_LIMIT = 50


class AliasService:
    def __init__(self, book: AliasBook, catalog: FunctionCatalog, signals: LambdaSignals) -> None:
        self.book = book
        self.catalog = catalog
        self._signals = signals

    # --- operations -----------------------------------------------------------------------------

    def create(self, ctx: RequestContext, request: CreateAlias) -> Alias:
        """A new alias of an existing function's existing version(s);
        ResourceConflictException if the function already has one of that name."""
        check_routing(request.function_version, request.weights)
        self._require_versions(ctx, request.function, request.function_version, request.weights)
        alias = Alias(
            function_name=request.function,
            name=request.name,
            function_version=request.function_version,
            region=ctx.region,
            account=ctx.account_id,
            revision_id=str(uuid.uuid4()),
            description=request.description,
            weights=dict(request.weights),
        )
        if not self.book.create(alias):
            raise alias_exists(alias.arn)
        return alias

    def get(self, ctx: RequestContext, key: AliasKey) -> Alias:
        self._require_function(ctx, key.function)
        alias = self.book.lookup(key.function, key.name)
        if alias is None:
            raise alias_not_found(function_arn(ctx.region, ctx.account_id, key.function, key.name))
        return alias

    def update(self, ctx: RequestContext, request: UpdateAlias) -> Alias:
        """The alias with what the request names changed, and always a new RevisionId (even
        when nothing changed; recorded: update_alias_1_2)."""
        name = request.function
        self._require_function(ctx, name)
        current = self.book.lookup(name, request.name)
        if current is None:
            arn = function_arn(ctx.region, ctx.account_id, name, request.name)
            raise alias_not_found_for_update(arn)
        if request.revision_id is not None and request.revision_id != current.revision_id:
            raise PreconditionFailedException(versions.REVISION_MISMATCH)
        version = request.function_version or current.function_version
        weights = current.weights if request.weights is None else dict(request.weights)
        check_routing(version, weights)
        self._require_versions(ctx, name, version, weights)
        description = current.description if request.description is None else request.description
        updated = current.replace(
            function_version=version,
            weights=weights,
            description=description,
            revision_id=str(uuid.uuid4()),
        )
        self.book.put(updated)
        self._signals.alias_changed.emit(name, updated.name)
        return updated

    def delete(self, ctx: RequestContext, key: AliasKey) -> None:
        """Deleting an alias that does not exist succeeds (recorded:
        test_non_existent_alias_deletion); the function must exist."""
        self._require_function(ctx, key.function)
        if self.book.delete(key.function, key.name):
            self._signals.alias_changed.emit(key.function, key.name)

    def list_aliases(self, ctx: RequestContext, request: ListAliases) -> AliasPage:
        """Aliases by name, after ``marker``, at most ``max_items`` (and at most 50)."""
        limit = min(request.max_items or LIST_LIMIT, LIST_LIMIT)
        self._require_function(ctx, request.function)
        found = [
            (alias.name, alias)
            for alias in self.book.aliases_of(request.function)
            if request.function_version is None
            or alias.function_version == request.function_version
        ]
        page, more = versions.page_after(found, request.marker, limit)
        return AliasPage(tuple(page), page[-1].name if more else None)

    # --- helpers --------------------------------------------------------------------------------

    def _require_function(self, ctx: RequestContext, name: str) -> None:
        if self.catalog.config(name) is None:
            # Unverified for the alias operations (CreateAlias names the target version).
            raise names.function_not_found(ctx.region, ctx.account_id, name)

    def _require_versions(
        self, ctx: RequestContext, name: str, version: str, weights: dict[str, float]
    ) -> None:
        for target in (version, *weights):
            if self.catalog.config(name, target) is None:
                raise names.function_not_found(ctx.region, ctx.account_id, name, target)
