"""SNS topics and EventBridge buses as destinations (and topics as dead-letter targets) of
asynchronous invocations, as AWS delivers to them:

- a topic gets the invocation record as the message (a dead letter: the original event, with
  the message attributes ``RequestID``, ``ErrorCode`` and ``ErrorMessage``);
- a bus gets an event from source ``lambda`` with detail-type ``Lambda Function Invocation
  Result - Success`` or ``- Failure``, the record as its detail and, as resources, the bus and
  the function's ARN. A bus cannot be a dead-letter target (AWS refuses it as one).

The sinks are looked up at delivery time (``sinks()``): the router services are built after
the regions that deliver to them. A missing topic or bus, or a refusal, is a failed delivery:
retried with backoff, counted and kept once the event is too old (``services.async_invoke``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lamina.domain.destinations import DeliveryFailed
from lamina.services.event_bus_ports import EventBusNotFound, EventBusRejected, EventBusSink
from lamina.services.topic_ports import TopicAttribute, TopicNotFound, TopicRejected, TopicSink

SUCCESS_DETAIL_TYPE = "Lambda Function Invocation Result - Success"
FAILURE_DETAIL_TYPE = "Lambda Function Invocation Result - Failure"


@dataclass
class RouterSinks:
    """The event router's services once built (None: not available on this server)."""

    topics: TopicSink | None = None
    buses: EventBusSink | None = None


class TopicDestination:
    def __init__(self, sinks: Callable[[], RouterSinks]) -> None:
        self._sinks = sinks

    async def deliver(self, target: str, body: bytes, delivery: dict[str, Any]) -> None:
        topics = self._sinks().topics
        if topics is None:
            raise DeliveryFailed(f"the topic {target} does not exist")
        fifo = target.endswith(".fifo")
        try:
            await topics.publish(
                target,
                body.decode("utf-8", "replace"),
                attributes=_attributes(delivery.get("attributes") or {}) or None,
                # For a FIFO topic: one group per function keeps its records in order; the
                # request id deduplicates a delivery retried after a restart.
                group_id=str(delivery.get("function") or "lambda") if fifo else None,
                deduplication_id=str(delivery.get("requestId") or "") or None if fifo else None,
            )
        except TopicNotFound:
            raise DeliveryFailed(f"the topic {target} does not exist") from None
        except TopicRejected as exc:
            raise DeliveryFailed(f"the topic {target} refused the message: {exc}") from None


class EventBusDestination:
    def __init__(self, sinks: Callable[[], RouterSinks]) -> None:
        self._sinks = sinks

    async def deliver(self, target: str, body: bytes, delivery: dict[str, Any]) -> None:
        if delivery.get("kind") != "destination":
            raise DeliveryFailed(f"an event bus cannot take dead letters: {target}")
        buses = self._sinks().buses
        if buses is None:
            raise DeliveryFailed(f"the event bus {target} does not exist")
        detail = body.decode("utf-8", "replace")
        context = _request_context(detail)
        success = context.get("condition") == "Success"
        function_arn = context.get("functionArn")
        resources = [target] + ([function_arn] if isinstance(function_arn, str) else [])
        try:
            await buses.put_event(
                target,
                source="lambda",
                detail_type=SUCCESS_DETAIL_TYPE if success else FAILURE_DETAIL_TYPE,
                detail=detail,
                resources=resources,
            )
        except EventBusNotFound:
            raise DeliveryFailed(f"the event bus {target} does not exist") from None
        except EventBusRejected as exc:
            raise DeliveryFailed(f"the event bus {target} refused the event: {exc}") from None


def _request_context(record: str) -> dict[str, Any]:
    try:
        context = json.loads(record).get("requestContext")
    except (ValueError, AttributeError):
        return {}
    return context if isinstance(context, dict) else {}


def _attributes(raw: Mapping[str, Any]) -> dict[str, TopicAttribute]:
    out: dict[str, TopicAttribute] = {}
    for name, value in raw.items():
        if isinstance(value, Mapping) and value.get("StringValue") is not None:
            out[name] = TopicAttribute(
                str(value.get("DataType", "String")), str(value["StringValue"])
            )
    return out
