"""Delivering a schedule's fire to its target (``targets.py``), with its RetryPolicy and
DeadLetterConfig.

A failed delivery (the function or queue does not exist) is retried with exponential
backoff (1 s, 2 s, 4 s, ... at most 5 minutes apart) on the schedule runner's clock, until
``MaximumRetryAttempts`` retries were made or ``MaximumEventAgeInSeconds`` passed since the
scheduled time; a delivery that cannot succeed (the function refused the payload, or the
target's service is not one Lamina serves) is not retried. Then the payload goes to the
dead-letter queue, with the message attributes AWS sets (ERROR_CODE, ERROR_MESSAGE,
EXHAUSTED_RETRY_CONDITION, RETRY_ATTEMPTS, SCHEDULE_ARN, TARGET_ARN), or is dropped (logged)
without one.

Pending retries are durable when a ``RetryStore`` is given: a failed delivery is stored with
its attempt count and due time before its retry is armed, updated after each failed retry
and deleted once delivered, dead-lettered or dropped; at start ``resume`` re-arms every
stored retry at its due time (at once when that passed while the server was down), and its
attempts and maximum event age go on from where they were. At most ``max_pending_retries``
wait at once (beyond, a failure dead-letters at once). A SIGKILL between a delivery and the
deletion of its row repeats that attempt (at least once, as AWS).
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from lamina.domain.errors import AwsError
from lamina.domain.schedules import AtSchedule
from lamina.services.queue_ports import MessageAttribute, QueueNotFound
from lamina.services.scheduler.ports import RetryStore
from lamina.services.scheduler.records import (
    PendingRetry,
    ScheduleRecord,
    TargetRecord,
    target_doc,
)
from lamina.services.scheduler.targets import DeliveryFailed, TargetSinks, payload_of
from lamina.services.schedules import ScheduleRunner, TooManyJobs

log = logging.getLogger("lamina.scheduler")

FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_DELAY_SECONDS = 300.0
# Deliveries waiting for a retry, all schedules together; beyond, a failure dead-letters.
MAX_PENDING_RETRIES = 10_000


@dataclass(frozen=True, slots=True)
class Attempt:
    schedule_arn: str
    target: TargetRecord
    scheduled: datetime
    retries: int = 0
    # Its stored row once it failed (None: the first attempt, nothing stored).
    retry_id: int | None = None


class ScheduleDelivery:
    def __init__(
        self,
        targets: TargetSinks,
        runner: ScheduleRunner,
        store: RetryStore | None = None,
        *,
        max_pending_retries: int = MAX_PENDING_RETRIES,
    ) -> None:
        """``store``: where pending retries are kept (None: in memory only)."""
        self.targets = targets
        self.queues = targets.queues
        self.runner = runner
        self.store = store
        self.max_pending_retries = max_pending_retries
        self._pending: set[int] = set()
        self._memory_ids = itertools.count(1)
        self.delivered = 0
        self.dead_lettered = 0
        self.dropped = 0

    @property
    def pending_retries(self) -> int:
        return len(self._pending)

    def resume(self, stored: list[PendingRetry]) -> None:
        """Re-arm the retries a previous run stored (at start, before the runner runs)."""
        for retry in stored:
            attempt = Attempt(
                retry.schedule_arn,
                retry.target,
                datetime.fromtimestamp(retry.scheduled, UTC),
                retry.retries,
                retry.retry_id,
            )
            self._pending.add(retry.retry_id)
            self._arm(attempt, datetime.fromtimestamp(retry.due, UTC))

    async def deliver(self, schedule: ScheduleRecord, scheduled: datetime) -> None:
        """Deliver one fire of ``schedule`` (retries are stored and armed, not awaited)."""
        await self._attempt(Attempt(schedule.arn, schedule.target, scheduled))

    async def _attempt(self, attempt: Attempt) -> None:
        try:
            await self.targets.send(attempt.target, attempt.schedule_arn)
        except DeliveryFailed as failure:
            await self._failed(attempt, failure)
        else:
            self.delivered += 1
            await self._forget(attempt)

    async def _failed(self, attempt: Attempt, failure: DeliveryFailed) -> None:
        target = attempt.target
        age = self.runner.clock.now() - attempt.scheduled
        delay = min(FIRST_RETRY_SECONDS * 2**attempt.retries, MAX_RETRY_DELAY_SECONDS)
        condition: str | None = None
        if not failure.retryable:
            condition = ""
        elif attempt.retries >= target.max_retry_attempts:
            condition = "MaximumRetryAttempts"
        elif age + timedelta(seconds=delay) > timedelta(seconds=target.max_event_age):
            condition = "MaximumEventAgeInSeconds"
        elif attempt.retry_id is None and self.pending_retries >= self.max_pending_retries:
            condition = "MaximumRetryAttempts"
        if condition is not None:
            await self._dead_letter(attempt, failure, condition)
            await self._forget(attempt)
            return
        await self._schedule_retry(attempt, delay)

    async def _schedule_retry(self, attempt: Attempt, delay: float) -> None:
        """Store the next attempt (durable before it is armed), then arm it."""
        due = self.runner.clock.now() + timedelta(seconds=delay)
        retry = replace(attempt, retries=attempt.retries + 1)
        if retry.retry_id is not None:
            if self.store is not None:
                await self.store.update_retry(retry.retry_id, retry.retries, due.timestamp())
        elif self.store is not None:
            retry_id = await self.store.add_retry(
                retry.schedule_arn,
                target_doc(retry.target),
                retry.scheduled.timestamp(),
                due.timestamp(),
            )
            retry = replace(retry, retry_id=retry_id)
        else:
            retry = replace(retry, retry_id=next(self._memory_ids))
        assert retry.retry_id is not None
        self._pending.add(retry.retry_id)
        self._arm(retry, due)

    def _arm(self, retry: Attempt, due: datetime) -> None:
        async def fire(_: datetime) -> None:
            await self._attempt(retry)

        try:
            self.runner.set(
                f"scheduler-retry:{retry.retry_id}",
                AtSchedule(f"retry of {retry.schedule_arn}", due),
                fire,
                after=min(due, self.runner.clock.now()) - timedelta(microseconds=1),
            )
        except TooManyJobs:
            log.warning("no room to retry a delivery of %s: dropped", retry.schedule_arn)
            self.dropped += 1
            if retry.retry_id is not None:
                self._pending.discard(retry.retry_id)

    async def _forget(self, attempt: Attempt) -> None:
        """The delivery is over (delivered, dead-lettered or dropped): drop its row."""
        if attempt.retry_id is None:
            return
        self._pending.discard(attempt.retry_id)
        if self.store is not None:
            await self.store.delete_retry(attempt.retry_id)

    async def _dead_letter(self, attempt: Attempt, failure: DeliveryFailed, condition: str) -> None:
        target = attempt.target
        if target.dead_letter_arn is None:
            log.warning(
                "schedule %s: delivery to %s failed (%s: %s), no dead-letter queue: dropped",
                attempt.schedule_arn,
                target.arn,
                failure.code,
                failure.message,
            )
            self.dropped += 1
            return
        attributes = {
            "ERROR_CODE": failure.code,
            "ERROR_MESSAGE": failure.message,
            "RETRY_ATTEMPTS": str(attempt.retries),
            "SCHEDULE_ARN": attempt.schedule_arn,
            "TARGET_ARN": target.arn,
        }
        if condition:
            attributes["EXHAUSTED_RETRY_CONDITION"] = condition
        try:
            await self.queues.send(
                target.dead_letter_arn,
                payload_of(target),
                {key: MessageAttribute("String", value) for key, value in attributes.items()},
            )
        except (QueueNotFound, AwsError) as exc:
            log.warning(
                "schedule %s: dead-letter queue %s refused the payload (%s): dropped",
                attempt.schedule_arn,
                target.dead_letter_arn,
                getattr(exc, "message", None) or "it does not exist",
            )
            self.dropped += 1
            return
        self.dead_lettered += 1
