"""Host admission: start only the execution environments this host can run.

Every live execution environment (on-demand or provisioned; initialising, busy or idle) holds
a ``Room`` from the moment it is admitted until it is told to stop: its memory
(``MemorySize``) and its CPU share (``MemorySize / 1769`` vCPU, what its cgroup gets, at most
the host's cores). The rooms must fit the host's ``HostBudget``:

- **memory**: the host's memory × ``memory_overcommit``;
- **CPU**: the host's cores × ``cpu_overcommit`` (idle environments are frozen and most
  functions wait on I/O, so shares may add up to more than the cores);
- **cold starts**: at most ``cold_starts`` environments initialise at once (init runs with the
  whole host's CPU: hundreds of them at once make every one miss its init deadline). One of
  them is kept for synchronous invocations (when there are two or more): a backlog of
  asynchronous events never makes a synchronous invocation wait for its cold start.

One environment larger than the whole budget counts as the whole budget: it runs alone
rather than never. CPU is counted in MB of share (1,769 = one vCPU), so all the arithmetic
is on integers and O(1).

``Admission`` decides who gets room when there is none. Waiters queue in two classes,
``INTERACTIVE`` (synchronous invocations) before ``BACKGROUND`` (asynchronous events,
provisioned environments), first come first served within a class, and the head of a queue
is never overtaken (a large function is not starved by small ones). When memory or CPU is
short, ``evict`` (set by the on-demand pool) stops idle environments, least recently used
first. A waiter's future gets a ``Room``, or (handed over by ``runtime.pool``) an environment
of its function version that another invocation just released.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lamina.domain.errors import ResourceNotReadyException

if TYPE_CHECKING:
    from lamina.runtime.environment import Environment

MB_PER_VCPU = 1769
INTERACTIVE = 0
BACKGROUND = 1
PRIORITIES = (INTERACTIVE, BACKGROUND)

DEFAULT_MEMORY_OVERCOMMIT = 2.0
DEFAULT_CPU_OVERCOMMIT = 8.0
COLD_STARTS_PER_CORE = 8
# Seconds a synchronous invocation waits for room before its 429.
DEFAULT_ADMISSION_WAIT = 10.0
UNLIMITED_MB = 1 << 50


def host_memory_mb() -> int:
    """The host's memory (``MemTotal``) in MB."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    return max(1, pages * page_size // (1024 * 1024))


def host_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@dataclass(frozen=True)
class HostBudget:
    memory_mb: int  # what the environments' MemorySize may add up to
    cpu_mb: int  # what their CPU shares may add up to, in MB of share (1,769 = one vCPU)
    cold_starts: int  # environments initialising at once
    host_cpus: int  # one environment's share is capped at the host's cores

    def __post_init__(self) -> None:
        if min(self.memory_mb, self.cpu_mb, self.cold_starts, self.host_cpus) < 1:
            raise ValueError(f"a host budget must be positive: {self}")

    @classmethod
    def of_host(
        cls,
        memory_overcommit: float = DEFAULT_MEMORY_OVERCOMMIT,
        cpu_overcommit: float = DEFAULT_CPU_OVERCOMMIT,
        cold_starts: int = 0,
        *,
        memory_mb: int | None = None,
        cpus: int | None = None,
    ) -> HostBudget:
        """This host's budget (``cold_starts`` 0: eight per core)."""
        cores = cpus if cpus is not None else host_cpus()
        memory = memory_mb if memory_mb is not None else host_memory_mb()
        return cls(
            memory_mb=_budget(memory * memory_overcommit),
            cpu_mb=_budget(cores * MB_PER_VCPU * cpu_overcommit),
            cold_starts=cold_starts if cold_starts > 0 else COLD_STARTS_PER_CORE * cores,
            host_cpus=cores,
        )


def _budget(value: float) -> int:
    """A budget in MB: at least 1, and finite however large the overcommit."""
    return max(1, int(min(value, UNLIMITED_MB)))


class Room:
    """What one environment holds: release it exactly once (``HostCapacity.release``)."""

    __slots__ = ("cpu_mb", "initialising", "memory_mb", "released")

    def __init__(self, memory_mb: int, cpu_mb: int) -> None:
        self.memory_mb = memory_mb
        self.cpu_mb = cpu_mb
        self.initialising = True
        self.released = False


