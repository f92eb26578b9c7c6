"""One start/stop lifecycle for every component of the server.

Components are registered in dependency order; ``start`` starts them in that order and
``stop`` stops the started ones in reverse, each once, even when one of them fails (the
failure is logged and the others still stop). A component's hooks may be plain functions or
coroutines (``SqliteStore.close`` and ``LogService.stop`` alike).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger("lamina")

Hook = Callable[[], Awaitable[None] | None]


@dataclass(frozen=True)
class Component:
    name: str
    start: Hook | None = None
    stop: Hook | None = None


class Lifecycle:
    def __init__(self) -> None:
        self._components: list[Component] = []
        self._started: list[Component] = []

    def add(self, name: str, *, start: Hook | None = None, stop: Hook | None = None) -> None:
        self._components.append(Component(name, start, stop))

    async def start(self) -> None:
        for component in self._components:
            if component in self._started:
                continue
            if component.start is not None:
                await _call(component.start)
            self._started.append(component)

    async def stop(self) -> None:
        while self._started:
            component = self._started.pop()
            if component.stop is None:
                continue
            try:
                await _call(component.stop)
            except Exception:  # noqa: BLE001 - the others must still stop
                log.exception("stopping %s failed", component.name)


async def _call(hook: Hook) -> None:
    result = hook()
    if inspect.isawaitable(result):
        await result
