"""Layers and their versions in SQLite (the same ``lamina.sqlite3`` as functions, on a
connection of its own).

``layers`` keeps, per name, the last version number handed out, so numbers are never reused
even after every version of a layer is deleted. ``layer_versions`` holds one row per live
version, its resource policy included (JSON, with the policy's RevisionId). Packages themselves
are in the code store, by sha256.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from lamina.domain.layers import LayerPolicy, LayerVersion
from lamina.store.migrations import Step
from lamina.store.ports import LayerStore, PolicyChange
from lamina.store.sqlite import SqliteStore

# The "layers" schema migrations: a change is a new step at the end.
STEPS: tuple[Step, ...] = (
    # 1: the schema from before numbered migrations (IF NOT EXISTS: old data keeps it).
    """
CREATE TABLE IF NOT EXISTS layers (
    name TEXT PRIMARY KEY,
    last_version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS layer_versions (
    name TEXT NOT NULL REFERENCES layers(name),
    version INTEGER NOT NULL,
    region TEXT NOT NULL,
    account TEXT NOT NULL,
    code_sha256 TEXT NOT NULL,
    code_size INTEGER NOT NULL,
    unzipped_size INTEGER NOT NULL,
    created_date TEXT NOT NULL,
    description TEXT NOT NULL,
    compatible_runtimes TEXT,
    compatible_architectures TEXT,
    license_info TEXT,
    policy TEXT,
    PRIMARY KEY (name, version)
);
""",
)

_COLUMNS = (
    "name, version, region, account, code_sha256, code_size, unzipped_size, created_date,"
    " description, compatible_runtimes, compatible_architectures, license_info"
)


def _list(value: tuple[str, ...] | None) -> str | None:
    return None if value is None else json.dumps(list(value))


def _tuple(value: str | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(json.loads(value))


def _version(row: tuple[Any, ...]) -> LayerVersion:
    return LayerVersion(
        name=row[0],
        version=int(row[1]),
        region=row[2],
        account=row[3],
        code_sha256=row[4],
        code_size=int(row[5]),
        unzipped_size=int(row[6]),
        created_date=row[7],
        description=row[8],
        compatible_runtimes=_tuple(row[9]),
        compatible_architectures=_tuple(row[10]),
        license_info=row[11],
    )


def _policy(text: str | None) -> LayerPolicy | None:
    if text is None:
        return None
    data = json.loads(text)
    return LayerPolicy(data["revision_id"], tuple(data["statements"]))


class SqliteLayerStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path, "layers", STEPS)

    def publish(self, draft: LayerVersion) -> LayerVersion:
        """Store ``draft`` as the layer's next version (its ``version`` is ignored)."""
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO layers(name, last_version) VALUES (?, 1)"
                " ON CONFLICT(name) DO UPDATE SET last_version = last_version + 1",
                (draft.name,),
            )
            (number,) = conn.execute(
                "SELECT last_version FROM layers WHERE name=?", (draft.name,)
            ).fetchone()
            version = dataclasses.replace(draft, version=int(number))
            conn.execute(
                f"INSERT INTO layer_versions({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    version.name,
                    version.version,
                    version.region,
                    version.account,
                    version.code_sha256,
                    version.code_size,
                    version.unzipped_size,
                    version.created_date,
                    version.description,
                    _list(version.compatible_runtimes),
                    _list(version.compatible_architectures),
                    version.license_info,
                ),
            )
        return version

    def get(self, name: str, version: int) -> LayerVersion | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM layer_versions WHERE name=? AND version=?",
                (name, version),
            ).fetchone()
        return _version(row) if row else None

    def versions(self, name: str) -> list[LayerVersion]:
        """A layer's live versions, newest first."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM layer_versions WHERE name=? ORDER BY version DESC",
                (name,),
            ).fetchall()
        return [_version(r) for r in rows]

    def all_versions(self, after_name: str = "") -> list[LayerVersion]:
        """Every live version of the layers named after ``after_name``: by name, then newest
        first."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM layer_versions WHERE name>? ORDER BY name, version DESC",
                (after_name,),
            ).fetchall()
        return [_version(r) for r in rows]

    def delete(self, name: str, version: int) -> LayerVersion | None:
        """Delete a version (its policy with it); the deleted version, or None."""
        with self._tx() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM layer_versions WHERE name=? AND version=?",
                (name, version),
            ).fetchone()
            if row is None:
                return None
            conn.execute("DELETE FROM layer_versions WHERE name=? AND version=?", (name, version))
        return _version(row)

    def get_policy(self, name: str, version: int) -> LayerPolicy | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT policy FROM layer_versions WHERE name=? AND version=?", (name, version)
            ).fetchone()
        return _policy(row[0]) if row else None

    def change_policy(self, name: str, version: int, change: PolicyChange) -> LayerPolicy | None:
        """Replace a version's policy with ``change(current)`` in one transaction; an exception
        from ``change`` leaves it as it was. ``None`` removes the policy."""
        with self._tx() as conn:
            row = conn.execute(
                "SELECT policy FROM layer_versions WHERE name=? AND version=?", (name, version)
            ).fetchone()
            if row is None:
                raise LookupError(f"no layer version {name}:{version}")
            updated = change(_policy(row[0]))
            text = None
            if updated is not None:
                text = json.dumps(
                    {"revision_id": updated.revision_id, "statements": list(updated.statements)}
                )
            conn.execute(
                "UPDATE layer_versions SET policy=? WHERE name=? AND version=?",
                (text, name, version),
            )
        return updated

    def referenced_code(self) -> set[str]:
        """The packages of every live layer version."""
        with self._lock:
            rows = self._conn.execute("SELECT DISTINCT code_sha256 FROM layer_versions").fetchall()
        return {r[0] for r in rows}

    def total_code_size(self) -> int:
        with self._lock:
            (total,) = self._conn.execute(
                "SELECT COALESCE(SUM(code_size), 0) FROM layer_versions"
            ).fetchone()
        return int(total)


# mypy proves the class implements its port.
_PORT: type[LayerStore] = SqliteLayerStore
