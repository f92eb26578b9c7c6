"""The states a function version shows while Lambda prepares it, as AWS words them. Pure.

- A function just created is ``State: Pending`` (reason ``Creating``), then ``Active``.
- An update (UpdateFunctionCode / UpdateFunctionConfiguration) makes ``$LATEST``
  ``LastUpdateStatus: InProgress`` (reason ``Creating``, as AWS records it) until it is
  applied, then ``Successful``; meanwhile a second update (or PublishVersion) is refused with
  ResourceConflictException and invocations run the configuration from before the update.
- A version published together with an update (UpdateFunctionCode with ``Publish``) is
  ``State: Pending`` until that update is applied, then ``Active``. A version published on
  its own (PublishVersion) is ``Active`` at once (recorded: TestLambdaVersions).
"""

from __future__ import annotations

from typing import Any

from lamina.domain.errors import ResourceConflictException
from lamina.domain.models import FunctionConfig

BEING_CREATED = "The function is being created."
CREATING = "Creating"
IN_PROGRESS = "InProgress"
PENDING = "Pending"

# Field values (FunctionConfig.replace keyword arguments) of each state.
PENDING_VERSION: dict[str, Any] = {
    "state": PENDING,
    "state_reason": BEING_CREATED,
    "state_reason_code": CREATING,
    "last_update_status": None,
}
ACTIVE_VERSION: dict[str, Any] = {
    "state": "Active",
    "state_reason": None,
    "state_reason_code": None,
    "last_update_status": "Successful",
}
UPDATE_IN_PROGRESS: dict[str, Any] = {
    "last_update_status": IN_PROGRESS,
    "last_update_status_reason": BEING_CREATED,
    "last_update_status_reason_code": CREATING,
}
UPDATE_SUCCESSFUL: dict[str, Any] = {
    "last_update_status": "Successful",
    "last_update_status_reason": None,
    "last_update_status_reason_code": None,
}


def is_updating(config: FunctionConfig) -> bool:
    """An update of this version is stored but not applied yet."""
    return config.last_update_status == IN_PROGRESS


def is_pending(config: FunctionConfig) -> bool:
    return config.state == PENDING


def not_invocable_while_pending() -> ResourceConflictException:
    """AWS's 409 for an invocation of a function or version still ``Pending`` (being
    created, or published during an update that is not applied yet)."""
    return ResourceConflictException(
        "The operation cannot be performed at this time. The function is currently in the "
        "following state: Pending"
    )


def update_in_progress(config: FunctionConfig) -> ResourceConflictException:
    """AWS's 409 for an operation on a function whose update is in progress (recorded:
    TestLambdaFunction::test_lambda_concurrent_code_updates / _config_updates)."""
    return ResourceConflictException(
        "The operation cannot be performed at this time. An update is in progress for "
        f"resource: {config.arn}"
    )


def check_not_updating(config: FunctionConfig) -> None:
    """Raise AWS's ResourceConflictException if an update of ``config`` is in progress."""
    if is_updating(config):
        raise update_in_progress(config)
