"""Numbered schema migrations (store/migrations.py) and every store's steps: fresh databases
get every step, data directories from before numbered migrations upgrade in place and keep
their rows, newer databases are refused, a failing step changes nothing."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from lamina.domain.models import FunctionConfig
from lamina.store import (
    aliases,
    apigateway_store,
    async_queue,
    code_signing_store,
    concurrency,
    event_invoke_config,
    events_store,
    function_options_store,
    function_policy_store,
    function_url_store,
    functions,
    iam_store,
    kms_store,
    layers,
    log_store,
    migrations,
    provisioned,
    scheduler_store,
    sns_tables,
    sts_store,
)
from lamina.store.aliases import SqliteAliasStore
from lamina.store.apigateway_store import SqliteApiStore
from lamina.store.async_queue import AsyncQueueStore
from lamina.store.code_signing_store import SqliteCodeSigningStore
from lamina.store.concurrency import SqliteConcurrencyStore
from lamina.store.event_invoke_config import SqliteEventInvokeConfigStore
from lamina.store.events_store import SqliteEventsStore
from lamina.store.function_options_store import SqliteFunctionOptionsStore
from lamina.store.function_url_store import SqliteFunctionUrlStore
from lamina.store.functions import SqliteFunctionStore
from lamina.store.iam_store import SqliteIamStore
from lamina.store.kms_store import SqliteKmsStore
from lamina.store.layers import SqliteLayerStore
from lamina.store.log_store import SqliteLogStore
from lamina.store.master_key import process_sealer
from lamina.store.migrations import SchemaTooNew, Step, migrate, schema_version
from lamina.store.provisioned import SqliteProvisionedStore
from lamina.store.scheduler_store import SqliteSchedulerStore
from lamina.store.sns_store import SqliteSnsStore
from lamina.store.sts_store import SqliteStsStore

Opener = Callable[[Path], Any]

# (database file, component, its steps, how the store opens it)
STORES: list[tuple[str, str, Sequence[Step], Opener]] = [
    ("lamina.sqlite3", "functions", functions.steps(process_sealer()), SqliteFunctionStore),
    ("lamina.sqlite3", "function_aliases", aliases.STEPS, SqliteAliasStore),
    ("lamina.sqlite3", "layers", layers.STEPS, SqliteLayerStore),
    ("lamina.sqlite3", "function_concurrency", concurrency.STEPS, SqliteConcurrencyStore),
    ("lamina.sqlite3", "function_provisioned", provisioned.STEPS, SqliteProvisionedStore),
    (
        "lamina.sqlite3",
        "event_invoke_configs",
        event_invoke_config.STEPS,
        SqliteEventInvokeConfigStore,
    ),
    ("logs.sqlite3", "logs", log_store.STEPS, SqliteLogStore),
    ("async.sqlite3", "async_queue", async_queue.STEPS, AsyncQueueStore),
    (
        "lamina.sqlite3",
        "function_policies",
        function_policy_store.STEPS,
        function_policy_store.SqliteFunctionPolicyStore,
    ),
    ("lamina.sqlite3", "function_urls", function_url_store.STEPS, SqliteFunctionUrlStore),
    ("lamina.sqlite3", "code_signing", code_signing_store.STEPS, SqliteCodeSigningStore),
    (
        "lamina.sqlite3",
        "function_options",
        function_options_store.STEPS,
        SqliteFunctionOptionsStore,
    ),
    ("events.sqlite3", "events", events_store.STEPS, SqliteEventsStore),
    ("sns.sqlite3", "sns", sns_tables.STEPS, SqliteSnsStore),
    ("scheduler.sqlite3", "scheduler", scheduler_store.STEPS, SqliteSchedulerStore),
    ("apigateway.sqlite3", "apigateway", apigateway_store.STEPS, SqliteApiStore),
    ("iam.sqlite3", "iam", iam_store.STEPS, SqliteIamStore),
    ("sts.sqlite3", "sts", sts_store.STEPS, SqliteStsStore),
    ("kms.sqlite3", "kms", kms_store.STEPS, SqliteKmsStore),
]

# The layout of a data directory from before numbered migrations (and before versions and
# log retention: the two columns later steps add), as those releases created it.
OLD_LAMINA = """
CREATE TABLE functions (name TEXT PRIMARY KEY, tags TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL);
CREATE TABLE function_versions (name TEXT NOT NULL REFERENCES functions(name)
    ON DELETE CASCADE, version TEXT NOT NULL, config TEXT NOT NULL, PRIMARY KEY (name, version));
