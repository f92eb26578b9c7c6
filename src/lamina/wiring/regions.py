"""The regions served: the default one from the start, any other on its first request (and
at start when it has state on disk). Each is a ``RegionalLambda``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from lamina.api.endpoints import Handler
from lamina.domain.context import RequestContext
from lamina.wiring.region import RegionalLambda


class Regions:
    def __init__(self, default: str, build: Callable[[str], RegionalLambda]) -> None:
        self.default_name = default
        self._build = build
        self._regions: dict[str, RegionalLambda] = {}
        self._starting: dict[str, asyncio.Task[RegionalLambda]] = {}
        self.default = self._add(default)
        self._stopping = False

    def _add(self, name: str) -> RegionalLambda:
        region = self._build(name)
        self._regions[name] = region
        return region

    def all(self) -> list[RegionalLambda]:
        return list(self._regions.values())

    async def start(self, names: list[str]) -> None:
        """Start the default region and the ``names`` with state on disk."""
        for name in names:
            if name not in self._regions:
                self._add(name)
        for region in self.all():
            await region.start()

    async def get(self, name: str) -> RegionalLambda:
        """The region's Lambda, built and started on first use (once, even when many
        requests for it arrive together)."""
        region = self._regions.get(name)
        if region is not None:
            return region
        task = self._starting.get(name)
        if task is None:
            task = asyncio.ensure_future(self._start_new(name))
            self._starting[name] = task
        return await asyncio.shield(task)

    async def _start_new(self, name: str) -> RegionalLambda:
        region = self._build(name)
        await region.start()
        self._regions[name] = region
        self._starting.pop(name, None)
        return region

    async def stop_environments(self) -> None:
        await asyncio.gather(*(region.stop_environments() for region in self.all()))

    async def stop(self) -> None:
        for region in self.all():
            await region.stop()

    def handlers(self, pick: Callable[[RegionalLambda], dict[str, Handler]]) -> dict[str, Handler]:
        """Handlers that serve each request with the region of its signature."""

        def route(operation: str) -> Handler:
            async def handler(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
                region = self._regions.get(ctx.region) or await self.get(ctx.region)
                return await pick(region)[operation](ctx, params)

            return handler

        return {operation: route(operation) for operation in pick(self.default)}
