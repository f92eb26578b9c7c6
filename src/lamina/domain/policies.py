"""Function resource-based policies: AddPermission's request, its validation, the statement it
adds (exactly as AWS renders it) and the policy document GetPolicy answers.

A policy belongs to one function version or alias (or the unqualified function, which is what
``$LATEST`` invocations use). Its statements are kept rendered, in the order they were added;
its RevisionId changes with every AddPermission/RemovePermission.

Wordings are AWS's as recorded (shared/aws-recorded/lambda, ``TestLambdaPermissions``) unless
marked unverified. Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lamina.domain.errors import (
    InvalidParameterValueException,
    LambdaError,
    ResourceConflictException,
    ResourceNotFoundException,
)
from lamina.domain.names import StringShape, constraint_error

POLICY_VERSION = "2012-10-17"
POLICY_ID = "default"
# The largest policy document AWS accepts (bytes of its compact JSON).
MAX_POLICY_BYTES = 20 * 1024

STATEMENT_ID = StringShape(1, 100, r"([a-zA-Z0-9-_]+)")
# RemovePermission's path member also allows dots.
REMOVE_STATEMENT_ID = StringShape(1, 100, r"([a-zA-Z0-9-_.]+)")
ACTION = StringShape(0, 10000, r"(lambda:[*]|lambda:[a-zA-Z]+|[*])")
PRINCIPAL = StringShape(0, 2048, r"[^\s]+")
SOURCE_ARN = StringShape(
    0,
    10000,
    r"arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?"
    r":(\d{12})?:(.*)",
)
SOURCE_ACCOUNT = StringShape(0, 12, r"\d{12}")
EVENT_SOURCE_TOKEN = StringShape(0, 256, r"[a-zA-Z0-9._\-]+")
PRINCIPAL_ORG_ID = StringShape(12, 34, r"o-[a-z0-9]{10,32}")
URL_AUTH_TYPES: tuple[str, ...] = ("NONE", "AWS_IAM")

INVOKE_FUNCTION = "lambda:InvokeFunction"
INVOKE_FUNCTION_URL = "lambda:InvokeFunctionUrl"

# Recorded messages.
LATEST_UNSUPPORTED = "We currently do not support adding policies for $LATEST."
INVALID_PRINCIPAL = "The provided principal was invalid. Please check the principal and try again."
NOT_FOUND = "The resource you requested does not exist."
NO_POLICY = "No policy is associated with the given resource."
REVISION_MISMATCH = (
    "The Revision Id provided does not match the latest Revision Id. "
    "Call the GetPolicy API to retrieve the latest Revision Id"
)
# Unverified wording (the pulumi/Terraform docs: "Only valid with lambda:InvokeFunction").
VIA_URL_NEEDS_INVOKE = (
    "InvokedViaFunctionUrl is only supported for the lambda:InvokeFunction action."
)

_ACCOUNT = re.compile(r"\d{12}", re.ASCII)
_IAM_PRINCIPAL_ARN = re.compile(r"arn:aws[a-zA-Z-]*:(iam|sts)::\d{12}:\S+", re.ASCII)
# Service principals: ``s3.amazonaws.com``, ``alexa-appkit.amazon.com``, China's ``.com.cn``.
_SERVICE = re.compile(
    r"[a-z0-9][a-z0-9.-]*\.(amazonaws\.com|amazon\.com|amazonaws\.com\.cn)", re.ASCII
)


class PolicyLengthExceededException(LambdaError):
    """The policy would grow beyond 20 KB."""

    code = "PolicyLengthExceededException"
    status = 400
    message_key = "message"


def policy_too_large(size: int) -> PolicyLengthExceededException:
    # Unverified wording (as users quote it).
    return PolicyLengthExceededException(
        f"The final policy size ({size}) is bigger than the limit ({MAX_POLICY_BYTES})."
    )


def duplicate_statement(sid: str) -> ResourceConflictException:
    return ResourceConflictException(
        f"The statement id ({sid}) provided already exists. Please provide a new statement id,"
        " or remove the existing statement."
    )


def statement_not_found(sid: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Statement {sid} is not found in resource policy.")


# --- the data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourcePolicy:
    """A function's (or one qualifier's) policy: rendered statements in the order added, and
    the RevisionId that changes with every change."""

    revision_id: str
    statements: tuple[dict[str, Any], ...]

    def statement(self, sid: str) -> dict[str, Any] | None:
        return next((s for s in self.statements if s.get("Sid") == sid), None)

    def document(self) -> str:
        """GetPolicy's ``Policy``: the compact JSON AWS answers."""
        return compact(
            {"Version": POLICY_VERSION, "Id": POLICY_ID, "Statement": list(self.statements)}
        )

    def size(self) -> int:
        return len(self.document().encode())


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass(frozen=True)
class AddPermissionRequest:
    """AddPermission, validated: ``function``/``qualifier`` as parsed from FunctionName and
    Qualifier (``qualifier`` None: the unqualified function)."""

    function: str
    qualifier: str | None
    statement_id: str
    action: str
    principal: str
    source_arn: str | None = None
    source_account: str | None = None
    event_source_token: str | None = None
    principal_org_id: str | None = None
    function_url_auth_type: str | None = None
    invoked_via_function_url: bool = False
    revision_id: str | None = None


