"""Lamina's KMS end to end: every supported operation through boto3, encrypt/decrypt through
the AWS CLI, AWS's errors (golden-compared with recorded AWS answers where they exist), a
function using KMS from inside, unsupported operations, and keys surviving a restart."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import ACCOUNT, REGION, LaminaServer, aws_cli, create_python_function

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "aws-recorded" / "kms"


def recorded(test: str, key: str) -> Any:
    data = json.loads((RECORDED / "test_kms.snapshot.json").read_text())
    (entry,) = [v for k, v in data.items() if k.endswith("::" + test)]
    return entry["recorded-content"][key]


def normalised(value: Any, key_id: str) -> Any:
    """Lamina's answer in the recordings' placeholders."""
    text = json.dumps(value, default=lambda v: "datetime" if isinstance(v, datetime) else v)
    text = text.replace("arn:aws:", "arn:<partition>:").replace(f":{REGION}:", ":<region>:")
    return json.loads(text.replace(ACCOUNT, "111111111111").replace(key_id, "<key-id:1>"))


def error_of(exc: ClientError) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Error": {k: exc.response["Error"][k] for k in ("Code", "Message")},
        "ResponseMetadata": {
            "HTTPHeaders": {},
            "HTTPStatusCode": exc.response["ResponseMetadata"]["HTTPStatusCode"],
        },
    }
    if "message" in exc.response:
        out["message"] = exc.response["message"]
    return out


@pytest.fixture(scope="module")
def kms(server: LaminaServer) -> Any:
    return server.client("kms")


def test_create_and_describe_key_as_aws_answers(kms: Any) -> None:
    meta = kms.create_key(Description="test key 123")["KeyMetadata"]
    assert normalised(meta, meta["KeyId"]) == recorded("test_create_key", "describe-key")
    described = kms.describe_key(KeyId=meta["Arn"])["KeyMetadata"]
    assert normalised(described, meta["KeyId"]) == recorded("test_create_key", "describe-key")
    listed = kms.list_keys(Limit=1000)
    assert {"KeyId": meta["KeyId"], "KeyArn": meta["Arn"]} in listed["Keys"]
    assert listed["Truncated"] is False


def test_unknown_keys_answer_as_aws(kms: Any) -> None:
    missing = str(uuid.uuid4())
    arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{missing}"
    expected = json.loads(
        json.dumps(
            recorded("test_get_key_does_not_exist", "describe-nonexistent-key-with-id")
        ).replace("<key-arn>", arn)
    )
    for key_id in (missing, arn):
        with pytest.raises(ClientError) as exc:
            kms.describe_key(KeyId=key_id)
        assert error_of(exc.value) == expected
    for key_id, name in (
        ("fake-key-id", "describe-key-with-invalid-uuid"),
        ("134f2428cec14b25a1ae9048164dba47", "describe-key-with-invalid-uuid-2"),
    ):
        with pytest.raises(ClientError) as exc:
            kms.describe_key(KeyId=key_id)
        assert error_of(exc.value) == recorded("test_get_key_invalid_uuid", name)
    other_region = f"arn:aws:kms:ap-southeast-1:{ACCOUNT}:key/{missing}"
    with pytest.raises(ClientError) as exc:
        kms.describe_key(KeyId=other_region)
    assert error_of(exc.value) == recorded(
        "test_get_key_in_different_region", "describe-key-diff-region-with-arn"
    )


def test_aliases(kms: Any) -> None:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    name = f"alias/test-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=name, TargetKeyId=key_id)
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == key_id
    alias_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:{name}"
    assert kms.describe_key(KeyId=alias_arn)["KeyMetadata"]["KeyId"] == key_id
    (entry,) = kms.list_aliases(KeyId=key_id)["Aliases"]
    assert (entry["AliasName"], entry["AliasArn"], entry["TargetKeyId"]) == (
        name,
        alias_arn,
        key_id,
    )
    assert isinstance(entry["CreationDate"], datetime)
    with pytest.raises(ClientError) as exc:
        kms.create_alias(AliasName=name, TargetKeyId=key_id)
    assert exc.value.response["Error"] == {
        "Code": "AlreadyExistsException",
        "Message": f"An alias with the name {alias_arn} already exists",
    }
    with pytest.raises(ClientError) as exc:
        kms.create_alias(AliasName="no-prefix", TargetKeyId=key_id)
    assert error_of(exc.value) == recorded("test_create_alias", "create_alias")
    kms.delete_alias(AliasName=name)
    assert kms.list_aliases(KeyId=key_id)["Aliases"] == []
    with pytest.raises(ClientError) as exc:
        kms.delete_alias(AliasName=name)
    assert exc.value.response["Error"] == {
        "Code": "NotFoundException",
        "Message": f"Alias {alias_arn} is not found.",
    }


def test_encrypt_decrypt_and_encryption_context(kms: Any) -> None:
    meta = kms.create_key()["KeyMetadata"]
    out = kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"payload", EncryptionContext={"k": "v"})
    assert (out["KeyId"], out["EncryptionAlgorithm"]) == (meta["Arn"], "SYMMETRIC_DEFAULT")
    blob = out["CiphertextBlob"]
    got = kms.decrypt(CiphertextBlob=blob, EncryptionContext={"k": "v"})  # no KeyId needed
    assert (got["Plaintext"], got["KeyId"]) == (b"payload", meta["Arn"])
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"k": "other"})
    assert exc.value.response["Error"] == {"Code": "InvalidCiphertextException", "Message": ""}
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"k": "v"}, KeyId=other)
    assert exc.value.response["Error"]["Code"] == "IncorrectKeyException"
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"x" * 4097)
    assert exc.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value at 'plaintext' failed to satisfy"
        " constraint: Member must have length less than or equal to 4096",
    }


def test_data_keys(kms: Any) -> None:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    data_key = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    assert len(data_key["Plaintext"]) == 32
    opened = kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"]
    assert opened == data_key["Plaintext"]
    short = kms.generate_data_key(KeyId=key_id, NumberOfBytes=16, EncryptionContext={"a": "b"})
    assert len(short["Plaintext"]) == 16
    bare = kms.generate_data_key_without_plaintext(KeyId=key_id, KeySpec="AES_128")
    assert "Plaintext" not in bare
    assert len(kms.decrypt(CiphertextBlob=bare["CiphertextBlob"])["Plaintext"]) == 16
    with pytest.raises(ClientError) as exc:
        kms.generate_data_key(KeyId=key_id)
    assert exc.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "Please specify either number of bytes or key spec.",
    }
    with pytest.raises(ClientError) as exc:
        kms.generate_data_key(KeyId=key_id, NumberOfBytes=2000)
    assert exc.value.response["Error"]["Message"] == (
        "1 validation error detected: Value '2000' at 'numberOfBytes' failed to satisfy"
        " constraint: Member must have value less than or equal to 1024"
    )


def test_disable_enable_and_scheduled_deletion(kms: Any) -> None:
    meta = kms.create_key()["KeyMetadata"]
    key_id, arn = meta["KeyId"], meta["Arn"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    kms.disable_key(KeyId=key_id)
    described = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (described["KeyState"], described["Enabled"]) == ("Disabled", False)
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=blob)
    assert exc.value.response["Error"] == {
        "Code": "DisabledException",
        "Message": f"{arn} is disabled.",
    }
    kms.enable_key(KeyId=key_id)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    scheduled = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert (scheduled["KeyId"], scheduled["KeyState"], scheduled["PendingWindowInDays"]) == (
        arn,
        "PendingDeletion",
        7,
    )
    described = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert described["PendingDeletionWindowInDays"] == 7
    assert described["DeletionDate"] == scheduled["DeletionDate"]
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    assert exc.value.response["Error"] == {
        "Code": "KMSInvalidStateException",
        "Message": f"{arn} is pending deletion.",
    }
    assert kms.cancel_key_deletion(KeyId=key_id)["KeyId"] == arn
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    with pytest.raises(ClientError) as exc:
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=3)
    assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_unsupported_operations_and_keys_answer_clearly(kms: Any, server: LaminaServer) -> None:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as exc:
        kms.get_key_policy(KeyId=key_id, PolicyName="default")
    assert exc.value.response["Error"] == {
        "Code": "UnsupportedOperationException",
        "Message": "Lamina does not support the operation GetKeyPolicy yet.",
    }
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    with pytest.raises(ClientError) as exc:
        kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
    assert exc.value.response["Error"]["Code"] == "UnsupportedOperationException"
    raw = server.client("kms", parameter_validation=False)
    with pytest.raises(ClientError) as exc:  # the model's validation first
        raw.generate_random(NumberOfBytes=0)
    assert exc.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy"
        " constraint: Member must have value greater than or equal to 1",
    }


def test_aws_cli_encrypt_decrypt(server: LaminaServer, kms: Any, tmp_path: Path) -> None:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    name = f"alias/cli-{uuid.uuid4().hex[:8]}"
    aws_cli(server, "kms", "create-alias", "--alias-name", name, "--target-key-id", key_id)
    (tmp_path / "plain.txt").write_bytes(b"from the CLI")
    encrypted = json.loads(
        aws_cli(
            server,
            "kms",
            "encrypt",
            "--key-id",
            name,
            "--plaintext",
            f"fileb://{tmp_path}/plain.txt",
        ).stdout
    )
    (tmp_path / "blob").write_bytes(base64.b64decode(encrypted["CiphertextBlob"]))
    decrypted = json.loads(
        aws_cli(server, "kms", "decrypt", "--ciphertext-blob", f"fileb://{tmp_path}/blob").stdout
    )
    assert base64.b64decode(decrypted["Plaintext"]) == b"from the CLI"
    assert decrypted["KeyId"].endswith(key_id)
    failed = aws_cli(server, "kms", "describe-key", "--key-id", "alias/none", check=False)
    assert failed.returncode != 0 and "NotFoundException" in failed.stderr


FUNCTION = """
import boto3

