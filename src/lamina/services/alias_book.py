"""The alias book: one region's aliases in memory, write-through to the alias store.

Both sides of the functions/aliases cycle read it: ``FunctionService`` resolves alias
qualifiers and refuses to delete a version an alias routes to; ``AliasService`` creates,
updates and deletes aliases through it. It is built from the store first and given to both,
so neither service needs the other through a patched attribute. The invoke path reads only
memory: ``lookup``/``route``/``resolve`` never touch SQLite.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from lamina.domain.aliases import Alias, is_alias_name, version_in_use
from lamina.domain.models import LATEST
from lamina.store.ports import AliasStore


class AliasBook:
    """Every alias of every function of one region: ``function -> alias name -> Alias``.

    Writes go to the store first, then to memory, so memory never holds an alias the store
    refused. Aliases of one function are kept in creation order (ListAliases' order)."""

    def __init__(self, store: AliasStore, chance: Callable[[], float] = random.random) -> None:
        self._store = store
        self._chance = chance
        self._aliases: dict[str, dict[str, Alias]] = {}
        for alias in store.all():
            self._aliases.setdefault(alias.function_name, {})[alias.name] = alias

    def close(self) -> None:
        self._store.close()

    # --- reads (memory only) --------------------------------------------------------------

    def lookup(self, function: str, name: str) -> Alias | None:
        """The alias ``name`` of ``function``; None if there is none."""
        return self._aliases.get(function, {}).get(name)

    def aliases_of(self, function: str) -> list[Alias]:
        """Every alias of ``function``, in creation order."""
        return list(self._aliases.get(function, {}).values())

    def route(self, alias: Alias) -> str:
        """The version one invocation through the alias runs: the additional version with its
        weight's probability, the primary version otherwise."""
        for version, weight in alias.weights.items():
            if self._chance() < weight:
                return version
        return alias.function_version

    def resolve(self, function: str, qualifier: str, *, route: bool = False) -> str:
        """The version ``qualifier`` names: an existing alias's version (picked by its weights
        when ``route``), else the qualifier itself (a version number, ``$LATEST``, or a name
        that is no alias, which the caller reports as not found)."""
        if qualifier == LATEST or not is_alias_name(qualifier):
            return qualifier
        alias = self.lookup(function, qualifier)
        if alias is None:
            return qualifier
        return self.route(alias) if route else alias.function_version

    def check_unreferenced(self, function: str, version: str) -> None:
        """DeleteFunction of a published version: refused (ResourceConflictException) while
        an alias routes to it."""
        users = [a.name for a in self._aliases.get(function, {}).values() if version in a.versions]
        if users:
            raise version_in_use(users)

    # --- writes (store, then memory) --------------------------------------------------------

    def create(self, alias: Alias) -> bool:
        """Add a new alias; False (nothing changes) if its function already has one of that
        name."""
        if self.lookup(alias.function_name, alias.name) is not None:
            return False
        if not self._store.create(alias):
            return False
        self._aliases.setdefault(alias.function_name, {})[alias.name] = alias
        return True

    def put(self, alias: Alias) -> None:
        """Replace an existing alias."""
        self._store.put(alias)
        self._aliases.setdefault(alias.function_name, {})[alias.name] = alias

    def delete(self, function: str, name: str) -> bool:
        """Delete an alias; False if there was none (nothing changes)."""
        if self.lookup(function, name) is None:
            return False
        self._store.delete(function, name)
        del self._aliases[function][name]
        return True

    def forget_function(self, function: str) -> None:
        """The function was deleted: its aliases went with it, by the store's cascade."""
        self._aliases.pop(function, None)
