"""Delivering a schedule's fire to its target (``targets.py``), with its RetryPolicy and
DeadLetterConfig.

A failed delivery (the function or queue does not exist) is retried with exponential
backoff (1 s, 2 s, 4 s, ... at most 5 minutes apart) on the schedule runner's clock, until
``MaximumRetryAttempts`` retries were made or ``MaximumEventAgeInSeconds`` passed since the
scheduled time; a delivery that cannot succeed (the function refused the payload, or the
target's service is not one Lamina serves) is not retried. Then the payload goes to the
dead-letter queue, with the message attributes AWS sets (ERROR_CODE, ERROR_MESSAGE,
EXHAUSTED_RETRY_CONDITION, RETRY_ATTEMPTS, SCHEDULE_ARN, TARGET_ARN), or is dropped (logged)
without one. Pending retries live in memory (a restart forgets them) and are bounded.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from lamina.domain.errors import AwsError
from lamina.domain.schedules import AtSchedule
from lamina.services.queue_ports import MessageAttribute, QueueNotFound
from lamina.services.scheduler.records import ScheduleRecord, TargetRecord
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


class ScheduleDelivery:
    def __init__(
        self,
        targets: TargetSinks,
        runner: ScheduleRunner,
        *,
        max_pending_retries: int = MAX_PENDING_RETRIES,
    ) -> None:
        self.targets = targets
        self.queues = targets.queues
        self.runner = runner
        self.max_pending_retries = max_pending_retries
        self.pending_retries = 0
        self._retry_ids = itertools.count(1)
        self.delivered = 0
        self.dead_lettered = 0
        self.dropped = 0

    async def deliver(self, schedule: ScheduleRecord, scheduled: datetime) -> None:
        """Deliver one fire of ``schedule`` (retries are scheduled, not awaited)."""
        await self._attempt(Attempt(schedule.arn, schedule.target, scheduled))

    async def _attempt(self, attempt: Attempt) -> None:
        try:
            await self.targets.send(attempt.target, attempt.schedule_arn)
        except DeliveryFailed as failure:
            await self._failed(attempt, failure)
        else:
            self.delivered += 1

    async def _failed(self, attempt: Attempt, failure: DeliveryFailed) -> None:
        target = attempt.target
        age = self.runner.clock.now() - attempt.scheduled
        if not failure.retryable:
            await self._dead_letter(attempt, failure, "")
            return
        if attempt.retries >= target.max_retry_attempts:
            await self._dead_letter(attempt, failure, "MaximumRetryAttempts")
            return
        delay = min(FIRST_RETRY_SECONDS * 2**attempt.retries, MAX_RETRY_DELAY_SECONDS)
        if age + timedelta(seconds=delay) > timedelta(seconds=target.max_event_age):
            await self._dead_letter(attempt, failure, "MaximumEventAgeInSeconds")
            return
        if self.pending_retries >= self.max_pending_retries:
            await self._dead_letter(attempt, failure, "MaximumRetryAttempts")
            return
        self._schedule_retry(attempt, delay)

    def _schedule_retry(self, attempt: Attempt, delay: float) -> None:
        retry = Attempt(
            attempt.schedule_arn, attempt.target, attempt.scheduled, attempt.retries + 1
        )
        job_id = f"scheduler-retry:{next(self._retry_ids)}"
        when = self.runner.clock.now() + timedelta(seconds=delay)

        async def fire(_: datetime) -> None:
            self.pending_retries -= 1
            await self._attempt(retry)

        try:
            self.runner.set(job_id, AtSchedule(f"retry of {attempt.schedule_arn}", when), fire)
        except TooManyJobs:
            log.warning("no room to retry a delivery of %s: dropped", attempt.schedule_arn)
            self.dropped += 1
            return
        self.pending_retries += 1

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
