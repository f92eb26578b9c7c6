"""The function catalog: every function version's configuration, cached in memory
(write-through to the store) so the invoke path never touches SQLite; resolving qualifiers
(versions and aliases); publishing versions.
"""

from __future__ import annotations

import uuid

from lamina.domain import function_states, names, versions
from lamina.domain.models import LATEST, FunctionConfig
from lamina.services.alias_book import AliasBook
from lamina.services.function_packages import now_lambda_timestamp
from lamina.store.ports import FunctionStore


class FunctionCatalog:
    """One region's function versions. ``aliases`` resolves alias qualifiers."""

    def __init__(self, store: FunctionStore, aliases: AliasBook, region: str, account: str) -> None:
        self.store = store
        self.aliases = aliases
        self.region = region
        self.account = account
        self._cache: dict[tuple[str, str], FunctionConfig] = {}
        # While an update of a function is in progress: the $LATEST invocations still run
        # (the configuration before the update, as on AWS).
        self._serving: dict[str, FunctionConfig] = {}

    # --- reads ----------------------------------------------------------------------------

    def config(self, name: str, version: str = LATEST) -> FunctionConfig | None:
        """A version's configuration (``$LATEST`` by default); None if there is none."""
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
        version. ``route``: for an invocation, an alias picks its version by its weights.
        ResourceNotFoundException (naming the qualifier as given) if there is none. An
        invocation (``route``) of ``$LATEST`` while an update is in progress gets the
        configuration from before the update."""
        version = self.aliases.resolve(name, qualifier or LATEST, route=route)
        if route and version == LATEST:
            serving = self._serving.get(name)
            if serving is not None:
                return serving
        found = self.config(name, version)
        if found is None:
            raise names.function_not_found(self.region, self.account, name, qualifier)
        return found

    def published(self, name: str) -> list[FunctionConfig]:
        """A function's published versions, by number (not ``$LATEST``)."""
        out: list[FunctionConfig] = []
        for number in self.store.versions(name):
            if number != LATEST:
                config = self.config(name, number)
                if config is not None:
                    out.append(config)
        return out

    def all_versions(self, name: str) -> list[FunctionConfig]:
        """``$LATEST`` and the published versions (ListVersionsByFunction's order)."""
        out: list[FunctionConfig] = []
        for number in self.store.versions(name):
            config = self.config(name, number)
            if config is not None:
                out.append(config)
        return out

    # --- writes -----------------------------------------------------------------------------

    def save(self, config: FunctionConfig) -> None:
        """Store a new state of an existing version."""
        self.store.put_version(config)
        self._cache[(config.name, config.version)] = config

    def begin_update(self, previous: FunctionConfig, in_progress: FunctionConfig) -> None:
        """Store ``$LATEST`` as updating (``LastUpdateStatus: InProgress``); invocations run
        ``previous`` until ``end_update``."""
        self.save(in_progress)
        self._serving.setdefault(previous.name, previous)

    def end_update(self, name: str) -> None:
        """The update of ``name`` is applied (or the function is gone): invocations run the
        stored ``$LATEST`` again."""
        self._serving.pop(name, None)

    def remember(self, config: FunctionConfig) -> None:
        """A version the store already holds (just created or re-tagged)."""
        self._cache[(config.name, config.version)] = config

    def forget_version(self, name: str, version: str) -> None:
        self._cache.pop((name, version), None)

    def forget_function(self, name: str) -> None:
        self._serving.pop(name, None)
        for key in [k for k in self._cache if k[0] == name]:
            del self._cache[key]

    def publish(
        self, latest: FunctionConfig, description: str | None = None, *, pending: bool = False
    ) -> tuple[FunctionConfig, bool]:
        """Publish ``$LATEST`` as the next version (``description`` defaults to $LATEST's);
        ``$LATEST`` gets a new RevisionId. If ``$LATEST`` is unchanged since the last version
        published, that version is answered instead (and nothing changes). Returns the version
        and whether it is new. ``pending``: the new version is stored ``State: Pending``
        (published with an update still in progress; ``FunctionUpdates`` activates it)."""
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
            last_update_status_reason=None,
            last_update_status_reason_code=None,
            published_from=source,
            **(function_states.PENDING_VERSION if pending else function_states.ACTIVE_VERSION),
        )
        revised = latest.replace(revision_id=str(uuid.uuid4()))
        self.store.publish(published, revised)
        self.remember(published)
        self.remember(revised)
        return published, True
