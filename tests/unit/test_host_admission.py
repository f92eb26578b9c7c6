"""Host admission: the arithmetic of rooms (memory, CPU share, cold starts), the order in
which waiters get room, and the pool handing released environments to waiting invocations."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from lamina.domain.errors import ResourceNotReadyException, TooManyRequestsException
from lamina.domain.models import FunctionConfig
from lamina.runtime.admission import (
    BACKGROUND,
    INTERACTIVE,
    MB_PER_VCPU,
    Admission,
    HostBudget,
    HostCapacity,
    Room,
    Waiter,
)
from lamina.runtime.concurrency import ConcurrencyLimiter
from lamina.runtime.invocation import State
from lamina.runtime.pool import EnvironmentPool
from lamina.runtime.provisioned import ProvisionedEnvironments


def budget(memory: int = 10_000, cpu: int = 10_000, cold: int = 100, cores: int = 2) -> HostBudget:
    return HostBudget(memory_mb=memory, cpu_mb=cpu, cold_starts=cold, host_cpus=cores)


# --- the arithmetic ---------------------------------------------------------------------------


def test_budget_of_host_applies_overcommit_and_eight_cold_starts_per_core() -> None:
    got = HostBudget.of_host(2.0, 8.0, memory_mb=24_000, cpus=2)
    assert got == HostBudget(
        memory_mb=48_000, cpu_mb=2 * MB_PER_VCPU * 8, cold_starts=16, host_cpus=2
    )
    assert HostBudget.of_host(1.0, 1.0, 3, memory_mb=1000, cpus=4).cold_starts == 3
    # A huge overcommit stays a finite budget; a tiny one still admits something.
    assert HostBudget.of_host(float("inf"), 1e-9, memory_mb=1000, cpus=1).cpu_mb == 1


def test_memory_budget_bounds_the_sum_of_memory_sizes() -> None:
    capacity = HostCapacity(budget(memory=1000))
    rooms = [capacity.admit(128) for _ in range(7)]
    assert all(rooms)
    assert capacity.memory_mb == 896
    assert capacity.admit(128) is None  # 1,024 > 1,000
    assert capacity.shortfall(128) == (24, 0)
    room = rooms[0]
    assert room is not None
    assert capacity.release(room)
    assert capacity.admit(128) is not None
    assert capacity.environments == 7


def test_cpu_budget_counts_memory_size_over_1769_per_vcpu() -> None:
    # Two cores without overcommit: 2 vCPU = 3,538 MB of share = 27 environments of 128 MB.
    capacity = HostCapacity(budget(memory=1 << 30, cpu=2 * MB_PER_VCPU))
    admitted = 0
    while capacity.admit(128) is not None:
        admitted += 1
    assert admitted == 27
    assert capacity.shortfall(128) == (0, 27 * 128 + 128 - 2 * MB_PER_VCPU)


def test_one_environment_larger_than_the_host_runs_alone_rather_than_never() -> None:
    capacity = HostCapacity(budget(memory=4096, cpu=8 * MB_PER_VCPU, cores=2))
    assert capacity.demand(10_240) == (4096, 2 * MB_PER_VCPU)  # memory budget, host cores
    big = capacity.admit(10_240)
    assert big is not None
    assert capacity.admit(128) is None
    capacity.release(big)
    assert capacity.admit(128) is not None


def test_cold_starts_in_flight_are_limited_until_init_ends() -> None:
    capacity = HostCapacity(budget(cold=2))
    first, second = capacity.admit(128), capacity.admit(128)
    assert first is not None and second is not None
    assert capacity.admit(128) is None
    assert not capacity.cold_start_free()
    assert capacity.init_ended(first)
    assert not capacity.init_ended(first)  # once
    third = capacity.admit(128)
    assert third is not None
    assert capacity.initialising == 2
    # Released before its init ended (it crashed): both its slot and its memory free.
    assert capacity.release(second)
    assert not capacity.release(second)
    assert not capacity.init_ended(second)
    assert (capacity.initialising, capacity.environments, capacity.memory_mb) == (1, 2, 256)


def test_one_cold_start_is_kept_for_synchronous_invocations() -> None:
    capacity = HostCapacity(budget(cold=3))
    assert capacity.admit(128, BACKGROUND) and capacity.admit(128, BACKGROUND)
    assert capacity.admit(128, BACKGROUND) is None  # the third slot is kept…
    assert capacity.admit(128, INTERACTIVE) is not None  # …for a synchronous invocation
    assert capacity.admit(128, INTERACTIVE) is None
    # With a single slot there is nothing to keep: background work may use it.
    assert HostCapacity(budget(cold=1)).admit(128, BACKGROUND) is not None


# --- who gets room ------------------------------------------------------------------------------


def waiter(memory: int, priority: int) -> Waiter:
    return Waiter(asyncio.get_running_loop().create_future(), memory, priority)


def test_interactive_waiters_go_first_and_the_head_is_never_overtaken() -> None:
    async def scenario() -> None:
        admission = Admission(HostCapacity(budget(memory=1000)))
        holder = admission.try_admit(900, BACKGROUND)
        assert holder is not None
        background = waiter(100, BACKGROUND)
        admission.enqueue(background)
        assert background.future.done()  # it fits: nobody waits ahead of it
        big, small, late = (
            waiter(500, INTERACTIVE),
            waiter(100, INTERACTIVE),
            waiter(100, BACKGROUND),
        )
        for w in (big, small, late):
            admission.enqueue(w)
        assert not any(w.future.done() for w in (big, small, late))
        # A newcomer may not pass the waiters of its priority, nor a background one anyone.
        assert admission.try_admit(10, INTERACTIVE) is None
        assert admission.try_admit(10, BACKGROUND) is None
        admission.release(holder)  # 900 free: the big one, the small one, then the late one
        assert big.future.done() and small.future.done() and late.future.done()
        assert admission.capacity.memory_mb == 100 + 500 + 100 + 100
        # Blocked head: a 400 MB interactive waiter does not fit in the 300 MB left, and
        # neither the 10 MB one behind it nor a background one may pass it.
        head, behind, background2 = (
            waiter(400, INTERACTIVE),
            waiter(10, INTERACTIVE),
            waiter(10, BACKGROUND),
        )
        for w in (head, behind, background2):
            admission.enqueue(w)
        assert not any(w.future.done() for w in (head, behind, background2))
        room = big.future.result()
        assert isinstance(room, Room)
        admission.release(room)
        assert head.future.done() and behind.future.done() and background2.future.done()

    asyncio.run(scenario())


def test_close_fails_every_waiter_and_refuses_new_ones() -> None:
    async def scenario() -> None:
        admission = Admission(HostCapacity(budget(memory=100)))
        assert admission.try_admit(100, INTERACTIVE) is not None
        stuck = waiter(100, BACKGROUND)
        admission.enqueue(stuck)
        admission.close()
        assert isinstance(stuck.future.exception(), ResourceNotReadyException)
        with pytest.raises(ResourceNotReadyException):
            admission.try_admit(1, INTERACTIVE)

    asyncio.run(scenario())


def test_idle_environments_are_evicted_only_when_that_makes_enough_room() -> None:
    async def scenario() -> None:
        admission = Admission(HostCapacity(budget(memory=1000, cold=1)))
        asked: list[tuple[int, int]] = []
        idle: list[Room] = []

        def evict(memory: int, cpu: int) -> bool:
            asked.append((memory, cpu))
            if sum(room.memory_mb for room in idle) < memory:
                return False
            while idle:
                admission.release(idle.pop())
            return True

        admission.evict = evict
        room = admission.try_admit(800, INTERACTIVE)
        assert room is not None
        # A cold start is in flight: evicting would not help, so nothing is asked.
        assert admission.try_admit(400, INTERACTIVE) is None
        assert asked == []
        admission.init_ended(room)
        assert admission.try_admit(400, INTERACTIVE) is None  # nothing idle to stop
        assert asked == [(200, 0)]
        idle.append(room)
        got = admission.try_admit(400, INTERACTIVE)
        assert got is not None and admission.capacity.memory_mb == 400

    asyncio.run(scenario())


def test_a_waiter_that_leaves_gives_its_room_back() -> None:
    async def scenario() -> None:
        admission = Admission(HostCapacity(budget(memory=100)))
        holder = admission.try_admit(100, INTERACTIVE)
        assert holder is not None
        leaving, behind = waiter(100, INTERACTIVE), waiter(100, BACKGROUND)
        admission.enqueue(leaving)
        admission.enqueue(behind)
        admission.release(holder)
        assert isinstance(leaving.future.result(), Room)
        admission.give_back(leaving)  # its caller was cancelled meanwhile
        assert isinstance(behind.future.result(), Room)

    asyncio.run(scenario())


# --- the pool: released environments go to waiting invocations --------------------------------


class FakeEnvironment:
    """What the pool uses of an environment."""

    def __init__(self, config: FunctionConfig) -> None:
        self.config = config
        self.state = State.STARTING
        self.retired = False
        self.last_used = 0.0
        self.on_init_end: Any = None
        self.stopped = False

    async def start(self) -> None:
        self.state = State.IDLE

    async def stop(self) -> None:
        self.stopped = True
        self.state = State.DEAD


def config(name: str, memory: int = 128) -> FunctionConfig:
    return FunctionConfig(
        name=name,
        region="us-east-1",
        account="000000000000",
        role="arn:aws:iam::000000000000:role/r",
        runtime="python3.12",
        handler="app.handler",
        code_sha256="0" * 64,
        code_size=1,
        last_modified="2026-01-01T00:00:00.000+0000",
        revision_id="r1",
        memory_size=memory,
    )


def pool_with(admission: Admission) -> tuple[EnvironmentPool, list[FakeEnvironment]]:
    made: list[FakeEnvironment] = []

    def factory(cfg: FunctionConfig) -> Any:
        env = FakeEnvironment(cfg)
        made.append(env)
        return env

    return EnvironmentPool(factory, 60.0, admission), made


def test_a_released_environment_goes_to_a_waiting_synchronous_invocation_first() -> None:
    async def scenario() -> None:
        admission = Admission(HostCapacity(budget(memory=128)))
        pool, made = pool_with(admission)
        fn = config("f")
        first = await pool.acquire(fn)
        background = asyncio.ensure_future(pool.acquire(fn, BACKGROUND, None))
        await asyncio.sleep(0)
        interactive = asyncio.ensure_future(pool.acquire(fn, INTERACTIVE, 5.0))
        await asyncio.sleep(0)
        pool.release(first)
        assert await interactive is first
        assert not background.done()
        pool.release(first)
        assert await background is first
        assert len(made) == 1

    asyncio.run(scenario())


def test_a_synchronous_invocation_that_finds_no_room_gets_the_429_after_its_wait() -> None:
    async def scenario() -> None:
        admission = Admission(HostCapacity(budget(memory=128)))
        pool, _ = pool_with(admission)
        await pool.acquire(config("busy"))
        with pytest.raises(TooManyRequestsException) as caught:
            await pool.acquire(config("other"), INTERACTIVE, 0.05)
        assert caught.value.reason == "ConcurrentInvocationLimitExceeded"
        assert not pool._waiting

    asyncio.run(scenario())


def test_an_idle_environment_of_another_function_is_stopped_to_make_room() -> None:
    async def scenario() -> None:
        admission = Admission(HostCapacity(budget(memory=256)))
        pool, made = pool_with(admission)
        old = await pool.acquire(config("old"))
        old.last_used = 1.0
        recent = await pool.acquire(config("recent"))
        recent.last_used = 2.0
        pool.release(old)
        pool.release(recent)
        third: Any = await pool.acquire(config("new"))
        assert made[0].retired and not made[1].retired  # least recently used first
        assert third is made[2]
        await asyncio.sleep(0)
        assert made[0].stopped

    asyncio.run(scenario())


def test_while_synchronous_invocations_wait_a_released_environment_is_not_handed_to_events() -> (
    None
):
    async def scenario() -> None:
        admission = Admission(HostCapacity(budget(memory=128)))
        pool, made = pool_with(admission)
        busy = await pool.acquire(config("events"))
        event = asyncio.ensure_future(pool.acquire(config("events"), BACKGROUND, None))
        await asyncio.sleep(0)
        request = asyncio.ensure_future(pool.acquire(config("api"), INTERACTIVE, 5.0))
        await asyncio.sleep(0)
        pool.release(busy)  # it idles, and is stopped to make room for the request
        env = await request
        assert env.config.name == "api" and busy.retired
        assert not event.done()
        event.cancel()

    asyncio.run(scenario())


def test_a_synchronous_invocation_waiting_only_for_a_cold_start_gets_its_own_environment() -> None:
    async def scenario() -> None:
        admission = Admission(HostCapacity(budget(cold=1)))
        pool, made = pool_with(admission)
        fn = config("f")
        first = await pool.acquire(fn)  # still initialising: it holds the one cold start
        request = asyncio.ensure_future(pool.acquire(fn, INTERACTIVE, 5.0))
        event = asyncio.ensure_future(pool.acquire(fn, BACKGROUND, None))
        await asyncio.sleep(0)
        pool.release(first)  # the event takes it; the request waits for its own cold start
        assert await event is first
        assert not request.done()
        room = pool._rooms[first]
        admission.init_ended(room)
        own: Any = await request
        assert own is not first and own is made[1]

    asyncio.run(scenario())


# --- provisioned environments wait for room too ---------------------------------------------


class FakeProvisioned(FakeEnvironment):
    """What ``ProvisionedEnvironments`` uses of an environment beyond the pool's needs."""

    def __init__(self, config: FunctionConfig, on_dead: Any) -> None:
        super().__init__(config)
        self.on_dead = on_dead
        self.started = False

    async def start(self) -> None:
        self.started = True
        await super().start()

    async def wait_initialised(self) -> bool:
        if self.on_init_end is not None:
            self.on_init_end()
        return True

    def freeze(self) -> None:
        pass

    async def stop(self) -> None:
        await super().stop()
        self.on_dead(self)


def test_provisioned_environments_wait_for_room_and_give_it_back() -> None:
    async def scenario() -> None:
        admission = Admission(HostCapacity(budget(memory=128)))
        pool, _ = pool_with(admission)
        made: list[FakeProvisioned] = []

        def factory(cfg: FunctionConfig, on_dead: Any) -> Any:
            made.append(FakeProvisioned(cfg, on_dead))
            return made[-1]

        provisioned = ProvisionedEnvironments(factory, ConcurrencyLimiter(), admission)
        busy = await pool.acquire(config("on-demand"))
        version = dataclasses.replace(config("p"), version="1")
        provisioned.configure("p:1", "p", {"1": (version, 1)})
        await asyncio.sleep(0.01)
        assert not made[0].started  # no room: it waits, as a background waiter
        assert provisioned.status("p:1").status == "IN_PROGRESS"
        pool.release(busy)  # idle now: stopped to make room for it
        await asyncio.sleep(0.01)
        assert made[0].started and provisioned.status("p:1").status == "READY"
        assert admission.capacity.environments == 1
        provisioned.remove("p:1")
        await asyncio.sleep(0.01)
        assert admission.capacity.environments == 0
        await provisioned.stop_all()

    asyncio.run(scenario())
