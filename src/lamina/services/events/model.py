"""The router's resources as the service holds them: buses, rules and their targets.

Targets keep the members AWS echoes back in ``ListTargetsByRule`` (``as_wire``) and the ones
delivery needs as typed fields; ``from_wire``/``as_wire`` are also the stored form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lamina.domain.event_pattern import EventPattern
from lamina.services.events.arns import BusKey, rule_arn

# AWS's defaults for a target without a RetryPolicy.
DEFAULT_MAX_RETRY_ATTEMPTS = 185
DEFAULT_MAX_EVENT_AGE = 86_400


@dataclass
class EventBus:
    key: BusKey
    description: str | None
    policy: dict[str, Any] | None
    tags: dict[str, str]
    created: float
    modified: float

    @property
    def arn(self) -> str:
        return self.key.arn


@dataclass
class Rule:
    bus: BusKey
    name: str
    event_pattern: str | None
    schedule: str | None
    state: str
    description: str | None
    role_arn: str | None
    tags: dict[str, str]
    pattern: EventPattern | None = field(default=None, compare=False, repr=False)
    # When the rule was first put (epoch seconds; 0: unknown): a rate() counts from it.
    created: float = 0.0
    # When PutRule or EnableRule last (re)started its schedule (schedule-clock epoch seconds;
    # 0: unknown): a restart catches up on due times after it (and after the last fire) only.
    armed: float = 0.0

    @property
    def arn(self) -> str:
        return rule_arn(self.bus.region, self.bus.account, self.bus.name, self.name)

    @property
    def enabled(self) -> bool:
        return self.state == "ENABLED"


@dataclass(frozen=True, slots=True)
class InputTransformer:
    paths: dict[str, str]
    template: str


@dataclass(frozen=True, slots=True)
class Target:
    """One target of a rule. ``wire`` is the target as PutTargets gave it (members with
    no effect on delivery, e.g. ``RoleArn``, are kept only there and echoed back)."""

    id: str
    arn: str
    input: str | None
    input_path: str | None
    transformer: InputTransformer | None
    max_retry_attempts: int
    max_event_age: int
    dead_letter_arn: str | None
    message_group_id: str | None
    wire: dict[str, Any]

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Target:
        """A target from its PutTargets member (validated beforehand)."""
        transformer = wire.get("InputTransformer")
        retry = wire.get("RetryPolicy") or {}
        dead_letter = wire.get("DeadLetterConfig") or {}
        sqs = wire.get("SqsParameters") or {}
        return cls(
            id=str(wire["Id"]),
            arn=str(wire["Arn"]),
            input=wire.get("Input"),
            input_path=wire.get("InputPath"),
            transformer=None
            if transformer is None
            else InputTransformer(
                dict(transformer.get("InputPathsMap") or {}), str(transformer["InputTemplate"])
            ),
            max_retry_attempts=int(retry.get("MaximumRetryAttempts", DEFAULT_MAX_RETRY_ATTEMPTS)),
            max_event_age=int(retry.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE)),
            dead_letter_arn=dead_letter.get("Arn"),
            message_group_id=sqs.get("MessageGroupId"),
            wire=dict(wire),
        )
