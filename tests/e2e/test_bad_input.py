"""Bad input gets AWS's exact error, and nothing stored changes.

Each case checks the HTTP status, ``x-amzn-ErrorType`` (botocore's ``Error.Code`` and the raw
header), the message, the raw JSON body (member casing: ``Message`` vs ``message``, ``Type``) and,
where AWS's answer was recorded (tests/fixtures/aws-recorded), the whole recorded error. Then the
stored state (ListFunctions, GetFunction of the functions involved, account usage) must be
exactly what it was before the call.

boto3 refuses some bad values client-side; the client here has ``parameter_validation`` off, and
raw HTTP covers what boto3 cannot send at all.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import sys
import zipfile
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import ACCOUNT, ROLE, SIGNED, Capture, LaminaServer, make_zip, unique

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from aws_recorded import expand, recorded, recorded_dir  # noqa: E402

ARN_PREFIX = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"
CODE = "def handler(event, context):\n    return event\n"
PACKAGE = make_zip({"handler.py": CODE})
MB = 1024 * 1024

# The JSON body Lamina sends for each error type: (has "Type", message member).
BODY = {
    "ResourceNotFoundException": (True, "Message"),
    "ResourceConflictException": (True, "message"),
    "InvalidParameterValueException": (True, "message"),
    "InvalidRequestContentException": (True, "message"),
    "PreconditionFailedException": (True, "message"),
    "RequestEntityTooLargeException": (True, "message"),  # unverified: AWS's body is unrecorded
    "ValidationException": (False, "message"),  # unverified: AWS's body is unrecorded
    "UnknownOperationException": (False, "message"),  # unverified
    "AccessDeniedException": (False, "Message"),
}


@pytest.fixture(scope="module")
def victim(lam: Any) -> Iterator[str]:
    """An existing function every rejected update aims at."""
    name = unique("victim")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="handler.handler",
        Code={"ZipFile": PACKAGE},
        Environment={"Variables": {"KEEP": "me"}},
        Tags={"owner": "bad-input"},
        Publish=True,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    yield name
    lam.delete_function(FunctionName=name)


def state(lam: Any, names: list[str]) -> Any:
    listing = [
        (f["FunctionName"], f["RevisionId"])
        for page in lam.get_paginator("list_functions").paginate(FunctionVersion="ALL")
        for f in page["Functions"]
    ]
    details: dict[str, Any] = {}
    for name in names:
        try:
            got = lam.get_function(FunctionName=name)
        except ClientError as exc:
            details[name] = exc.response["Error"]["Code"]
            continue
        got.pop("ResponseMetadata")
        got["Code"].pop("Location")
        details[name] = got
    usage = lam.get_account_settings()["AccountUsage"]
    return listing, details, usage


def rejected(
    lam: Any,
    capture: Capture,
    call: Callable[[], Any],
    *,
    status: int,
    code: str,
    message: str | None,
    names: list[str],
) -> dict[str, Any]:
    """Run a call that must fail; check the error end to end and that state is unchanged."""
    before = state(lam, names)
    with pytest.raises(ClientError) as excinfo:
        call()
    response: dict[str, Any] = excinfo.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert response["Error"]["Code"] == code
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == code
    assert response["Error"].get("Message") == message
    assert capture.last["status_code"] == status
    typed, key = BODY[code]
    body = {"Type": "User", key: message} if typed else {key: message}
    assert json.loads(capture.last["body"]) == body
    assert state(lam, names) == before
    return response


def matches_recording(response: dict[str, Any], test: str, key: str, **subs: str) -> None:
    """The error equals the recorded one (code, message, status, modeled body members)."""
    want = expand(recorded(test, key), {"111111111111": ACCOUNT, **subs})
    assert response["Error"]["Code"] == want["Error"]["Code"]
    assert response["Error"]["Message"] == want["Error"]["Message"]
    assert (
        response["ResponseMetadata"]["HTTPStatusCode"] == want["ResponseMetadata"]["HTTPStatusCode"]
    )
    members = {k: v for k, v in response.items() if k not in ("Error", "ResponseMetadata")}
    assert members == {k: v for k, v in want.items() if k not in ("Error", "ResponseMetadata")}


def create_args(name: str, **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "FunctionName": name,
        "Runtime": "python3.12",
        "Role": ROLE,
        "Handler": "handler.handler",
        "Code": {"ZipFile": PACKAGE},
    }
    args.update(overrides)
    return {k: v for k, v in args.items() if v is not None}


def constraint(member: str, value: Any, text: str) -> str:
    return f"Value '{value}' at '{member}' failed to satisfy constraint: {text}"


def validation(member: str, value: Any, text: str) -> str:
    return f"1 validation error detected: {constraint(member, value, text)}"


GE = "Member must have value greater than or equal to"
LENGTH_LE = "Member must have length less than or equal to"
LE = "Member must have value less than or equal to"
NAME_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
    r"(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
)
ROLE_PATTERN = r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"


def env_too_big(variables: dict[str, str]) -> str:
    measured = json.dumps(variables, separators=(",", ":"))
    return (
        "Lambda was unable to configure your environment variables because the environment"
        f" variables you have provided exceeded the 4KB limit. String measured: {measured}"
    )


def reserved(keys: str) -> str:
    return (
        "Lambda was unable to configure your environment variables because the environment"
        " variables you have provided contains reserved keys that are currently not supported"
        f" for modification. Reserved keys used in this request: {keys}"
    )


ENV_KEY = (
    "1 validation error detected: Value at 'environment.variables' failed to satisfy"
    " constraint: Map keys must satisfy constraint: [Member must satisfy regular expression"
    " pattern: [a-zA-Z]([a-zA-Z0-9_])+]"
)
LARGE_VAR = {"LARGE_VAR": "x" * (4096 - 6 - len("LARGE_VAR"))}
MULTI_KEY = {"SMALL_VAR": "ok", "LARGE_VAR": "x" * 4064}

# (id, overrides of a valid CreateFunction, status, code, message or (test, key) recorded)
CREATE_CASES: list[tuple[str, dict[str, Any], int, str, Any]] = [
    (
        "unknown-runtime",
        {"Runtime": "non-existent-runtime"},
        400,
        "InvalidParameterValueException",
        ("TestLambdaFunction::test_create_lambda_exceptions", "invalid_runtime_exc"),
    ),
    (
        "uppercase-runtime",
        {"Runtime": "PYTHON3.9"},
        400,
        "InvalidParameterValueException",
        ("TestLambdaFunction::test_create_lambda_exceptions", "uppercase_runtime_exc"),
    ),
    (
        "deprecated-runtime",
        {"Runtime": "python3.7"},
        400,
        "InvalidParameterValueException",
        (
            "TestRuntimeValidation::test_create_deprecated_function_runtime_with_validation"
            "_enabled[python3.7]",
            "deprecation_error",
        ),
    ),
    (
        "handler-with-space",
        {"Handler": "handler handler"},
        400,
        "ValidationException",
        validation(
            "handler",
            "handler handler",
            r"Member must satisfy regular expression pattern: [^\s]+",
        ),
    ),
    (
        "handler-too-long",
        {"Handler": "h" * 129},
        400,
        "ValidationException",
        validation("handler", "h" * 129, "Member must have length less than or equal to 128"),
    ),
    (
        "handler-missing",
        {"Handler": None},
        400,
        "InvalidParameterValueException",
        "Runtime and Handler are mandatory parameters for functions created with deployment"
        " packages.",
    ),
    (
        "memory-low",
        {"MemorySize": 64},
        400,
        "ValidationException",
        validation("memorySize", 64, f"{GE} 128"),
    ),
    (
        "memory-over-service-limit",
        {"MemorySize": 10241},
        400,
        "ValidationException",
        "'MemorySize' value failed to satisfy constraint: Member must have value less than or"
        " equal to 10240",
    ),
    (
        "memory-over-model",
        {"MemorySize": 40000},
        400,
        "ValidationException",
        validation("memorySize", 40000, f"{LE} 32768"),
    ),
    (
        "timeout-zero",
        {"Timeout": 0},
        400,
        "ValidationException",
        validation("timeout", 0, f"{GE} 1"),
    ),
    (
        "timeout-high",
        {"Timeout": 901},
        400,
        "ValidationException",
        validation("timeout", 901, f"{LE} 900"),
    ),
    (
        "ephemeral-low",
        {"EphemeralStorage": {"Size": 511}},
        400,
        "ValidationException",
        validation("ephemeralStorage.size", 511, f"{GE} 512"),
    ),
    (
        "ephemeral-high",
        {"EphemeralStorage": {"Size": 10241}},
        400,
        "ValidationException",
        validation("ephemeralStorage.size", 10241, f"{LE} 10240"),
    ),
    (
        "env-over-4kb",
        {"Environment": {"Variables": LARGE_VAR}},
        400,
        "InvalidParameterValueException",
        ("TestLambdaSizeLimits::test_large_environment_variables_fails", "failed_create_fn_result"),
    ),
    (
        "env-over-4kb-multiple-keys",
        {"Environment": {"Variables": MULTI_KEY}},
        400,
        "InvalidParameterValueException",
        (
            "TestLambdaSizeLimits::test_large_environment_fails_multiple_keys",
            "failured_create_fn_result_multi_key",
        ),
    ),
    (
        "env-reserved-key",
        {"Environment": {"Variables": {"AWS_REGION": "eu-west-1", "MINE": "ok"}}},
        400,
        "InvalidParameterValueException",
        reserved("AWS_REGION"),
    ),
    (
        "env-bad-key",
        {"Environment": {"Variables": {"1BAD": "x"}}},
        400,
        "ValidationException",
        ENV_KEY,
    ),
    (
        "invalid-zip",
        {"Code": {"ZipFile": b"this is not a zip file"}},
        400,
        "InvalidParameterValueException",
        ("TestLambdaFunction::test_create_lambda_exceptions", "invalid_zip_exc"),
    ),
    (
        "bad-role",
        {"Role": "r1"},
        400,
        "ValidationException",
        ("TestLambdaFunction::test_create_lambda_exceptions", "invalid_role_arn_exc"),
    ),
    (
        "two-architectures",
        {"Architectures": ["x86_64", "arm64"]},
        400,
        "ValidationException",
        ("TestLambdaFunction::test_create_lambda_exceptions", "multiple_architectures"),
    ),
    (
        "uppercase-architecture",
        {"Architectures": ["X86_64"]},
        400,
        "ValidationException",
        ("TestLambdaFunction::test_create_lambda_exceptions", "uppercase_architecture"),
    ),
    (
        "too-many-tags",
        {"Tags": {f"{i}_key": f"{i}_value" for i in range(51)}},
        400,
        "InvalidParameterValueException",
        ("TestLambdaTags::test_tag_limits", "create_function_invalid_tags"),
    ),
    (
        "every-shape-error-at-once",
        {"Role": "r1", "Handler": "a b", "Timeout": 0, "MemorySize": 64},
        400,
        "ValidationException",
        "4 validation errors detected: "
        + "; ".join(
            [
                constraint(
                    "role", "r1", f"Member must satisfy regular expression pattern: {ROLE_PATTERN}"
                ),
                constraint(
                    "handler", "a b", r"Member must satisfy regular expression pattern: [^\s]+"
                ),
                constraint("timeout", 0, f"{GE} 1"),
                constraint("memorySize", 64, f"{GE} 128"),
            ]
        ),
    ),
]


@pytest.mark.parametrize(
    ("overrides", "status", "code", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in CREATE_CASES],
)
def test_create_function_rejected(
    lam: Any,
    raw_lam: Any,
    capture: Capture,
    overrides: dict[str, Any],
    status: int,
    code: str,
    expected: Any,
) -> None:
    name = unique("bad")
    recording = expected if isinstance(expected, tuple) else None
    if recording:
        expected = expand(recorded(*recording), {"111111111111": ACCOUNT})["Error"]["Message"]
    response = rejected(
        lam,
        capture,
        lambda: raw_lam.create_function(**create_args(name, **overrides)),
        status=status,
        code=code,
        message=expected,
        names=[name],
    )
    if recording:
        matches_recording(response, *recording)


def test_function_already_exists(lam: Any, raw_lam: Any, capture: Capture, victim: str) -> None:
    rejected(
        lam,
        capture,
        lambda: raw_lam.create_function(
            **create_args(victim, Code={"ZipFile": make_zip({"handler.py": "# other"})})
        ),
        status=409,
        code="ResourceConflictException",
        message=f"Function already exist: {victim}",
        names=[victim],
    )


def test_env_at_the_limit_is_accepted(lam: Any) -> None:
    """TestLambdaSizeLimits::test_lambda_envvars_near_limit_succeeds: exactly 4 KB is fine."""
    name = unique("env4k")
    variables = {"LARGE_VAR": "x" * (4096 - 7 - len("LARGE_VAR"))}
    created = lam.create_function(**create_args(name, Environment={"Variables": variables}))
    assert created["Environment"] == {"Variables": variables}
    lam.delete_function(FunctionName=name)


# --- names -----------------------------------------------------------------------------------


def test_bad_function_names(lam: Any, raw_lam: Any, capture: Capture) -> None:
    """TestLambdaFunction::test_function_arns: a bad pattern, a name over 64 characters, an ARN
    over 140, another region, another account."""
    test = "TestLambdaFunction::test_function_arns"
    response = rejected(
        lam,
        capture,
        lambda: raw_lam.create_function(**create_args("invalid:function:name")),
        status=400,
        code="ValidationException",
        message=validation(
            "functionName",
            "invalid:function:name",
            f"Member must satisfy regular expression pattern: {NAME_PATTERN}",
        ),
        names=["invalid:function:name"],
    )
    matches_recording(response, test, "invalid_function_name_exc")

    long_name = "a" * 65
    response = rejected(
        lam,
        capture,
        lambda: raw_lam.create_function(**create_args(long_name)),
        status=400,
        code="InvalidParameterValueException",
        message=validation(
            "functionName", long_name, "Member must have length less than or equal to 64"
        ),
        names=[long_name],
    )
    matches_recording(response, test, "long_function_name_exc")

    long_arn = ARN_PREFIX + "b" * 100
    response = rejected(
        lam,
        capture,
        lambda: raw_lam.create_function(**create_args(long_arn)),
        status=400,
        code="ValidationException",
        message=validation(
            "functionName", long_arn, "Member must have length less than or equal to 140"
        ),
        names=["b" * 100],
    )
    matches_recording(
        response,
        test,
        "long_function_arn_exc",
        **{"<function-name>": "b" * 100},
    )

    other_region = f"arn:aws:lambda:ap-southeast-1:{ACCOUNT}:function:{unique('reg')}"
    response = rejected(
        lam,
        capture,
        lambda: raw_lam.create_function(**create_args(other_region)),
        status=404,
        code="ResourceNotFoundException",
        message="Functions from 'ap-southeast-1' are not reachable in this region ('us-east-1')",
        names=[other_region.rsplit(":", 1)[1]],
    )
    matches_recording(response, test, "function_arn_other_region_exc")

    other_account = f"arn:aws:lambda:us-east-1:123456789012:function:{unique('acct')}"
    response = rejected(
        lam,
        capture,
        lambda: raw_lam.create_function(**create_args(other_account)),
        status=403,
        code="AccessDeniedException",
        message=None,
        names=[other_account.rsplit(":", 1)[1]],
    )
    matches_recording(response, test, "function_arn_other_account_exc")


# --- unknown functions -----------------------------------------------------------------------


def test_unknown_function(lam: Any, raw_lam: Any, capture: Capture) -> None:
    """TestLambdaFunction::test_ops_on_nonexisting_fn and friends."""
    name = unique("ghost")
    arn = ARN_PREFIX + name
    calls: dict[str, Callable[[], Any]] = {
        "get_function": lambda: raw_lam.get_function(FunctionName=name),
        "get_function_configuration": lambda: raw_lam.get_function_configuration(FunctionName=name),
        "delete_function": lambda: raw_lam.delete_function(FunctionName=name),
        "update_function_configuration": lambda: raw_lam.update_function_configuration(
            FunctionName=name, Description="x"
        ),
        "update_function_code": lambda: raw_lam.update_function_code(
            FunctionName=name, ZipFile=PACKAGE
        ),
        "list_tags": lambda: raw_lam.list_tags(Resource=arn),
        "tag_resource": lambda: raw_lam.tag_resource(Resource=arn, Tags={"a": "b"}),
        "untag_resource": lambda: raw_lam.untag_resource(Resource=arn, TagKeys=["a"]),
    }
    for operation, call in calls.items():
        response = rejected(
            lam,
            capture,
            call,
            status=404,
            code="ResourceNotFoundException",
            message=f"Function not found: {arn}",
            names=[name],
        )
        if operation in ("get_function", "get_function_configuration", "delete_function"):
            matches_recording(
                response,
                f"TestLambdaFunction::test_ops_on_nonexisting_fn[{operation}]",
                "not_found_exception",
                **{"<nonexisting-fn-name>": name},
            )


def test_invoke_unknown_function(lam: Any, raw_lam: Any, capture: Capture) -> None:
    """Invoke of a missing function: 404 with AWS's body, nothing created (the message's exact
    ARN is checked by the next test)."""
    before = state(lam, ["doesnotexist"])
    with pytest.raises(raw_lam.exceptions.ResourceNotFoundException) as excinfo:
        raw_lam.invoke(FunctionName="doesnotexist", Payload=b"{}")
    response = excinfo.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == (
        "ResourceNotFoundException"
    )
    assert response["Error"]["Message"].startswith(f"Function not found: {ARN_PREFIX}doesnotexist")
    assert json.loads(capture.last["body"]) == {"Type": "User", "Message": response["Message"]}
    assert state(lam, ["doesnotexist"]) == before


def test_invoke_unknown_function_names_latest(lam: Any, raw_lam: Any, capture: Capture) -> None:
    """TestLambdaFeatures::test_invoke_exceptions (recorded 2025-11)."""
    response = rejected(
        lam,
        capture,
        lambda: raw_lam.invoke(FunctionName="doesnotexist", Payload=b"{}"),
        status=404,
        code="ResourceNotFoundException",
        message=f"Function not found: {ARN_PREFIX}doesnotexist:$LATEST",
        names=["doesnotexist"],
    )
    snapshots = json.loads((recorded_dir() / "test_lambda.snapshot.json").read_text())
    key = "tests/aws/services/lambda_/test_lambda.py::TestLambdaFeatures::test_invoke_exceptions"
    want = snapshots[key]["recorded-content"]["invoke_function_doesnotexist"]
    message = expand(want, {"111111111111": ACCOUNT})["Error"]["Message"]
    assert response["Error"]["Message"] == message


def test_unknown_versions_and_qualifiers(
    lam: Any, raw_lam: Any, capture: Capture, victim: str
) -> None:
    """TestLambdaFunction::test_ops_on_nonexisting_version, test_ops_with_arn_qualifier_mismatch
    and test_get_function_wrong_region."""
    for operation in ("get_function", "get_function_configuration"):
        method = getattr(raw_lam, operation)
        response = rejected(
            lam,
            capture,
            partial(method, FunctionName=victim, Qualifier="1221"),
            status=404,
            code="ResourceNotFoundException",
            message=f"Function not found: {ARN_PREFIX}{victim}:1221",
            names=[victim],
        )
        matches_recording(
            response,
            f"TestLambdaFunction::test_ops_on_nonexisting_version[{operation}]",
            "version_not_found_exception",
            **{"<fn-name>": victim},
        )
        test = f"TestLambdaFunction::test_ops_with_arn_qualifier_mismatch[{operation}]"
        response = rejected(
            lam,
            capture,
            partial(method, FunctionName=f"{ARN_PREFIX}some-function:1", Qualifier="$LATEST"),
            status=400,
            code="InvalidParameterValueException",
            message="The derived qualifier from the function name does not match the specified"
            " qualifier.",
            names=[victim],
        )
        matches_recording(response, test, "not_match_exception")
        response = rejected(
            lam,
            capture,
            partial(method, FunctionName=f"{ARN_PREFIX}some-function:$LATEST", Qualifier="$LATEST"),
            status=404,
            code="ResourceNotFoundException",
            message=f"Function not found: {ARN_PREFIX}some-function:$LATEST",
            names=[victim],
        )
        matches_recording(response, test, "match_exception")
        wrong_region = f"arn:aws:lambda:eu-central-1:{ACCOUNT}:function:{victim}"
        response = rejected(
            lam,
            capture,
            partial(method, FunctionName=wrong_region),
            status=404,
            code="ResourceNotFoundException",
            message="Functions from 'eu-central-1' are not reachable in this region ('us-east-1')",
            names=[victim],
        )
        matches_recording(
            response,
            f"TestLambdaFunction::test_get_function_wrong_region[{operation}]",
            "wrong_region_exception",
            **{"<wrong-region>": "eu-central-1"},
        )
    response = rejected(
        lam,
        capture,
        lambda: raw_lam.delete_function(FunctionName=f"{victim}:$LATEST", Qualifier="$LATEST"),
        status=400,
        code="InvalidParameterValueException",
        message="$LATEST version cannot be deleted without deleting the function.",
        names=[victim],
    )


# --- updates of an existing function ---------------------------------------------------------

UPDATE_CASES: list[tuple[str, dict[str, Any], int, str, Any]] = [
    (
        "unknown-runtime",
        {"Runtime": "non-existent-runtime"},
        400,
        "InvalidParameterValueException",
        ("TestLambdaFunction::test_update_lambda_exceptions", "invalid_runtime_exc"),
    ),
    (
        "bad-role",
        {"Role": "r1"},
        400,
        "ValidationException",
        ("TestLambdaFunction::test_update_lambda_exceptions", "invalid_role_arn_exc"),
    ),
    (
        "handler-with-space",
        {"Handler": "a b"},
        400,
        "ValidationException",
        validation("handler", "a b", r"Member must satisfy regular expression pattern: [^\s]+"),
    ),
    (
        "memory-low",
        {"MemorySize": 127},
        400,
        "ValidationException",
        validation("memorySize", 127, f"{GE} 128"),
    ),
    (
        "memory-high",
        {"MemorySize": 10241},
        400,
        "ValidationException",
        "'MemorySize' value failed to satisfy constraint: Member must have value less than or"
        " equal to 10240",
    ),
    (
        "timeout-high",
        {"Timeout": 901},
        400,
        "ValidationException",
        validation("timeout", 901, f"{LE} 900"),
    ),
    (
        "ephemeral-high",
        {"EphemeralStorage": {"Size": 10241}},
        400,
        "ValidationException",
        validation("ephemeralStorage.size", 10241, f"{LE} 10240"),
    ),
    (
        "env-over-4kb",
        {"Environment": {"Variables": LARGE_VAR}},
        400,
        "InvalidParameterValueException",
        env_too_big(LARGE_VAR),
    ),
    (
        "env-reserved-keys",
        {"Environment": {"Variables": {"AWS_LAMBDA_FUNCTION_NAME": "x", "LAMBDA_TASK_ROOT": "y"}}},
        400,
        "InvalidParameterValueException",
        reserved("AWS_LAMBDA_FUNCTION_NAME, LAMBDA_TASK_ROOT"),
    ),
    (
        "stale-revision",
        {"RevisionId": "00000000-0000-0000-0000-000000000000"},
        412,
        "PreconditionFailedException",
        "The Revision Id provided does not match the latest Revision Id. Call the"
        " GetFunction/GetAlias API to retrieve the latest Revision Id",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "status", "code", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in UPDATE_CASES],
)
def test_update_configuration_rejected(
    lam: Any,
    raw_lam: Any,
    capture: Capture,
    victim: str,
    overrides: dict[str, Any],
    status: int,
    code: str,
    expected: Any,
) -> None:
    recording = expected if isinstance(expected, tuple) else None
    if recording:
        expected = expand(recorded(*recording), {"111111111111": ACCOUNT})["Error"]["Message"]
    response = rejected(
        lam,
        capture,
        lambda: raw_lam.update_function_configuration(
            FunctionName=victim, Description="must not stick", **overrides
        ),
        status=status,
        code=code,
        message=expected,
        names=[victim],
    )
    if recording:
        matches_recording(response, *recording)


def test_update_code_rejected(lam: Any, raw_lam: Any, capture: Capture, victim: str) -> None:
    rejected(
        lam,
        capture,
        lambda: raw_lam.update_function_code(FunctionName=victim, ZipFile=b"PK\x03\x04 broken"),
        status=400,
        code="InvalidParameterValueException",
        message="Could not unzip uploaded file. Please check your file, then try to upload again.",
        names=[victim],
    )
    rejected(
        lam,
        capture,
        lambda: raw_lam.update_function_code(
            FunctionName=victim, ZipFile=PACKAGE, Architectures=["arm64", "x86_64"]
        ),
        status=400,
        code="ValidationException",
        message=validation(
            "architectures", "[arm64, x86_64]", "Member must have length less than or equal to 1"
        ),
        names=[victim],
    )
    rejected(
        lam,
        capture,
        lambda: raw_lam.update_function_code(
            FunctionName=victim, ZipFile=PACKAGE, RevisionId="not-the-revision"
        ),
        status=412,
        code="PreconditionFailedException",
        message="The Revision Id provided does not match the latest Revision Id. Call the"
        " GetFunction/GetAlias API to retrieve the latest Revision Id",
        names=[victim],
    )


# --- packages over the size limits -------------------------------------------------------------


def stored_zip(size: int, extra: dict[str, str] | None = None) -> bytes:
    """An uncompressed zip holding ``size`` bytes (so the zip itself is at least that big)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("handler.py", CODE)
        archive.writestr("padding.txt", b"#" * size)
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return buf.getvalue()


