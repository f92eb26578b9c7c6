"""Code signing configurations and the function each one is attached to, in SQLite.

Two small tables beside ``functions`` in ``lamina.sqlite3`` (one database per region, so
rows need no region key): ``code_signing_configs`` (one row per configuration, its wire
fields as columns) and ``function_code_signing`` (function name -> configuration ARN). A
function's link goes with its function (``ON DELETE CASCADE``); a configuration still
linked to a function cannot be deleted (the service checks, the foreign key guarantees).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lamina.store.migrations import Step
from lamina.store.sqlite import SqliteStore

# The "code_signing" schema migrations: a change is a new step at the end.
STEPS: tuple[Step, ...] = (
    """
CREATE TABLE IF NOT EXISTS code_signing_configs (
    arn TEXT PRIMARY KEY,
    config_id TEXT NOT NULL,
    description TEXT NOT NULL,
    publishers TEXT NOT NULL,
    policy TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS function_code_signing (
    name TEXT PRIMARY KEY REFERENCES functions(name) ON DELETE CASCADE,
    config_arn TEXT NOT NULL REFERENCES code_signing_configs(arn)
);
""",
)


@dataclass(frozen=True)
class CodeSigningConfigRecord:
    """One configuration as stored: ``publishers`` are signing profile version ARNs,
    ``policy`` is ``Warn`` or ``Enforce``."""

    arn: str
    config_id: str
    description: str
    publishers: tuple[str, ...]
    policy: str
    last_modified: str


class SqliteCodeSigningStore(SqliteStore):
    """Every write is one transaction, committed before it returns."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "code_signing", STEPS)

    def count(self) -> int:
        with self._lock:
            row = self._conn.execute("SELECT COUNT(*) FROM code_signing_configs").fetchone()
        return int(row[0])

    def put(self, record: CodeSigningConfigRecord) -> None:
        """Insert or replace a configuration (its creation order is kept)."""
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO code_signing_configs(arn, config_id, description, publishers,"
                " policy, last_modified, created) VALUES (?,?,?,?,?,?,"
                " (SELECT COALESCE(MAX(created), 0) + 1 FROM code_signing_configs))"
                " ON CONFLICT(arn) DO UPDATE SET description=excluded.description,"
                " publishers=excluded.publishers, policy=excluded.policy,"
                " last_modified=excluded.last_modified",
                (
                    record.arn,
                    record.config_id,
                    record.description,
                    json.dumps(list(record.publishers)),
                    record.policy,
                    record.last_modified,
                ),
            )

    def get(self, arn: str) -> CodeSigningConfigRecord | None:
        with self._lock:
            row = self._conn.execute(_SELECT + " WHERE arn=?", (arn,)).fetchone()
        return _record(row) if row else None

    def list_all(self) -> list[CodeSigningConfigRecord]:
        """Every configuration, oldest first."""
        with self._lock:
            rows = self._conn.execute(_SELECT + " ORDER BY created").fetchall()
        return [_record(row) for row in rows]

    def delete(self, arn: str) -> bool:
        """Remove a configuration no function uses; False if one does (nothing changes)."""
        with self._tx() as conn:
            used = conn.execute(
                "SELECT 1 FROM function_code_signing WHERE config_arn=?", (arn,)
            ).fetchone()
            if used is not None:
                return False
            conn.execute("DELETE FROM code_signing_configs WHERE arn=?", (arn,))
        return True

    def attach(self, name: str, arn: str) -> bool:
        """Link a function to a configuration; False if the function or the configuration
        is gone (nothing changes)."""
        with self._tx() as conn:
            if conn.execute("SELECT 1 FROM functions WHERE name=?", (name,)).fetchone() is None:
                return False
            if (
                conn.execute("SELECT 1 FROM code_signing_configs WHERE arn=?", (arn,)).fetchone()
                is None
            ):
                return False
            conn.execute(
                "INSERT OR REPLACE INTO function_code_signing(name, config_arn) VALUES (?,?)",
                (name, arn),
            )
        return True

    def detach(self, name: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM function_code_signing WHERE name=?", (name,))

    def config_of(self, name: str) -> str | None:
        """The ARN of the configuration a function uses, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT config_arn FROM function_code_signing WHERE name=?", (name,)
            ).fetchone()
        return str(row[0]) if row else None

    def functions_of(self, arn: str) -> list[str]:
        """The names of the functions using a configuration, sorted."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT name FROM function_code_signing WHERE config_arn=? ORDER BY name", (arn,)
            ).fetchall()
        return [str(row[0]) for row in rows]


_SELECT = (
    "SELECT arn, config_id, description, publishers, policy, last_modified"
    " FROM code_signing_configs"
)


def _record(row: tuple[str, str, str, str, str, str]) -> CodeSigningConfigRecord:
    arn, config_id, description, publishers, policy, last_modified = row
    return CodeSigningConfigRecord(
        arn, config_id, description, tuple(json.loads(publishers)), policy, last_modified
    )