class HostCapacity:
    """The arithmetic: rooms taken and given back, O(1), no I/O."""

    def __init__(self, budget: HostBudget) -> None:
        self.budget = budget
        self.memory_mb = 0
        self.cpu_mb = 0
        self.initialising = 0
        self.environments = 0

    def demand(self, memory_mb: int) -> tuple[int, int]:
        """(memory, CPU share) an environment of ``memory_mb`` holds, capped at the budget."""
        budget = self.budget
        memory = min(memory_mb, budget.memory_mb)
        cpu = min(memory_mb, budget.host_cpus * MB_PER_VCPU, budget.cpu_mb)
        return memory, cpu

    def shortfall(self, memory_mb: int) -> tuple[int, int]:
        """(memory, CPU share) missing for one more environment of ``memory_mb``."""
        memory, cpu = self.demand(memory_mb)
        return (
            max(0, self.memory_mb + memory - self.budget.memory_mb),
            max(0, self.cpu_mb + cpu - self.budget.cpu_mb),
        )

    def cold_start_free(self, priority: int = INTERACTIVE) -> bool:
        """Whether a cold start of this priority may begin (``BACKGROUND`` ones leave one
        slot to ``INTERACTIVE`` ones)."""
        limit = self.budget.cold_starts
        if priority != INTERACTIVE and limit > 1:
            limit -= 1
        return self.initialising < limit

    def admit(self, memory_mb: int, priority: int = INTERACTIVE) -> Room | None:
        """Room for one more environment (initialising), or None when it does not fit."""
        if not self.cold_start_free(priority):
            return None
        memory, cpu = self.demand(memory_mb)
        if (
            self.memory_mb + memory > self.budget.memory_mb
            or self.cpu_mb + cpu > self.budget.cpu_mb
        ):
            return None
        self.memory_mb += memory
        self.cpu_mb += cpu
        self.initialising += 1
        self.environments += 1
        return Room(memory, cpu)

    def init_ended(self, room: Room) -> bool:
        """The environment's init ended (however): its cold-start slot frees. True if it
        changed anything."""
        if not room.initialising or room.released:
            return False
        room.initialising = False
        self.initialising -= 1
        return True

    def release(self, room: Room) -> bool:
        """The environment stops: everything it held frees. True if it changed anything."""
        if room.released:
            return False
        self.init_ended(room)
        room.released = True
        self.memory_mb -= room.memory_mb
        self.cpu_mb -= room.cpu_mb
        self.environments -= 1
        return True


class Waiter:
    """An invocation (or a provisioned environment) waiting for room."""

    __slots__ = ("future", "memory_mb", "priority")

    def __init__(
        self, future: asyncio.Future[Room | Environment], memory_mb: int, priority: int
    ) -> None:
        self.future = future
        self.memory_mb = memory_mb
        self.priority = priority


# (memory, CPU share) to free -> whether idle environments were stopped to free that much.
Evictor = Callable[[int, int], bool]


