"""Code signing configurations end to end, golden-compared with AWS's recordings
(``TestCodeSigningConfig`` in test_lambda_api), and the Warn/Enforce check of zip uploads
(docs/invocation.md: a package is trusted when its zip comment is
``lamina-signed-by:<allowed signing profile ARN>``)."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import ACCOUNT, ROLE, make_zip, unique

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from aws_recorded import expand, recorded  # noqa: E402

PROFILE = f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-profiles/test"
CODE = "def handler(event, context):\n    return {'ok': True}\n"


def signed(code: str, profile: str | None) -> bytes:
    """A package whose zip comment names ``profile`` (None: unsigned)."""
    data = make_zip({"lambda_function.py": code})
    if profile is None:
        return data
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, "a") as archive:
        archive.comment = f"lamina-signed-by:{profile}".encode()
    return buf.getvalue()


def normalised(response: dict[str, Any], subs: dict[str, str]) -> Any:
    """A boto3 response (or error response) as the recordings write it."""
    out: dict[str, Any] = {}
    for key, value in response.items():
        if key == "ResponseMetadata":
            out[key] = {"HTTPHeaders": {}, "HTTPStatusCode": value["HTTPStatusCode"]}
        else:
            out[key] = value
    return _placeholders(out, subs)


def _placeholders(value: Any, subs: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            k: "date" if k == "LastModified" else _placeholders(v, subs) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_placeholders(v, subs) for v in value]
    if isinstance(value, str):
        for real, placeholder in subs.items():
            value = value.replace(real, placeholder)
    return value


def error_of(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    response = dict(info.value.response)
    response.pop("ResponseMetadata", None)
    status = info.value.response["ResponseMetadata"]["HTTPStatusCode"]
    response["ResponseMetadata"] = {"HTTPHeaders": {}, "HTTPStatusCode": status}
    return response


def expected(test: str, key: str) -> Any:
    want = expand(recorded(f"TestCodeSigningConfig::{test}", key), {"111111111111": ACCOUNT})
    return want


def test_function_code_signing_config(lam: Any) -> None:
    name = unique("csc")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="lambda_function.handler",
        Code={"ZipFile": make_zip({"lambda_function.py": CODE})},
    )
    created = lam.create_code_signing_config(
        Description="Testing CodeSigning Config",
        AllowedPublishers={"SigningProfileVersionArns": [PROFILE]},
        CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Enforce"},
    )
    arn = created["CodeSigningConfig"]["CodeSigningConfigArn"]
    config_id = created["CodeSigningConfig"]["CodeSigningConfigId"]
    assert arn.endswith(":code-signing-config:" + config_id)
    subs = {arn: f"arn:aws:lambda:us-east-1:{ACCOUNT}:code-signing-config:<resource:1>"}
    subs[config_id] = "<resource:1>"
    subs[name] = "<function-name:1>"
    test = "test_function_code_signing_config"

    def check(key: str, response: Any) -> None:
        assert normalised(response, subs) == expected(test, key), key

    check("create_code_signing_config", created)
    updated = lam.update_code_signing_config(
        CodeSigningConfigArn=arn,
        CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Warn"},
    )
    check("update_code_signing_config", updated)
    check("get_code_signing_config", lam.get_code_signing_config(CodeSigningConfigArn=arn))
    check(
        "put_function_code_signing_config",
        lam.put_function_code_signing_config(CodeSigningConfigArn=arn, FunctionName=name),
    )
    check(
        "get_function_code_signing_config",
        lam.get_function_code_signing_config(FunctionName=name),
    )
    listed = [
        c
        for c in lam.list_code_signing_configs()["CodeSigningConfigs"]
        if c["CodeSigningConfigArn"] == arn
    ]
    assert [_placeholders(c, subs) for c in listed] == [expected(test, "list_code_signing_configs")]
    check(
        "list_functions_by_code_signing_config",
        lam.list_functions_by_code_signing_config(CodeSigningConfigArn=arn),
    )
    # In use: it cannot go.
    conflict = error_of(lam.delete_code_signing_config, CodeSigningConfigArn=arn)
    assert conflict["Error"]["Code"] == "ResourceConflictException"
    check(
        "delete_function_code_signing_config",
        lam.delete_function_code_signing_config(FunctionName=name),
    )
    check("delete_code_signing_config", lam.delete_code_signing_config(CodeSigningConfigArn=arn))
    lam.delete_function(FunctionName=name)


def test_code_signing_not_found_excs(lam: Any) -> None:
    name = unique("csc")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="lambda_function.handler",
        Code={"ZipFile": make_zip({"lambda_function.py": CODE})},
    )
    created = lam.create_code_signing_config(
        Description="Testing CodeSigning Config",
        AllowedPublishers={"SigningProfileVersionArns": [PROFILE]},
        CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Enforce"},
    )
    arn = created["CodeSigningConfig"]["CodeSigningConfigArn"]
    invalid = arn[:-4] + "zzzz"
    missing = "csc-test-doesnotexist"
    subs = {
        invalid: "<csc_arn_invalid>",
        arn: f"arn:aws:lambda:us-east-1:{ACCOUNT}:code-signing-config:<resource:1>",
        created["CodeSigningConfig"]["CodeSigningConfigId"]: "<resource:1>",
    }
    test = "test_code_signing_not_found_excs"

    def check(key: str, response: Any) -> None:
        assert normalised(response, subs) == expected(test, key), key

    check("create_code_signing_config", created)
    check(
        "delete_csc_notfound",
        error_of(lam.delete_code_signing_config, CodeSigningConfigArn=invalid),
    )
    check("nothing_to_delete_response", lam.delete_function_code_signing_config(FunctionName=name))
    check(
        "delete_function_csc_fnnotfound",
        error_of(lam.delete_function_code_signing_config, FunctionName=missing),
    )
    check(
        "put_function_csc_invalid_fnname",
        error_of(
            lam.put_function_code_signing_config, CodeSigningConfigArn=arn, FunctionName=missing
        ),
    )
    check(
        "put_function_csc_invalid_csc_arn",
        error_of(
            lam.put_function_code_signing_config, CodeSigningConfigArn=invalid, FunctionName=name
        ),
    )
    check(
        "put_function_csc_invalid_both",
        error_of(
            lam.put_function_code_signing_config, CodeSigningConfigArn=invalid, FunctionName=missing
        ),
    )
    check(
        "update_csc_invalid_csc_arn",
        error_of(
            lam.update_code_signing_config,
            CodeSigningConfigArn=invalid,
            CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Warn"},
        ),
    )
    check(
        "update_csc_noupdates",
        error_of(lam.update_code_signing_config, CodeSigningConfigArn=invalid),
    )
    check("update_csc_noupdate_response", lam.update_code_signing_config(CodeSigningConfigArn=arn))
    check("get_csc_invalid", error_of(lam.get_code_signing_config, CodeSigningConfigArn=invalid))
    check("get_function_csc_fnwithoutcsc", lam.get_function_code_signing_config(FunctionName=name))
    check(
        "get_function_csc_nonexistingfn",
        error_of(lam.get_function_code_signing_config, FunctionName=missing),
    )
    check(
        "list_functions_by_csc_fnwithoutcsc",
        lam.list_functions_by_code_signing_config(CodeSigningConfigArn=arn),
    )
    check(
        "list_functions_by_csc_invalid_cscarn",
        error_of(lam.list_functions_by_code_signing_config, CodeSigningConfigArn=invalid),
    )
    lam.delete_code_signing_config(CodeSigningConfigArn=arn)
    lam.delete_function(FunctionName=name)


def test_enforce_refuses_untrusted_uploads_and_warn_accepts(lam: Any) -> None:
    enforce = lam.create_code_signing_config(
        AllowedPublishers={"SigningProfileVersionArns": [PROFILE]},
        CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Enforce"},
    )["CodeSigningConfig"]["CodeSigningConfigArn"]
    name = unique("signed")
    common = {"Runtime": "python3.12", "Role": ROLE, "Handler": "lambda_function.handler"}
    # Enforce: an unsigned package (or one signed by another profile) is refused, nothing made.
    for package in (signed(CODE, None), signed(CODE, PROFILE + "-other")):
        error = error_of(
            lam.create_function,
            FunctionName=name,
            Code={"ZipFile": package},
            CodeSigningConfigArn=enforce,
            **common,
        )
        assert error["Error"]["Code"] == "CodeVerificationFailedException"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert error_of(lam.get_function, FunctionName=name)["Error"]["Code"] == (
            "ResourceNotFoundException"
        )
    # A package signed by an allowed profile deploys, and the function is attached.
    lam.create_function(
        FunctionName=name,
        Code={"ZipFile": signed(CODE, PROFILE)},
        CodeSigningConfigArn=enforce,
        **common,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    assert (
        lam.get_function_code_signing_config(FunctionName=name)["CodeSigningConfigArn"] == enforce
    )
    # UpdateFunctionCode: refused unsigned, the code stays what it was.
    before = lam.get_function_configuration(FunctionName=name)["CodeSha256"]
    new_code = CODE.replace("True", "False")
    error = error_of(lam.update_function_code, FunctionName=name, ZipFile=signed(new_code, None))
    assert error["Error"]["Code"] == "CodeVerificationFailedException"
    assert lam.get_function_configuration(FunctionName=name)["CodeSha256"] == before
    # Warn: the same unsigned package is accepted.
    lam.update_code_signing_config(
        CodeSigningConfigArn=enforce, CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Warn"}
    )
    lam.update_function_code(FunctionName=name, ZipFile=signed(new_code, None))
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert lam.get_function_configuration(FunctionName=name)["CodeSha256"] != before
    # A function created with a configuration that does not exist: AWS's 404.
    missing = enforce[:-4] + "zzzz"
    error = error_of(
        lam.create_function,
        FunctionName=unique("signed"),
        Code={"ZipFile": signed(CODE, PROFILE)},
        CodeSigningConfigArn=missing,
        **common,
    )
    assert error["Error"]["Code"] == "CodeSigningConfigNotFoundException"
    lam.delete_function(FunctionName=name)
    lam.delete_code_signing_config(CodeSigningConfigArn=enforce)


def test_configs_survive_restart(own_server: Any) -> None:
    server = own_server()
    lam = server.client()
    arn = lam.create_code_signing_config(
        Description="durable", AllowedPublishers={"SigningProfileVersionArns": [PROFILE]}
    )["CodeSigningConfig"]["CodeSigningConfigArn"]
    server.stop(9)
    server.start()
    lam = server.client()
    got = lam.get_code_signing_config(CodeSigningConfigArn=arn)["CodeSigningConfig"]
    assert got["Description"] == "durable"
    assert got["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Warn"}