CREATE TABLE function_aliases (function TEXT NOT NULL REFERENCES functions(name)
    ON DELETE CASCADE, name TEXT NOT NULL, alias TEXT NOT NULL, PRIMARY KEY (function, name));
CREATE TABLE function_concurrency (name TEXT PRIMARY KEY REFERENCES functions(name)
    ON DELETE CASCADE, reserved INTEGER NOT NULL);
CREATE TABLE layers (name TEXT PRIMARY KEY, last_version INTEGER NOT NULL);
CREATE TABLE layer_versions (name TEXT NOT NULL REFERENCES layers(name),
    version INTEGER NOT NULL, region TEXT NOT NULL, account TEXT NOT NULL,
    code_sha256 TEXT NOT NULL, code_size INTEGER NOT NULL, unzipped_size INTEGER NOT NULL,
    created_date TEXT NOT NULL, description TEXT NOT NULL, compatible_runtimes TEXT,
    compatible_architectures TEXT, license_info TEXT, policy TEXT, PRIMARY KEY (name, version));
"""
OLD_LOGS = """
CREATE TABLE log_groups (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
    creation_time INTEGER NOT NULL, stored_bytes INTEGER NOT NULL DEFAULT 0);
CREATE TABLE log_streams (id INTEGER PRIMARY KEY, group_id INTEGER NOT NULL,
    name TEXT NOT NULL, creation_time INTEGER NOT NULL, first_event_ts INTEGER,
    last_event_ts INTEGER, last_ingestion_time INTEGER, stored_bytes INTEGER NOT NULL DEFAULT 0,
    UNIQUE (group_id, name));
CREATE TABLE log_events (id INTEGER PRIMARY KEY AUTOINCREMENT, group_id INTEGER NOT NULL,
    stream_id INTEGER NOT NULL, timestamp INTEGER NOT NULL, ingestion_time INTEGER NOT NULL,
    message TEXT NOT NULL);
"""
OLD_ASYNC = """
CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
    function TEXT NOT NULL, qualifier TEXT, target TEXT, request_id TEXT NOT NULL,
    payload BLOB NOT NULL, trace_id TEXT NOT NULL, received_at REAL NOT NULL,
    due_at REAL NOT NULL, leased_until REAL, attempts INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0, retries INTEGER NOT NULL DEFAULT 0,
    claims INTEGER NOT NULL DEFAULT 0, last TEXT, meta TEXT);
CREATE TABLE retained (id INTEGER PRIMARY KEY AUTOINCREMENT, function TEXT NOT NULL,
    reason TEXT NOT NULL, target TEXT, request_id TEXT NOT NULL, body BLOB NOT NULL,
    attributes TEXT, created_at REAL NOT NULL);
