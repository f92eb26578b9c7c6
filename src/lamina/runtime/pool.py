"""Execution environments per function version: reuse warm ones, start new ones.

An invocation takes an IDLE environment of the same function configuration (its
``revision_id``) or starts a new one; it never shares an environment with another
invocation. Environments of an outdated configuration are retired: idle ones stop at
once, busy ones after their invocation. Idle environments stop after the keep-alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from lamina.domain.errors import ResourceNotReadyException
from lamina.domain.models import FunctionConfig
from lamina.runtime.environment import Environment, State

log = logging.getLogger("lamina.pool")

EnvironmentFactory = Callable[[FunctionConfig], Environment]


class EnvironmentPool:
    def __init__(self, factory: EnvironmentFactory, idle_timeout: float) -> None:
        self._factory = factory
        self.idle_timeout = idle_timeout
        # (function name, version) -> idle environments, most recently used last.
        self._idle: dict[tuple[str, str], list[Environment]] = {}
        self._all: set[Environment] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._stopping: set[asyncio.Task[None]] = set()
        self.closed = False

    def start(self) -> None:
        self._reaper = asyncio.ensure_future(self._reap_forever())

    @property
    def environments(self) -> set[Environment]:
        return set(self._all)

    async def acquire(self, config: FunctionConfig) -> Environment:
        if self.closed:
            raise ResourceNotReadyException(
                "Lamina is shutting down: no new execution environments are started."
            )
        idle = self._idle.get((config.name, config.version))
        while idle:
            env = idle.pop()
            if env.state is State.IDLE and env.config.revision_id == config.revision_id:
                return env
            self._retire(env)
        env = self._factory(config)
        self._all.add(env)
        try:
            await env.start()
        except BaseException:
            self._all.discard(env)
            await env.stop()
            raise
        return env

    def has_idle(self, config: FunctionConfig) -> bool:
        """Whether an invocation of this function version would find a warm environment
        (only new environments count against the function's scaling rate)."""
        return bool(self._idle.get((config.name, config.version)))

    def release(self, env: Environment) -> None:
        if env.state is not State.IDLE or env.retired:
            self._retire(env)
            return
        self._idle.setdefault((env.config.name, env.config.version), []).append(env)

    def on_dead(self, env: Environment) -> None:
        self._all.discard(env)
        idle = self._idle.get((env.config.name, env.config.version))
        if idle and env in idle:
            idle.remove(env)

    def retire_function(self, name: str) -> None:
        """Code or configuration changed, or the function was deleted."""
        for env in list(self._all):
            if env.config.name != name:
                continue
            env.retired = True
            if env.state is not State.BUSY:
                self._retire(env)
        for key in [k for k in self._idle if k[0] == name]:
            self._idle.pop(key, None)

    def _retire(self, env: Environment) -> None:
        env.retired = True
        if env.state is State.DEAD:
            return
        task = asyncio.ensure_future(env.stop())
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, max(self.idle_timeout / 4, 0.05)))
            self.reap_idle()

    def reap_idle(self) -> None:
        deadline = time.monotonic() - self.idle_timeout
        for key, idle in list(self._idle.items()):
            keep = []
            for env in idle:
                if env.last_used < deadline or env.state is not State.IDLE:
                    self._retire(env)
                else:
                    keep.append(env)
            if keep:
                self._idle[key] = keep
            else:
                del self._idle[key]

    async def stop_all(self) -> None:
        self.closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        self._idle.clear()
        envs = list(self._all)
        await asyncio.gather(*(env.stop() for env in envs), return_exceptions=True)
        if self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)
