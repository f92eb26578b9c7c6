"""EventBridge Scheduler: schedules in groups, fired by the schedule runner.

Every schedule lives in memory (loaded from the store at start) and in the store; a write
answers after its commit. Enabled schedules are jobs of the shared ``ScheduleRunner``; a
fire delivers to the target (``delivery.py``), records the fire time, and deletes a
schedule whose ``ActionAfterCompletion`` is DELETE once it fires no more.

Restart: a schedule resumes after its last fire (or its creation). One that was due while
the server was down fires once at start for all it missed (AWS catches up at most once),
then follows its expression from the present.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from lamina.domain.schedules import parse_scheduler_expression
from lamina.services.scheduler.delivery import ScheduleDelivery
from lamina.services.scheduler.errors import (
    SchedulerValidationException,
    ServiceQuotaExceededException,
    schedule_exists,
    schedule_not_found,
)
from lamina.services.scheduler.groups import ScheduleGroups
from lamina.services.scheduler.listing import page
from lamina.services.scheduler.ports import SchedulerStore
from lamina.services.scheduler.records import DEFAULT_GROUP, ScheduleRecord, TargetRecord
from lamina.services.scheduler.timing import run_schedule
from lamina.services.schedules import ScheduleRunner

UTC = timezone.utc
JUST_BEFORE = timedelta(microseconds=1)
# Schedules per region and account (AWS's default quota).
MAX_SCHEDULES = 1_000_000
# A target's Input (AWS: 256 KB).
MAX_INPUT_BYTES = 256 * 1024
Key = tuple[str, str, str, str]  # region, account, group, name


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """What CreateSchedule and UpdateSchedule set (UpdateSchedule replaces everything)."""

    name: str
    group: str
    expression: str
    timezone: str
    target: TargetRecord
    state: str = "ENABLED"
    description: str | None = None
    start_date: float | None = None
    end_date: float | None = None
    flexible_window_minutes: int | None = None
    action_after_completion: str = "NONE"
    kms_key_arn: str | None = None
    client_token: str | None = None


class SchedulerService:
    def __init__(
        self,
        store: SchedulerStore,
        runner: ScheduleRunner,
        delivery: ScheduleDelivery,
        *,
        max_schedules: int = MAX_SCHEDULES,
    ) -> None:
        self.store = store
        self.runner = runner
        self.clock = runner.clock
        self.delivery = delivery
        self.max_schedules = max_schedules
        self.groups = ScheduleGroups(store, self.clock.timestamp())
        self._schedules: dict[Key, ScheduleRecord] = {}
        self._counts: dict[tuple[str, str], int] = {}

    # --- lifecycle ------------------------------------------------------------------------

    def load(self, schedules: list[ScheduleRecord]) -> None:
        """Take the stored schedules (before ``start``)."""
        for schedule in schedules:
            self._add(schedule)

    async def start(self) -> None:
        """Hand every enabled schedule to the runner, each resuming after its last fire; a
        DELETE-after-completion schedule that finished before a restart is deleted now."""
        for schedule in list(self._schedules.values()):
            due = self._arm(schedule, resume=True)
            finished = due is None and schedule.last_fired is not None
            if finished and schedule.state == "ENABLED" and _deletes_itself(schedule):
                self._discard(schedule.key)
                await self.store.delete_schedule(schedule.key)

    def stop(self) -> None:
        for schedule in self._schedules.values():
            self.runner.remove(schedule.job_id)

    # --- schedules ------------------------------------------------------------------------

    def get(self, region: str, account_id: str, group: str | None, name: str) -> ScheduleRecord:
        group = group or DEFAULT_GROUP
        self.groups.get(region, account_id, group)
        schedule = self._schedules.get((region, account_id, group, name))
        if schedule is None:
            raise schedule_not_found(name)
        return schedule

    def listing(
        self,
        region: str,
        account_id: str,
        *,
        group: str | None,
        prefix: str | None,
        state: str | None,
        max_results: int | None,
        next_token: str | None,
    ) -> tuple[list[ScheduleRecord], str | None]:
        if group is not None:
            self.groups.get(region, account_id, group)
        chosen = [
            schedule
            for schedule in self._schedules.values()
            if schedule.region == region
            and schedule.account_id == account_id
            and (group is None or schedule.group == group)
            and (not prefix or schedule.name.startswith(prefix))
            and (state is None or schedule.state == state)
        ]
        return page(chosen, lambda s: [s.group, s.name], max_results, next_token)

    async def create(self, region: str, account_id: str, spec: ScheduleSpec) -> ScheduleRecord:
        self.groups.get(region, account_id, spec.group)
        now = self.clock.timestamp()
        _check_spec(spec, now)
        key = (region, account_id, spec.group, spec.name)
        existing = self._schedules.get(key)
        if existing is not None:
            if spec.client_token is not None and existing.client_token == spec.client_token:
                return existing  # the same request again (an SDK's retry)
            raise schedule_exists(spec.name)
        if self._counts.get((region, account_id), 0) >= self.max_schedules:
            raise ServiceQuotaExceededException(
                f"The number of schedules in this account exceeds {self.max_schedules}."
            )
        schedule = _record(region, account_id, spec, created=now, modified=now)
        self._add(schedule)  # reserved before the write: a concurrent create conflicts
        try:
            await self.store.put_schedule(schedule)
        except BaseException:
            self._discard(key)
            raise
        self._arm(schedule, resume=False)
        return schedule

    async def update(self, region: str, account_id: str, spec: ScheduleSpec) -> ScheduleRecord:
        current = self.get(region, account_id, spec.group, spec.name)
        now = self.clock.timestamp()
        _check_spec(spec, now)
        kept = replace(spec, client_token=current.client_token)  # the create's token stays
        schedule = _record(region, account_id, kept, created=current.created, modified=now)
        await self.store.put_schedule(schedule)
        self._schedules[schedule.key] = schedule
        self._arm(schedule, resume=False)
        return schedule

    async def delete(self, region: str, account_id: str, group: str | None, name: str) -> None:
        schedule = self.get(region, account_id, group, name)
        await self.store.delete_schedule(schedule.key)
        self._discard(schedule.key)

    async def delete_group(self, region: str, account_id: str, name: str) -> None:
        """Delete a group and its schedules (stopped first: none fires after the answer)."""
        await self.groups.delete(region, account_id, name)
        for key in [key for key in self._schedules if key[:3] == (region, account_id, name)]:
            self._discard(key)

    # --- firing ---------------------------------------------------------------------------

    def _arm(self, schedule: ScheduleRecord, *, resume: bool) -> datetime | None:
        """(Re)register ``schedule`` with the runner (a disabled one is removed); its next
        fire (None: it fires no more, or is disabled)."""
        self.runner.remove(schedule.job_id)
        if schedule.state != "ENABLED":
            return None
        # From its last fire, else from just before its creation or update (a rate schedule
        # without a StartDate fires at once).
        if resume and schedule.last_fired is not None:
            after = datetime.fromtimestamp(schedule.last_fired, UTC)
        else:
            after = datetime.fromtimestamp(schedule.modified, UTC) - JUST_BEFORE
        return self.runner.set(
            schedule.job_id,
            run_schedule(schedule),
            self._fire_of(schedule.key),
            after=after,
            missed_once=resume,
        )

    def _fire_of(self, key: Key) -> Callable[[datetime], Awaitable[None]]:
        async def fire(due: datetime) -> None:
            schedule = self._schedules.get(key)
            if schedule is None or schedule.state != "ENABLED":
                return
            await self.delivery.deliver(schedule, due)
            fired = schedule.fired(due.timestamp())
            if self._schedules.get(key) is schedule:
                self._schedules[key] = fired
            await self.store.record_fire(key, due.timestamp())
            finished = run_schedule(schedule).next_fire(due) is None
            if finished and _deletes_itself(schedule) and self._schedules.get(key) is fired:
                self._discard(key)
                await self.store.delete_schedule(key)

        return fire

    # --- memory ---------------------------------------------------------------------------

    def _add(self, schedule: ScheduleRecord) -> None:
        account = (schedule.region, schedule.account_id)
        self._schedules[schedule.key] = schedule
        self._counts[account] = self._counts.get(account, 0) + 1

    def _discard(self, key: Key) -> None:
        schedule = self._schedules.pop(key, None)
        if schedule is None:
            return
        self.runner.remove(schedule.job_id)
        account = (schedule.region, schedule.account_id)
        self._counts[account] = self._counts.get(account, 1) - 1


def _record(
    region: str, account_id: str, spec: ScheduleSpec, *, created: float, modified: float
) -> ScheduleRecord:
    return ScheduleRecord(
        region=region,
        account_id=account_id,
        group=spec.group,
        name=spec.name,
        expression=spec.expression,
        timezone=spec.timezone,
        target=spec.target,
        created=created,
        modified=modified,
        state=spec.state,
        description=spec.description,
        start_date=spec.start_date,
        end_date=spec.end_date,
        flexible_window_minutes=spec.flexible_window_minutes,
        action_after_completion=spec.action_after_completion,
        kms_key_arn=spec.kms_key_arn,
        client_token=spec.client_token,
    )


def _check_spec(spec: ScheduleSpec, now: float) -> None:
    """Scheduler's rules beyond the request's shape (unverified wording except the
    expression's, which is recorded)."""
    parse_scheduler_expression(spec.expression, spec.timezone)
    if spec.target.input is not None and len(spec.target.input.encode()) > MAX_INPUT_BYTES:
        raise SchedulerValidationException(
            f"The target's Input exceeds the maximum size of {MAX_INPUT_BYTES} bytes."
        )
    start, end = spec.start_date, spec.end_date
    if start is not None and end is not None and end <= start:
        raise SchedulerValidationException(
            "The EndDate you specify cannot be earlier than the StartDate."
        )
    if not is_one_time_spec(spec):
        if spec.start_date is not None and spec.start_date < now - 300:
            raise SchedulerValidationException(
                "The StartDate you specify cannot be earlier than 5 minutes ago."
            )
        if spec.end_date is not None and spec.end_date < now:
            raise SchedulerValidationException(
                "The EndDate you specify cannot be earlier than the current time."
            )


def _deletes_itself(schedule: ScheduleRecord) -> bool:
    return schedule.action_after_completion == "DELETE"


def is_one_time_spec(spec: ScheduleSpec) -> bool:
    return spec.expression.startswith("at(")