"""


def latest(name: str) -> FunctionConfig:
    return FunctionConfig(
        name=name,
        region="us-east-1",
        account="000000000000",
        role="arn:aws:iam::000000000000:role/r",
        runtime="python3.12",
        handler="index.handler",
        code_sha256="ab" * 32,
        code_size=10,
        last_modified="2024-01-01T00:00:00.000+0000",
        revision_id="r1",
    )


def write_old(path: Path, script: str) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(script)
    conn.commit()
    conn.close()


def versions(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT component, version FROM lamina_schema").fetchall())
    finally:
        conn.close()


def columns(path: Path, table: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
    finally:
        conn.close()


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(tmp_path / "t.sqlite3", isolation_level=None)
    yield connection
    connection.close()


def tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


# --- migrate ------------------------------------------------------------------------------


def test_fresh_database_gets_every_step_once(conn: sqlite3.Connection) -> None:
    steps: list[Step] = ["CREATE TABLE a (x INTEGER)", "ALTER TABLE a ADD COLUMN y TEXT"]
    assert migrate(conn, "c", steps) == 2
    assert schema_version(conn, "c") == 2
    assert migrate(conn, "c", steps) == 2  # nothing left to run: no error from a second ALTER
    steps.append("INSERT INTO a (x, y) VALUES (1, 'one')")
    assert migrate(conn, "c", steps) == 3  # an upgrade runs only the new step
    assert conn.execute("SELECT x, y FROM a").fetchall() == [(1, "one")]
    assert schema_version(conn, "other") == 0  # components are counted separately


def test_failing_step_rolls_back_entirely(conn: sqlite3.Connection) -> None:
    migrate(conn, "c", ["CREATE TABLE a (x INTEGER)"])

    def half_done(c: sqlite3.Connection) -> None:
        c.execute("CREATE TABLE b (y INTEGER)")
        c.execute("INSERT INTO a VALUES (1)")
        raise ValueError("step failed")

    with pytest.raises(ValueError, match="step failed"):
        migrate(conn, "c", ["CREATE TABLE a (x INTEGER)", half_done])
    assert schema_version(conn, "c") == 1
    assert "b" not in tables(conn)
    assert conn.execute("SELECT COUNT(*) FROM a").fetchone() == (0,)
    assert not conn.in_transaction
    with pytest.raises(sqlite3.OperationalError):  # a bad statement in an SQL script
        migrate(conn, "c", ["CREATE TABLE a (x INTEGER)", "CREATE TABLE b (y); SELECT nope"])
    assert schema_version(conn, "c") == 1
    assert "b" not in tables(conn)


def test_newer_database_is_refused_untouched(conn: sqlite3.Connection) -> None:
    migrate(conn, "c", ["CREATE TABLE a (x)", "CREATE TABLE b (y)", "CREATE TABLE d (z)"])
    with pytest.raises(
        SchemaTooNew, match=r"t.sqlite3: the c schema is version 3, newer than .* \(2\)"
    ):
        migrate(conn, "c", ["CREATE TABLE a (x)", "CREATE TABLE b (y)"])
    assert schema_version(conn, "c") == 3


def test_step_another_process_ran_meanwhile_is_not_run_again(
    conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The version read before the step's transaction may be stale (another server opened
    the database at the same moment): it is read again inside it."""
    steps: list[Step] = ["CREATE TABLE a (x INTEGER)"]
    migrate(conn, "c", steps)
    steps.append("INSERT INTO a VALUES (1)")  # not idempotent
    migrate(conn, "c", steps)  # the other process
    real = migrations.schema_version
    reads = iter([1])  # this process's first read saw version 1

    def stale_then_real(c: sqlite3.Connection, component: str) -> int:
        return next(reads, None) or real(c, component)

    monkeypatch.setattr(migrations, "schema_version", stale_then_real)
    assert migrate(conn, "c", steps) == 2
    assert conn.execute("SELECT COUNT(*) FROM a").fetchone() == (1,)


# --- the stores' steps --------------------------------------------------------------------


def open_all(data: Path) -> None:
    for file, _, _, opener in STORES:
        opener(data / file).close()


def test_fresh_data_directory_gets_every_step(tmp_path: Path) -> None:
    open_all(tmp_path)
    for file, component, steps, _ in STORES:
        assert versions(tmp_path / file)[component] == len(steps), component
    open_all(tmp_path)  # opening again runs nothing and fails nothing
    assert "last_version" in columns(tmp_path / "lamina.sqlite3", "functions")
    assert "retention_days" in columns(tmp_path / "logs.sqlite3", "log_groups")


