"""KMS keys and aliases in SQLite (``kms.sqlite3``: one database for every region, rows keyed
by region and account). A key's material is stored sealed under the master key
(``domain.sealing``): the database alone opens no ciphertext."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lamina.domain.sealing import Sealer
from lamina.services.kms.keys import KmsAlias, KmsKey
from lamina.store.master_key import SEALING_TABLE, claim_sealing_key, process_sealer
from lamina.store.migrations import Step
from lamina.store.sqlite import SqliteStore

# The "kms" schema migrations: a change is a new step at the end.
STEPS: tuple[Step, ...] = (
    """
CREATE TABLE IF NOT EXISTS kms_keys (
    region TEXT NOT NULL,
    account TEXT NOT NULL,
    key_id TEXT NOT NULL,
    description TEXT NOT NULL,
    created REAL NOT NULL,
    state TEXT NOT NULL,
    deletion_date REAL,
    pending_window_days INTEGER,
    material TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (region, account, key_id)
);
CREATE TABLE IF NOT EXISTS kms_aliases (
    region TEXT NOT NULL,
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    key_id TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (region, account, name)
);
CREATE INDEX IF NOT EXISTS kms_keys_deletion ON kms_keys(deletion_date)
    WHERE deletion_date IS NOT NULL;
""",
    SEALING_TABLE,
)

_KEY_COLUMNS = (
    "region, account, key_id, description, created, state, deletion_date, pending_window_days"
)


def _key(row: Any) -> KmsKey:
    region, account, key_id, description, created, state, deletion, window = row
    return KmsKey(
        region=str(region),
        account=str(account),
        key_id=str(key_id),
        description=str(description),
        created=float(created),
        state=str(state),
        deletion_date=None if deletion is None else float(deletion),
        pending_window_days=None if window is None else int(window),
    )


def _alias(row: Any) -> KmsAlias:
    region, account, name, key_id, created, updated = row
    return KmsAlias(
        str(region),
        str(account),
        str(name),
        str(key_id),
        float(created),
        float(updated),
    )


class SqliteKmsStore(SqliteStore):
    def __init__(self, path: Path, sealer: Sealer | None = None) -> None:
        """``sealer``: the server's master key; without one, a key that lives as long as
        the process (tests)."""
        self.sealer = sealer or process_sealer()
        super().__init__(path, "kms", STEPS)
        try:
            with self._tx() as conn:
                claim_sealing_key(conn, self.sealer)  # a wrong key is refused at start
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _material_context(key: KmsKey) -> str:
        return f"lamina kms key material\x00{key.arn}"

    # --- keys -------------------------------------------------------------------------------

    def add_key(self, key: KmsKey, material: bytes, tags: list[dict[str, str]]) -> None:
        sealed = self.sealer.seal_text(material.hex(), self._material_context(key))
        with self._tx() as conn:
            conn.execute(
                f"INSERT INTO kms_keys({_KEY_COLUMNS}, material, tags)"
                " VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    key.region,
                    key.account,
                    key.key_id,
                    key.description,
                    key.created,
                    key.state,
                    key.deletion_date,
                    key.pending_window_days,
                    sealed,
                    json.dumps(tags),
                ),
            )

    def key(self, region: str, account: str, key_id: str) -> KmsKey | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_KEY_COLUMNS} FROM kms_keys WHERE region=? AND account=? AND key_id=?",
                (region, account, key_id),
            ).fetchone()
        return _key(row) if row else None

    def material(self, key: KmsKey) -> bytes:
        """The key's material, opened (KeyError if the key is gone)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT material FROM kms_keys WHERE region=? AND account=? AND key_id=?",
                (key.region, key.account, key.key_id),
            ).fetchone()
        if row is None:
            raise KeyError(key.key_id)
        return bytes.fromhex(self.sealer.open_text(row[0], self._material_context(key)))

    def keys(self, region: str, account: str, after: str | None, limit: int) -> list[KmsKey]:
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_KEY_COLUMNS} FROM kms_keys WHERE region=? AND account=?"
                " AND key_id>? ORDER BY key_id LIMIT ?",
                (region, account, after or "", limit),
            ).fetchall()
        return [_key(row) for row in rows]

    def update_key(self, key: KmsKey) -> None:
        """Store the key's state (and deletion schedule)."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE kms_keys SET state=?, deletion_date=?, pending_window_days=?"
                " WHERE region=? AND account=? AND key_id=?",
                (
                    key.state,
                    key.deletion_date,
                    key.pending_window_days,
                    key.region,
                    key.account,
                    key.key_id,
                ),
            )

    def delete_expired(self, now: float) -> int:
        """Delete the keys whose scheduled deletion date has come, and their aliases (a read
        only, through the partial index, when none is due)."""
        with self._lock:
            due = self._conn.execute(
                "SELECT region, account, key_id FROM kms_keys WHERE deletion_date<=?", (now,)
            ).fetchall()
        if not due:
            return 0
        deleted = 0
        with self._tx() as conn:
            for region, account, key_id in due:
                cur = conn.execute(  # still due: a cancellation meanwhile keeps the key
                    "DELETE FROM kms_keys WHERE region=? AND account=? AND key_id=?"
                    " AND deletion_date<=?",
                    (region, account, key_id, now),
                )
                if cur.rowcount:
                    deleted += 1
                    conn.execute(
                        "DELETE FROM kms_aliases WHERE region=? AND account=? AND key_id=?",
                        (region, account, key_id),
                    )
        return deleted

    # --- aliases ----------------------------------------------------------------------------

    def add_alias(self, alias: KmsAlias) -> bool:
        """False if the name is taken."""
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO kms_aliases(region, account, name, key_id, created,"
                " updated) VALUES (?,?,?,?,?,?)",
                (
                    alias.region,
                    alias.account,
                    alias.name,
                    alias.key_id,
                    alias.created,
                    alias.updated,
                ),
            )
            return cur.rowcount > 0

    def alias(self, region: str, account: str, name: str) -> KmsAlias | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT region, account, name, key_id, created, updated FROM kms_aliases"
                " WHERE region=? AND account=? AND name=?",
                (region, account, name),
            ).fetchone()
        return _alias(row) if row else None

    def aliases(
        self, region: str, account: str, key_id: str | None, after: str | None, limit: int
    ) -> list[KmsAlias]:
        sql = (
            "SELECT region, account, name, key_id, created, updated FROM kms_aliases"
            " WHERE region=? AND account=? AND name>?"
        )
        args: list[object] = [region, account, after or ""]
        if key_id is not None:
            sql += " AND key_id=?"
            args.append(key_id)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY name LIMIT ?", (*args, limit)).fetchall()
        return [_alias(row) for row in rows]

    def delete_alias(self, region: str, account: str, name: str) -> bool:
        with self._tx() as conn:
            cur = conn.execute(
                "DELETE FROM kms_aliases WHERE region=? AND account=? AND name=?",
                (region, account, name),
            )
            return cur.rowcount > 0
