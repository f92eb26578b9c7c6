"""Environment variables at rest, end to end: sealed in the database under a master key kept
outside it (``master.key`` 0600, or ``--kms-key``), in clear in API answers and in the
function's environment, per published version, across restarts; a missing or wrong key stops
the server with a message instead of losing variables; ``KMSKeyArn`` checked as AWS does."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import ACCOUNT, REGION, LaminaServer, create_python_function, unique

SHOW_ENV = """
import os

def handler(event, context):
    return {name: os.environ.get(name) for name in event["names"]}
"""
GRANT_FAILED = (
    "Lambda was unable to configure access to your environment variables because the KMS key"
    " is invalid for CreateGrant. Please check your KMS key settings. KMS Exception: "
)


def database_bytes(data: Path) -> bytes:
    """Everything SQLite wrote for the functions (the database, its WAL and shared memory)."""
    return b"".join(p.read_bytes() for p in sorted(data.glob("lamina.sqlite3*")))


def seen(lam: Any, name: str, *names: str, qualifier: str = "$LATEST") -> dict[str, Any]:
    out = lam.invoke(
        FunctionName=name, Qualifier=qualifier, Payload=json.dumps({"names": list(names)})
    )
    assert "FunctionError" not in out, out["Payload"].read()
    result: dict[str, Any] = json.loads(out["Payload"].read())
    return result


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_variables_are_sealed_at_rest_and_clear_to_the_api_and_the_function(
    own_server: Any,
) -> None:
    srv: LaminaServer = own_server()
    lam = srv.client()
    secret, newer = "first-secret-3b9f0a", "second-secret-71c2de"
    name = create_python_function(
        lam, SHOW_ENV, Environment={"Variables": {"TOKEN": secret, "MODE": "one"}}
    )
    config = lam.get_function_configuration(FunctionName=name)
    assert config["Environment"] == {"Variables": {"TOKEN": secret, "MODE": "one"}}
    listed = [f for f in lam.list_functions()["Functions"] if f["FunctionName"] == name]
    assert listed[0]["Environment"]["Variables"]["TOKEN"] == secret
    assert seen(lam, name, "TOKEN", "MODE") == {"TOKEN": secret, "MODE": "one"}

    version = lam.publish_version(FunctionName=name)["Version"]
    lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"TOKEN": newer}}
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert seen(lam, name, "TOKEN", "MODE") == {"TOKEN": newer, "MODE": None}
    # The published version keeps its own snapshot.
    old = lam.get_function_configuration(FunctionName=name, Qualifier=version)
    assert old["Environment"]["Variables"] == {"TOKEN": secret, "MODE": "one"}
    assert seen(lam, name, "TOKEN", qualifier=version) == {"TOKEN": secret}

    stored = database_bytes(srv.data_dir)
    assert secret.encode() not in stored and newer.encode() not in stored
    key_file = srv.data_dir / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip().encode() not in stored

    srv.stop()
    srv.start()
    lam = srv.client()
    assert seen(lam, name, "TOKEN") == {"TOKEN": newer}
    assert seen(lam, name, "TOKEN", qualifier=version) == {"TOKEN": secret}
    assert lam.get_function_configuration(FunctionName=name)["Environment"] == {
        "Variables": {"TOKEN": newer}
    }


def test_a_given_key_is_kept_outside_the_data_directory(own_server: Any) -> None:
    key = new_key()
    srv: LaminaServer = own_server("--kms-key", key)
    lam = srv.client()
    name = create_python_function(lam, SHOW_ENV, Environment={"Variables": {"KEY": "given-key-v"}})
    assert not (srv.data_dir / "master.key").exists()
    srv.stop()
    srv.start()
    assert seen(srv.client(), name, "KEY") == {"KEY": "given-key-v"}


def test_a_wrong_or_missing_key_stops_the_server_with_a_message(
    own_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    srv: LaminaServer = own_server()
    name = create_python_function(
        srv.client(), SHOW_ENV, Environment={"Variables": {"KEY": "survives-v"}}
    )
    srv.stop()
    key_file = srv.data_dir / "master.key"
    saved = key_file.read_bytes()

    monkeypatch.setenv("LAMINA_KMS_KEY", new_key())
    with pytest.raises(RuntimeError, match="its secrets were sealed with master key") as exc:
        srv.start()
    assert "nothing was changed" in str(exc.value)
    assert srv.process is not None and srv.process.wait() == 2
    monkeypatch.delenv("LAMINA_KMS_KEY")

    key_file.unlink()
    with pytest.raises(RuntimeError, match="master.key is missing, but .* holds values sealed"):
        srv.start()
    assert not key_file.exists()  # no new key replaces the lost one

    key_file.write_bytes(saved)
    key_file.chmod(0o600)
    srv.start()
    assert seen(srv.client(), name, "KEY") == {"KEY": "survives-v"}


def test_kms_key_arn_is_checked_and_echoed(lam: Any, server: LaminaServer) -> None:
    kms = server.client("kms")
    meta = kms.create_key()["KeyMetadata"]
    name = create_python_function(
        lam, SHOW_ENV, KMSKeyArn=meta["Arn"], Environment={"Variables": {"AA": "1"}}
    )
    assert lam.get_function_configuration(FunctionName=name)["KMSKeyArn"] == meta["Arn"]
    assert seen(lam, name, "AA") == {"AA": "1"}

    missing = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
    alias = f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/some-alias"
    for arn, kms_error in (
        (missing, f"NotFoundException KMS Message: Key '{missing}' does not exist"),
        (
            alias,
            "InvalidArnException KMS Message: Key Aliases are not supported for this operation.",
        ),
    ):
        with pytest.raises(ClientError) as exc:
            lam.update_function_configuration(FunctionName=name, KMSKeyArn=arn)
        assert exc.value.response["Error"] == {
            "Code": "InvalidParameterValueException",
            "Message": GRANT_FAILED + kms_error,
        }
        with pytest.raises(ClientError) as exc:
            create_python_function(lam, SHOW_ENV, name=unique(), KMSKeyArn=arn)
        assert exc.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert lam.get_function_configuration(FunctionName=name)["KMSKeyArn"] == meta["Arn"]

    with pytest.raises(ClientError) as exc:  # the shape is checked first
        lam.update_function_configuration(FunctionName=name, KMSKeyArn="not-an-arn")
    assert exc.value.response["Error"]["Code"] == "ValidationException"

    lam.update_function_configuration(FunctionName=name, KMSKeyArn="")  # the default key
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert "KMSKeyArn" not in lam.get_function_configuration(FunctionName=name)


def test_invoke_answers_kms_errors_when_the_key_cannot_decrypt(
    lam: Any, server: LaminaServer
) -> None:
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]
    name = create_python_function(
        lam, SHOW_ENV, KMSKeyArn=key["Arn"], Environment={"Variables": {"AA": "1"}}
    )
    assert seen(lam, name, "AA") == {"AA": "1"}
    prefix = "Lambda was unable to decrypt the environment variables because "
    suffix = " Please check the function's KMS key settings. KMS Exception: "

    kms.disable_key(KeyId=key["KeyId"])
    with pytest.raises(ClientError) as exc:
        seen(lam, name, "AA")
    error = exc.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 502
    assert error["Error"]["Code"] == "KMSDisabledException"
    assert error["Error"]["Message"].startswith(
        prefix + "the KMS key used is disabled." + suffix + "DisabledExceptionKMS Message: "
    )

    kms.enable_key(KeyId=key["KeyId"])
    assert seen(lam, name, "AA") == {"AA": "1"}

    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    with pytest.raises(ClientError) as exc:
        seen(lam, name, "AA")
    assert exc.value.response["Error"]["Code"] == "KMSInvalidStateException"
    assert exc.value.response["Error"]["Message"].startswith(
        prefix + "the KMS key used is in an invalid state for Decrypt." + suffix
    )
    # An asynchronous invocation is accepted; the error is the event's (retries, then DLQ).
    assert lam.invoke(FunctionName=name, InvocationType="Event")["StatusCode"] == 202
