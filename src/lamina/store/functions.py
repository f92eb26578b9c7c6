"""Function configurations and tags in SQLite.

One row per (function, version). ``$LATEST`` is the mutable version; published
versions are further rows, numbered from ``functions.last_version`` (the highest number
ever handed out, so numbers are never reused). Writes are single transactions, so a
rejected request never leaves half a change behind.

Environment variables are sealed in each row (``domain.sealing``: AES-256-GCM under a data
key the master key wraps, bound to the function and version): the database alone holds no
variable's value. They are opened when a configuration is read, for an API answer or an
environment's start.
"""

from __future__ import annotations

import json
import sqlite3
from functools import partial
from pathlib import Path
from typing import Any

from lamina.domain.models import LATEST, FunctionConfig
from lamina.domain.sealing import SealBroken, Sealer
from lamina.store.master_key import (
    SEALING_TABLE,
    MasterKeyError,
    claim_sealing_key,
    process_sealer,
)
from lamina.store.migrations import Step, add_column_if_missing
from lamina.store.ports import FunctionStore
from lamina.store.sqlite import SqliteStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS functions (
    name TEXT PRIMARY KEY,
    tags TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    last_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS function_versions (
    name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    version TEXT NOT NULL,
    config TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
"""
# A record's sealed variables (its ``environment`` member is then absent).
SEALED_MEMBER = "sealed_environment"


def steps(sealer: Sealer) -> tuple[Step, ...]:
    """The "functions" schema migrations (a change is a new step at the end); the last
    seals the variables rows written before sealing existed with ``sealer``'s key."""
    return (
        # 1: the schema from before numbered migrations (IF NOT EXISTS: old data keeps it).
        _SCHEMA,
        # A data directory from before versions: its functions table lacks the counter.
        add_column_if_missing("functions", "last_version", "INTEGER NOT NULL DEFAULT 0"),
        # 3: the fingerprint of the master key that seals the database's secrets.
        SEALING_TABLE,
        # 4: variables stored in clear by earlier releases, sealed.
        partial(_seal_clear_environments, sealer),
    )


def _context(name: str, version: str) -> str:
    return f"lamina function environment\x00{name}\x00{version}"


def seal_record(record: dict[str, Any], sealer: Sealer) -> dict[str, Any]:
    """``record`` (``FunctionConfig.to_record``) with its variables sealed."""
    environment = record.pop("environment", None)
    if environment is not None:
        plain = json.dumps(environment, separators=(",", ":"))
        record[SEALED_MEMBER] = sealer.seal_text(plain, _context(record["name"], record["version"]))
    return record


def open_record(record: dict[str, Any], sealer: Sealer) -> FunctionConfig:
    """The configuration of a stored record, its variables opened."""
    sealed = record.pop(SEALED_MEMBER, None)
    if sealed is not None:
        name, version = record["name"], record["version"]
        try:
            record["environment"] = json.loads(sealer.open_text(sealed, _context(name, version)))
        except SealBroken:
            raise MasterKeyError(
                f"the environment variables of {name}:{version} do not open with master key"
                f" {sealer.fingerprint}: the row was damaged or copied from elsewhere"
            ) from None
    return FunctionConfig.from_record(record)


def _seal_clear_environments(sealer: Sealer, conn: sqlite3.Connection) -> None:
    claim_sealing_key(conn, sealer)
    # The cells of the rows rewritten here are zeroed, not left in free space.
    conn.execute("PRAGMA secure_delete=ON")
    rows = conn.execute("SELECT name, version, config FROM function_versions").fetchall()
    for name, version, text in rows:
        record = json.loads(text)
        if record.get("environment") is None or SEALED_MEMBER in record:
            continue
        conn.execute(
            "UPDATE function_versions SET config=? WHERE name=? AND version=?",
            (json.dumps(seal_record(record, sealer)), name, version),
        )


class SqliteFunctionStore(SqliteStore):
    def __init__(self, path: Path, sealer: Sealer | None = None) -> None:
        """``sealer``: the server's master key (``store.master_key``); without one, a key
        that lives as long as the process (tests)."""
        self._sealer = sealer or process_sealer()
        super().__init__(path, "functions", steps(self._sealer))
        try:
            with self._tx() as conn:
                claim_sealing_key(conn, self._sealer)  # a wrong key is refused here, at start
        except BaseException:
            self.close()
            raise
        # Pages an upgrade just sealed are written back and the log emptied: no clear copy
        # of a variable stays in the database file or its write-ahead log.
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _encode(self, config: FunctionConfig) -> str:
        return json.dumps(seal_record(config.to_record(), self._sealer))

    def _decode(self, text: str) -> FunctionConfig:
        return open_record(json.loads(text), self._sealer)

    def create(self, config: FunctionConfig, tags: dict[str, str], created_at: float) -> bool:
        """Insert a new function with its $LATEST. False if the name is taken."""
        with self._tx() as conn:
            row = conn.execute("SELECT 1 FROM functions WHERE name=?", (config.name,)).fetchone()
            if row:
                return False
            conn.execute(
                "INSERT INTO functions(name, tags, created_at) VALUES (?,?,?)",
                (config.name, json.dumps(tags), created_at),
            )
            conn.execute(
                "INSERT INTO function_versions(name, version, config) VALUES (?,?,?)",
                (config.name, config.version, self._encode(config)),
            )
        return True

    def put_version(self, config: FunctionConfig) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO function_versions(name, version, config) VALUES (?,?,?)",
                (config.name, config.version, self._encode(config)),
            )

    def next_version(self, name: str) -> str:
        """The number the function's next published version gets."""
        with self._lock:
            row = self._conn.execute(
                "SELECT last_version FROM functions WHERE name=?", (name,)
            ).fetchone()
            numbers = [
                int(v)
                for (v,) in self._conn.execute(
                    "SELECT version FROM function_versions WHERE name=?", (name,)
                )
                if v.isdigit()
            ]
        return str(max([row[0] if row else 0, *numbers]) + 1)

    def publish(self, version: FunctionConfig, latest: FunctionConfig) -> None:
        """Store a new published version and the function's $LATEST (whose RevisionId changes
        with every publish) in one transaction."""
        with self._tx() as conn:
            for config in (version, latest):
                conn.execute(
                    "INSERT OR REPLACE INTO function_versions(name, version, config)"
                    " VALUES (?,?,?)",
                    (config.name, config.version, self._encode(config)),
                )
            conn.execute(
                "UPDATE functions SET last_version=MAX(last_version, ?) WHERE name=?",
                (int(version.version), version.name),
            )

    def get(self, name: str, version: str = LATEST) -> FunctionConfig | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT config FROM function_versions WHERE name=? AND version=?", (name, version)
            ).fetchone()
        return self._decode(row[0]) if row else None

    def list_latest(self, after: str | None, limit: int) -> list[FunctionConfig]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT config FROM function_versions WHERE version=? AND name>? "
                "ORDER BY name LIMIT ?",
                (LATEST, after or "", limit),
            ).fetchall()
        return [self._decode(r[0]) for r in rows]

    def versions(self, name: str) -> list[str]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT version FROM function_versions WHERE name=?", (name,)
            ).fetchall()
        found = [r[0] for r in rows]
        return sorted(found, key=lambda v: (v != LATEST, int(v) if v.isdigit() else 0))

    def delete_version(self, name: str, version: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "DELETE FROM function_versions WHERE name=? AND version=?", (name, version)
            )

    def delete(self, name: str) -> bool:
        with self._tx() as conn:
            conn.execute("DELETE FROM function_versions WHERE name=?", (name,))
            cur = conn.execute("DELETE FROM functions WHERE name=?", (name,))
            return cur.rowcount > 0

    def get_tags(self, name: str) -> dict[str, str] | None:
        with self._lock:
            row = self._conn.execute("SELECT tags FROM functions WHERE name=?", (name,)).fetchone()
        return dict(json.loads(row[0])) if row else None

    def set_tags(
        self, name: str, tags: dict[str, str], latest: FunctionConfig | None = None
    ) -> None:
        """Replace a function's tags; with ``latest``, store its new $LATEST in the same
        transaction (tagging changes the function's RevisionId)."""
        with self._tx() as conn:
            conn.execute("UPDATE functions SET tags=? WHERE name=?", (json.dumps(tags), name))
            if latest is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO function_versions(name, version, config)"
                    " VALUES (?,?,?)",
                    (latest.name, latest.version, self._encode(latest)),
                )

    def code_usage(self) -> tuple[int, int]:
        """(number of functions, total code size of all versions)."""
        with self._lock:
            count = self._conn.execute("SELECT COUNT(*) FROM functions").fetchone()[0]
            total = 0
            for (cfg,) in self._conn.execute("SELECT config FROM function_versions"):
                total += int(json.loads(cfg).get("code_size", 0))
        return int(count), total

    def all_versions(self) -> list[FunctionConfig]:
        """Every version of every function."""
        with self._lock:
            rows = self._conn.execute("SELECT config FROM function_versions").fetchall()
        return [self._decode(r[0]) for r in rows]

    def referenced_code(self) -> set[str]:
        """The packages some version uses: its code and its layers' (which stay with the
        function even when the layer version is deleted)."""
        with self._lock:
            rows = self._conn.execute("SELECT config FROM function_versions").fetchall()
        out: set[str] = set()
        for (cfg,) in rows:
            record = json.loads(cfg)
            out.add(record["code_sha256"])
            out.update(layer["code_sha256"] for layer in record.get("layers") or ())
        return out


# mypy proves the class implements its port.
_PORT: type[FunctionStore] = SqliteFunctionStore
