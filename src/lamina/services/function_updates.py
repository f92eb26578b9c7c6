"""Updates in progress: ``$LATEST`` answers ``LastUpdateStatus: InProgress`` after an update
(and a version published with it ``State: Pending``) until the update is applied, then
``Successful`` (``Active``), as on AWS (``domain.function_states``).

The update itself is stored before the request is answered (durable); applying it is a
callback of this service that runs after ``settle_seconds`` (0 by default: the loop's next
turn, well under a millisecond; a positive value, ``--function-update-seconds``, lets
clients exercise their waiters as against AWS, whose updates take seconds) and stores the
``Successful`` state.
Until then a second update or a PublishVersion gets AWS's ResourceConflictException and
invocations run the configuration from before the update (``FunctionCatalog.require``).
An update the server stopped (or was killed) before applying is applied at the next start.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from lamina.domain import function_states
from lamina.services.function_catalog import FunctionCatalog
from lamina.services.signals import LambdaSignals

log = logging.getLogger(__name__)

# Run once an update is applied (or its function deleted).
Cleanup = Callable[[], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class _Scheduled:
    handle: asyncio.Handle
    after: Cleanup | None


class FunctionUpdates:
    """Applies the updates of one region's functions after their requests are answered."""

    def __init__(
        self, catalog: FunctionCatalog, signals: LambdaSignals, settle_seconds: float = 0.0
    ) -> None:
        self._catalog = catalog
        self._signals = signals
        self._settle_seconds = settle_seconds
        # At most one per function: a second update is refused while one is in progress.
        self._scheduled: dict[str, _Scheduled] = {}
        # Clean-ups of applied updates, running (held so they are not collected).
        self._cleanups: set[asyncio.Task[None]] = set()

    def begin(
        self, name: str, published_version: str | None = None, after: Cleanup | None = None
    ) -> None:
        """``$LATEST`` of ``name`` is stored ``InProgress`` (``FunctionCatalog.begin_update``):
        apply it after ``settle_seconds``, with the ``Pending`` version published with it
        (``published_version``), if any; then run ``after`` (what the configuration before
        the update needed and nothing else does: its packages go once it stops serving).

        With no settle time the update is applied by the loop's next turn, before any request
        that arrives after this one's answer is read (asyncio runs its callbacks in order):
        a client that waits for the answer then sees ``Successful``."""
        loop = asyncio.get_running_loop()
        self.forget(name)
        if self._settle_seconds > 0:
            handle: asyncio.Handle = loop.call_later(
                self._settle_seconds, self._apply_scheduled, name, published_version
            )
        else:
            handle = loop.call_soon(self._apply_scheduled, name, published_version)
        self._scheduled[name] = _Scheduled(handle, after)

    def _apply_scheduled(self, name: str, published_version: str | None) -> None:
        scheduled = self._scheduled.pop(name, None)
        self.apply(name, published_version)
        if scheduled is not None:
            self._clean_up(scheduled.after)

    def _clean_up(self, after: Cleanup | None) -> None:
        if after is None:
            return
        task = asyncio.get_running_loop().create_task(after())
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)

    def forget(self, name: str) -> None:
        """The function is deleted: its update is not applied (a function created again
        under its name is another function); its clean-up runs."""
        scheduled = self._scheduled.pop(name, None)
        if scheduled is not None:
            scheduled.handle.cancel()
            self._clean_up(scheduled.after)

    def apply(self, name: str, pending_version: str | None = None) -> None:
        """Store ``$LATEST``'s update as ``Successful`` (new RevisionId) and the version
        published with it as ``Active``; nothing if the function is gone or not updating."""
        try:
            self._activate_version(name, pending_version)
            latest = self._catalog.config(name)
            if latest is not None and function_states.is_updating(latest):
                done = latest.replace(
                    revision_id=str(uuid.uuid4()), **function_states.UPDATE_SUCCESSFUL
                )
                self._catalog.save(done)
        except Exception:  # the next start applies it again
            log.exception("applying the update of function %s failed", name)
            return
        finally:
            self._catalog.end_update(name)
        # Warm environments of the configuration before the update retire now.
        self._signals.function_changed.emit(name)

    def _activate_version(self, name: str, version: str | None) -> None:
        if version is None:
            return
        config = self._catalog.config(name, version)
        if config is not None and function_states.is_pending(config):
            self._catalog.save(config.replace(**function_states.ACTIVE_VERSION))

    def recover(self) -> None:
        """At start: apply every update a previous run stored but did not apply (its
        ``$LATEST`` still ``InProgress``, versions still ``Pending``)."""
        count = 0
        marker: str | None = None
        while True:
            page = self._catalog.store.list_latest(marker, 100)
            for latest in page:
                stale = [
                    v.version
                    for v in self._catalog.published(latest.name)
                    if function_states.is_pending(v)
                ]
                if function_states.is_updating(latest) or stale:
                    count += 1
                    for version in stale:
                        self._activate_version(latest.name, version)
                    self.apply(latest.name)
            if len(page) < 100:
                if count:
                    log.info("applied %d function updates a previous run left", count)
                return
            marker = page[-1].name

    async def stop(self) -> None:
        """Stop applying (the server is stopping): what is still in progress stays stored
        ``InProgress`` and is applied at the next start (``recover``)."""
        for scheduled in self._scheduled.values():
            scheduled.handle.cancel()
        self._scheduled.clear()
        # Clean-ups under way finish; one not started (its update left in progress) leaves
        # its old package stored (reported in docs/versions.md).
        await asyncio.gather(*self._cleanups, return_exceptions=True)