@pytest.fixture(scope="module")
def unzips_to_250mb() -> bytes:
    """A small zip (~250 KB) whose content is 250 MiB of zeros."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("handler.py", CODE)
        with archive.open("zeros.bin", "w", force_zip64=True) as entry:
            chunk = b"\0" * MB
            for _ in range(250):
                entry.write(chunk)
    return buf.getvalue()


def test_zip_over_50mb(lam: Any, raw_lam: Any, capture: Capture, victim: str) -> None:
    """TestLambdaSizeLimits::test_oversized_zipped_create_lambda: 413 for Create and Update."""
    package = stored_zip(50 * MB)
    assert len(package) >= 52428800
    name = unique("zip50")
    test = "TestLambdaSizeLimits::test_oversized_zipped_create_lambda"
    response = rejected(
        lam,
        capture,
        lambda: raw_lam.create_function(**create_args(name, Code={"ZipFile": package})),
        status=413,
        code="RequestEntityTooLargeException",
        message="Zipped size must be smaller than 52428800 bytes",
        names=[name],
    )
    matches_recording(response, test, "invalid_param_exc")
    rejected(
        lam,
        capture,
        lambda: raw_lam.update_function_code(FunctionName=victim, ZipFile=package),
        status=413,
        code="RequestEntityTooLargeException",
        message="Zipped size must be smaller than 52428800 bytes",
        names=[victim],
    )


def test_request_over_the_api_limit(lam: Any, raw_lam: Any, capture: Capture) -> None:
    """TestLambdaSizeLimits::test_oversized_request_create_lambda: a zip just under 50 MB plus
    a big environment makes the request itself too large."""
    package = stored_zip(50 * MB - 64 * 1024)
    assert len(package) < 52428800
    name = unique("req70")
    big_env = {"largeKey": "#" * (70167211 - 52428800 + MB)}
    response = rejected(
        lam,
        capture,
        lambda: raw_lam.create_function(
            **create_args(name, Code={"ZipFile": package}, Environment={"Variables": big_env})
        ),
        status=413,
        code="RequestEntityTooLargeException",
        message="Request must be smaller than 70167211 bytes for the CreateFunction operation",
        names=[name],
    )
    matches_recording(
        response, "TestLambdaSizeLimits::test_oversized_request_create_lambda", "invalid_param_exc"
    )


def test_update_configuration_request_over_its_limit(
    lam: Any, raw_lam: Any, capture: Capture, victim: str
) -> None:
    """UpdateFunctionConfiguration's requests are bounded at 5,120 bytes, before anything in
    them is read: environment variables over their 4 KB limit get AWS's 413 here, as SDK
    users meet it (CreateFunction's answer is the 4 KB message); a request of exactly 5,120 bytes is
    read."""
    variables = {"BIG": "x" * 6000}
    rejected(
        lam,
        capture,
        lambda: raw_lam.update_function_configuration(
            FunctionName=victim, Environment={"Variables": variables}
        ),
        status=413,
        code="RequestEntityTooLargeException",
        message="Request must be smaller than 5120 bytes for the UpdateFunctionConfiguration "
        "operation",
        names=[victim],
    )
    # A hostile one (60 MB of description) is refused as cheaply, without being parsed.
    rejected(
        lam,
        capture,
        lambda: raw_lam.update_function_configuration(
            FunctionName=victim, Description="x" * 60_000_000
        ),
        status=413,
        code="RequestEntityTooLargeException",
        message="Request must be smaller than 5120 bytes for the UpdateFunctionConfiguration "
        "operation",
        names=[victim],
    )
    at_limit = 5120 - len(json.dumps({"Description": ""}))  # botocore's own serialisation
    with pytest.raises(ClientError) as caught:  # read and validated: too long a description
        raw_lam.update_function_configuration(FunctionName=victim, Description="d" * at_limit)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert capture.last["status_code"] == 400


def test_a_long_value_is_echoed_whole(lam: Any, raw_lam: Any, capture: Capture) -> None:
    """A validation message echoes the value, however long (2 MB here: rendered in a thread
    and sent in pieces, with its length)."""
    name = unique("echo")
    description = "d" * 2_000_000
    rejected(
        lam,
        capture,
        lambda: raw_lam.create_function(**create_args(name, Description=description)),
        status=400,
        code="ValidationException",
        message=validation(
            "description", description, "Member must have length less than or equal to 256"
        ),
        names=[name],
    )
    assert capture.last["headers"]["content-length"] == str(len(capture.last["body"]))


def test_unzipped_over_250mb(
    lam: Any, raw_lam: Any, capture: Capture, victim: str, unzips_to_250mb: bytes
) -> None:
    """TestLambdaSizeLimits::test_oversized_unzipped_lambda, for Create and Update."""
    name = unique("unzip250")
    message = "Unzipped size must be smaller than 262144000 bytes"
    response = rejected(
        lam,
        capture,
        lambda: raw_lam.create_function(**create_args(name, Code={"ZipFile": unzips_to_250mb})),
        status=400,
        code="InvalidParameterValueException",
        message=message,
        names=[name],
    )
    matches_recording(
        response, "TestLambdaSizeLimits::test_oversized_unzipped_lambda", "invalid_param_exc"
    )
    rejected(
        lam,
        capture,
        lambda: raw_lam.update_function_code(FunctionName=victim, ZipFile=unzips_to_250mb),
        status=400,
        code="InvalidParameterValueException",
        message=message,
        names=[victim],
    )


# --- tags and listing ------------------------------------------------------------------------


def test_tag_errors(lam: Any, raw_lam: Any, capture: Capture, victim: str) -> None:
    """TestLambdaTags::test_tag_exceptions and test_tag_limits."""
    arn = ARN_PREFIX + victim
    test = "TestLambdaTags::test_tag_exceptions"
    cases: list[tuple[str, Callable[[], Any], int, str]] = [
        (
            "tag_lambda_invalidarn",
            lambda: raw_lam.tag_resource(Resource="arn:aws:something", Tags={"a": "b"}),
            400,
            "ValidationException",
        ),
        (
            "tag_lambda_qualifier_doesnotexist",
            lambda: raw_lam.tag_resource(Resource=f"{arn}:alias", Tags={"a": "b"}),
            400,
            "InvalidParameterValueException",
        ),
        (
            "untag_empty_keys",
            lambda: raw_lam.untag_resource(Resource=arn, TagKeys=[]),
            400,
            "ValidationException",
        ),
        (
            "tag_empty_tags",
            lambda: raw_lam.tag_resource(Resource=arn, Tags={}),
            400,
            "InvalidParameterValueException",
        ),
    ]
    for key, call, status, code in cases:
        want = expand(recorded(test, key), {"111111111111": ACCOUNT})["Error"]["Message"]
        response = rejected(
            lam, capture, call, status=status, code=code, message=want, names=[victim]
        )
        matches_recording(response, test, key)

    many = {f"{i}_key": f"{i}_value" for i in range(50)}
    response = rejected(
        lam,
        capture,
        lambda: raw_lam.tag_resource(Resource=arn, Tags=many),
        status=400,
        code="InvalidParameterValueException",
        message="Number of tags exceeds resource tag limit.",
        names=[victim],
    )
    matches_recording(response, "TestLambdaTags::test_tag_limits", "tag_lambda_too_many_tags")


def test_list_functions_errors(lam: Any, raw_lam: Any, capture: Capture) -> None:
    response = rejected(
        lam,
        capture,
        lambda: raw_lam.list_functions(FunctionVersion="invalid"),
        status=400,
        code="ValidationException",
        message=validation(
            "functionVersion", "invalid", "Member must satisfy enum value set: [ALL]"
        ),
        names=[],
    )
    matches_recording(
        response,
        "TestLambdaFunction::test_list_functions",
        "list_functions_invalid_functionversion",
    )
    rejected(
        lam,
        capture,
        lambda: raw_lam.list_functions(MaxItems=0),
        status=400,
        code="ValidationException",
        message=validation("maxItems", 0, f"{GE} 1"),
        names=[],
    )


# --- what boto3 cannot send ------------------------------------------------------------------


def raw_request(
    server: LaminaServer, method: str, path: str, body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        headers = {"Content-Type": "application/json", **SIGNED} if body is not None else SIGNED
        connection.request(method, path, body=body, headers=headers)
        reply = connection.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/2015-03-31/bogus"),
        ("POST", "/2015-03-31/functions/some-function/bogus"),
        ("PATCH", "/2015-03-31/functions"),
        ("GET", "/"),
        ("GET", "/2099-01-01/functions/"),
    ],
)
def test_unknown_operation(lam: Any, server: LaminaServer, method: str, path: str) -> None:
    before = state(lam, [])
    status, headers, body = raw_request(server, method, path)
    assert 400 <= status < 500
    assert status == 404
    assert headers["x-amzn-errortype"] == "UnknownOperationException"
    assert headers["content-type"] == "application/json"
    assert "x-amzn-requestid" in headers
    document = json.loads(body)
    assert set(document) == {"message"}
    assert isinstance(document["message"], str)
    assert state(lam, []) == before


MALFORMED: list[tuple[str, bytes]] = [
    ("truncated", b'{"FunctionName": "x", '),
    ("not-json", b"FunctionName=x"),
    ("array", b"[1, 2, 3]"),
    ("string", b'"hello"'),
    ("deep", b"[" * 100000 + b"]" * 100000),
    ("bad-utf8", b'{"FunctionName": "\xff\xfe"}'),
    ("bad-base64", b'{"FunctionName": "x", "Code": {"ZipFile": "!!notbase64!!"}}'),
]


@pytest.mark.parametrize(("body",), [pytest.param(b, id=i) for i, b in MALFORMED])
def test_malformed_create_body(lam: Any, server: LaminaServer, body: bytes) -> None:
    before = state(lam, [])
    status, headers, reply = raw_request(server, "POST", "/2015-03-31/functions", body)
    assert status == 400
    assert headers["x-amzn-errortype"] == "InvalidRequestContentException"
    document = json.loads(reply)
    assert set(document) == {"Type", "message"} and document["Type"] == "User"
    assert document["message"].startswith("Could not") and "Traceback" not in document["message"]
    assert state(lam, []) == before


WRONG_TYPES: list[tuple[str, dict[str, Any]]] = [
    ("memory-string", {"MemorySize": "lots"}),
    ("timeout-object", {"Timeout": {"seconds": 3}}),
    ("code-string", {"Code": "zip"}),
    ("zipfile-number", {"Code": {"ZipFile": 5}}),
    ("environment-string", {"Environment": "A=1"}),
    ("variables-list", {"Environment": {"Variables": ["A=1"]}}),
    ("tags-list", {"Tags": ["a"]}),
    ("handler-list", {"Handler": ["handler.handler"]}),
    ("architectures-string", {"Architectures": "x86_64"}),
    ("ephemeral-string", {"EphemeralStorage": "512"}),
    ("ephemeral-size-string", {"EphemeralStorage": {"Size": "big"}}),
    ("tracing-string", {"TracingConfig": "Active"}),
    ("publish-string", {"Publish": "yes"}),
    ("name-object", {"FunctionName": {"name": "x"}}),
]


@pytest.mark.parametrize(("overrides",), [pytest.param(o, id=i) for i, o in WRONG_TYPES])
def test_wrong_member_types(lam: Any, server: LaminaServer, overrides: dict[str, Any]) -> None:
    """Members of the wrong JSON type are a 400 (never a 500) and create nothing."""
    name = unique("types")
    document = {
        "FunctionName": name,
        "Runtime": "python3.12",
        "Role": ROLE,
        "Handler": "handler.handler",
        "Code": {"ZipFile": base64.b64encode(PACKAGE).decode()},
        **overrides,
    }
    before = state(lam, [name])
    status, headers, reply = raw_request(
        server, "POST", "/2015-03-31/functions", json.dumps(document).encode()
    )
    assert status == 400, reply
    assert headers["x-amzn-errortype"] == "InvalidRequestContentException"
    body = json.loads(reply)
    assert body["Type"] == "User" and body["message"].startswith("Could not parse request body")
    assert state(lam, [name]) == before


def test_update_with_wrong_member_types(lam: Any, server: LaminaServer, victim: str) -> None:
    before = state(lam, [victim])
    for path, document in (
        (f"/2015-03-31/functions/{victim}/configuration", {"Timeout": "soon"}),
        (f"/2015-03-31/functions/{victim}/configuration", {"Environment": {"Variables": 1}}),
        (f"/2015-03-31/functions/{victim}/code", {"ZipFile": ["x"]}),
        (f"/2017-03-31/tags/{ARN_PREFIX}{victim}", {"Tags": "a=b"}),
    ):
        method = "POST" if path.startswith("/2017") else "PUT"
        status, headers, reply = raw_request(server, method, path, json.dumps(document).encode())
        assert status == 400, (path, reply)
        assert headers["x-amzn-errortype"] == "InvalidRequestContentException"
    assert state(lam, [victim]) == before
