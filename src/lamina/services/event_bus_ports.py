"""How other services (asynchronous invocation destinations, SNS-free producers) put an event on
an EventBridge bus. The contract only: the EventBridge service implements it."""

from __future__ import annotations

from typing import Protocol


class EventBusNotFound(Exception):
    """No bus has that ARN (or it names an account or region Lamina does not serve)."""


class EventBusRejected(Exception):
    """The bus exists but refused the event (too large, malformed detail): retrying the same
    event cannot succeed. The message says why."""


class EventBusSink(Protocol):
    async def put_event(
        self,
        bus_arn: str,
        *,
        source: str,
        detail_type: str,
        detail: str,
        resources: list[str] | None = None,
    ) -> str:
        """Put one event (``detail``: a JSON object's text) on the bus; returns its event id
        once it is durably accepted (rules are matched and targets delivered after).
        Raises ``EventBusNotFound`` or ``EventBusRejected``."""
        ...