def test_old_data_directory_upgrades_in_place_and_keeps_its_rows(tmp_path: Path) -> None:
    record = latest("old").to_record()
    write_old(
        tmp_path / "lamina.sqlite3",
        OLD_LAMINA
        + "INSERT INTO functions(name, tags, created_at) VALUES ('old', '{\"k\": \"v\"}', 1);"
        + f"INSERT INTO function_versions VALUES ('old', '$LATEST', '{_sql(record)}');"
        + f"INSERT INTO function_versions VALUES ('old', '2', '{_sql(record)}');"
        + "INSERT INTO function_concurrency VALUES ('old', 5);",
    )
    write_old(
        tmp_path / "logs.sqlite3",
        OLD_LOGS
        + "INSERT INTO log_groups (id, name, creation_time) VALUES (1, '/aws/lambda/old', 1);"
        + "INSERT INTO log_streams (id, group_id, name, creation_time) VALUES (1, 1, 's', 1);"
        + "INSERT INTO log_events (group_id, stream_id, timestamp, ingestion_time, message)"
        + " VALUES (1, 1, 10, 10, 'kept');",
    )
    write_old(
        tmp_path / "async.sqlite3",
        OLD_ASYNC
        + "INSERT INTO events (kind, function, request_id, payload, trace_id, received_at,"
        + " due_at) VALUES ('invoke', 'old', 'req', x'7b7d', 't', 0, 0);",
    )

    open_all(tmp_path)
    for file, component, steps, _ in STORES:
        assert versions(tmp_path / file)[component] == len(steps), component

    store = SqliteFunctionStore(tmp_path / "lamina.sqlite3")
    reserved = SqliteConcurrencyStore(tmp_path / "lamina.sqlite3")
    logs = SqliteLogStore(tmp_path / "logs.sqlite3")
    try:
        assert store.get("old") == latest("old")
        assert store.get_tags("old") == {"k": "v"}
        assert store.next_version("old") == "3"  # the added counter starts past version 2
        assert reserved.all() == {"old": 5}
        assert [e.message for e in logs.get_log_events("/aws/lambda/old", "s").events] == ["kept"]
        logs.put_retention_policy("/aws/lambda/old", 7)  # the column step 2 added
        assert logs.describe_log_groups().items[0].retention_days == 7
    finally:
        store.close()
        reserved.close()
        logs.close()


def test_old_async_queue_keeps_its_events(tmp_path: Path) -> None:
    write_old(
        tmp_path / "async.sqlite3",
        OLD_ASYNC
        + "INSERT INTO events (kind, function, request_id, payload, trace_id, received_at,"
        + " due_at) VALUES ('invoke', 'old', 'req', x'7b7d', 't', 0, 0);",
    )
    queue = AsyncQueueStore(tmp_path / "async.sqlite3")
    try:
        (event,) = asyncio.run(queue.claim(1.0, 10, 60.0, set()))
        assert (event.function, event.request_id, event.payload) == ("old", "req", b"{}")
    finally:
        queue.close()
    assert versions(tmp_path / "async.sqlite3") == {"async_queue": len(async_queue.STEPS)}


@pytest.mark.parametrize(("file", "component", "steps", "opener"), STORES)
def test_store_refuses_a_newer_database(
    tmp_path: Path, file: str, component: str, steps: Sequence[Step], opener: Opener
) -> None:
    opener(tmp_path / file).close()
    conn = sqlite3.connect(tmp_path / file)
    conn.execute(
        "UPDATE lamina_schema SET version=? WHERE component=?", (len(steps) + 1, component)
    )
    conn.commit()
    conn.close()
    with pytest.raises(SchemaTooNew, match="upgrade Lamina or use another data directory"):
        opener(tmp_path / file)
    assert versions(tmp_path / file)[component] == len(steps) + 1


def _sql(record: dict[str, Any]) -> str:
    return json.dumps(record).replace("'", "''")


def test_clear_environment_variables_are_sealed_in_place(tmp_path: Path) -> None:
    """Variables an earlier release stored in clear are sealed by the functions store's
    migration: the database's bytes (and its write-ahead log) no longer hold them."""
    secret = "clear-text-secret-8f2c"
    record = latest("old").replace(environment={"TOKEN": secret}).to_record()
    published = latest("old").replace(version="1", environment={"TOKEN": secret}).to_record()
    write_old(
        tmp_path / "lamina.sqlite3",
        OLD_LAMINA
        + "INSERT INTO functions(name, tags, created_at) VALUES ('old', '{}', 1);"
        + f"INSERT INTO function_versions VALUES ('old', '$LATEST', '{_sql(record)}');"
        + f"INSERT INTO function_versions VALUES ('old', '1', '{_sql(published)}');",
    )
    store = SqliteFunctionStore(tmp_path / "lamina.sqlite3")
    try:
        assert store.get("old") == latest("old").replace(environment={"TOKEN": secret})
        got = store.get("old", "1")
        assert got is not None and got.environment == {"TOKEN": secret}
    finally:
        store.close()
    assert versions(tmp_path / "lamina.sqlite3")["functions"] == len(
        functions.steps(process_sealer())
    )
    for path in tmp_path.glob("lamina.sqlite3*"):
        assert secret.encode() not in path.read_bytes(), path.name
