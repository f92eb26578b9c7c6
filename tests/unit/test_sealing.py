"""Secrets at rest: the envelope (domain/sealing.py), the master key's sources and checks
(store/master_key.py), and the functions store's sealed variables."""

from __future__ import annotations

import base64
import json
import sqlite3
import stat
from pathlib import Path

import pytest

from lamina.domain.models import FunctionConfig
from lamina.domain.sealing import MasterKey, SealBroken, Sealer
from lamina.store.functions import SEALED_MEMBER, SqliteFunctionStore
from lamina.store.master_key import KEY_FILE, MasterKeyError, load_master_key

SECRET = "s3cret-value-7d1e"


def config(name: str = "fn", version: str = "$LATEST", **changes: object) -> FunctionConfig:
    base = FunctionConfig(
        name=name,
        region="us-east-1",
        account="000000000000",
        role="arn:aws:iam::000000000000:role/r",
        runtime="python3.12",
        handler="index.handler",
        code_sha256="ab" * 32,
        code_size=10,
        last_modified="2024-01-01T00:00:00.000+0000",
        revision_id="r1",
        version=version,
        environment={"TOKEN": SECRET},
    )
    return base.replace(**changes)


# --- the envelope ---------------------------------------------------------------------------


def test_a_sealed_value_opens_only_with_its_key_and_context() -> None:
    sealer = Sealer(MasterKey.generate())
    sealed = sealer.seal(b"plain", b"fn:$LATEST")
    assert b"plain" not in sealed
    assert sealer.open(sealed, b"fn:$LATEST") == b"plain"
    assert sealer.seal(b"plain", b"fn:$LATEST") != sealed  # fresh data key and nonces
    with pytest.raises(SealBroken):
        sealer.open(sealed, b"fn:1")  # moved to another row
    with pytest.raises(SealBroken):
        Sealer(MasterKey.generate()).open(sealed, b"fn:$LATEST")  # another master key
    damaged = bytearray(sealed)
    damaged[-1] ^= 1
    with pytest.raises(SealBroken):
        sealer.open(bytes(damaged), b"fn:$LATEST")
    with pytest.raises(SealBroken):
        sealer.open(b"\x01short", b"fn:$LATEST")
    assert sealer.open_text(sealer.seal_text("é", "c"), "c") == "é"
    with pytest.raises(SealBroken):
        sealer.open_text("not base64!", "c")


def test_master_key_text_fingerprint_and_repr() -> None:
    key = MasterKey.generate()
    assert MasterKey.parse(key.text()) == key
    urlsafe = base64.urlsafe_b64encode(base64.b64decode(key.text())).decode()
    assert MasterKey.parse(urlsafe + "\n") == key
    assert key.fingerprint() == MasterKey.parse(key.text()).fingerprint()
    assert key.fingerprint() != MasterKey.generate().fingerprint()
    assert key.text() not in repr(key) and key.fingerprint() in repr(key)
    with pytest.raises(ValueError, match="not base64"):
        MasterKey.parse("???")
    with pytest.raises(ValueError, match="16 bytes: a master key is the base64 of 32"):
        MasterKey.parse(base64.b64encode(b"x" * 16).decode())


# --- where the key comes from ---------------------------------------------------------------


