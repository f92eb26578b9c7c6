"""EventInvokeConfig per function version or alias, in SQLite beside ``functions``.

A row goes with its function (``ON DELETE CASCADE``); ``EventInvokeConfigService`` also
removes the rows of deleted versions and aliases.
"""

from __future__ import annotations

from pathlib import Path

from lamina.domain.destinations import DestinationConfig
from lamina.store.migrations import Step
from lamina.store.ports import EventInvokeConfigStore
from lamina.store.records import EventInvokeConfig
from lamina.store.sqlite import SqliteStore

# The ``functions`` table is ``store.functions``'s: open that store first.
# The "event_invoke_configs" schema migrations: a change is a new step at the end.
STEPS: tuple[Step, ...] = (
    # 1: the schema from before numbered migrations (IF NOT EXISTS: old data keeps it).
    """
CREATE TABLE IF NOT EXISTS event_invoke_configs (
    function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    max_retries INTEGER,
    max_age INTEGER,
    on_success TEXT,
    on_failure TEXT,
    last_modified REAL NOT NULL,
    PRIMARY KEY (function, qualifier)
);
""",
)


class SqliteEventInvokeConfigStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path, "event_invoke_configs", STEPS)

    def put(self, config: EventInvokeConfig) -> bool:
        """Store a configuration; False if the function does not exist (any more)."""
        with self._tx() as conn:
            found = conn.execute("SELECT 1 FROM functions WHERE name=?", (config.function,))
            if found.fetchone() is None:
                return False
            conn.execute(
                "INSERT OR REPLACE INTO event_invoke_configs(function, qualifier, max_retries,"
                " max_age, on_success, on_failure, last_modified) VALUES (?,?,?,?,?,?,?)",
                (
                    config.function,
                    config.qualifier,
                    config.max_retries,
                    config.max_age,
                    config.destinations.on_success,
                    config.destinations.on_failure,
                    config.last_modified,
                ),
            )
        return True

    def delete(self, function: str, qualifier: str | None = None) -> None:
        """One configuration, or every configuration of the function."""
        with self._tx() as conn:
            if qualifier is None:
                conn.execute("DELETE FROM event_invoke_configs WHERE function=?", (function,))
            else:
                conn.execute(
                    "DELETE FROM event_invoke_configs WHERE function=? AND qualifier=?",
                    (function, qualifier),
                )

    def all(self) -> list[EventInvokeConfig]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT function, qualifier, max_retries, max_age, on_success, on_failure,"
                " last_modified FROM event_invoke_configs"
            ).fetchall()
        return [
            EventInvokeConfig(
                function=str(row[0]),
                qualifier=str(row[1]),
                max_retries=row[2],
                max_age=row[3],
                destinations=DestinationConfig(on_success=row[4], on_failure=row[5]),
                last_modified=float(row[6]),
            )
            for row in rows
        ]


# mypy proves the class implements its port.
_PORT: type[EventInvokeConfigStore] = SqliteEventInvokeConfigStore
