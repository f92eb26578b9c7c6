"""Event source mappings (SQS): the model, its validation and its state machine. Pure.

A mapping links a queue (``EventSourceArn``) to a function (``FunctionArn``, qualified when the
mapping names a version or an alias, exactly as given). Its wire form is Lambda's
``EventSourceMappingConfiguration`` for SQS sources (recorded:
lambda/test_lambda_integration_sqs): ``BatchSize`` (default 10),
``MaximumBatchingWindowInSeconds`` (default 0), ``FunctionResponseTypes`` (default ``[]``),
``FilterCriteria`` and ``ScalingConfig`` only when set, ``StateTransitionReason``
``USER_INITIATED``, ``LastModified`` in epoch seconds, no ``LastProcessingResult``.

States: Create answers ``Creating`` (``Disabled`` at once when created disabled, as recorded),
Update answers ``Updating`` (``Enabling``/``Disabling`` when it flips ``Enabled``), Delete
answers ``Deleting``; a moment later the mapping settles in ``Enabled``/``Disabled`` (or is
gone). A mapping in a transitional state refuses Update and Delete (``ResourceInUseException``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from lamina.domain.errors import (
    InvalidParameterValueException,
    LambdaError,
    ResourceNotFoundException,
)
from lamina.domain.names import constraint_error, validation_exception

CREATING = "Creating"
ENABLING = "Enabling"
ENABLED = "Enabled"
DISABLING = "Disabling"
DISABLED = "Disabled"
UPDATING = "Updating"
DELETING = "Deleting"
TRANSITIONAL = frozenset({CREATING, ENABLING, DISABLING, UPDATING, DELETING})
USER_INITIATED = "USER_INITIATED"

DEFAULT_BATCH_SIZE = 10
MAX_BATCH_SIZE = 10_000
MAX_UNWINDOWED_BATCH_SIZE = 10
MAX_BATCHING_WINDOW = 300
MIN_MAXIMUM_CONCURRENCY = 2
MAX_MAXIMUM_CONCURRENCY = 1000
MAX_FILTERS = 5
MAX_PATTERN_LENGTH = 4096
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"

# botocore's ``Arn`` shape.
ARN_PATTERN = (
    r"arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+"
    r"-\d{1})?:(\d{12})?:(.*)"
)
_SQS_ARN = re.compile(
    r"arn:aws[a-zA-Z-]*:sqs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?P<name>.+)"
)

# Recorded messages (lambda/test_lambda_api, lambda/test_lambda_integration_sqs).
NOT_FOUND = "The resource you requested does not exist."
UNRECOGNIZED_SOURCE = "Unrecognized event source."
FUNCTION_DOES_NOT_EXIST = "Function does not exist"
WINDOW_REQUIRED = (
    "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater "
    "than 10"
)
INVALID_FILTER = "Invalid filter pattern definition."
QUEUE_DOES_NOT_EXIST = (
    "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue."
    " SQS Error Message: The specified queue does not exist."
)
UNSUPPORTED_DESTINATION = (
    "Unsupported DestinationConfig parameter for given event source mapping type."
)
# Parameters that only stream sources take (their SQS refusal reuses the recorded
# DestinationConfig wording: unverified for these members).
STREAM_ONLY_PARAMETERS = (
    "DestinationConfig",
    "StartingPosition",
    "StartingPositionTimestamp",
    "ParallelizationFactor",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "TumblingWindowInSeconds",
)


class ResourceInUseException(LambdaError):
    """Update or Delete of a mapping in a transitional state (lambda-errors.md: 400, ``Type`` +
    ``Message``; the message text is unverified)."""

    code = "ResourceInUseException"
    status = 400
    message_key = "Message"


def not_found() -> ResourceNotFoundException:
    """Get/Update/Delete of an unknown UUID (recorded: 404, ``Type`` + ``Message``)."""
    return ResourceNotFoundException(NOT_FOUND)


def in_use(uuid: str, state: str) -> ResourceInUseException:
    return ResourceInUseException(
        f"Cannot modify the event source mapping {uuid} because it is in state {state}. "
        "Please try again later."
    )


def mapping_arn(region: str, account: str, uuid: str) -> str:
    return f"arn:aws:lambda:{region}:{account}:event-source-mapping:{uuid}"


@dataclass(frozen=True, slots=True)
class QueueRef:
    """The parts of an SQS queue ARN."""

    arn: str
    region: str
    account: str
    name: str


def parse_sqs_arn(arn: str) -> QueueRef | None:
    """The queue an ARN names, or None when it is not an SQS queue ARN."""
    found = _SQS_ARN.fullmatch(arn)
    if found is None:
        return None
    return QueueRef(arn, found["region"], found["account"], found["name"])


@dataclass(frozen=True, slots=True)
class MappingSettings:
    """What Create or Update asks for; None (or ``filters_given``/``scaling_given`` False)
    means "not given": Create applies the defaults, Update keeps the current value."""

    enabled: bool | None = None
    batch_size: int | None = None
    batching_window: int | None = None
    filter_patterns: tuple[str, ...] = ()
    filters_given: bool = False
    function_response_types: tuple[str, ...] | None = None
    maximum_concurrency: int | None = None
    scaling_given: bool = False
    # Members of the request that SQS sources do not take (``STREAM_ONLY_PARAMETERS``).
    stream_only: tuple[str, ...] = ()


def check_settings(settings: MappingSettings) -> None:
    """Model constraints (``ValidationException``, every failure listed) and the SQS rules that
    do not depend on the current mapping."""
    errors: list[str] = []
    if settings.batch_size is not None and not 1 <= settings.batch_size <= MAX_BATCH_SIZE:
        bound = (
            "greater than or equal to 1"
            if settings.batch_size < 1
            else (f"less than or equal to {MAX_BATCH_SIZE}")
        )
        errors.append(
            constraint_error("batchSize", settings.batch_size, f"Member must have value {bound}")
        )
    window = settings.batching_window
    if window is not None and not 0 <= window <= MAX_BATCHING_WINDOW:
        bound = (
            "greater than or equal to 0"
            if window < 0
            else (f"less than or equal to {MAX_BATCHING_WINDOW}")
        )
        errors.append(
            constraint_error(
                "maximumBatchingWindowInSeconds", window, f"Member must have value {bound}"
            )
        )
    concurrency = settings.maximum_concurrency
    if concurrency is not None and not (
        MIN_MAXIMUM_CONCURRENCY <= concurrency <= MAX_MAXIMUM_CONCURRENCY
    ):
        bound = (
            f"greater than or equal to {MIN_MAXIMUM_CONCURRENCY}"
            if concurrency < MIN_MAXIMUM_CONCURRENCY
            else f"less than or equal to {MAX_MAXIMUM_CONCURRENCY}"
        )
        errors.append(
            constraint_error(
                "scalingConfig.maximumConcurrency", concurrency, f"Member must have value {bound}"
            )
        )
    types = settings.function_response_types
    if types is not None:
        if len(types) > 1:
            errors.append(
                constraint_error(
                    "functionResponseTypes",
                    list(types),
                    "Member must have length less than or equal to 1",
                )
            )
        elif types and types[0] != REPORT_BATCH_ITEM_FAILURES:
            errors.append(
                constraint_error(
                    "functionResponseTypes",
                    list(types),
                    "Member must satisfy constraint: [Member must satisfy enum value set: "
                    f"[{REPORT_BATCH_ITEM_FAILURES}]]",
                )
            )
    for pattern in settings.filter_patterns:
        if len(pattern) > MAX_PATTERN_LENGTH:
            errors.append(
                constraint_error(
                    "filterCriteria.filters.member.pattern",
                    pattern,
                    f"Member must have length less than or equal to {MAX_PATTERN_LENGTH}",
                )
            )
    if errors:
        raise validation_exception(errors)
    if settings.stream_only:
        raise InvalidParameterValueException(
            f"Unsupported {settings.stream_only[0]} parameter for given event source mapping type."
        )
    if len(settings.filter_patterns) > MAX_FILTERS:
        # Unverified wording.
        raise InvalidParameterValueException(
            f"The number of filters exceeds the limit of {MAX_FILTERS}."
        )


def check_arn_shape(arn: str) -> None:
    if not re.fullmatch(ARN_PATTERN, arn):
        raise validation_exception(
            [
                constraint_error(
                    "eventSourceArn",
                    arn,
                    f"Member must satisfy regular expression pattern: {ARN_PATTERN}",
                )
            ]
        )


def check_batching(batch_size: int, window: int) -> None:
    """Batches above 10 need a batching window (recorded message)."""
    if batch_size > MAX_UNWINDOWED_BATCH_SIZE and window < 1:
        raise InvalidParameterValueException(WINDOW_REQUIRED)


@dataclass(frozen=True, slots=True)
class EventSourceMapping:
    """One mapping as stored. ``function_arn`` is the ARN as the mapping names the function
    (unqualified, or with the version/alias/``$LATEST`` it was given); ``enabled`` is what
    the user asked for, ``state`` where the mapping is on its way there."""

    uuid: str
    region: str
    account_id: str
    event_source_arn: str
    function_name: str
    function_qualifier: str | None
    function_arn: str
    enabled: bool
    state: str
    last_modified: float
    batch_size: int = DEFAULT_BATCH_SIZE
    batching_window: int = 0
    filter_patterns: tuple[str, ...] = ()
    function_response_types: tuple[str, ...] = ()
    maximum_concurrency: int | None = None
    state_transition_reason: str = USER_INITIATED
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return mapping_arn(self.region, self.account_id, self.uuid)

    @property
    def reports_item_failures(self) -> bool:
        return REPORT_BATCH_ITEM_FAILURES in self.function_response_types

    @property
    def polling(self) -> bool:
        """Whether pollers should run: enabled and settled (or settling) into Enabled."""
        return self.enabled and self.state in (ENABLED, CREATING, ENABLING, UPDATING)

    def with_settings(self, settings: MappingSettings) -> EventSourceMapping:
        """This mapping with ``settings`` applied (values not given are kept)."""
        changed = self
        if settings.batch_size is not None:
            changed = replace(changed, batch_size=settings.batch_size)
        if settings.batching_window is not None:
            changed = replace(changed, batching_window=settings.batching_window)
        if settings.filters_given:
            changed = replace(changed, filter_patterns=settings.filter_patterns)
        if settings.function_response_types is not None:
            changed = replace(changed, function_response_types=settings.function_response_types)
        if settings.scaling_given:
            changed = replace(changed, maximum_concurrency=settings.maximum_concurrency)
        if settings.enabled is not None:
            changed = replace(changed, enabled=settings.enabled)
        return changed

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "UUID": self.uuid,
            "BatchSize": self.batch_size,
            "MaximumBatchingWindowInSeconds": self.batching_window,
            "EventSourceArn": self.event_source_arn,
        }
        if self.filter_patterns:
            out["FilterCriteria"] = {"Filters": [{"Pattern": p} for p in self.filter_patterns]}
        out["FunctionArn"] = self.function_arn
        out["LastModified"] = self.last_modified
        out["State"] = self.state
        out["StateTransitionReason"] = self.state_transition_reason
        out["FunctionResponseTypes"] = list(self.function_response_types)
        if self.maximum_concurrency is not None:
            out["ScalingConfig"] = {"MaximumConcurrency": self.maximum_concurrency}
        out["EventSourceMappingArn"] = self.arn
        return out


# --- the state machine ---------------------------------------------------------------------


def state_after_create(enabled: bool) -> str:
    """Recorded: ``Creating`` (202), or ``Disabled`` at once when created disabled."""
    return CREATING if enabled else DISABLED


def state_after_update(current: EventSourceMapping, enabled: bool | None) -> str:
    """``Enabling``/``Disabling`` when the update flips ``Enabled`` (recorded), else
    ``Updating``. Raises ``ResourceInUseException`` from a transitional state."""
    if current.state in TRANSITIONAL:
        raise in_use(current.uuid, current.state)
    if enabled is not None and enabled != current.enabled:
        return ENABLING if enabled else DISABLING
    return UPDATING


def state_before_delete(current: EventSourceMapping) -> str:
    if current.state in TRANSITIONAL:
        raise in_use(current.uuid, current.state)
    return DELETING


def settled_state(mapping: EventSourceMapping) -> str | None:
    """Where a transitional state ends (None: the mapping is removed)."""
    if mapping.state == DELETING:
        return None
    return ENABLED if mapping.enabled else DISABLED
