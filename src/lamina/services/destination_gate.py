"""Destinations and dead-letter queues act with the function's execution role
(``--iam enforce``): a record reaches an SQS queue, SNS topic, event bus or function only if
the role may send it there (``sqs:SendMessage``, ``sns:Publish``, ``events:PutEvents``,
``lambda:InvokeFunction``). A refused delivery fails like any other (retried with backoff,
then kept as undeliverable: ``lamina queue``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lamina.domain.destinations import DeliveryFailed, Destination

DESTINATION_ACTIONS = {
    "sqs": "sqs:SendMessage",
    "sns": "sns:Publish",
    "events": "events:PutEvents",
    "lambda": "lambda:InvokeFunction",
}
# (region, function name, action, target ARN) -> AWS's denial when the function's role may
# not, else None.
RoleDenial = Callable[[str, str, str, str], str | None]


class DestinationGate:
    """Installed once at start (``check``: None under ``--iam off|audit``)."""

    def __init__(self) -> None:
        self.check: RoleDenial | None = None


class GatedDestination:
    """A destination that first asks the gate whether the function's role may deliver."""

    def __init__(self, inner: Destination, gate: DestinationGate, region: str, action: str):
        self.inner = inner
        self.gate = gate
        self.region = region
        self.action = action

    async def deliver(self, target: str, body: bytes, delivery: dict[str, Any]) -> None:
        check = self.gate.check
        if check is not None:
            denial = check(self.region, str(delivery.get("function", "")), self.action, target)
            if denial is not None:
                raise DeliveryFailed(denial)
        await self.inner.deliver(target, body, delivery)


def gated(
    destinations: Mapping[str, Destination], gate: DestinationGate, region: str
) -> dict[str, Destination]:
    """``destinations`` (by ARN service), each behind the gate where it acts on a resource."""
    out: dict[str, Destination] = {}
    for service, destination in destinations.items():
        action = DESTINATION_ACTIONS.get(service)
        out[service] = (
            destination if action is None else GatedDestination(destination, gate, region, action)
        )
    return out
