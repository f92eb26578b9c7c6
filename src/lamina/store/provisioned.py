"""Provisioned concurrency configurations in SQLite: one small table beside ``functions``.

One row per (function, qualifier). It goes with its function (``ON DELETE CASCADE``); the
service removes the rows of deleted aliases and versions itself.
"""

from __future__ import annotations

from pathlib import Path

from lamina.domain.provisioned import ProvisionedConfig
from lamina.store.migrations import Step
from lamina.store.ports import ProvisionedStore
from lamina.store.sqlite import SqliteStore

# The ``functions`` table is ``store.functions``'s: open that store first.
# The "function_provisioned" schema migrations: a change is a new step at the end.
STEPS: tuple[Step, ...] = (
    # 1: the schema from before numbered migrations (IF NOT EXISTS: old data keeps it).
    """
CREATE TABLE IF NOT EXISTS function_provisioned (
    function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    requested INTEGER NOT NULL,
    last_modified TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);
""",
)


class SqliteProvisionedStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path, "function_provisioned", STEPS)

    def all(self) -> list[ProvisionedConfig]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT function, qualifier, requested, last_modified FROM function_provisioned"
            ).fetchall()
        return [ProvisionedConfig(str(f), str(q), int(r), str(m)) for f, q, r, m in rows]

    def put(self, config: ProvisionedConfig) -> bool:
        """Store a configuration; False if the function does not exist (any more)."""
        with self._tx() as conn:
            found = conn.execute("SELECT 1 FROM functions WHERE name=?", (config.function,))
            if found.fetchone() is None:
                return False
            conn.execute(
                "INSERT OR REPLACE INTO function_provisioned"
                "(function, qualifier, requested, last_modified) VALUES (?,?,?,?)",
                (config.function, config.qualifier, config.requested, config.last_modified),
            )
        return True

    def delete(self, function: str, qualifier: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "DELETE FROM function_provisioned WHERE function=? AND qualifier=?",
                (function, qualifier),
            )


# mypy proves the class implements its port.
_PORT: type[ProvisionedStore] = SqliteProvisionedStore
