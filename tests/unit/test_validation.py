"""Create/Update request validation against the responses recorded from AWS."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from aws_recorded import ACCOUNT, REGION, assert_matches, recorded

from lamina.domain.errors import (
    InvalidParameterValueException,
    LambdaError,
    RequestEntityTooLargeException,
    ValidationException,
)
from lamina.domain.validation import (
    DEPRECATED_RUNTIMES,
    MAX_UNZIPPED_BYTES,
    SUPPORTED_RUNTIMES,
    resolve_logging_config,
    validate_create_function,
    validate_update_code,
    validate_update_configuration,
    validate_zip,
)

ROLE = f"arn:aws:iam::{ACCOUNT}:role/lambda-role"
LAYER = f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:mylayer"


def make_zip(files: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in (files or {"index.py": b"def handler(e, c):\n    return e\n"}).items():
            archive.writestr(name, data)
    return buf.getvalue()


ZIP = make_zip()


def create_request(**overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "FunctionName": "invalid-function-1",
        "Handler": "index.handler",
        "Code": {"ZipFile": ZIP},
        "PackageType": "Zip",
        "Role": ROLE,
        "Runtime": "python3.9",
    }
    request.update(overrides)
    return {k: v for k, v in request.items() if v is not None}


def create_error(**overrides: Any) -> LambdaError:
    with pytest.raises(LambdaError) as info:
        validate_create_function(create_request(**overrides), region=REGION)
    return info.value


def update_error(**fields: Any) -> LambdaError:
    with pytest.raises(LambdaError) as info:
        validate_update_configuration({"FunctionName": "fn", **fields}, region=REGION)
    return info.value


def message(exc: LambdaError) -> str:
    return exc.message


# --- recorded -------------------------------------------------------------------------------


def test_create_lambda_exceptions() -> None:
    content = recorded("test_create_lambda_exceptions")
    validate_create_function(create_request(), region=REGION)
    assert_matches(create_error(Role="r1"), content["invalid_role_arn_exc"])
    assert_matches(create_error(Runtime="non-existent-runtime"), content["invalid_runtime_exc"])
    assert_matches(create_error(Runtime="PYTHON3.9"), content["uppercase_runtime_exc"])
    multiple = create_error(Architectures=["x86_64", "arm64"])
    assert_matches(multiple, content["multiple_architectures"])
    assert_matches(create_error(Architectures=["X86_64"]), content["uppercase_architecture"])
    bad_zip = create_error(Code={"ZipFile": b"this is not a zipfile, just a random string"})
    assert_matches(bad_zip, content["invalid_zip_exc"])


def test_update_lambda_exceptions() -> None:
    content = recorded("test_update_lambda_exceptions")
    validate_update_configuration({"FunctionName": "fn", "Runtime": "python3.12"})
    assert_matches(update_error(Role="r1"), content["invalid_role_arn_exc"])
    assert_matches(update_error(Runtime="non-existent-runtime"), content["invalid_runtime_exc"])
    assert_matches(update_error(Runtime="PYTHON3.9"), content["uppercase_runtime_exc"])


def test_supported_runtimes_match_recorded_enum() -> None:
    text = recorded("test_create_lambda_exceptions", "invalid_runtime_exc")["message"]
    listed = text.split("enum value set: [", 1)[1].split("]", 1)[0].split(", ")
    assert tuple(listed) == SUPPORTED_RUNTIMES
    assert not set(SUPPORTED_RUNTIMES) & set(DEPRECATED_RUNTIMES)


@pytest.mark.parametrize(
    "runtime",
    [
        "java8",
        "go1.x",
        "provided",
        "ruby2.7",
        "nodejs14.x",
        "python3.7",
        "dotnetcore3.1",
        "nodejs12.x",
    ],
)
def test_deprecated_runtimes(runtime: str) -> None:
    expected = recorded(
        f"test_create_deprecated_function_runtime_with_validation_enabled[{runtime}]",
        "deprecation_error",
    )
    assert_matches(create_error(Runtime=runtime), expected)
    assert_matches(update_error(Runtime=runtime), expected)


def test_large_environment_variables_fails() -> None:
    expected = recorded("test_large_environment_variables_fails", "failed_create_fn_result")
    env = {"LARGE_VAR": "x" * (4096 - 6 - len("LARGE_VAR"))}
    assert_matches(create_error(Environment={"Variables": env}), expected)
    assert_matches(update_error(Environment={"Variables": env}), expected)


def test_large_environment_fails_multiple_keys() -> None:
    expected = recorded(
        "test_large_environment_fails_multiple_keys", "failured_create_fn_result_multi_key"
    )
    env = {"SMALL_VAR": "ok", "LARGE_VAR": "x" * 4064}
    assert_matches(create_error(Environment={"Variables": env}), expected)


def test_lambda_envvars_near_limit_succeeds() -> None:
    env = {"LARGE_VAR": "x" * (4096 - 7 - len("LARGE_VAR"))}
    validate_create_function(create_request(Environment={"Variables": env}))


@pytest.fixture(scope="module")
def oversized_zip() -> bytes:
    buf = io.BytesIO()
    chunk = b"#" * (1 << 20)
    with (
        zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open("handler.py", "w", force_zip64=True) as member,
    ):
        for _ in range(MAX_UNZIPPED_BYTES // len(chunk)):
            member.write(chunk)
    return buf.getvalue()


def test_oversized_unzipped(oversized_zip: bytes) -> None:
    for test in ("test_oversized_unzipped_lambda", "test_oversized_lambda"):
        expected = recorded(f"TestLambdaSizeLimits::{test}", "invalid_param_exc")
        with pytest.raises(LambdaError) as info:
            validate_zip(oversized_zip)
        assert_matches(info.value, expected)
        assert_matches(create_error(Code={"ZipFile": oversized_zip}), expected)


def test_oversized_zipped() -> None:
    expected = recorded("test_oversized_zipped_create_lambda", "invalid_param_exc")
    too_big = b"\0" * (50 * 1024 * 1024)
    exc = create_error(Code={"ZipFile": too_big})
    assert isinstance(exc, RequestEntityTooLargeException)
    assert_matches(exc, expected)
    with pytest.raises(RequestEntityTooLargeException):
        validate_update_code({"FunctionName": "fn", "ZipFile": too_big})


def test_validate_zip_returns_unzipped_size() -> None:
    assert validate_zip(make_zip({"a.py": b"x" * 10, "b/c.txt": b"y" * 5})) == 15
    with pytest.raises(InvalidParameterValueException):
        validate_zip(b"")
    with pytest.raises(InvalidParameterValueException, match="smaller than 100 bytes"):
        validate_zip(make_zip({"a": b"x" * 100}), max_unzipped=100)


def test_snapstart_invalid_apply_on() -> None:
    expected = recorded("test_snapstart_exceptions", "create_function_invalid_snapstart_apply")
    exc = create_error(Runtime="java11", SnapStart={"ApplyOn": "invalidOption"})
    assert_matches(exc, expected)


def test_invalid_vpc_config_formats() -> None:
    subnet = recorded("test_invalid_vpc_config_subnet", "create-response-invalid-format-subnet-id")
    exc = create_error(VpcConfig={"SubnetIds": ["sn-123"], "SecurityGroupIds": []})
    assert_matches(exc, subnet, {"<subnet_id_2>": "sn-123"})
    group = recorded(
        "test_invalid_vpc_config_security_group", "create-response-invalid-format-security-group"
    )
    exc = update_error(VpcConfig={"SubnetIds": ["subnet-1"], "SecurityGroupIds": ["group-1"]})
    assert_matches(exc, group, {"<security_group_id_2>": "group-1"})


def test_layer_function_exceptions() -> None:
    content = recorded("test_layer_function_exceptions")
    subs = {"<resource:1>": "mylayer"}
    assert_matches(create_error(Layers=[LAYER]), content["add_layer_arn_without_version_exc"], subs)
    two = create_error(Layers=[f"{LAYER}:1", f"{LAYER}:2"])
    assert_matches(two, content["two_layer_versions_single_function_exc"], subs)
    three = update_error(Layers=[f"{LAYER}:1", f"{LAYER}:2", f"{LAYER}:3"])
    assert_matches(three, content["three_layer_versions_single_function_exc"], subs)
    same = create_error(Layers=[f"{LAYER}:1", f"{LAYER}:1"])
    assert_matches(same, content["two_identical_layer_versions_single_function_exc"], subs)
    elsewhere = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:layer:mylayer:1"
    other_region = create_error(Layers=[elsewhere])
    assert_matches(other_region, content["create_function_with_layer_in_different_region"], subs)
    six = [f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:l{i}:1" for i in range(6)]
    quota = recorded("test_layer_function_quota_exception", "create_function_with_six_layers")
    assert_matches(create_error(Layers=six), quota)


def test_create_function_invalid_tags() -> None:
    expected = recorded("TestLambdaTags::test_tag_limits", "create_function_invalid_tags")
    tags = {f"{k}_key": f"{k}_value" for k in range(51)}
    assert_matches(create_error(Tags=tags), expected)


LOGGING_CASES = {
    "partial_config0": {"LogFormat": "JSON"},
    "partial_config1": {"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG"},
    "partial_config2": {"LogFormat": "JSON", "SystemLogLevel": "DEBUG"},
    "partial_config3": {"LogGroup": "cool_lambda"},
}


def _logging(test: str, key: str) -> dict[str, str]:
    entry = recorded(f"TestLoggingConfig::{test}", key)
    config = entry.get("CreateFunctionResponse") or entry.get("Configuration") or entry
    logging: dict[str, str] = config["LoggingConfig"]
    return {k: v.replace("<function-name:1>", "fn") for k, v in logging.items()}


@pytest.mark.parametrize("case", list(LOGGING_CASES))
def test_partial_logging_configuration_update(case: str) -> None:
    test = f"test_function_partial_advanced_logging_configuration_update[{case}]"
    created = resolve_logging_config(None, None, function_name="fn")
    assert created == _logging(test, "create_response")
    validate_update_configuration({"FunctionName": "fn", "LoggingConfig": LOGGING_CASES[case]})
    updated = resolve_logging_config(LOGGING_CASES[case], created, function_name="fn")
    assert updated == _logging(test, "updated_config")


def test_logging_configuration_lifecycle() -> None:
    test = "test_function_advanced_logging_configuration"
    created = resolve_logging_config({"LogFormat": "JSON"}, None, function_name="fn")
    assert created == _logging(test, "create_response")
    updated = resolve_logging_config({"LogGroup": "cool_lambda"}, created, function_name="fn")
    assert updated == _logging(test, "updated_config")
    test = "test_advanced_logging_configuration_format_switch"
    text = resolve_logging_config(None, None, function_name="fn")
    as_json = resolve_logging_config({"LogFormat": "JSON"}, text, function_name="fn")
    assert as_json == _logging(test, "updated_config")
    back = resolve_logging_config({"LogFormat": "Text"}, as_json, function_name="fn")
    assert back == _logging(test, "updated_config_v2")
    assert list(back) == ["LogFormat", "LogGroup"]


# --- model constraints (AWS's wording, no recording) ----------------------------------------


def single_error(exc: LambdaError) -> str:
    assert isinstance(exc, ValidationException)
    prefix = "1 validation error detected: "
    assert exc.message.startswith(prefix), exc.message
    return exc.message[len(prefix) :]


GE = "Member must have value greater than or equal to"
LE = "Member must have value less than or equal to"
PATTERN = "Member must satisfy regular expression pattern:"
ENV_KEYS = f"Map keys must satisfy constraint: [{PATTERN} [a-zA-Z]([a-zA-Z0-9_])+]"


@pytest.mark.parametrize(
    ("field", "value", "shown", "member", "constraint"),
    [
        ("MemorySize", 64, "'64'", "memorySize", f"{GE} 128"),
        ("MemorySize", 40000, "'40000'", "memorySize", f"{LE} 32768"),
        ("Timeout", 0, "'0'", "timeout", f"{GE} 1"),
        ("Timeout", 901, "'901'", "timeout", f"{LE} 900"),
        ("EphemeralStorage", {"Size": 511}, "'511'", "ephemeralStorage.size", f"{GE} 512"),
        ("EphemeralStorage", {"Size": 10241}, "'10241'", "ephemeralStorage.size", f"{LE} 10240"),
        ("Handler", "index handler", "'index handler'", "handler", f"{PATTERN} [^\\s]+"),
        (
            "Description",
            "d" * 257,
            f"'{'d' * 257}'",
            "description",
            "Member must have length less than or equal to 256",
        ),
        ("Environment", {"Variables": {"1BAD": "x"}}, "", "environment.variables", ENV_KEYS),
        (
            "TracingConfig",
            {"Mode": "On"},
            "'On'",
            "tracingConfig.mode",
            "Member must satisfy enum value set: [Active, PassThrough]",
        ),
        (
            "LoggingConfig",
            {"LogGroup": "bad group"},
            "'bad group'",
            "loggingConfig.logGroup",
            f"{PATTERN} [\\.\\-_/#A-Za-z0-9]+",
        ),
    ],
)
def test_model_constraints(
    field: str, value: Any, shown: str, member: str, constraint: str
) -> None:
    head = f"Value {shown}" if shown else "Value"
    text = f"{head} at '{member}' failed to satisfy constraint: {constraint}"
    assert single_error(create_error(**{field: value})) == text
    assert single_error(update_error(**{field: value})) == text


def test_memory_service_limit() -> None:
    exc = create_error(MemorySize=10241)
    assert isinstance(exc, ValidationException)
    assert exc.message == (
        "'MemorySize' value failed to satisfy constraint: Member must have value less than or"
        " equal to 10240"
    )
    validate_create_function(create_request(MemorySize=10240, Timeout=900))


def test_multiple_errors_in_member_order() -> None:
    exc = create_error(FunctionName="bad name", Role="r1", Timeout=0)
    assert isinstance(exc, ValidationException)
    assert exc.message.startswith("3 validation errors detected: Value 'bad name' at")
    members = [p.split("' at '")[1].split("'")[0] for p in exc.message.split("; ")]
    assert members == ["functionName", "role", "timeout"]


def test_missing_required_members() -> None:
    exc = create_error(Role=None)
    null_role = "Value null at 'role' failed to satisfy constraint: Member must not be null"
    assert single_error(exc) == null_role
    mandatory = (
        "Runtime and Handler are mandatory parameters for functions created with"
        " deployment packages."
    )
    assert message(create_error(Runtime=None)) == mandatory
    assert message(create_error(Handler=None)) == mandatory
    validate_create_function(
        create_request(Runtime=None, Handler=None, PackageType="Image", Code={"ImageUri": "repo:1"})
    )


def test_reserved_environment_keys() -> None:
    exc = create_error(Environment={"Variables": {"AWS_REGION": "x", "OK_VAR": "y"}})
    assert isinstance(exc, InvalidParameterValueException)
    assert exc.message == (
        "Lambda was unable to configure your environment variables because the environment"
        " variables you have provided contains reserved keys that are currently not supported for"
        " modification. Reserved keys used in this request: AWS_REGION"
    )
    validate_create_function(create_request(Environment={"Variables": {"TZ": "Europe/Paris"}}))


def test_create_function_name_length() -> None:
    exc = create_error(FunctionName=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{'f' * 65}")
    assert isinstance(exc, InvalidParameterValueException)
    validate_create_function(create_request(FunctionName="f" * 64))


def test_update_code() -> None:
    validate_update_code({"FunctionName": "fn", "ZipFile": ZIP}, package_type="Zip")
    validate_update_code({"FunctionName": "fn", "ImageUri": "repo:2"}, package_type="Image")
    with pytest.raises(InvalidParameterValueException, match="Please don't provide ImageUri"):
        validate_update_code({"FunctionName": "fn", "ImageUri": "repo:2"}, package_type="Zip")
    with pytest.raises(InvalidParameterValueException, match="Please provide ImageUri"):
        validate_update_code({"FunctionName": "fn", "ZipFile": ZIP}, package_type="Image")
    with pytest.raises(ValidationException, match="'architectures'"):
        validate_update_code({"FunctionName": "fn", "ZipFile": ZIP, "Architectures": []})
    with pytest.raises(InvalidParameterValueException, match="Could not unzip"):
        validate_update_code({"FunctionName": "fn", "ZipFile": b"nope"})
