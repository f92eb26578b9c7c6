"""Runs scheduled jobs: one timer for the earliest due job, whatever the number of jobs.

Jobs sit in a heap by due time; one task sleeps until the earliest is due (or until a job is
set, removed, or the clock advanced), then fires every job that is due, in due-time order,
each once per due time. A fire is awaited before the next (its callback should only hand
the work off durably, e.g. queue an asynchronous invocation).

Catch-up: when a job fell behind (the clock was advanced past several of its due times, or
the event loop was blocked), it fires once per missed due time up to ``max_catch_up`` per
pass; the due times beyond are skipped and the job resumes at its first due time after now.
A job set with ``missed_once=True`` (a schedule loaded at start whose due times passed while
the server was down) fires at most once for all it missed, as AWS catches up at most once.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from lamina.domain.schedules import Schedule
from lamina.services.schedules.clock import Clock

log = logging.getLogger("lamina.schedules")

Fire = Callable[[datetime], Awaitable[None]]

# Fires per job per pass when it fell behind (an advance of a day runs a rate(1 minute) job
# this many times, then skips to the present).
DEFAULT_MAX_CATCH_UP = 100
# Jobs one runner holds (EventBridge: 300 rules per bus; Scheduler: 1,000,000 schedules per
# region; the services enforce their own quotas, this bounds the runner's memory).
DEFAULT_MAX_JOBS = 1_000_000
# The longest the timer sleeps before looking at the clock again (the wall clock may jump).
MAX_SLEEP_SECONDS = 60.0


class TooManyJobs(Exception):
    """The runner holds ``max_jobs`` jobs already."""


@dataclass(slots=True)
class _Job:
    schedule: Schedule
    fire: Fire
    generation: int
    due: datetime | None
    catch_up_budget: int


class ScheduleRunner:
    """Fires jobs when their schedules say; ``set``/``remove`` at any time (also from a
    fire callback)."""

    def __init__(
        self,
        clock: Clock,
        *,
        max_jobs: int = DEFAULT_MAX_JOBS,
        max_catch_up: int = DEFAULT_MAX_CATCH_UP,
    ) -> None:
        self.clock = clock
        self.max_jobs = max_jobs
        self.max_catch_up = max_catch_up
        self._jobs: dict[str, _Job] = {}
        self._heap: list[tuple[datetime, int, str, int]] = []
        self._order = itertools.count()
        self._generations = itertools.count(1)
        self._wake = asyncio.Event()
        self._running = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def __len__(self) -> int:
        return len(self._jobs)

    def __contains__(self, job_id: str) -> bool:
        return job_id in self._jobs

    def due(self, job_id: str) -> datetime | None:
        """When ``job_id`` fires next (None: unknown job, or it fires no more)."""
        job = self._jobs.get(job_id)
        return job.due if job is not None else None

    def set(
        self,
        job_id: str,
        schedule: Schedule,
        fire: Fire,
        *,
        after: datetime | None = None,
        missed_once: bool = False,
    ) -> datetime | None:
        """Add or replace ``job_id``: it fires at ``schedule.next_fire(after)`` (``after``:
        now when None) and on. Returns the first due time (None: it will never fire, and
        the job is not kept). ``TooManyJobs`` when a new job would exceed ``max_jobs``."""
        if job_id not in self._jobs and len(self._jobs) >= self.max_jobs:
            raise TooManyJobs(f"the schedule runner holds {self.max_jobs} jobs")
        due = schedule.next_fire(after if after is not None else self.clock.now())
        if due is None:
            self._jobs.pop(job_id, None)
            return None
        missed = missed_once and due <= self.clock.now()
        budget = 1 if missed else self.max_catch_up
        job = _Job(schedule, fire, next(self._generations), due, budget)
        self._jobs[job_id] = job
        heapq.heappush(self._heap, (due, next(self._order), job_id, job.generation))
        self._compact()  # a replaced job left its old entry behind
        self._wake.set()
        return due

    def remove(self, job_id: str) -> bool:
        """Forget ``job_id`` (its heap entry is dropped lazily); whether it was there."""
        removed = self._jobs.pop(job_id, None) is not None
        if removed:
            self._compact()
        return removed

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self.clock.subscribe(self.run_due)
            self._task = asyncio.create_task(self._timer(), name="lamina-schedule-runner")

    async def stop(self) -> None:
        self.clock.unsubscribe(self.run_due)
        task, self._task = self._task, None
        if task is not None:
            # The flag ends the timer even if its wait_for swallows the cancellation (a
            # wake-up racing the cancel, Python 3.11).
            self._stopping = True
            self._wake.set()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_due(self) -> int:
        """Fire every job due by now, in due-time order; returns the number of fires."""
        async with self._running:
            fired = 0
            while self._heap:
                due, _, job_id, generation = self._heap[0]
                now = self.clock.now()
                if due > now:
                    break
                heapq.heappop(self._heap)
                job = self._jobs.get(job_id)
                if job is None or job.generation != generation:
                    continue
                await self._fire(job_id, job, due)
                fired += 1
                self._reschedule(job_id, job, due)
            self._wake.set()
            return fired

    async def _fire(self, job_id: str, job: _Job, due: datetime) -> None:
        try:
            await job.fire(due)
        except Exception:  # noqa: BLE001 - one job's failure must not stop the others
            log.exception("scheduled job %s failed at %s", job_id, due.isoformat())

    def _reschedule(self, job_id: str, job: _Job, fired_at: datetime) -> None:
        if self._jobs.get(job_id) is not job:
            return  # removed or replaced by its own fire callback
        now = self.clock.now()
        following = job.schedule.next_fire(fired_at)
        if following is not None and following <= now:
            job.catch_up_budget -= 1
            if job.catch_up_budget <= 0:
                following = job.schedule.next_fire(now)
        if following is None or following > now:
            job.catch_up_budget = self.max_catch_up
        job.due = following
        if following is None:
            del self._jobs[job_id]
            return
        heapq.heappush(self._heap, (following, next(self._order), job_id, job.generation))

    def _compact(self) -> None:
        """Drop stale heap entries once they outnumber the live jobs (bounds the heap)."""
        if len(self._heap) > 2 * len(self._jobs) + 64:
            self._heap = [
                entry
                for entry in self._heap
                if (job := self._jobs.get(entry[2])) is not None and job.generation == entry[3]
            ]
            heapq.heapify(self._heap)

    async def _timer(self) -> None:
        while not self._stopping:
            self._wake.clear()
            await self.run_due()
            self._wake.clear()
            delay = MAX_SLEEP_SECONDS
            if self._heap:
                delay = min(delay, max(0.0, (self._heap[0][0] - self.clock.now()).total_seconds()))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
