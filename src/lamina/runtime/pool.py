"""Execution environments per function version: reuse warm ones, start new ones.

An invocation takes an IDLE environment of the same function code and configuration (its
``LastModified``; a new RevisionId alone keeps it) or starts a new one; it never shares an
environment with another invocation. Environments of an outdated configuration are
retired: idle ones stop at once, busy ones after their invocation. Idle environments stop
after the keep-alive.

A new environment needs room on the host (``runtime.admission``). When there is none, the
invocation waits (``acquire``'s ``wait``; then 429 ``ConcurrentInvocationLimitExceeded``).
Synchronous invocations (``INTERACTIVE``) are served before asynchronous ones
(``BACKGROUND``). A released environment is handed over directly to a waiting invocation of
its version: to a synchronous one only when the host lacks memory or CPU for a new
environment (one that waits merely for a cold-start slot gets its own new environment, as
on AWS); to an asynchronous one unless synchronous ones wait for memory or CPU (then it
idles, and may be stopped to make room for them). Idle environments are stopped, least
recently used first, when memory or CPU is short.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from functools import partial

from lamina.domain.errors import ResourceNotReadyException
from lamina.domain.models import FunctionConfig
from lamina.runtime.admission import (
    INTERACTIVE,
    PRIORITIES,
    Admission,
    HostBudget,
    HostCapacity,
    Room,
    Waiter,
    first_live,
)
from lamina.runtime.concurrency import ACCOUNT_LIMIT, throttled
from lamina.runtime.environment import Environment
from lamina.runtime.invocation import State

log = logging.getLogger("lamina.pool")

EnvironmentFactory = Callable[[FunctionConfig], Environment]


Key = tuple[str, str]  # (function name, version)


class EnvironmentPool:
    def __init__(
        self,
        factory: EnvironmentFactory,
        idle_timeout: float,
        admission: Admission | None = None,
    ) -> None:
        self._factory = factory
        self.idle_timeout = idle_timeout
        self.admission = admission or Admission(HostCapacity(HostBudget.of_host()))
        self.admission.add_evictor(self._evict)
        # (function name, version) -> idle environments, most recently used last.
        self._idle: dict[Key, list[Environment]] = {}
        self._all: set[Environment] = set()
        # The room each live environment holds on the host.
        self._rooms: dict[Environment, Room] = {}
        # (function name, version) -> invocations waiting, one queue per priority.
        self._waiting: dict[Key, tuple[deque[Waiter], ...]] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._stopping: set[asyncio.Task[None]] = set()
        self.closed = False

    def start(self) -> None:
        self._reaper = asyncio.ensure_future(self._reap_forever())

    @property
    def environments(self) -> set[Environment]:
        return set(self._all)

    async def acquire(
        self,
        config: FunctionConfig,
        priority: int = INTERACTIVE,
        wait: float | None = None,
        continues: str | None = None,
    ) -> Environment:
        """A warm environment of this function version, or a new one once the host has room
        for it. Without room, wait up to ``wait`` seconds (None: as long as it takes), then
        ``TooManyRequestsException`` (``ConcurrentInvocationLimitExceeded``). ``continues``:
        the log stream a new one continues (``Environment.continues``)."""
        if self.closed:
            raise ResourceNotReadyException(
                "Lamina is shutting down: no new execution environments are started."
            )
        idle = self._idle.get((config.name, config.version))
        while idle:
            env = idle.pop()
            if env.state is State.IDLE and _same_setup(env.config, config):
                return env
            self._retire(env)
        room = self.admission.try_admit(config.memory_size, priority)
        if room is None:
            got = await self._wait(config, priority, wait)
            if not isinstance(got, Room):
                return got  # a warm environment another invocation released
            room = got
        env = self._factory(config)
        if continues is not None:
            env.continues(continues)
        self._all.add(env)
        self._rooms[env] = room
        env.on_init_end = partial(self.admission.init_ended, room)
        try:
            await env.start()
        except BaseException:
            self._all.discard(env)
            self._release_room(env)
            await env.stop()
            raise
        return env

    async def _wait(
        self, config: FunctionConfig, priority: int, wait: float | None
    ) -> Room | Environment:
        loop = asyncio.get_running_loop()
        waiter = Waiter(loop.create_future(), config.memory_size, priority)
        key = (config.name, config.version)
        queues = self._waiting.get(key)
        if queues is None:
            queues = self._waiting[key] = tuple(deque() for _ in PRIORITIES)
        queues[priority].append(waiter)
        self.admission.enqueue(waiter)
        timer = loop.call_later(wait, self._expire, waiter) if wait is not None else None
        try:
            return await waiter.future
        except asyncio.CancelledError:
            future = waiter.future
            if future.done() and not future.cancelled() and future.exception() is None:
                got = future.result()
                if not isinstance(got, Room):
                    self.release(got)
                    raise
            self.admission.give_back(waiter)
            raise
        finally:
            if timer is not None:
                timer.cancel()
            with contextlib.suppress(ValueError):
                queues[priority].remove(waiter)
            if not any(queues) and self._waiting.get(key) is queues:
                del self._waiting[key]

    def _expire(self, waiter: Waiter) -> None:
        if waiter.future.done():
            return
        waiter.future.set_exception(throttled(ACCOUNT_LIMIT))
        self.admission.give_back(waiter)

    def has_idle(self, config: FunctionConfig) -> bool:
        """Whether an invocation of this function version would find a warm environment
        (only new environments count against the function's scaling rate)."""
        return bool(self._idle.get((config.name, config.version)))

    def release(self, env: Environment) -> None:
        if env.state is not State.IDLE or env.retired:
            self._retire(env)
            return
        key = (env.config.name, env.config.version)
        if self._waiting and self._hand_over(env, key):
            return
        self._idle.setdefault(key, []).append(env)
        if self.admission.waiting:
            self.admission.grant()

    def _hand_over(self, env: Environment, key: Key) -> bool:
        """Give a released environment to an invocation of its version that waits: a
        synchronous one only when the host lacks memory or CPU for its own (otherwise it gets
        a new environment of its own, as on AWS, once a cold start may begin); an
        asynchronous one unless synchronous ones wait for memory or CPU (then it idles, and
        may be stopped to make room for them)."""
        queues = self._waiting.get(key)
        if queues is None:
            return False
        interactive, background = queues
        waiter = first_live(interactive)
        if waiter is not None and self.admission.short_of_room(waiter.memory_mb):
            interactive.popleft()
            waiter.future.set_result(env)
            return True
        if self.admission.interactive_short_of_room():
            return False
        waiter = first_live(background)
        if waiter is None:
            return False
        background.popleft()
        waiter.future.set_result(env)
        return True

    def _evict(self, memory_mb: int, cpu_mb: int) -> bool:
        """Stop idle environments, least recently used first, to free this much memory and
        CPU share; stops none (False) when all of them would not be enough."""
        idle = sorted(
            (env for envs in self._idle.values() for env in envs), key=lambda e: e.last_used
        )
        chosen: list[Environment] = []
        for env in idle:
            if memory_mb <= 0 and cpu_mb <= 0:
                break
            room = self._rooms.get(env)
            if room is None:
                continue
            chosen.append(env)
            memory_mb -= room.memory_mb
            cpu_mb -= room.cpu_mb
        if memory_mb > 0 or cpu_mb > 0:
            return False
        for env in chosen:
            envs = self._idle.get((env.config.name, env.config.version))
            if envs is not None:
                envs.remove(env)
                if not envs:
                    del self._idle[(env.config.name, env.config.version)]
            self._retire(env)
        return True

    def _release_room(self, env: Environment) -> None:
        room = self._rooms.pop(env, None)
        if room is not None:
            self.admission.release(room)

    def on_dead(self, env: Environment) -> None:
        self._all.discard(env)
        self._release_room(env)
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
        # Its room frees now: it is stopping (a SIGTERM and at most a short grace away).
        self._release_room(env)
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
        self.admission.close()
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        self._idle.clear()
        envs = list(self._all)
        await asyncio.gather(*(env.stop() for env in envs), return_exceptions=True)
        if self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)


def _same_setup(running: FunctionConfig, wanted: FunctionConfig) -> bool:
    """An environment still runs what the function is: same code, same configuration (every
    change of either sets ``LastModified``). A new RevisionId alone (a permission added, a
    version published) keeps warm environments, as on AWS."""
    return (
        running.last_modified == wanted.last_modified and running.code_sha256 == wanted.code_sha256
    )
