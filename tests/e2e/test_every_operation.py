"""Every operation of botocore's Lambda model answers (api/lambda_unsupported_api.py): each
is sent with its required members (sample values) and must get an answer of the operation
(its result or an AWS error), never the edge's ``UnknownOperationException`` of a route
nobody serves. Operations Lamina does not implement validate their input against the model
(``ValidationException``) and otherwise answer 501 ``UnsupportedOperationException``."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore import xform_name
from botocore.exceptions import ClientError
from support import ACCOUNT

FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:every-op-missing"
SAMPLES: dict[str, Any] = {
    "FunctionName": "every-op-missing",
    "DurableExecutionArn": f"{FUNCTION_ARN}:1/durable-execution/run1/exec1",
    "CheckpointToken": "dG9rZW4=",
    "CallbackId": "Y2FsbGJhY2s=",
    "CapacityProviderName": "every-op-provider",
    "ResourceArn": FUNCTION_ARN,
    "Resource": FUNCTION_ARN,
    "Qualifier": "1",
    "UUID": str(uuid.uuid4()),
    "LayerName": "every-op-layer",
    "VersionNumber": 1,
    "StatementId": "sid1",
    "CodeSigningConfigArn": (
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:code-signing-config:csc-0123456789abcdefg"
    ),
    "Name": "live",
    "Arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:every-op-layer:1",
    "Action": "lambda:InvokeFunction",
    "Principal": "s3.amazonaws.com",
    "Policy": '{"Version": "2012-10-17", "Statement": []}',
    "FunctionVersion": "1",
    "Role": "arn:aws:iam::000000000000:role/lambda-role",
    "SubnetIds": ["subnet-0123456789abcdef0"],
    "SecurityGroupIds": ["sg-0123456789abcdef0"],
    "CapacityProviderOperatorRoleArn": "arn:aws:iam::000000000000:role/operator",
}
# Operations Lamina does not implement (501 once their input is valid).
UNSUPPORTED_FAMILIES = ("DurableExecution", "CapacityProvider", "ScalingConfig", "ResourcePolicy")


def sample(model: Any, shape: Any, member: str = "") -> Any:
    if member in SAMPLES:
        return SAMPLES[member]
    kind = shape.type_name
    if kind == "structure":
        return {name: sample(model, shape.members[name], name) for name in shape.required_members}
    if kind == "list":
        minimum = shape.metadata.get("min", 0)
        return [sample(model, shape.member)] * minimum
    if kind == "string":
        return shape.enum[0] if shape.enum else "x"
    if kind in ("integer", "long"):
        return max(1, shape.metadata.get("min", 1))
    if kind == "boolean":
        return False
    if kind == "blob":
        return b"{}"
    if kind == "map":
        return {}
    return None


def answer(client: Any, operation: str, params: dict[str, Any]) -> tuple[int, str | None, str]:
    """(HTTP status, error code or None, message)."""
    try:
        response = getattr(client, xform_name(operation))(**params)
    except ClientError as error:
        found = error.response
        return (
            found["ResponseMetadata"]["HTTPStatusCode"],
            found["Error"]["Code"],
            found["Error"].get("Message", ""),
        )
    return response["ResponseMetadata"]["HTTPStatusCode"], None, ""


def test_every_operation_answers(raw_lam: Any) -> None:
    model = raw_lam.meta.service_model
    unsupported: list[str] = []
    for operation in model.operation_names:
        shape = model.operation_model(operation).input_shape
        params = sample(model, shape) if shape is not None else {}
        status, code, message = answer(raw_lam, operation, params)
        assert code != "UnknownOperationException", (operation, message)
        assert status < 500 or code == "UnsupportedOperationException", (operation, code)
        if code == "UnsupportedOperationException":
            assert status == 501
            assert message == f"Lamina does not support the operation {operation} yet."
            unsupported.append(operation)
    # What is left unimplemented is exactly those families (docs/invocation.md lists them).
    assert unsupported
    assert all(any(f in op for f in UNSUPPORTED_FAMILIES) for op in unsupported), unsupported


@pytest.mark.parametrize(
    ("operation", "params", "error"),
    [
        (
            "GetDurableExecution",
            {"DurableExecutionArn": "not-an-arn"},
            "1 validation error detected: Value 'not-an-arn' at 'durableExecutionArn' failed to"
            " satisfy constraint: Member must satisfy regular expression pattern: ",
        ),
        (
            "GetCapacityProvider",
            {"CapacityProviderName": "bad name!"},
            "1 validation error detected: Value 'bad name!' at 'capacityProviderName' failed to"
            " satisfy constraint: Member must satisfy regular expression pattern: ",
        ),
        (
            "ListCapacityProviders",
            {"MaxItems": 0},
            "1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint:"
            " Member must have value greater than or equal to 1",
        ),
    ],
)
def test_unsupported_operations_validate_first(
    raw_lam: Any, operation: str, params: dict[str, Any], error: str
) -> None:
    status, code, message = answer(raw_lam, operation, params)
    assert (status, code) == (400, "ValidationException")
    assert message.startswith(error), message
