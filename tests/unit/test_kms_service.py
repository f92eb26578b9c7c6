"""Lamina's KMS service (services/kms): keys, aliases, envelope encryption, key states and
scheduled deletion, over its SQLite store; KMS's answers for what names no key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lamina.domain.errors import AwsError
from lamina.domain.sealing import MasterKey, Sealer
from lamina.services.kms import ciphertext
from lamina.services.kms.keys import parse_key_ref
from lamina.services.kms.service import DAY, KmsService, Scope
from lamina.store.kms_store import SqliteKmsStore

HERE = Scope("us-east-1", "000000000000")
ELSEWHERE = Scope("eu-west-1", "000000000000")
MISSING = "11111111-2222-3333-4444-555555555555"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def kms(tmp_path: Path, clock: Clock) -> Iterator[KmsService]:
    service = KmsService(
        SqliteKmsStore(tmp_path / "kms.sqlite3", Sealer(MasterKey.generate())), clock
    )
    yield service
    service.close()


def error(exc: pytest.ExceptionInfo[AwsError]) -> tuple[str, str]:
    return exc.value.code, exc.value.message


def test_encrypt_decrypt_with_the_blob_naming_its_key(kms: KmsService) -> None:
    key = kms.create_key(HERE, "d")
    kms.create_alias(HERE, "alias/app", key.key_id)
    blob, used = kms.encrypt(HERE, "alias/app", b"secret", {"a": "1", "b": "2"})
    assert used == key and ciphertext.key_id_of(blob) == key.key_id
    assert kms.decrypt(HERE, blob, {"b": "2", "a": "1"}) == (b"secret", key)  # any order
    assert kms.decrypt(HERE, blob, {"a": "1", "b": "2"}, key.arn)[0] == b"secret"
    for context in (None, {"a": "1"}, {"a": "1", "b": "X"}, {"A": "1", "b": "2"}):
        with pytest.raises(AwsError) as exc:
            kms.decrypt(HERE, blob, context)
        assert error(exc) == ("InvalidCiphertextException", "")
    other = kms.create_key(HERE, "")
    with pytest.raises(AwsError) as exc:
        kms.decrypt(HERE, blob, {"a": "1", "b": "2"}, other.key_id)
    assert exc.value.code == "IncorrectKeyException"
    with pytest.raises(AwsError) as exc:
        kms.decrypt(HERE, b"\x01" + b"x" * 80, None)
    assert exc.value.code == "InvalidCiphertextException"


def test_data_keys(kms: KmsService) -> None:
    key = kms.create_key(HERE, "")
    for spec, size in (("AES_256", 32), ("AES_128", 16)):
        data_key = kms.generate_data_key(HERE, key.key_id, None, spec, None)
        assert len(data_key.plaintext) == size
        assert kms.decrypt(HERE, data_key.ciphertext, None)[0] == data_key.plaintext
    assert len(kms.generate_data_key(HERE, key.key_id, 7, None, None).plaintext) == 7
    with pytest.raises(AwsError) as exc:
        kms.generate_data_key(HERE, key.key_id, None, None, None)
    assert error(exc) == (
        "ValidationException",
        "Please specify either number of bytes or key spec.",
    )
    with pytest.raises(AwsError) as exc:
        kms.generate_data_key(HERE, key.key_id, 32, "AES_256", None)
    assert exc.value.code == "ValidationException"


def test_key_references_and_their_errors(kms: KmsService) -> None:
    key = kms.create_key(HERE, "")
    assert kms.describe_key(HERE, key.arn) == key
    assert kms.describe_key(HERE, key.key_id) == key
    missing_arn = f"arn:aws:kms:us-east-1:000000000000:key/{MISSING}"
    cases = {
        MISSING: ("NotFoundException", f"Key '{missing_arn}' does not exist"),
        missing_arn: ("NotFoundException", f"Key '{missing_arn}' does not exist"),
        "fake-key-id": ("NotFoundException", "Invalid keyId 'fake-key-id'"),
        key.arn.replace("us-east-1", "eu-west-1"): ("NotFoundException", "Invalid arn eu-west-1"),
        "alias/none": (
            "NotFoundException",
            "Alias arn:aws:kms:us-east-1:000000000000:alias/none is not found.",
        ),
    }
    for text, expected in cases.items():
        with pytest.raises(AwsError) as exc:
            kms.describe_key(HERE, text)
        assert error(exc) == expected, text
    with pytest.raises(AwsError) as exc:  # regions have their own keys
        kms.describe_key(ELSEWHERE, key.key_id)
    assert exc.value.code == "NotFoundException"
    assert parse_key_ref("alias/x", "us-east-1", "1").kind == "alias"


def test_disabled_and_pending_deletion_keys(kms: KmsService, clock: Clock) -> None:
    key = kms.create_key(HERE, "")
    blob, _ = kms.encrypt(HERE, key.key_id, b"x", None)
    kms.disable_key(HERE, key.key_id)
    with pytest.raises(AwsError) as exc:
        kms.decrypt(HERE, blob, None)
    assert error(exc) == ("DisabledException", f"{key.arn} is disabled.")
    kms.enable_key(HERE, key.key_id)
    scheduled = kms.schedule_deletion(HERE, key.key_id, 7)
    assert scheduled.deletion_date == clock.now + 7 * DAY
    assert kms.describe_key(HERE, key.key_id).metadata()["PendingDeletionWindowInDays"] == 7
    with pytest.raises(AwsError) as exc:
        kms.encrypt(HERE, key.key_id, b"x", None)
    assert error(exc) == ("KMSInvalidStateException", f"{key.arn} is pending deletion.")
    with pytest.raises(AwsError) as exc:
        kms.enable_key(HERE, key.key_id)
    assert exc.value.code == "KMSInvalidStateException"
    restored = kms.cancel_deletion(HERE, key.key_id)
    assert (restored.state, restored.deletion_date) == ("Disabled", None)
    for days in (6, 31):
        with pytest.raises(AwsError) as exc:
            kms.schedule_deletion(HERE, key.key_id, days)
        assert exc.value.code == "ValidationException"
    kms.create_alias(HERE, "alias/doomed", key.key_id)
    kms.schedule_deletion(HERE, key.key_id, None)  # 30 days by default
    clock.now += 30 * DAY
    with pytest.raises(AwsError) as exc:
        kms.describe_key(HERE, key.key_id)
    assert exc.value.code == "NotFoundException"
    assert kms.list_aliases(HERE, None, 100, None) == ([], None)  # gone with its key


def test_aliases_and_pages(kms: KmsService) -> None:
    keys = [kms.create_key(HERE, str(i)) for i in range(3)]
    kms.create_alias(HERE, "alias/a", keys[0].key_id)
    kms.create_alias(HERE, "alias/b", keys[1].arn)
    with pytest.raises(AwsError) as exc:
        kms.create_alias(HERE, "alias/a", keys[2].key_id)
    assert error(exc) == (
        "AlreadyExistsException",
        "An alias with the name arn:aws:kms:us-east-1:000000000000:alias/a already exists",
    )
    with pytest.raises(AwsError) as exc:
        kms.create_alias(HERE, "a", keys[2].key_id)
    assert exc.value.code == "ValidationException"
    assert exc.value.message.startswith('Alias must start with the prefix "alias/".')
    first, marker = kms.list_keys(HERE, 2, None)
    rest, end = kms.list_keys(HERE, 2, marker)
    assert marker is not None and end is None
    assert sorted(k.key_id for k in first + rest) == sorted(k.key_id for k in keys)
    assert [a.name for a in kms.list_aliases(HERE, keys[1].key_id, 10, None)[0]] == ["alias/b"]
    kms.delete_alias(HERE, "alias/a")
    with pytest.raises(AwsError) as exc:
        kms.delete_alias(HERE, "alias/a")
    assert exc.value.code == "NotFoundException"
    assert kms.list_keys(ELSEWHERE, 10, None) == ([], None)


def test_key_material_is_sealed_and_survives_a_reopen(tmp_path: Path, clock: Clock) -> None:
    sealer = Sealer(MasterKey.generate())
    path = tmp_path / "kms.sqlite3"
    kms = KmsService(SqliteKmsStore(path, sealer), clock)
    key = kms.create_key(HERE, "")
    material = kms.store.material(key)
    blob, _ = kms.encrypt(HERE, key.key_id, b"kept", None)
    kms.close()
    for file in tmp_path.glob("kms.sqlite3*"):
        assert (
            material not in file.read_bytes() and material.hex().encode() not in file.read_bytes()
        )
    kms = KmsService(SqliteKmsStore(path, sealer), clock)
    try:
        assert kms.decrypt(HERE, blob, None)[0] == b"kept"
    finally:
        kms.close()


def test_every_operation_of_the_model_has_a_handler(kms: KmsService) -> None:
    from lamina.api.kms_api import OPERATIONS, kms_handlers
    from lamina.api.model import load_model

    handlers = kms_handlers(kms)
    assert set(handlers) == set(load_model("kms")["operations"])
    assert set(OPERATIONS) < set(handlers)
