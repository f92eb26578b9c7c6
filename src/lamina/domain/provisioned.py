"""Provisioned concurrency: the model of one configuration, its wire form, and the validation of
Put/Get/List/DeleteProvisionedConcurrencyConfig requests.

A configuration belongs to a published version or to an alias (never ``$LATEST``) and asks for
``RequestedProvisionedConcurrentExecutions`` execution environments initialised ahead of
invocations. An alias' environments run the versions it routes to, split by its weights. A
version may be provisioned once: directly or through one alias, not both.

Messages are AWS's as recorded (shared/aws-recorded/lambda, TestLambdaProvisionedConcurrency and
TestLambdaConcurrency); the ones marked *unverified* are not in any recording. Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from lamina.domain.errors import (
    InvalidParameterValueException,
    ProvisionedConcurrencyConfigNotFoundException,
    ResourceConflictException,
)
from lamina.domain.names import constraint_error, validation_exception

PUT = "PutProvisionedConcurrencyConfig"
GET = "GetProvisionedConcurrencyConfig"
DELETE = "DeleteProvisionedConcurrencyConfig"
LIST = "ListProvisionedConcurrencyConfigs"

IN_PROGRESS = "IN_PROGRESS"
READY = "READY"
FAILED = "FAILED"
# StatusReason of an allocation whose environments failed to initialise (recorded:
# TestLambdaConcurrency::test_provisioned_concurrency_init_failure).
INIT_FAILURE = "FUNCTION_ERROR_INIT_FAILURE"

MEMBER = "provisionedConcurrentExecutions"
LIST_LIMIT = 50

NOT_FOUND = "No Provisioned Concurrency Config found for this function"
LATEST_ON_PUT = (
    "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
)
LATEST_ON_READ = "The function resource provided must be an alias or a published version."
ALIAS_ON_PROVISIONED_VERSION = (
    "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned"
    " version"
)
VERSION_OF_PROVISIONED_ALIAS = "Version is pointed by a Provisioned Concurrency alias"


@dataclass(frozen=True)
class ProvisionedConfig:
    """What a caller configured: the allocation's state lives with its environments."""

    function: str
    qualifier: str
    requested: int
    last_modified: str


@dataclass(frozen=True)
class AllocationStatus:
    """How far the environments of one configuration are."""

    status: str
    allocated: int
    available: int
    reason: str | None = None


def now_timestamp() -> str:
    """``LastModified`` as AWS writes it (ISO 8601 to the second): ``2019-11-21T19:32:12+0000``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")


def to_wire(config: ProvisionedConfig, status: AllocationStatus) -> dict[str, Any]:
    """The body of Put/GetProvisionedConcurrencyConfig."""
    out: dict[str, Any] = {
        "RequestedProvisionedConcurrentExecutions": config.requested,
        "AvailableProvisionedConcurrentExecutions": status.available,
        "AllocatedProvisionedConcurrentExecutions": status.allocated,
        "Status": status.status,
    }
    if status.reason is not None:
        out["StatusReason"] = status.reason
    out["LastModified"] = config.last_modified
    return out


# --- validation ----------------------------------------------------------------------------


def requested_errors(value: object) -> list[str]:
    """Shape errors of ``ProvisionedConcurrentExecutions`` (botocore's PositiveInteger)."""
    if value is None:
        return [constraint_error(MEMBER, None, "Member must not be null")]
    if not isinstance(value, int) or isinstance(value, bool):
        # The edge coerces JSON to the model's integer; anything else was refused there.
        return [constraint_error(MEMBER, value, "Member must be an integer")]
    if value < 1:
        return [
            constraint_error(MEMBER, value, "Member must have value greater than or equal to 1")
        ]
    return []


def list_max_items(value: object) -> int | None:
    """``MaxItems`` of ListProvisionedConcurrencyConfigs (1-50; unverified wording beyond the
    generic constraint messages)."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise validation_exception(
            [constraint_error("maxItems", value, "Member must be an integer")]
        )
    if value < 1:
        raise validation_exception(
            [
                constraint_error(
                    "maxItems", value, "Member must have value greater than or equal to 1"
                )
            ]
        )
    if value > LIST_LIMIT:
        raise validation_exception(
            [
                constraint_error(
                    "maxItems", value, f"Member must have value less than or equal to {LIST_LIMIT}"
                )
            ]
        )
    return value


def latest_refused(operation: str) -> InvalidParameterValueException:
    """``$LATEST`` (or no qualifier at all: unverified) named by a provisioned operation."""
    return InvalidParameterValueException(LATEST_ON_PUT if operation == PUT else LATEST_ON_READ)


def config_not_found() -> ProvisionedConcurrencyConfigNotFoundException:
    return ProvisionedConcurrencyConfigNotFoundException(NOT_FOUND)


def alias_conflict() -> ResourceConflictException:
    """An alias routes to a version that is already provisioned (directly or, unverified,
    through another alias)."""
    return ResourceConflictException(ALIAS_ON_PROVISIONED_VERSION)


def version_conflict() -> ResourceConflictException:
    """A version that a provisioned alias routes to."""
    return ResourceConflictException(VERSION_OF_PROVISIONED_ALIAS)


# --- allocation ------------------------------------------------------------------------------


def split(requested: int, primary: str, weights: Mapping[str, float]) -> dict[str, int]:
    """How many environments each version of an alias gets: the additional version its
    weight's share (rounded), the primary version the rest. A version's own configuration
    gets them all (``weights`` empty)."""
    out: dict[str, int] = {}
    rest = requested
    for version, weight in weights.items():
        share = min(rest, math.floor(requested * weight + 0.5))
        if share > 0 and version != primary:
            out[version] = share
            rest -= share
    if rest > 0:
        out[primary] = out.get(primary, 0) + rest
    return out
