"""The AWS CLI (v1, installed in the venv) against a real server: the README's commands."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from support import AWS_CLI, ROLE, LaminaServer, aws_cli, make_zip, unique

AWS = AWS_CLI
CODE = (
    "import os\n"
    "def handler(event, context):\n"
    "    return {'hello': event['name'], 'greeting': os.environ.get('GREETING')}\n"
)


def aws(server: LaminaServer, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return aws_cli(server, "lambda", *args, check=check)


def aws_json(server: LaminaServer, *args: str) -> Any:
    out = aws(server, *args).stdout
    return json.loads(out) if out.strip() else None


def cli_major_version() -> int:
    result = subprocess.run([str(AWS), "--version"], capture_output=True, text=True, timeout=60)
    text = (result.stdout or result.stderr).strip()
    return int(text.split("/", 1)[1].split(".", 1)[0])


pytestmark = pytest.mark.skipif(not AWS.exists(), reason="the AWS CLI is not installed")


def test_cli_function_lifecycle(server: LaminaServer, tmp_path: Path) -> None:
    name = unique("cli")
    package = tmp_path / "function.zip"
    package.write_bytes(make_zip({"lambda_function.py": CODE}))
    digest = base64.b64encode(hashlib.sha256(package.read_bytes()).digest()).decode()

    created = aws_json(
        server,
        "create-function",
        "--function-name", name,
        "--runtime", "python3.12",
        "--handler", "lambda_function.handler",
        "--zip-file", f"fileb://{package}",
        "--role", ROLE,
        "--tags", "stage=test",
    )  # fmt: skip
    assert created["FunctionName"] == name
    assert created["CodeSha256"] == digest
    assert created["CodeSize"] == package.stat().st_size
    assert created["State"] == "Pending"
    aws(server, "wait", "function-active-v2", "--function-name", name)

    got = aws_json(server, "get-function", "--function-name", name)
    assert got["Configuration"]["State"] == "Active"
    assert got["Configuration"]["LastUpdateStatus"] == "Successful"
    assert got["Tags"] == {"stage": "test"}
    with urllib.request.urlopen(got["Code"]["Location"], timeout=30) as response:
        assert response.read() == package.read_bytes()

    listed = aws_json(server, "list-functions")
    assert name in [f["FunctionName"] for f in listed["Functions"]]
    assert "NextMarker" not in listed  # the CLI follows every marker itself
    page = aws_json(server, "list-functions", "--max-items", "1")
    assert len(page["Functions"]) == 1

    updated = aws_json(
        server,
        "update-function-configuration",
        "--function-name", name,
        "--environment", "Variables={GREETING=hi}",
        "--timeout", "10",
        "--description", "from the CLI",
    )  # fmt: skip
    assert updated["LastUpdateStatus"] == "InProgress"
    assert updated["Environment"] == {"Variables": {"GREETING": "hi"}}
    assert updated["Timeout"] == 10
    aws(server, "wait", "function-updated-v2", "--function-name", name)
    config = aws_json(server, "get-function-configuration", "--function-name", name)
    assert config["LastUpdateStatus"] == "Successful"
    assert config["Description"] == "from the CLI"

    # CLI v2 needs --cli-binary-format to send the payload as is; v1 always does and has no
    # such option (it exits with "Unknown options: --cli-binary-format").
    binary = ["--cli-binary-format", "raw-in-base64-out"] if cli_major_version() >= 2 else []
    outfile = tmp_path / "out.json"
    invoked = aws_json(
        server,
        "invoke",
        "--function-name", name,
        *binary,
        "--payload", '{"name": "world"}',
        str(outfile),
    )  # fmt: skip
    assert invoked["StatusCode"] == 200
    assert invoked["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in invoked
    assert json.loads(outfile.read_text()) == {"hello": "world", "greeting": "hi"}

    # botocore's model binds the 204 to an output member (as recorded from AWS).
    assert aws_json(server, "delete-function", "--function-name", name) == {"StatusCode": 204}
    missing = aws(server, "get-function", "--function-name", name, check=False)
    assert missing.returncode != 0
    assert missing.stdout == ""
    assert missing.stderr.strip() == (
        "An error occurred (ResourceNotFoundException) when calling the GetFunction operation:"
        f" Function not found: arn:aws:lambda:us-east-1:000000000000:function:{name}"
    )


def test_cli_rejected_create_reports_aws_error(server: LaminaServer, tmp_path: Path) -> None:
    package = tmp_path / "function.zip"
    package.write_bytes(make_zip({"lambda_function.py": CODE}))
    name = unique("clibad")
    result = aws(
        server,
        "create-function",
        "--function-name", name,
        "--runtime", "cobol85",
        "--handler", "lambda_function.handler",
        "--zip-file", f"fileb://{package}",
        "--role", ROLE,
        check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert result.stderr.strip().startswith(
        "An error occurred (InvalidParameterValueException) when calling the CreateFunction"
        " operation: Value cobol85 at 'runtime' failed to satisfy constraint: Member must satisfy"
        " enum value set: ["
    )
    result = aws(
        server,
        "create-function",
        "--function-name", name,
        "--runtime", "python3.12",
        "--handler", "lambda_function.handler",
        "--zip-file", f"fileb://{package}",
        "--role", "not-a-role",
        check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert (
        "An error occurred (ValidationException) when calling the CreateFunction operation: 1"
        " validation error detected: Value 'not-a-role' at 'role' failed to satisfy constraint"
    ) in result.stderr
    listed = aws_json(server, "list-functions")
    assert name not in [f["FunctionName"] for f in listed["Functions"]]
