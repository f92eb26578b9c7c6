"""Function resource-based policies in SQLite, beside ``functions`` in the region's
``lamina.sqlite3``.

One row per (function, qualifier): the unqualified function's policy has the qualifier ``""``.
A row goes with its function (``ON DELETE CASCADE``: DeleteFunction removes every policy of
the function in its own transaction); ``FunctionPolicies`` removes the rows of deleted versions
and aliases. Statements are stored rendered (JSON), with the policy's RevisionId.
"""

from __future__ import annotations

import json
from pathlib import Path

from lamina.domain.policies import ResourcePolicy
from lamina.store.migrations import Step
from lamina.store.sqlite import SqliteStore

# The ``functions`` table is ``store.functions``'s: open that store first.
# The "function_policies" schema migrations: a change is a new step at the end.
STEPS: tuple[Step, ...] = (
    """
CREATE TABLE IF NOT EXISTS function_policies (
    function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    statements TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);
""",
)

UNQUALIFIED = ""


class SqliteFunctionPolicyStore(SqliteStore):
    """Blocking: call the writes from a thread (``FunctionPolicies`` does)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "function_policies", STEPS)

    def all(self) -> dict[tuple[str, str], ResourcePolicy]:
        """Every stored policy by (function, qualifier)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT function, qualifier, revision_id, statements FROM function_policies"
            ).fetchall()
        return {
            (str(r[0]), str(r[1])): ResourcePolicy(str(r[2]), tuple(json.loads(r[3]))) for r in rows
        }

    def put(self, function: str, qualifier: str, policy: ResourcePolicy | None) -> bool:
        """Store (or, with None, remove) one policy in one transaction; False, storing
        nothing, if the function does not exist (any more)."""
        with self._tx() as conn:
            if policy is None:
                conn.execute(
                    "DELETE FROM function_policies WHERE function=? AND qualifier=?",
                    (function, qualifier),
                )
                return True
            found = conn.execute("SELECT 1 FROM functions WHERE name=?", (function,))
            if found.fetchone() is None:
                return False
            conn.execute(
                "INSERT OR REPLACE INTO function_policies(function, qualifier, revision_id,"
                " statements) VALUES (?,?,?,?)",
                (function, qualifier, policy.revision_id, json.dumps(list(policy.statements))),
            )
        return True

    def delete(self, keys: list[tuple[str, str]]) -> None:
        """Remove several policies (of deleted versions, aliases or functions)."""
        with self._tx() as conn:
            conn.executemany("DELETE FROM function_policies WHERE function=? AND qualifier=?", keys)