# --- validation -----------------------------------------------------------------------------


def member_errors(params: Mapping[str, Any]) -> list[str]:
    """Shape errors of AddPermission's members other than FunctionName and Qualifier, in the
    order of the input shape (the order AWS lists several is unverified)."""
    errors: list[str] = []
    for key, member, shape in (
        ("StatementId", "statementId", STATEMENT_ID),
        ("Action", "action", ACTION),
        ("Principal", "principal", PRINCIPAL),
    ):
        value = params.get(key)
        if value is None:
            errors.append(constraint_error(member, None, "Member must not be null"))
        elif isinstance(value, str):
            errors += shape.errors(member, value)
    for key, member, shape in (
        ("SourceArn", "sourceArn", SOURCE_ARN),
        ("SourceAccount", "sourceAccount", SOURCE_ACCOUNT),
        ("EventSourceToken", "eventSourceToken", EVENT_SOURCE_TOKEN),
        ("PrincipalOrgID", "principalOrgID", PRINCIPAL_ORG_ID),
    ):
        value = params.get(key)
        if isinstance(value, str):
            errors += shape.errors(member, value)
    auth_type = params.get("FunctionUrlAuthType")
    if auth_type is not None and auth_type not in URL_AUTH_TYPES:
        errors.append(
            constraint_error(
                "functionUrlAuthType",
                auth_type,
                f"Member must satisfy enum value set: [{', '.join(URL_AUTH_TYPES)}]",
            )
        )
    return errors


def statement_id_errors(value: Any, shape: StringShape = STATEMENT_ID) -> list[str]:
    if not isinstance(value, str):
        return [constraint_error("statementId", None, "Member must not be null")]
    return shape.errors("statementId", value)


def principal_kind(principal: str) -> str:
    """``"*"``, ``"account"``, ``"arn"`` or ``"service"``; InvalidParameterValueException (the
    recorded message) for anything else (``invalid.nonaws.com``)."""
    if principal == "*":
        return "*"
    if _ACCOUNT.fullmatch(principal):
        return "account"
    if _IAM_PRINCIPAL_ARN.fullmatch(principal):
        return "arn"
    if _SERVICE.fullmatch(principal):
        return "service"
    raise InvalidParameterValueException(INVALID_PRINCIPAL)


def check_combination(request: AddPermissionRequest) -> None:
    """Rules across members: the principal's form, and ``InvokedViaFunctionUrl`` only with
    ``lambda:InvokeFunction``."""
    principal_kind(request.principal)
    if request.invoked_via_function_url and request.action != INVOKE_FUNCTION:
        raise InvalidParameterValueException(VIA_URL_NEEDS_INVOKE)


# --- rendering ------------------------------------------------------------------------------


def render_principal(principal: str, partition: str = "aws") -> Any:
    kind = principal_kind(principal)
    if kind == "*":
        return "*"
    if kind == "account":
        return {"AWS": f"arn:{partition}:iam::{principal}:root"}
    if kind == "arn":
        return {"AWS": principal}
    return {"Service": principal}


def statement(request: AddPermissionRequest, resource: str) -> dict[str, Any]:
    """The statement AddPermission adds, keys and condition blocks in AWS's order (recorded:
    ``StringEquals`` {AWS:SourceAccount, lambda:FunctionUrlAuthType, aws:PrincipalOrgID} then
    ``ArnLike`` {AWS:SourceArn}; where ``lambda:EventSourceToken`` and the ``Bool`` block of
    ``lambda:InvokedViaFunctionUrl`` go among them is unverified)."""
    out: dict[str, Any] = {
        "Sid": request.statement_id,
        "Effect": "Allow",
        "Principal": render_principal(request.principal),
        "Action": request.action,
        "Resource": resource,
    }
    equals: dict[str, str] = {}
    if request.source_account is not None:
        equals["AWS:SourceAccount"] = request.source_account
    if request.event_source_token is not None:
        equals["lambda:EventSourceToken"] = request.event_source_token
    if request.function_url_auth_type is not None:
        equals["lambda:FunctionUrlAuthType"] = request.function_url_auth_type
    if request.principal_org_id is not None:
        equals["aws:PrincipalOrgID"] = request.principal_org_id
    condition: dict[str, dict[str, str]] = {}
    if equals:
        condition["StringEquals"] = equals
    if request.source_arn is not None:
        condition["ArnLike"] = {"AWS:SourceArn": request.source_arn}
    if request.invoked_via_function_url:
        condition["Bool"] = {"lambda:InvokedViaFunctionUrl": "true"}
    if condition:
        out["Condition"] = condition
    return out