class Admission:
    def __init__(self, capacity: HostCapacity) -> None:
        self.capacity = capacity
        # One per pool of on-demand environments (one pool per region served).
        self.evictors: list[Evictor] = []
        self._queues: tuple[deque[Waiter], ...] = tuple(deque() for _ in PRIORITIES)
        self._granting = False
        self.closed = False

    # --- taking room ---------------------------------------------------------------------

    def try_admit(self, memory_mb: int, priority: int) -> Room | None:
        """Room at once, unless it does not fit or someone of this priority (or a higher
        one) waits already."""
        if self.closed:
            raise _closed()
        for queue in self._queues[: priority + 1]:
            if first_live(queue) is not None:
                return None
        room = self.capacity.admit(memory_mb, priority)
        if room is None and self._make_room(memory_mb, priority):
            room = self.capacity.admit(memory_mb, priority)
        return room

    def enqueue(self, waiter: Waiter) -> None:
        """Wait for room (the waiter's future gets it, or an exception on ``close``)."""
        if self.closed:
            waiter.future.set_exception(_closed())
            return
        self._queues[waiter.priority].append(waiter)
        self.grant()

    async def admit(self, memory_mb: int, priority: int) -> Room:
        """Room, waiting as long as it takes (``ResourceNotReadyException`` on ``close``)."""
        room = self.try_admit(memory_mb, priority)
        if room is not None:
            return room
        waiter = Waiter(asyncio.get_running_loop().create_future(), memory_mb, priority)
        self.enqueue(waiter)
        try:
            got = await waiter.future
        except asyncio.CancelledError:
            self.give_back(waiter)
            raise
        assert isinstance(got, Room)
        return got

    def give_back(self, waiter: Waiter) -> None:
        """A waiter that left (cancelled, timed out): room it got goes back, and the waiters
        behind it may go first."""
        future = waiter.future
        if future.done() and not future.cancelled() and future.exception() is None:
            got = future.result()
            if isinstance(got, Room):
                self.release(got)
                return
        self.grant()

    # --- giving room back --------------------------------------------------------------------

    def init_ended(self, room: Room) -> None:
        if self.capacity.init_ended(room):
            self.grant()

    def release(self, room: Room) -> None:
        if self.capacity.release(room):
            self.grant()

    # --- the queue ----------------------------------------------------------------------------

    @property
    def waiting(self) -> bool:
        """Whether anyone waits (on every release: two length checks when nobody does)."""
        interactive, background = self._queues
        if not interactive and not background:
            return False
        return first_live(interactive) is not None or first_live(background) is not None

    def short_of_room(self, memory_mb: int) -> bool:
        """Whether one more environment of ``memory_mb`` lacks memory or CPU (not merely a
        cold-start slot)."""
        return self.capacity.shortfall(memory_mb) != (0, 0)

    def interactive_short_of_room(self) -> bool:
        """Whether the first synchronous waiter lacks memory or CPU."""
        waiter = first_live(self._queues[INTERACTIVE])
        return waiter is not None and self.short_of_room(waiter.memory_mb)

    def waiters(self) -> tuple[int, ...]:
        """Live waiters per priority (for figures; O(waiters))."""
        return tuple(sum(1 for w in queue if not w.future.done()) for queue in self._queues)

    def grant(self) -> None:
        """Give room to waiters, in order, while it fits (stopping idle environments when
        memory or CPU is short)."""
        if self._granting:
            return
        self._granting = True
        try:
            for queue in self._queues:
                while (waiter := first_live(queue)) is not None:
                    room = self.capacity.admit(waiter.memory_mb, waiter.priority)
                    if room is None and self._make_room(waiter.memory_mb, waiter.priority):
                        room = self.capacity.admit(waiter.memory_mb, waiter.priority)
                    if room is None:
                        return
                    queue.popleft()
                    waiter.future.set_result(room)
        finally:
            self._granting = False

    @property
    def evict(self) -> Evictor | None:
        return self.evictors[0] if self.evictors else None

    @evict.setter
    def evict(self, evictor: Evictor | None) -> None:
        self.evictors = [] if evictor is None else [evictor]

    def add_evictor(self, evictor: Evictor) -> None:
        self.evictors.append(evictor)

    def _make_room(self, memory_mb: int, priority: int) -> bool:
        if not self.evictors or not self.capacity.cold_start_free(priority):
            return False
        memory, cpu = self.capacity.shortfall(memory_mb)
        if not memory and not cpu:
            return False
        granting, self._granting = self._granting, True
        try:
            # The first pool whose idle environments free enough stops them.
            return any(evict(memory, cpu) for evict in self.evictors)
        finally:
            self._granting = granting

    def close(self) -> None:
        """Shutting down: every waiter gets ``ResourceNotReadyException``."""
        self.closed = True
        for queue in self._queues:
            while queue:
                waiter = queue.popleft()
                if not waiter.future.done():
                    waiter.future.set_exception(_closed())


def first_live(queue: deque[Waiter]) -> Waiter | None:
    """The first waiter still waiting (those that left are dropped from the front)."""
    while queue:
        waiter = queue[0]
        if not waiter.future.done():
            return waiter
        queue.popleft()
    return None


def _closed() -> ResourceNotReadyException:
    return ResourceNotReadyException(
        "Lamina is shutting down: no new execution environments are started."
    )


def render_admission_metrics(admission: Admission, function: str | None = None) -> str:
    """The host's room, Prometheus gauges (``GET /_lamina/metrics``; host-wide, so nothing
    when one function's figures are asked for)."""
    if function is not None:
        return ""
    capacity, budget = admission.capacity, admission.capacity.budget
    interactive, background = admission.waiters()
    gauges: tuple[tuple[str, str, list[tuple[str, float]]], ...] = (
        (
            "environments",
            "Live execution environments holding room.",
            [("", capacity.environments)],
        ),
        ("memory_admitted_megabytes", "Their MemorySize added up.", [("", capacity.memory_mb)]),
        ("memory_budget_megabytes", "Host memory times the overcommit.", [("", budget.memory_mb)]),
        ("cpu_admitted_vcpus", "Their CPU shares added up.", [("", capacity.cpu_mb / MB_PER_VCPU)]),
        (
            "cpu_budget_vcpus",
            "Host cores times the overcommit.",
            [("", budget.cpu_mb / MB_PER_VCPU)],
        ),
        ("cold_starts", "Environments initialising now.", [("", capacity.initialising)]),
        (
            "cold_starts_limit",
            "Environments that may initialise at once.",
            [("", budget.cold_starts)],
        ),
        (
            "admission_waiting",
            "Invocations waiting for room.",
            [('{priority="interactive"}', interactive), ('{priority="background"}', background)],
        ),
    )
    out: list[str] = []
    for name, help_text, samples in gauges:
        metric = f"lamina_host_{name}"
        out.append(f"# HELP {metric} {help_text}\n# TYPE {metric} gauge\n")
        out.extend(f"{metric}{labels} {value:.6g}\n" for labels, value in samples)
    return "".join(out)
