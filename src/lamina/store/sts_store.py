"""STS session credentials in SQLite (``sts.sqlite3``, global: one account's sessions are
valid in every region, as on AWS). Every session is loaded once at start (``all``) and read
from memory afterwards (``services.sts.sessions``); writes are single-row transactions run
off the event loop. Sessions expired more than a day ago are dropped at start."""

from __future__ import annotations

from pathlib import Path

from lamina.domain.identity import Principal, SigningKey
from lamina.store.migrations import Step
from lamina.store.sqlite import SqliteStore

# The "sts" schema migrations: a change is a new step at the end.
STEPS: tuple[Step, ...] = (
    """
CREATE TABLE IF NOT EXISTS sts_sessions (
    access_key_id TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    session_token TEXT NOT NULL,
    expires_at REAL NOT NULL,
    arn TEXT NOT NULL,
    account_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    unique_id TEXT NOT NULL,
    role_arn TEXT,
    user_name TEXT,
    session_name TEXT
);
CREATE INDEX IF NOT EXISTS sts_sessions_expiry ON sts_sessions(expires_at);
""",
)

_COLUMNS = (
    "access_key_id, secret, session_token, expires_at, arn, account_id, kind, unique_id, "
    "role_arn, user_name, session_name"
)
# How long an expired session is still known (answering ExpiredToken) before it is dropped.
EXPIRED_KEPT_SECONDS = 86400.0


class SqliteStsStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path, "sts", STEPS)

    def put(self, key: SigningKey) -> None:
        principal = key.principal
        with self._tx() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO sts_sessions({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    key.access_key_id,
                    key.secret_access_key,
                    key.session_token or "",
                    key.expires_at or 0.0,
                    principal.arn,
                    principal.account_id,
                    principal.kind,
                    principal.unique_id,
                    principal.role_arn,
                    principal.user_name,
                    principal.session_name,
                ),
            )

    def drop_expired(self, before: float) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM sts_sessions WHERE expires_at < ?", (before,))

    def all(self) -> list[SigningKey]:
        with self._lock:
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM sts_sessions").fetchall()
        keys = []
        for row in rows:
            principal = Principal(
                str(row[4]),
                str(row[5]),
                row[6],
                str(row[7]),
                role_arn=row[8],
                user_name=row[9],
                session_name=row[10],
            )
            keys.append(SigningKey(str(row[0]), str(row[1]), principal, str(row[2]), float(row[3])))
        return keys
