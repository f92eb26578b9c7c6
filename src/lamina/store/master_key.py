"""Where the master key of secrets at rest comes from, and how each database remembers which
key sealed it.

The key is given (``--kms-key`` / ``LAMINA_KMS_KEY``, base64) or read from ``master.key`` in
the data directory, which the first start creates (mode 0600, never in a database). Each
database that holds sealed values records the key's fingerprint (``lamina_sealing``): opened
with another key, it is refused with a message saying so, instead of serving functions whose
variables cannot be read. A data directory whose databases hold sealed values but whose key
file is gone is refused too: a new key could open none of them.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from lamina.domain.sealing import MasterKey, Sealer

KEY_FILE = "master.key"
KEY_FILE_MODE = 0o600
# The databases that hold sealed values (relative to the data directory; regions' too).
SEALED_DATABASES = ("lamina.sqlite3", "kms.sqlite3")
REGIONS_DIR = "regions"

# A step of every component that seals values (the table is shared by a database's stores).
SEALING_TABLE = (
    "CREATE TABLE IF NOT EXISTS lamina_sealing ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), fingerprint TEXT NOT NULL)"
)

_HOW_TO_GIVE = "give the key that sealed them with --kms-key or LAMINA_KMS_KEY, or restore"


class MasterKeyError(RuntimeError):
    """The master key is missing, malformed, or not the one that sealed a database."""


def load_master_key(data: Path, given: str = "") -> MasterKey:
    """The key given (base64), else ``<data>/master.key``, created on first start; checked
    against every database under ``data`` that recorded a key, before any store opens (a
    wrong key changes nothing)."""
    key = _given_or_stored(data, given)
    for database in sealed_databases(data):
        recorded = recorded_fingerprint(database)
        if recorded != key.fingerprint():
            raise MasterKeyError(_mismatch(str(database), str(recorded), key.fingerprint()))
    return key


def _mismatch(where: str, recorded: str, given: str) -> str:
    return (
        f"{where}: its secrets were sealed with master key {recorded}, not with the key"
        f" given (fingerprint {given}): {_HOW_TO_GIVE} the data directory's {KEY_FILE};"
        " nothing was changed"
    )


def _given_or_stored(data: Path, given: str) -> MasterKey:
    if given:
        try:
            return MasterKey.parse(given)
        except ValueError as exc:
            raise MasterKeyError(f"--kms-key / LAMINA_KMS_KEY: {exc}") from None
    path = data / KEY_FILE
    if path.exists():
        return _read_key_file(path)
    sealed = sealed_databases(data)
    if sealed:
        raise MasterKeyError(
            f"{path} is missing, but {sealed[0]} holds values sealed with master key"
            f" {recorded_fingerprint(sealed[0])}: {_HOW_TO_GIVE} {path}. Lamina does not"
            " create a new key, which could open none of them."
        )
    key = MasterKey.generate()
    _write_key_file(path, key)
    return key


def _read_key_file(path: Path) -> MasterKey:
    if path.is_symlink() or not path.is_file():
        raise MasterKeyError(f"{path}: not a regular file")
    path.chmod(KEY_FILE_MODE)
    try:
        return MasterKey.parse(path.read_text(encoding="ascii"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise MasterKeyError(f"{path}: not a Lamina master key ({exc})") from None


def _write_key_file(path: Path, key: MasterKey) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    try:
        os.write(fd, (key.text() + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def sealed_databases(data: Path) -> list[Path]:
    """The databases under ``data`` (and its regions) that record a sealing key."""
    candidates = [data / name for name in SEALED_DATABASES]
    regions = data / REGIONS_DIR
    if regions.is_dir():
        for region in sorted(regions.iterdir()):
            candidates.extend(region / name for name in SEALED_DATABASES)
    return [path for path in candidates if recorded_fingerprint(path) is not None]


def recorded_fingerprint(path: Path) -> str | None:
    """The fingerprint of the key that sealed the database at ``path`` (None: none yet)."""
    if not path.is_file() or path.stat().st_size == 0:
        return None
    with contextlib.closing(sqlite3.connect(path)) as conn:  # reads only
        try:
            row = conn.execute("SELECT fingerprint FROM lamina_sealing WHERE id=1").fetchone()
        except sqlite3.OperationalError:  # no such table: nothing sealed
            return None
    return str(row[0]) if row else None


def claim_sealing_key(conn: sqlite3.Connection, sealer: Sealer) -> None:
    """Record ``sealer``'s key as the database's, or check it is the one recorded
    (``MasterKeyError`` otherwise). Runs inside the caller's transaction, if any."""
    row = conn.execute("SELECT fingerprint FROM lamina_sealing WHERE id=1").fetchone()
    if row is None:
        conn.execute(
            "INSERT INTO lamina_sealing(id, fingerprint) VALUES (1, ?)", (sealer.fingerprint,)
        )
        return
    if row[0] != sealer.fingerprint:
        files = [r[2] for r in conn.execute("PRAGMA database_list") if r[1] == "main"]
        where = files[0] if files and files[0] else "the database"
        raise MasterKeyError(_mismatch(where, str(row[0]), sealer.fingerprint))


_PROCESS_SEALER: Sealer | None = None


def process_sealer() -> Sealer:
    """A sealer whose key lives as long as this process: for stores opened without one
    (unit tests). The server always gives its own (``load_master_key``)."""
    global _PROCESS_SEALER
    if _PROCESS_SEALER is None:
        _PROCESS_SEALER = Sealer(MasterKey.generate())
    return _PROCESS_SEALER
