"""Provisioned execution environments: started and initialised ahead of invocations.

One *allocation* per provisioned concurrency configuration (``"function:qualifier"``). It
wants a number of environments per function version (a version's configuration: all of them
for that version; an alias': split over the versions it routes to). Each environment is
started with ``AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency`` and counts once its
runtime reached its first ``/next``; its first invocation is then no cold start (no Init
Duration in its REPORT line).

- Status: ``IN_PROGRESS`` while environments initialise, ``READY`` when every wanted
  environment is initialised, ``FAILED`` (``FUNCTION_ERROR_INIT_FAILURE``) when one fails to
  initialise before the allocation was first complete; its environments are then stopped.
  Replacements of environments that died later are retried with a backoff instead.
- Invocations of a version take an idle provisioned environment of it first (``take``), with
  a provisioned lease of the concurrency limiter, and give it back after (``give_back``).
  When all are busy the invocation spills over to the on-demand pool.
- Provisioned environments are never reaped for idleness. One that dies is replaced. A
  change of the wanted versions (an alias moved) starts the new environments first and stops
  the old ones once the new ones are ready (meanwhile the old ones keep counting). Removing
  an allocation (configuration, alias, version or function deleted) stops its environments:
  idle ones at once, busy ones after their invocation. ``stop_all`` stops everything.
- Each environment holds room on the host (``runtime.admission``) while it lives: it waits
  for room (as a ``BACKGROUND`` waiter, after synchronous invocations) before it starts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

from lamina.domain.errors import ResourceNotReadyException
from lamina.domain.models import FunctionConfig
from lamina.domain.provisioned import (
    FAILED,
    IN_PROGRESS,
    INIT_FAILURE,
    READY,
    AllocationStatus,
)
from lamina.runtime.admission import BACKGROUND, Admission, Room
from lamina.runtime.concurrency import ConcurrencyLimiter, Lease
from lamina.runtime.environment import Environment
from lamina.runtime.invocation import State

log = logging.getLogger("lamina.provisioned")

# (configuration, on_dead) -> a new environment initialised as provisioned concurrency.
ProvisionedFactory = Callable[[FunctionConfig, Callable[[Environment], None]], Environment]

# Provisioned init may run up to max(130 s, the function's timeout) (lambda-spec §1.8).
INIT_LIMIT_SECONDS = 130.0
# Waits before starting replacements again after they failed to initialise.
RETRY_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)


class Slot:
    """One invocation on a provisioned environment: give it back exactly once."""

    __slots__ = ("env", "lease")

    def __init__(self, env: Environment, lease: Lease) -> None:
        self.env = env
        self.lease = lease


class Allocation:
    """The environments of one configuration."""

    def __init__(self, key: str, function: str) -> None:
        self.key = key
        self.function = function
        # version -> (its configuration, environments wanted)
        self.targets: dict[str, tuple[FunctionConfig, int]] = {}
        self.starting: set[Environment] = set()
        # Initialised and alive (idle or busy), for a targeted version.
        self.ready: set[Environment] = set()
        self.busy: set[Environment] = set()
        # Initialised environments of versions no longer targeted: they count (and serve
        # their version) until the new ones are ready.
        self.draining: set[Environment] = set()
        self.failed: str | None = None
        # Complete at least once since the last change: init failures are retried then.
        self.was_complete = False
        self.retries = 0
        self.retry: asyncio.TimerHandle | None = None

    @property
    def requested(self) -> int:
        return sum(count for _, count in self.targets.values())

    def count(self, version: str) -> int:
        """Environments of ``version`` initialising or initialised (not draining)."""
        return sum(1 for env in self.starting if env.config.version == version) + sum(
            1 for env in self.ready if env.config.version == version
        )

    @property
    def complete(self) -> bool:
        return (
            self.failed is None
            and not self.starting
            and all(
                sum(1 for env in self.ready if env.config.version == version) == count
                for version, (_, count) in self.targets.items()
            )
        )

    def status(self) -> AllocationStatus:
        if self.failed is not None:
            return AllocationStatus(FAILED, 0, 0, self.failed)
        if self.complete:
            return AllocationStatus(READY, self.requested, self.requested)
        allocated = min(self.requested, len(self.ready) + len(self.draining))
        return AllocationStatus(IN_PROGRESS, allocated, allocated)


class ProvisionedEnvironments:
    def __init__(
        self,
        factory: ProvisionedFactory,
        limiter: ConcurrencyLimiter,
        admission: Admission | None = None,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        """``on_idle`` is called when an environment became idle again (waiting invocations
        may use it): the wiring passes the region's ``capacity_freed`` signal."""
        self._factory = factory
        self._limiter = limiter
        self._admission = admission
        # The room each environment holds on the host.
        self._rooms: dict[Environment, Room] = {}
        self._allocations: dict[str, Allocation] = {}
        # Which allocation each live environment belongs to.
        self._owner: dict[Environment, Allocation] = {}
        # (function, version) -> idle initialised environments, most recently used last.
        self._idle: dict[tuple[str, str], list[Environment]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = False
        self._on_idle = on_idle

    # --- the invoke path --------------------------------------------------------------------

    def take(self, config: FunctionConfig) -> Slot | None:
        """An idle provisioned environment of this version and its lease, or None."""
        idle = self._idle.get((config.name, config.version))
        while idle:
            env = idle.pop()
            allocation = self._owner.get(env)
            if allocation is None or env.state is not State.IDLE or env.retired:
                continue
            allocation.busy.add(env)
            return Slot(env, self._limiter.acquire_provisioned(config.name))
        return None

    def give_back(self, slot: Slot) -> None:
        self._limiter.release(slot.lease)
        env = slot.env
        allocation = self._owner.get(env)
        if allocation is not None:
            allocation.busy.discard(env)
        if allocation is None or env.retired:
            self._stop(env)
            return
        if env.state is State.IDLE:
            self._idle.setdefault((env.config.name, env.config.version), []).append(env)
            if self._on_idle is not None:
                self._on_idle()

    # --- figures ------------------------------------------------------------------------------

    def status(self, key: str) -> AllocationStatus:
        allocation = self._allocations.get(key)
        if allocation is None:
            return AllocationStatus(IN_PROGRESS, 0, 0)
        return allocation.status()

    def stats(self) -> dict[str, tuple[int, int]]:
        """``"function:qualifier"`` -> (provisioned environments initialised, busy now)."""
        return {
            key: (len(a.ready) + len(a.draining), len(a.busy))
            for key, a in sorted(self._allocations.items())
        }

    def environments(self, key: str) -> set[Environment]:
        allocation = self._allocations.get(key)
        if allocation is None:
            return set()
        return allocation.starting | allocation.ready | allocation.draining

    # --- configuration ----------------------------------------------------------------------

    def configure(
        self, key: str, function: str, targets: dict[str, tuple[FunctionConfig, int]]
    ) -> None:
        """Want ``targets`` (version -> (configuration, environments)) for ``key``: start what
        is missing, stop what is too much. A failed allocation starts over."""
        if self.closed:
            return
        allocation = self._allocations.get(key)
        if allocation is None:
            allocation = self._allocations[key] = Allocation(key, function)
        if allocation.retry is not None:
            allocation.retry.cancel()
            allocation.retry = None
        changed = allocation.targets != targets
        allocation.targets = dict(targets)
        if changed or allocation.failed is not None:
            allocation.was_complete = False
            allocation.retries = 0
        allocation.failed = None
        for env in list(allocation.starting):
            if env.config.version not in targets:
                self._discard(env)
        for env in list(allocation.ready):
            if env.config.version not in targets:
                allocation.ready.discard(env)
                allocation.draining.add(env)
        for version, (_, count) in targets.items():
            surplus = allocation.count(version) - count
            if surplus > 0:
                self._shrink(allocation, version, surplus)
        self._fill(allocation)
        self._settle(allocation)

    def remove(self, key: str) -> None:
        """Stop the environments of ``key`` (busy ones after their invocation)."""
        allocation = self._allocations.pop(key, None)
        if allocation is None:
            return
        if allocation.retry is not None:
            allocation.retry.cancel()
        for env in list(allocation.starting | allocation.ready | allocation.draining):
            self._discard(env)

    async def stop_all(self) -> None:
        self.closed = True
        if self._admission is not None:
            self._admission.close()
        for key in list(self._allocations):
            self.remove(key)
        for env in list(self._owner):
            self._discard(env)
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=15)

    # --- environments -------------------------------------------------------------------------

    def _fill(self, allocation: Allocation) -> None:
        """Start the environments each targeted version still lacks."""
        if self.closed or self._allocations.get(allocation.key) is not allocation:
            return
        allocation.retry = None
        for version, (config, count) in allocation.targets.items():
            for _ in range(count - allocation.count(version)):
                env = self._factory(config, self._on_dead)
                allocation.starting.add(env)
                self._owner[env] = allocation
                self._spawn(self._start(allocation, env))

    def _shrink(self, allocation: Allocation, version: str, surplus: int) -> None:
        """Stop ``surplus`` environments of ``version``: initialising ones first, then idle,
        then busy ones (after their invocation)."""
        mine = [env for env in allocation.starting if env.config.version == version]
        ready = [env for env in allocation.ready if env.config.version == version]
        mine += sorted(ready, key=lambda env: env in allocation.busy)
        for env in mine[:surplus]:
            self._discard(env)

    async def _start(self, allocation: Allocation, env: Environment) -> None:
        ok = False
        try:
            if self._admission is not None and env.state is not State.DEAD:
                room = await self._admission.admit(env.config.memory_size, BACKGROUND)
                self._rooms[env] = room
                env.on_init_end = partial(self._admission.init_ended, room)
            if env.state is State.DEAD:
                self._release_room(env)
                return  # removed before it began
            await env.start()
            limit = max(INIT_LIMIT_SECONDS, float(env.config.timeout))
            ok = await asyncio.wait_for(env.wait_initialised(), limit)
        except asyncio.TimeoutError:
            log.warning("provisioned environment %s: init took too long", env.id)
        except ResourceNotReadyException:
            pass  # the server is stopping
        except Exception:  # noqa: BLE001 - an environment that cannot start is an init failure
            log.exception("provisioned environment %s could not start", env.id)
        if self._owner.get(env) is not allocation or env not in allocation.starting:
            # Removed meanwhile (configuration changed or deleted, server stopping).
            self._stop(env)
            return
        allocation.starting.discard(env)
        if not ok:
            self._owner.pop(env, None)
            self._stop(env)
            self._init_failed(allocation)
            return
        allocation.ready.add(env)
        env.freeze()
        self._idle.setdefault((env.config.name, env.config.version), []).append(env)
        self._settle(allocation)
        if self._on_idle is not None:
            self._on_idle()

    def _init_failed(self, allocation: Allocation) -> None:
        if allocation.was_complete and not self.closed:
            # A replacement failed: keep what is running and try again later.
            delay = RETRY_DELAYS[min(allocation.retries, len(RETRY_DELAYS) - 1)]
            allocation.retries += 1
            log.warning(
                "provisioned concurrency %s: a replacement environment failed to initialise;"
                " retrying in %.0f s",
                allocation.key,
                delay,
            )
            if allocation.retry is None:
                loop = asyncio.get_running_loop()
                allocation.retry = loop.call_later(delay, self._fill, allocation)
            return
        log.warning("provisioned concurrency %s failed: %s", allocation.key, INIT_FAILURE)
        allocation.failed = INIT_FAILURE
        for env in list(allocation.starting | allocation.ready | allocation.draining):
            self._discard(env)

    def _settle(self, allocation: Allocation) -> None:
        """Once complete: the environments of versions no longer targeted stop."""
        if not allocation.complete:
            return
        allocation.was_complete = True
        allocation.retries = 0
        for env in list(allocation.draining):
            self._discard(env)

    def _on_dead(self, env: Environment) -> None:
        self._release_room(env)
        allocation = self._owner.get(env)
        self._unindex(env)
        if allocation is None or env in allocation.starting:
            return  # an initialising environment: ``_start`` sees it fail
        del self._owner[env]
        allocation.busy.discard(env)
        allocation.draining.discard(env)
        if env in allocation.ready:
            allocation.ready.discard(env)
            if not self.closed and allocation.failed is None:
                log.info(
                    "provisioned environment %s of %s ended; replacing it", env.id, allocation.key
                )
                self._fill(allocation)

    def _discard(self, env: Environment) -> None:
        """Take ``env`` out of its allocation and stop it (a busy one after its invocation)."""
        allocation = self._owner.pop(env, None)
        env.retired = True
        self._unindex(env)
        busy = False
        if allocation is not None:
            allocation.starting.discard(env)
            allocation.ready.discard(env)
            allocation.draining.discard(env)
            busy = env in allocation.busy
            allocation.busy.discard(env)
        if not busy:
            self._stop(env)

    def _unindex(self, env: Environment) -> None:
        idle = self._idle.get((env.config.name, env.config.version))
        if idle and env in idle:
            idle.remove(env)
            if not idle:
                del self._idle[(env.config.name, env.config.version)]

    def _stop(self, env: Environment) -> None:
        self._release_room(env)
        if env.state is not State.DEAD:
            self._spawn(env.stop())

    def _release_room(self, env: Environment) -> None:
        room = self._rooms.pop(env, None)
        if room is not None and self._admission is not None:
            self._admission.release(room)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("provisioned environments: %s", task.exception())
