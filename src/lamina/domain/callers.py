"""Who is calling, and what a function may do with the API (until IAM policies exist).

A call signed with an execution environment's credentials is that function's execution
role acting (``FunctionCaller``). ``--function-api-access`` decides what it may do:

- ``account``: every operation of its account (as a broad execution role would);
- ``self``: operations on its own function (by name or ARN, any qualifier) and CloudWatch
  Logs calls on its own log group;
- ``none``: nothing.

A refusal is AWS's implicit deny: ``AccessDeniedException`` "User: <assumed-role ARN> is not
authorized to perform: <action> on resource: <ARN> because no identity-based policy allows
the <action> action".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lamina.domain.names import function_locator

ACCESS_LEVELS = ("none", "self", "account")

# Operations whose IAM action is not ``lambda:<Operation>``.
_LAMBDA_ACTIONS = {
    "Invoke": "InvokeFunction",
    "GetLayerVersionByArn": "GetLayerVersion",
}


@dataclass(frozen=True)
class FunctionCaller:
    """A function's execution role, as identified by its environment's credentials."""

    function_name: str
    role_arn: str
    log_group: str
    account_id: str
    region: str

    @property
    def principal_arn(self) -> str:
        role_name = self.role_arn.rsplit("/", 1)[-1] or "lambda-role"
        return f"arn:aws:sts::{self.account_id}:assumed-role/{role_name}/{self.function_name}"


class AccessDenied(Exception):
    """An implicit deny: ``message`` is AWS's text."""

    def __init__(self, caller: FunctionCaller, action: str, resource: str) -> None:
        super().__init__(
            f"User: {caller.principal_arn} is not authorized to perform: {action} on resource: "
            f"{resource} because no identity-based policy allows the {action} action"
        )
        self.message = str(self)


class FunctionApiPolicy:
    """Decides what a function's credentials may do (``access``: none | self | account)."""

    def __init__(self, access: str) -> None:
        if access not in ACCESS_LEVELS:
            raise ValueError(f"function API access must be one of {', '.join(ACCESS_LEVELS)}")
        self.access = access

    def check_lambda(
        self, caller: FunctionCaller, operation: str, params: Mapping[str, Any]
    ) -> None:
        """Raise ``AccessDenied`` unless ``caller`` may run this Lambda operation."""
        if self.access == "account":
            return
        action = f"lambda:{_LAMBDA_ACTIONS.get(operation, operation)}"
        target, resource = _lambda_target(caller, params)
        if self.access == "self" and target == caller.function_name:
            return
        raise AccessDenied(caller, action, resource)

    def check_logs(self, caller: FunctionCaller, operation: str, params: Mapping[str, Any]) -> None:
        """Raise ``AccessDenied`` unless ``caller`` may run this CloudWatch Logs operation."""
        if self.access == "account":
            return
        group = _log_group(params)
        if self.access == "self" and group == caller.log_group:
            return
        resource = (
            f"arn:aws:logs:{caller.region}:{caller.account_id}:log-group:{group}:*"
            if group
            else "*"
        )
        raise AccessDenied(caller, f"logs:{operation}", resource)

    def check_other(self, caller: FunctionCaller, action: str) -> None:
        """Raise ``AccessDenied`` unless ``caller`` may run ``action`` of a service other
        than Lambda and Logs (only ``account`` access allows those)."""
        if self.access != "account":
            raise AccessDenied(caller, action, "*")


def _lambda_target(caller: FunctionCaller, params: Mapping[str, Any]) -> tuple[str | None, str]:
    """``(function name the request acts on, or None; the resource ARN for the message)``."""
    head = f"arn:aws:lambda:{caller.region}:{caller.account_id}"
    value = params.get("FunctionName")
    if not isinstance(value, str):
        resource = params.get("Resource")
        if isinstance(resource, str):
            return _function_of_arn(resource, caller), resource
        layer = params.get("LayerName")
        if isinstance(layer, str):
            arn = layer if layer.startswith("arn:") else f"{head}:layer:{layer}"
            return None, arn
        return None, "*"
    try:
        name, qualifier, region, account = function_locator(value)
    except ValueError:
        return None, value
    if (region and region != caller.region) or (account and account != caller.account_id):
        return None, value
    qualifier = qualifier or params.get("Qualifier")
    arn = f"{head}:function:{name}" + (f":{qualifier}" if qualifier else "")
    return name, arn


def _function_of_arn(arn: str, caller: FunctionCaller) -> str | None:
    parts = arn.split(":")
    if len(parts) < 7 or parts[2] != "lambda" or parts[5] != "function":
        return None
    if parts[3] != caller.region or parts[4] != caller.account_id:
        return None
    return parts[6]


def _log_group(params: Mapping[str, Any]) -> str | None:
    """The one log group a CloudWatch Logs request names (``logGroupName``, or the name in
    ``logGroupIdentifier``, which may be an ARN)."""
    name = params.get("logGroupName")
    if isinstance(name, str):
        return name
    identifier = params.get("logGroupIdentifier")
    if isinstance(identifier, str):
        if identifier.startswith("arn:"):
            parts = identifier.split(":")
            return parts[6] if len(parts) > 6 and parts[5] == "log-group" else None
        return identifier
    return None
