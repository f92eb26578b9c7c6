"""What Scheduler keeps: schedule groups and schedules, as typed, immutable records.

Records serialize to plain JSON-able dicts (``to_doc``/``from_doc``) for the store; times
are epoch seconds (floats).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

DEFAULT_GROUP = "default"
# Target defaults AWS reports when a schedule was created without a RetryPolicy.
DEFAULT_MAX_EVENT_AGE = 86400
DEFAULT_MAX_RETRY_ATTEMPTS = 185


def group_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:scheduler:{region}:{account_id}:schedule-group/{name}"


def schedule_arn(region: str, account_id: str, group: str, name: str) -> str:
    return f"arn:aws:scheduler:{region}:{account_id}:schedule/{group}/{name}"


@dataclass(frozen=True, slots=True)
class GroupRecord:
    region: str
    account_id: str
    name: str
    created: float
    modified: float
    tags: tuple[tuple[str, str], ...] = ()
    # The ClientToken of its CreateScheduleGroup (a retried create answers the same).
    client_token: str | None = None

    @property
    def arn(self) -> str:
        return group_arn(self.region, self.account_id, self.name)

    def to_doc(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "modified": self.modified,
            "tags": list(self.tags),
            "client_token": self.client_token,
        }

    @classmethod
    def from_doc(
        cls, region: str, account_id: str, name: str, doc: Mapping[str, Any]
    ) -> GroupRecord:
        tags = tuple((str(k), str(v)) for k, v in doc.get("tags", ()))
        token = doc.get("client_token")
        created, modified = float(doc["created"]), float(doc["modified"])
        return cls(region, account_id, name, created, modified, tags, token)


@dataclass(frozen=True, slots=True)
class TargetRecord:
    """A schedule's target: what Lamina delivers to (functions, queues, topics, buses) and
    the members it reports back as given (``other``: SqsParameters, EcsParameters, ...)."""

    arn: str
    role_arn: str
    input: str | None = None
    max_retry_attempts: int = DEFAULT_MAX_RETRY_ATTEMPTS
    max_event_age: int = DEFAULT_MAX_EVENT_AGE
    dead_letter_arn: str | None = None
    message_group_id: str | None = None
    # EventBridgeParameters (an event bus target).
    detail_type: str | None = None
    source: str | None = None
    other: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    region: str
    account_id: str
    group: str
    name: str
    expression: str
    timezone: str
    target: TargetRecord
    created: float
    modified: float
    state: str = "ENABLED"
    description: str | None = None
    start_date: float | None = None
    end_date: float | None = None
    flexible_window_minutes: int | None = None  # None: FlexibleTimeWindow OFF
    action_after_completion: str = "NONE"
    kms_key_arn: str | None = None
    # When it last fired (None: never): a restart resumes from here.
    last_fired: float | None = None
    # The ClientToken of its CreateSchedule (a retried create answers the same).
    client_token: str | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.region, self.account_id, self.group, self.name)

    @property
    def arn(self) -> str:
        return schedule_arn(self.region, self.account_id, self.group, self.name)

    @property
    def job_id(self) -> str:
        """The schedule's id in the schedule runner."""
        return "scheduler:" + self.arn

    def fired(self, at: float) -> ScheduleRecord:
        return replace(self, last_fired=at)

    def to_doc(self) -> dict[str, Any]:
        doc = asdict(self)
        for key in ("region", "account_id", "group", "name"):
            del doc[key]
        doc["target"]["other"] = dict(self.target.other)
        return doc

    @classmethod
    def from_doc(
        cls, region: str, account_id: str, group: str, name: str, doc: Mapping[str, Any]
    ) -> ScheduleRecord:
        fields = dict(doc)
        target = TargetRecord(**fields.pop("target"))
        return cls(region, account_id, group, name, target=target, **fields)


@dataclass(frozen=True, slots=True)
class PendingRetry:
    """A failed delivery of one fire waiting for its next attempt (stored: a restart
    resumes it). ``retries``: the attempts after the first already made; ``due``: when the
    next one runs (epoch seconds on the schedule clock)."""

    retry_id: int
    schedule_arn: str
    target: TargetRecord
    scheduled: float
    retries: int
    due: float


def target_doc(target: TargetRecord) -> dict[str, Any]:
    doc = asdict(target)
    doc["other"] = dict(target.other)
    return doc


def target_from_doc(doc: Mapping[str, Any]) -> TargetRecord:
    return TargetRecord(**doc)
