"""Function configurations and tags in SQLite.

One row per (function, version). ``$LATEST`` is the mutable version; published
versions are further rows, numbered from ``functions.last_version`` (the highest number
ever handed out, so numbers are never reused). Writes are single transactions, so a
rejected request never leaves half a change behind.
"""

from __future__ import annotations

import json
from pathlib import Path

from lamina.domain.models import LATEST, FunctionConfig
from lamina.store.migrations import Step, add_column_if_missing
from lamina.store.ports import FunctionStore
from lamina.store.sqlite import SqliteStore

# The "functions" schema migrations: a change is a new step at the end.
STEPS: tuple[Step, ...] = (
    # 1: the schema from before numbered migrations (IF NOT EXISTS: old data keeps it).
    """
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
""",
    # A data directory from before versions: its functions table lacks the counter.
    add_column_if_missing("functions", "last_version", "INTEGER NOT NULL DEFAULT 0"),
)


class SqliteFunctionStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path, "functions", STEPS)

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
                (config.name, config.version, json.dumps(config.to_record())),
            )
        return True

    def put_version(self, config: FunctionConfig) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO function_versions(name, version, config) VALUES (?,?,?)",
                (config.name, config.version, json.dumps(config.to_record())),
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
                    (config.name, config.version, json.dumps(config.to_record())),
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
        return FunctionConfig.from_record(json.loads(row[0])) if row else None

    def list_latest(self, after: str | None, limit: int) -> list[FunctionConfig]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT config FROM function_versions WHERE version=? AND name>? "
                "ORDER BY name LIMIT ?",
                (LATEST, after or "", limit),
            ).fetchall()
        return [FunctionConfig.from_record(json.loads(r[0])) for r in rows]

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
                    (latest.name, latest.version, json.dumps(latest.to_record())),
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
        return [FunctionConfig.from_record(json.loads(r[0])) for r in rows]

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
