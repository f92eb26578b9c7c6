"""Message move tasks: redrive a dead-letter queue's messages back to their sources.

StartMessageMoveTask moves the messages visible in a dead-letter queue when it starts
(``ApproximateNumberOfMessagesToMove``) to ``DestinationArn``, or each message back to the
queue it was dead-lettered from (``DeadLetterQueueSourceArn``), at most
``MaxNumberOfMessagesPerSecond`` a second when given. One task runs per source at a time; the
last ``MAX_TASKS_PER_SOURCE`` tasks of each source are listed (newest first). Tasks live in
memory: a restart ends running tasks (the messages moved so far stay moved).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lamina.domain.sqs.errors import InvalidParameterValue, ResourceNotFoundException
from lamina.domain.sqs.queue import Queue
from lamina.store.sqs_records import MessageRecord

if TYPE_CHECKING:
    from lamina.services.sqs.engine_state import QueueDirectory
    from lamina.services.sqs.messages import MessageEngine

MAX_TASKS_PER_SOURCE = 10
MAX_RATE = 500
# Messages moved per step when no rate is given.
UNTHROTTLED_STEP = 100


@dataclass(slots=True)
class MoveTask:
    task_id: str
    source_arn: str
    destination_arn: str | None
    rate: int | None
    to_move: int
    started_ms: int
    moved: int = 0
    status: str = "RUNNING"
    failure_reason: str | None = None
    runner: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def handle(self) -> str:
        raw = json.dumps({"taskId": self.task_id, "sourceArn": self.source_arn})
        return base64.b64encode(raw.encode()).decode("ascii")

    def entry(self) -> dict[str, object]:
        """The ``ListMessageMoveTasksResultEntry`` shape."""
        out: dict[str, object] = {
            "ApproximateNumberOfMessagesMoved": self.moved,
            "ApproximateNumberOfMessagesToMove": self.to_move,
            "SourceArn": self.source_arn,
            "StartedTimestamp": self.started_ms,
            "Status": self.status,
        }
        if self.status == "RUNNING":
            out["TaskHandle"] = self.handle
        if self.destination_arn is not None:
            out["DestinationArn"] = self.destination_arn
        if self.rate is not None:
            out["MaxNumberOfMessagesPerSecond"] = self.rate
        if self.failure_reason is not None:
            out["FailureReason"] = self.failure_reason
        return out


def _source_missing() -> ResourceNotFoundException:
    return ResourceNotFoundException(
        "The resource that you specified for the SourceArn parameter doesn't exist."
    )


class MoveTasks:
    """Start, list and cancel message move tasks."""

    def __init__(self, queues: QueueDirectory, engine: MessageEngine) -> None:
        self.queues = queues
        self.engine = engine
        self._by_source: dict[str, list[MoveTask]] = {}

    def _source(self, arn: str) -> Queue:
        queue = self.queues.by_arn(arn)
        if queue is None:
            raise _source_missing()
        return queue

    def start(self, source_arn: str, destination_arn: str | None, rate: int | None) -> MoveTask:
        source = self._source(source_arn)
        if not self.queues.dead_letter_sources(source).queues:
            raise InvalidParameterValue("Source queue must be configured as a Dead Letter Queue.")
        destination: Queue | None = None
        if destination_arn is not None:
            destination = self.queues.by_arn(destination_arn)
            if destination is None:
                raise ResourceNotFoundException(
                    "The resource that you specified for the DestinationArn parameter doesn't"
                    " exist."
                )
        if rate is not None and not 1 <= rate <= MAX_RATE:
            raise InvalidParameterValue(
                f"Value {rate} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason:"
                f" Must be between 1 and {MAX_RATE}."
            )
        tasks = self._by_source.setdefault(source_arn, [])
        if any(task.status == "RUNNING" for task in tasks):
            raise InvalidParameterValue(
                "There is already a task running. Only one active task is allowed for a source"
                " queue arn at a given time."
            )
        task = MoveTask(
            task_id=str(uuid.uuid4()),
            source_arn=source_arn,
            destination_arn=destination_arn,
            rate=rate,
            to_move=self.engine.counts(source).visible,
            started_ms=int(time.time() * 1000),
        )
        tasks.insert(0, task)
        del tasks[MAX_TASKS_PER_SOURCE:]
        task.runner = asyncio.create_task(self._run(task, source, destination))
        return task

    def list(self, source_arn: str, max_results: int | None) -> list[MoveTask]:
        self._source(source_arn)
        limit = 1 if max_results is None else max_results
        if not 1 <= limit <= MAX_TASKS_PER_SOURCE:
            raise InvalidParameterValue(
                f"Value {limit} for parameter MaxResults is invalid. Reason: You must enter a"
                f" number that's between 1 and {MAX_TASKS_PER_SOURCE}."
            )
        return self._by_source.get(source_arn, [])[:limit]

    def cancel(self, handle: str) -> MoveTask:
        try:
            decoded = json.loads(base64.b64decode(handle.encode("ascii"), validate=True))
            task_id, source_arn = str(decoded["taskId"]), str(decoded["sourceArn"])
        except (binascii.Error, ValueError, KeyError, TypeError, UnicodeError):
            raise InvalidParameterValue("Value for parameter TaskHandle is invalid.") from None
        self._source(source_arn)
        for task in self._by_source.get(source_arn, []):
            if task.task_id == task_id and task.status == "RUNNING":
                task.status = "CANCELLED"
                if task.runner is not None:
                    task.runner.cancel()
                return task
        raise ResourceNotFoundException("Task does not exist.")

    async def stop(self) -> None:
        for tasks in self._by_source.values():
            for task in tasks:
                if task.runner is not None and not task.runner.done():
                    task.runner.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task.runner

    async def _run(self, task: MoveTask, source: Queue, destination: Queue | None) -> None:
        def destination_for(message: MessageRecord) -> Queue | None:
            if destination is not None:
                return None if destination.deleted else destination
            if message.dlq_source_arn is None:
                return None
            return self.queues.by_arn(message.dlq_source_arn)

        step = task.rate or UNTHROTTLED_STEP
        try:
            while task.moved < task.to_move and task.status == "RUNNING":
                if source.deleted:
                    task.status, task.failure_reason = "FAILED", _NON_EXISTENT
                    return
                want = min(step, task.to_move - task.moved)
                moved, missing = await self.engine.move_visible(source, want, destination_for)
                task.moved += moved
                if missing:
                    task.status, task.failure_reason = "FAILED", _NON_EXISTENT
                    return
                if moved == 0:
                    break  # nothing visible left to move
                if task.rate is not None:
                    await asyncio.sleep(1.0)
                else:
                    await asyncio.sleep(0)
            if task.status == "RUNNING":
                task.status = "COMPLETED"
        except asyncio.CancelledError:
            if task.status == "RUNNING":
                task.status = "CANCELLED"
            raise
        except Exception as error:  # noqa: BLE001 - recorded on the task
            task.status, task.failure_reason = "FAILED", type(error).__name__


_NON_EXISTENT = "AWS.SimpleQueueService.NonExistentQueue"
