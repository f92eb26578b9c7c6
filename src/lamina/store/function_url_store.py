"""Function URL configurations in SQLite, in the region's ``lamina.sqlite3`` beside
``functions``: a row goes with its function (``ON DELETE CASCADE``).

Writes are single-row transactions, run off the event loop by the service
(``asyncio.to_thread``); every configuration is loaded once at start (``all``) and read from
memory afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lamina.services.url_model import Cors, FunctionUrlConfig
from lamina.store.migrations import Step
from lamina.store.sqlite import SqliteStore

# The ``functions`` table is ``store.functions``'s: open that store first.
# The "function_urls" schema migrations: a change is a new step at the end.
STEPS: tuple[Step, ...] = (
    """
CREATE TABLE IF NOT EXISTS function_urls (
    url_id TEXT PRIMARY KEY,
    function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    auth_type TEXT NOT NULL,
    invoke_mode TEXT NOT NULL,
    cors TEXT,
    created REAL NOT NULL,
    modified REAL NOT NULL,
    UNIQUE (function, qualifier)
);
""",
)

_COLUMNS = "url_id, function, qualifier, auth_type, invoke_mode, cors, created, modified"


class SqliteFunctionUrlStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path, "function_urls", STEPS)

    def put(self, config: FunctionUrlConfig) -> bool:
        """Insert or replace the configuration (by its id); False if the function does not
        exist (any more): nothing is stored then."""
        with self._tx() as conn:
            found = conn.execute("SELECT 1 FROM functions WHERE name=?", (config.function,))
            if found.fetchone() is None:
                return False
            conn.execute(
                f"INSERT OR REPLACE INTO function_urls({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
                (
                    config.url_id,
                    config.function,
                    config.qualifier or "",
                    config.auth_type,
                    config.invoke_mode,
                    _cors_text(config.cors),
                    config.created,
                    config.modified,
                ),
            )
        return True

    def delete(self, url_id: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM function_urls WHERE url_id=?", (url_id,))

    def all(self) -> list[FunctionUrlConfig]:
        with self._lock:
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM function_urls").fetchall()
        return [
            FunctionUrlConfig(
                url_id=str(row[0]),
                function=str(row[1]),
                qualifier=str(row[2]) or None,
                auth_type=str(row[3]),
                invoke_mode=str(row[4]),
                cors=_cors_from(row[5]),
                created=float(row[6]),
                modified=float(row[7]),
            )
            for row in rows
        ]


def _cors_text(cors: Cors | None) -> str | None:
    if cors is None:
        return None
    fields: dict[str, Any] = {
        "allow_credentials": cors.allow_credentials,
        "allow_headers": cors.allow_headers,
        "allow_methods": cors.allow_methods,
        "allow_origins": cors.allow_origins,
        "expose_headers": cors.expose_headers,
        "max_age": cors.max_age,
    }
    return json.dumps({k: v for k, v in fields.items() if v is not None})


def _cors_from(text: str | None) -> Cors | None:
    if text is None:
        return None
    data = json.loads(text)

    def strings(key: str) -> tuple[str, ...] | None:
        value = data.get(key)
        return None if value is None else tuple(str(v) for v in value)

    return Cors(
        allow_credentials=data.get("allow_credentials"),
        allow_headers=strings("allow_headers"),
        allow_methods=strings("allow_methods"),
        allow_origins=strings("allow_origins"),
        expose_headers=strings("expose_headers"),
        max_age=data.get("max_age"),
    )