def test_first_start_creates_a_private_key_file_and_later_starts_read_it(tmp_path: Path) -> None:
    key = load_master_key(tmp_path)
    path = tmp_path / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert MasterKey.parse(path.read_text()) == key
    path.chmod(0o644)
    assert load_master_key(tmp_path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # put back to private


def test_a_given_key_is_used_and_no_file_is_written(tmp_path: Path) -> None:
    given = MasterKey.generate()
    assert load_master_key(tmp_path, given.text()) == given
    assert not (tmp_path / KEY_FILE).exists()
    with pytest.raises(MasterKeyError, match="--kms-key / LAMINA_KMS_KEY: not base64"):
        load_master_key(tmp_path, "no!")


def test_a_damaged_key_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_text("garbage")
    with pytest.raises(MasterKeyError, match=f"{KEY_FILE}: not a Lamina master key"):
        load_master_key(tmp_path)


def sealed_directory(tmp_path: Path) -> MasterKey:
    key = load_master_key(tmp_path)
    store = SqliteFunctionStore(tmp_path / "lamina.sqlite3", Sealer(key))
    store.create(config(), {}, 0.0)
    store.close()
    return key


def test_a_lost_key_file_is_refused_not_replaced(tmp_path: Path) -> None:
    key = sealed_directory(tmp_path)
    (tmp_path / KEY_FILE).unlink()
    with pytest.raises(MasterKeyError, match=f"{KEY_FILE} is missing, but .*lamina.sqlite3 holds"):
        load_master_key(tmp_path)
    assert not (tmp_path / KEY_FILE).exists()
    assert load_master_key(tmp_path, key.text()) == key  # given back: it opens again


def test_a_wrong_key_is_refused_before_anything_opens(tmp_path: Path) -> None:
    key = sealed_directory(tmp_path)
    other = MasterKey.generate()
    expected = (
        f"sealed with master key {key.fingerprint()}, not with the key given"
        f" \\(fingerprint {other.fingerprint()}\\)"
    )
    with pytest.raises(MasterKeyError, match=expected):
        load_master_key(tmp_path, other.text())
    with pytest.raises(MasterKeyError, match=expected):  # the store checks it too
        SqliteFunctionStore(tmp_path / "lamina.sqlite3", Sealer(other))


# --- the functions store --------------------------------------------------------------------


def test_variables_are_sealed_in_every_row_and_open_for_reads(tmp_path: Path) -> None:
    sealer = Sealer(MasterKey.generate())
    store = SqliteFunctionStore(tmp_path / "lamina.sqlite3", sealer)
    try:
        store.create(config(), {}, 0.0)
        store.publish(config(version="1"), config(revision_id="r2"))
        assert store.get("fn") == config(revision_id="r2")
        assert [c.environment for c in store.all_versions()] == [{"TOKEN": SECRET}] * 2
        store.put_version(config(version="2", environment=None))
        assert store.get("fn", "2") == config(version="2", environment=None)
        store.put_version(config(version="3", environment={}))
        assert store.get("fn", "3") == config(version="3", environment={})
    finally:
        store.close()
    conn = sqlite3.connect(tmp_path / "lamina.sqlite3")
    records = {
        v: json.loads(c) for v, c in conn.execute("SELECT version, config FROM function_versions")
    }
    conn.close()
    assert "environment" not in records["1"] and SEALED_MEMBER in records["1"]
    assert SEALED_MEMBER not in records["2"]  # no Environment: nothing to seal
    for path in tmp_path.glob("lamina.sqlite3*"):
        assert SECRET.encode() not in path.read_bytes(), path.name


def test_a_row_copied_to_another_version_does_not_open(tmp_path: Path) -> None:
    sealer = Sealer(MasterKey.generate())
    path = tmp_path / "lamina.sqlite3"
    store = SqliteFunctionStore(path, sealer)
    store.create(config(), {}, 0.0)
    store.put_version(config(version="1", environment={"TOKEN": "other"}))
    store.close()
    conn = sqlite3.connect(path)
    (latest,) = conn.execute("SELECT config FROM function_versions WHERE version='$LATEST'")
    sealed = json.loads(latest[0])[SEALED_MEMBER]
    (one,) = conn.execute("SELECT config FROM function_versions WHERE version='1'")
    record = json.loads(one[0])
    record[SEALED_MEMBER] = sealed
    conn.execute("UPDATE function_versions SET config=? WHERE version='1'", (json.dumps(record),))
    conn.commit()
    conn.close()
    store = SqliteFunctionStore(path, sealer)
    try:
        with pytest.raises(MasterKeyError, match="variables of fn:1 do not open"):
            store.get("fn", "1")
        assert store.get("fn") == config()
    finally:
        store.close()


def test_a_region_database_counts_as_sealed_data(tmp_path: Path) -> None:
    key = load_master_key(tmp_path)
    region = tmp_path / "regions" / "eu-west-1"
    region.mkdir(parents=True)
    SqliteFunctionStore(region / "lamina.sqlite3", Sealer(key)).close()
    (tmp_path / KEY_FILE).unlink()
    with pytest.raises(MasterKeyError, match="regions/eu-west-1/lamina.sqlite3 holds values"):
        load_master_key(tmp_path)
    with pytest.raises(MasterKeyError, match="eu-west-1/lamina.sqlite3: its secrets were sealed"):
        load_master_key(tmp_path, MasterKey.generate().text())
