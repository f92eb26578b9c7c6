"""Function aliases in SQLite (the same ``lamina.sqlite3`` as functions, on a connection of its
own).

One row per (function, alias), the alias as JSON. The function is a foreign key with
``ON DELETE CASCADE``: deleting a function deletes its aliases in the same transaction.
"""

from __future__ import annotations

import json
from pathlib import Path

from lamina.domain.aliases import Alias
from lamina.store.migrations import Step
from lamina.store.ports import AliasStore
from lamina.store.sqlite import SqliteStore

# The "function_aliases" schema migrations: a change is a new step at the end.
STEPS: tuple[Step, ...] = (
    # 1: the schema from before numbered migrations (IF NOT EXISTS: old data keeps it).
    """
CREATE TABLE IF NOT EXISTS function_aliases (
    function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    PRIMARY KEY (function, name)
);
""",
)


class SqliteAliasStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path, "function_aliases", STEPS)

    def all(self) -> list[Alias]:
        with self._lock:
            rows = self._conn.execute("SELECT alias FROM function_aliases").fetchall()
        return [Alias.from_record(json.loads(row[0])) for row in rows]

    def create(self, alias: Alias) -> bool:
        """Insert a new alias. False if the function already has one of that name."""
        with self._tx() as conn:
            found = conn.execute(
                "SELECT 1 FROM function_aliases WHERE function=? AND name=?",
                (alias.function_name, alias.name),
            ).fetchone()
            if found:
                return False
            conn.execute(
                "INSERT INTO function_aliases(function, name, alias) VALUES (?,?,?)",
                (alias.function_name, alias.name, json.dumps(alias.to_record())),
            )
        return True

    def put(self, alias: Alias) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE function_aliases SET alias=? WHERE function=? AND name=?",
                (json.dumps(alias.to_record()), alias.function_name, alias.name),
            )

    def delete(self, function: str, name: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "DELETE FROM function_aliases WHERE function=? AND name=?", (function, name)
            )


# mypy proves the class implements its port.
_PORT: type[AliasStore] = SqliteAliasStore
