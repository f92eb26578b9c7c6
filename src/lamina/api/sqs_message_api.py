"""The edge's adapter of SQS's message operations: wire dicts in and out, typed calls between.

``sqs_message_handlers(service)`` maps each operation name to
``async (ctx, params) -> output`` (input and output shapes as botocore's SQS model names
them). Validation happens here in AWS's order (the request's shape, then each entry), before
anything is stored; a batch answers per-entry failures in ``Failed`` with ``SenderFault``.
Members AWS omits when empty (``Messages``, ``Successful``/``Failed``, the MD5s of absent
attributes) are omitted.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from lamina.domain.context import RequestContext
from lamina.domain.errors import AwsError
from lamina.domain.sqs.errors import BatchRequestTooLong, MissingParameter
from lamina.domain.sqs.queue import Queue
from lamina.services.sqs import message_rules as rules
from lamina.services.sqs.message_view import render
from lamina.services.sqs.messages import MessageEngine, OutgoingMessage, SendResult
from lamina.services.sqs.service import SqsService

Handler = Callable[[RequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]


def _required(params: dict[str, Any], member: str) -> Any:
    value = params.get(member)
    if value is None:
        raise MissingParameter(f"The request must contain the parameter {member}.")
    return value


# The longest X-Amzn-Trace-Id a message takes as its AWSTraceHeader.
MAX_TRACE_HEADER = 2048


def sender_id(ctx: RequestContext) -> str:
    """SenderId as SQS reports it: the account id for the account's own credentials; for a
    function's execution role, ``<role id>:<session>`` (``AROA`` + 17 characters derived from
    the role ARN, and the function name, as Lambda names its role sessions)."""
    caller = ctx.caller
    if caller is None:
        return ctx.account_id
    digest = hashlib.sha256(caller.role_arn.encode()).digest()
    role_id = "AROA" + base64.b32encode(digest).decode("ascii")[:17]
    return f"{role_id}:{caller.function_name}"


def outgoing(
    queue: Queue, entry: dict[str, Any], *, in_batch: bool, trace: str | None = None
) -> OutgoingMessage:
    """A SendMessage request (or batch entry) checked against the queue's rules. ``trace``:
    the request's ``X-Amzn-Trace-Id``, the message's ``AWSTraceHeader`` when the entry sets
    none (as SQS does: the recursion counter travels in it, ``services.recursion``)."""
    body = rules.check_body(entry.get("MessageBody"))
    attributes = rules.check_message_attributes(entry.get("MessageAttributes"))
    trace_header = rules.check_system_attributes(entry.get("MessageSystemAttributes"))
    if trace_header is None and trace and len(trace) <= MAX_TRACE_HEADER:
        trace_header = trace
    rules.check_size(rules.message_size(body, attributes), queue, batch_entry=in_batch)
    delay = rules.check_delay(entry.get("DelaySeconds"), queue)
    group_id = entry.get("MessageGroupId")
    dedup_id = entry.get("MessageDeduplicationId")
    rules.check_group_and_dedup_ids(queue, group_id, dedup_id, in_batch=in_batch)
    return OutgoingMessage(body, attributes, trace_header, delay, group_id, dedup_id)


def _send_output(result: SendResult) -> dict[str, Any]:
    out: dict[str, Any] = {"MessageId": result.message_id, "MD5OfMessageBody": result.md5_of_body}
    if result.md5_of_attributes is not None:
        out["MD5OfMessageAttributes"] = result.md5_of_attributes
    if result.md5_of_system_attributes is not None:
        out["MD5OfMessageSystemAttributes"] = result.md5_of_system_attributes
    if result.sequence_number is not None:
        out["SequenceNumber"] = result.sequence_number
    return out


def _failure(entry_id: str, error: AwsError) -> dict[str, Any]:
    return {
        "Id": entry_id,
        "SenderFault": error.sender_fault,
        "Code": error.query_code or error.code,
        "Message": error.message,
    }


def _batch_output(successful: list[dict[str, Any]], failed: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if successful:
        out["Successful"] = successful
    if failed:
        out["Failed"] = failed
    return out


def _raw_size(entry: dict[str, Any]) -> int:
    """An entry's size as the batch limit counts it (before validation)."""
    size = len(str(entry.get("MessageBody") or "").encode("utf-8"))
    for name, value in (entry.get("MessageAttributes") or {}).items():
        size += len(str(name).encode("utf-8")) + len(str(value.get("DataType", "")).encode())
        if value.get("StringValue") is not None:
            size += len(str(value["StringValue"]).encode("utf-8"))
        if value.get("BinaryValue") is not None:
            size += len(value["BinaryValue"])
    return size


