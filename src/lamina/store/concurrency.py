"""Reserved concurrency per function in SQLite: one small table beside ``functions``.

A row exists only while a function has a reservation. It goes with its function
(``ON DELETE CASCADE``; ``ConcurrencyService`` also removes it when the function is deleted).
"""

from __future__ import annotations

from pathlib import Path

from lamina.store.migrations import Step
from lamina.store.ports import ConcurrencyStore
from lamina.store.sqlite import SqliteStore

# The ``functions`` table is ``store.functions``'s: open that store first.
# The "function_concurrency" schema migrations: a change is a new step at the end.
STEPS: tuple[Step, ...] = (
    # 1: the schema from before numbered migrations (IF NOT EXISTS: old data keeps it).
    """
CREATE TABLE IF NOT EXISTS function_concurrency (
    name TEXT PRIMARY KEY REFERENCES functions(name) ON DELETE CASCADE,
    reserved INTEGER NOT NULL
);
""",
)


class SqliteConcurrencyStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path, "function_concurrency", STEPS)

    def put(self, name: str, reserved: int) -> bool:
        """Store a reservation; False if the function does not exist (any more)."""
        with self._tx() as conn:
            if conn.execute("SELECT 1 FROM functions WHERE name=?", (name,)).fetchone() is None:
                return False
            conn.execute(
                "INSERT OR REPLACE INTO function_concurrency(name, reserved) VALUES (?,?)",
                (name, reserved),
            )
        return True

    def delete(self, name: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM function_concurrency WHERE name=?", (name,))

    def get(self, name: str) -> int | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT reserved FROM function_concurrency WHERE name=?", (name,)
            ).fetchone()
        return int(row[0]) if row else None

    def all(self) -> dict[str, int]:
        with self._lock:
            rows = self._conn.execute("SELECT name, reserved FROM function_concurrency").fetchall()
        return {str(name): int(reserved) for name, reserved in rows}


# mypy proves the class implements its port.
_PORT: type[ConcurrencyStore] = SqliteConcurrencyStore
