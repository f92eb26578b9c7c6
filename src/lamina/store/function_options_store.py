"""Per-function options without a table of their own elsewhere, in SQLite: the recursive
loop setting (``PutFunctionRecursionConfig``) and the runtime management configuration
(``PutRuntimeManagementConfig``, per version). Rows exist only for values other than the
defaults and go with their function (``ON DELETE CASCADE``)."""

from __future__ import annotations

from pathlib import Path

from lamina.store.migrations import Step
from lamina.store.sqlite import SqliteStore

# The "function_options" schema migrations: a change is a new step at the end.
STEPS: tuple[Step, ...] = (
    """
CREATE TABLE IF NOT EXISTS function_recursion (
    name TEXT PRIMARY KEY REFERENCES functions(name) ON DELETE CASCADE,
    recursive_loop TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS function_runtime_management (
    name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    version TEXT NOT NULL,
    update_runtime_on TEXT NOT NULL,
    runtime_version_arn TEXT,
    PRIMARY KEY (name, version)
);
""",
)


class SqliteFunctionOptionsStore(SqliteStore):
    """Writes return False when the function is gone (nothing changes)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "function_options", STEPS)
        # Read on every invocation by the recursion guard: cached, written through.
        self._recursion: dict[str, str] = {}
        with self._lock:
            rows = self._conn.execute("SELECT name, recursive_loop FROM function_recursion")
            self._recursion = {str(n): str(v) for n, v in rows.fetchall()}

    def put_recursion(self, name: str, recursive_loop: str) -> bool:
        with self._tx() as conn:
            if conn.execute("SELECT 1 FROM functions WHERE name=?", (name,)).fetchone() is None:
                return False
            conn.execute(
                "INSERT OR REPLACE INTO function_recursion(name, recursive_loop) VALUES (?,?)",
                (name, recursive_loop),
            )
        self._recursion[name] = recursive_loop
        return True

    def recursion(self, name: str) -> str | None:
        """The stored setting, or None (the default, ``Terminate``)."""
        return self._recursion.get(name)

    def forget(self, name: str) -> None:
        """A deleted function's options (its rows went with it)."""
        self._recursion.pop(name, None)

    def put_runtime_management(
        self, name: str, version: str, update_runtime_on: str, runtime_version_arn: str | None
    ) -> bool:
        with self._tx() as conn:
            if conn.execute("SELECT 1 FROM functions WHERE name=?", (name,)).fetchone() is None:
                return False
            conn.execute(
                "INSERT OR REPLACE INTO function_runtime_management(name, version,"
                " update_runtime_on, runtime_version_arn) VALUES (?,?,?,?)",
                (name, version, update_runtime_on, runtime_version_arn),
            )
        return True

    def runtime_management(self, name: str, version: str) -> tuple[str, str | None] | None:
        """``(UpdateRuntimeOn, RuntimeVersionArn)`` stored for a version, or None (Auto)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT update_runtime_on, runtime_version_arn FROM function_runtime_management"
                " WHERE name=? AND version=?",
                (name, version),
            ).fetchone()
        return (str(row[0]), row[1]) if row else None