def handler(event, context):
    kms = boto3.client("kms")
    data_key = kms.generate_data_key(KeyId=event["key"], KeySpec="AES_256",
                                     EncryptionContext={"app": "test"})
    opened = kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"],
                         EncryptionContext={"app": "test"})["Plaintext"]
    return {"same": opened == data_key["Plaintext"], "key": data_key["KeyId"]}
"""


def test_a_function_uses_kms_with_its_own_credentials(lam: Any, kms: Any) -> None:
    meta = kms.create_key()["KeyMetadata"]
    name = create_python_function(lam, FUNCTION, Timeout=30)
    out = lam.invoke(FunctionName=name, Payload=json.dumps({"key": meta["KeyId"]}))
    assert "FunctionError" not in out, out["Payload"].read()
    assert json.loads(out["Payload"].read()) == {"same": True, "key": meta["Arn"]}


def test_keys_survive_a_restart(own_server: Any) -> None:
    srv = own_server()
    client = srv.client("kms")
    key_id = client.create_key(Description="kept")["KeyMetadata"]["KeyId"]
    client.create_alias(AliasName="alias/kept", TargetKeyId=key_id)
    blob = client.encrypt(KeyId="alias/kept", Plaintext=b"still here")["CiphertextBlob"]
    srv.stop()
    srv.start()
    client = srv.client("kms")
    assert client.describe_key(KeyId="alias/kept")["KeyMetadata"]["Description"] == "kept"
    assert client.decrypt(CiphertextBlob=blob)["Plaintext"] == b"still here"
    material = (srv.data_dir / "kms.sqlite3").read_bytes()
    assert b"still here" not in material
