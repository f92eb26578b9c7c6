"""Aliases: create, read, update, delete, list; and what the rest of Lamina needs of them
(resolving an alias qualifier, picking the version an invocation through an alias runs,
refusing to delete a version an alias routes to).

Aliases are cached in memory (write-through to the store), like function configurations, so
the invoke path never touches SQLite. Every write validates first and stores in one
transaction, so a rejected request changes nothing. An alias has its own RevisionId: creating
or updating one changes neither ``$LATEST``'s nor any version's (recorded in
TestLambdaRevisions::test_function_revisions_version_and_alias).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from typing import Any

from lamina.domain import names, versions
from lamina.domain.aliases import (
    Alias,
    alias_exists,
    alias_not_found,
    alias_not_found_for_update,
    alias_shape_errors,
    check_routing,
    validate_alias_name,
    validate_function_version_filter,
    version_in_use,
    weights_of,
)
from lamina.domain.arns import function_arn
from lamina.domain.errors import PreconditionFailedException
from lamina.services.functions import FunctionService
from lamina.store.ports import AliasStore

# Aliases per ListAliases page at most (AWS documents no limit; Lamina uses its lists' 50).
LIST_LIMIT = 50


class AliasService:
    def __init__(
        self,
        store: AliasStore,
        functions: FunctionService,
        chance: Callable[[], float] = random.random,
    ) -> None:
        self.store = store
        self.functions = functions
        self.region = functions.region
        self.account = functions.account
        self._chance = chance
        # Called with (function, alias name) after an alias was updated or deleted (set by
        # the server: provisioned concurrency follows its alias).
        self.on_change: Callable[[str, str], None] | None = None
        # function name -> alias name -> alias
        self._aliases: dict[str, dict[str, Alias]] = {}
        for alias in store.all():
            self._aliases.setdefault(alias.function_name, {})[alias.name] = alias

    def close(self) -> None:
        self.store.close()

    # --- what functions and invocations need -------------------------------------------------

    def lookup(self, function: str, name: str) -> Alias | None:
        return self._aliases.get(function, {}).get(name)

    def route(self, alias: Alias) -> str:
        """The version one invocation through the alias runs: the additional version with its
        weight's probability, the primary version otherwise."""
        for version, weight in alias.weights.items():
            if self._chance() < weight:
                return version
        return alias.function_version

    def check_unreferenced(self, function: str, version: str) -> None:
        """DeleteFunction of a published version: refused while an alias routes to it."""
        users = [a.name for a in self._aliases.get(function, {}).values() if version in a.versions]
        if users:
            raise version_in_use(users)

    def forget_function(self, function: str) -> None:
        """The function was deleted (its aliases went with it, by the store's cascade)."""
        self._aliases.pop(function, None)

    # --- operations -----------------------------------------------------------------------------

    def _ref(self, params: dict[str, Any], operation: str, extra: list[str]) -> str:
        """The function name, after shape validation of FunctionName and ``extra`` errors
        (reported together, FunctionName's first). A qualifier in the name is ignored."""
        value = params.get("FunctionName", "")
        errors = names.function_name_errors(value, operation) + extra
        if errors:
            raise names.validation_exception(errors)
        return self.functions.ref(params, operation).name

    def _require_function(self, name: str) -> None:
        if self.functions.config(name) is None:
            # Unverified for the alias operations (CreateAlias names the target version).
            raise names.function_not_found(self.region, self.account, name)

    def _require_versions(self, name: str, version: str, weights: dict[str, float]) -> None:
        for target in (version, *weights):
            if self.functions.config(name, target) is None:
                raise names.function_not_found(self.region, self.account, name, target)

    def create(self, params: dict[str, Any]) -> dict[str, Any]:
        name = self._ref(params, "CreateAlias", alias_shape_errors(params, create=True))
        version: str = params["FunctionVersion"]
        weights = {k: float(v) for k, v in (weights_of(params) or {}).items()}
        check_routing(version, weights)
        self._require_versions(name, version, weights)
        alias = Alias(
            function_name=name,
            name=params["Name"],
            function_version=version,
            region=self.region,
            account=self.account,
            revision_id=str(uuid.uuid4()),
            description=params.get("Description") or "",
            weights=weights,
        )
        if self.lookup(name, alias.name) is not None or not self.store.create(alias):
            raise alias_exists(alias.arn)
        self._aliases.setdefault(name, {})[alias.name] = alias
        return alias.to_wire()

    def get(self, params: dict[str, Any]) -> dict[str, Any]:
        alias_name = validate_alias_name(params.get("Name"))
        name = self._ref(params, "GetAlias", [])
        self._require_function(name)
        alias = self.lookup(name, alias_name)
        if alias is None:
            arn = function_arn(self.region, self.account, name, alias_name)
            raise alias_not_found(arn)
        return alias.to_wire()

    def update(self, params: dict[str, Any]) -> dict[str, Any]:
        name = self._ref(params, "UpdateAlias", alias_shape_errors(params, create=False))
        self._require_function(name)
        current = self.lookup(name, params["Name"])
        if current is None:
            arn = function_arn(self.region, self.account, name, params["Name"])
            raise alias_not_found_for_update(arn)
        expected = params.get("RevisionId")
        if expected is not None and expected != current.revision_id:
            raise PreconditionFailedException(versions.REVISION_MISMATCH)
        version: str = params.get("FunctionVersion") or current.function_version
        given = weights_of(params)
        weights = current.weights if given is None else {k: float(v) for k, v in given.items()}
        check_routing(version, weights)
        self._require_versions(name, version, weights)
        updated = current.replace(
            function_version=version,
            weights=weights,
            description=params.get("Description", current.description),
            # A new RevisionId even when nothing changed (recorded: update_alias_1_2).
            revision_id=str(uuid.uuid4()),
        )
        self.store.put(updated)
        self._aliases[name][updated.name] = updated
        if self.on_change is not None:
            self.on_change(name, updated.name)
        return updated.to_wire()

    def delete(self, params: dict[str, Any]) -> dict[str, Any]:
        alias_name = validate_alias_name(params.get("Name"))
        name = self._ref(params, "DeleteAlias", [])
        self._require_function(name)
        # Deleting an alias that does not exist succeeds (recorded:
        # test_non_existent_alias_deletion).
        if self.lookup(name, alias_name) is not None:
            self.store.delete(name, alias_name)
            del self._aliases[name][alias_name]
            if self.on_change is not None:
                self.on_change(name, alias_name)
        return {}

    def list_aliases(self, params: dict[str, Any]) -> dict[str, Any]:
        name = self._ref(params, "ListAliases", [])
        version = params.get("FunctionVersion")
        validate_function_version_filter(version)
        requested = versions.max_items(params.get("MaxItems"))
        limit = min(requested or LIST_LIMIT, LIST_LIMIT)
        self._require_function(name)
        found = [
            (alias.name, alias)
            for alias in self._aliases.get(name, {}).values()
            if version is None or alias.function_version == version
        ]
        page, more = versions.page_after(found, params.get("Marker") or None, limit)
        out: dict[str, Any] = {"Aliases": [alias.to_wire() for alias in page]}
        if more:
            out["NextMarker"] = page[-1].name
        return out