def message_engine(service: SqsService) -> MessageEngine:
    """The service's message engine (built with ``engine_factory=MessageEngine``)."""
    engine = service.engine
    if not isinstance(engine, MessageEngine):
        raise TypeError("the SQS service was built without the message engine")
    return engine


def sqs_message_handlers(service: SqsService) -> dict[str, Handler]:
    """The message operations of SQS (both protocols share them)."""
    queues = service.queues
    engine = message_engine(service)

    def queue_of(ctx: RequestContext, params: dict[str, Any]) -> Queue:
        return queues.by_url(ctx, _required(params, "QueueUrl"))

    async def send_message(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = queue_of(ctx, params)
        message = outgoing(queue, params, in_batch=False, trace=ctx.trace_header)
        [result] = await engine.send(queue, sender_id(ctx), [message])
        return _send_output(result)

    async def send_message_batch(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = queue_of(ctx, params)
        entries: list[dict[str, Any]] = list(_required(params, "Entries"))
        rules.check_batch_ids(
            [str(e.get("Id", "")) for e in entries], "SendMessageBatchRequestEntry"
        )
        total = sum(_raw_size(entry) for entry in entries)
        if total > rules.BATCH_REQUEST_LIMIT:
            raise BatchRequestTooLong(
                f"Batch requests cannot be longer than {rules.BATCH_REQUEST_LIMIT} bytes."
                f" You have sent {total} bytes."
            )
        if queue.fifo:  # AWS refuses the whole batch for these
            for entry in entries:
                rules.check_group_and_dedup_ids(
                    queue,
                    entry.get("MessageGroupId"),
                    entry.get("MessageDeduplicationId"),
                    in_batch=True,
                )
        accepted: list[tuple[str, OutgoingMessage]] = []
        failed: list[dict[str, Any]] = []
        for entry in entries:
            try:
                accepted.append(
                    (entry["Id"], outgoing(queue, entry, in_batch=True, trace=ctx.trace_header))
                )
            except AwsError as error:
                failed.append(_failure(entry["Id"], error))
        results = await engine.send(queue, sender_id(ctx), [m for _, m in accepted])
        successful = [
            {"Id": entry_id, **_send_output(result)}
            for (entry_id, _), result in zip(accepted, results, strict=True)
        ]
        return _batch_output(successful, failed)

    async def receive_message(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = queue_of(ctx, params)
        max_messages = params.get("MaxNumberOfMessages")
        rules.check_range(
            "MaxNumberOfMessages", max_messages, 1, 10, "Must be between 1 and 10, if provided."
        )
        wait = params.get("WaitTimeSeconds")
        rules.check_range(
            "WaitTimeSeconds",
            wait,
            0,
            rules.MAX_WAIT_SECONDS,
            f"Must be >= 0 and <= {rules.MAX_WAIT_SECONDS}, if provided.",
        )
        visibility = params.get("VisibilityTimeout")
        rules.check_visibility_timeout(visibility)
        deliveries = await engine.receive(
            queue,
            max_messages or 1,
            queue.receive_wait_time_seconds if wait is None else wait,
            visibility,
            params.get("ReceiveRequestAttemptId"),
        )
        system_names = [
            *(params.get("AttributeNames") or ()),
            *(params.get("MessageSystemAttributeNames") or ()),
        ]
        attribute_names = params.get("MessageAttributeNames") or ()
        messages = [render(d, system_names, attribute_names) for d in deliveries]
        return {"Messages": messages} if messages else {}

    async def delete_message(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = queue_of(ctx, params)
        [outcome] = await engine.delete(queue, [_required(params, "ReceiptHandle")])
        if outcome is not None:
            raise outcome
        return {}

    async def delete_message_batch(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = queue_of(ctx, params)
        entries: list[dict[str, Any]] = list(_required(params, "Entries"))
        rules.check_batch_ids(
            [str(e.get("Id", "")) for e in entries], "DeleteMessageBatchRequestEntry"
        )
        outcomes = await engine.delete(queue, [str(e.get("ReceiptHandle", "")) for e in entries])
        return _outcomes(entries, outcomes)

    async def change_message_visibility(
        ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        queue = queue_of(ctx, params)
        handle = _required(params, "ReceiptHandle")
        timeout = _required(params, "VisibilityTimeout")
        rules.check_visibility_timeout(timeout)
        [outcome] = await engine.change_visibility(queue, [(handle, timeout)])
        if outcome is not None:
            raise outcome
        return {}

    async def change_message_visibility_batch(
        ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        queue = queue_of(ctx, params)
        entries: list[dict[str, Any]] = list(_required(params, "Entries"))
        rules.check_batch_ids(
            [str(e.get("Id", "")) for e in entries], "ChangeMessageVisibilityBatchRequestEntry"
        )
        valid: list[tuple[int, tuple[str, int]]] = []
        outcomes: list[AwsError | None] = [None] * len(entries)
        for position, entry in enumerate(entries):
            timeout = entry.get("VisibilityTimeout") or 0
            try:
                rules.check_visibility_timeout(timeout)
            except AwsError as error:
                outcomes[position] = error
                continue
            valid.append((position, (str(entry.get("ReceiptHandle", "")), timeout)))
        changed = await engine.change_visibility(queue, [change for _, change in valid])
        for (position, _), outcome in zip(valid, changed, strict=True):
            outcomes[position] = outcome
        return _outcomes(entries, outcomes)

    async def purge_queue(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await engine.purge(queue_of(ctx, params))
        return {}

    async def start_message_move_task(
        ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        task = engine.moves.start(
            _required(params, "SourceArn"),
            params.get("DestinationArn"),
            params.get("MaxNumberOfMessagesPerSecond"),
        )
        return {"TaskHandle": task.handle}

    async def list_message_move_tasks(
        ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        tasks = engine.moves.list(_required(params, "SourceArn"), params.get("MaxResults"))
        return {"Results": [task.entry() for task in tasks]}

    async def cancel_message_move_task(
        ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        task = engine.moves.cancel(_required(params, "TaskHandle"))
        return {"ApproximateNumberOfMessagesMoved": task.moved}

    return {
        "SendMessage": send_message,
        "SendMessageBatch": send_message_batch,
        "ReceiveMessage": receive_message,
        "DeleteMessage": delete_message,
        "DeleteMessageBatch": delete_message_batch,
        "ChangeMessageVisibility": change_message_visibility,
        "ChangeMessageVisibilityBatch": change_message_visibility_batch,
        "PurgeQueue": purge_queue,
        "StartMessageMoveTask": start_message_move_task,
        "ListMessageMoveTasks": list_message_move_tasks,
        "CancelMessageMoveTask": cancel_message_move_task,
    }


def _outcomes(entries: list[dict[str, Any]], outcomes: list[AwsError | None]) -> dict[str, Any]:
    successful: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for entry, outcome in zip(entries, outcomes, strict=True):
        if outcome is None:
            successful.append({"Id": entry["Id"]})
        else:
            failed.append(_failure(entry["Id"], outcome))
    return _batch_output(successful, failed)
