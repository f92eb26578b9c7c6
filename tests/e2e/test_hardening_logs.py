"""Issue 9, item 6: logs are bounded.

A function writing hundreds of MB without a newline must neither grow the server nor slow
other functions; its output is stored as events of at most 256 KB that reassemble to what it
wrote (up to the documented drop marker), other functions lose nothing, and the final flush
at stop succeeds. Retention policies (boto3 and the AWS CLI) expire events, and a size cap
on logs.sqlite3 deletes the oldest events first.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import LaminaServer, create_python_function

MAX_MESSAGE = 262_144 - 26  # CloudWatch: 256 KB per event, 26 bytes of it overhead
FLOOD_MB = 200
BLOCK = 1024  # the flood is numbered blocks: "%08d" + dots, 1 KiB each
DAY_MS = 86_400_000
AWS = Path(sys.executable).with_name("aws")
MARKER = re.compile(
    r"\[lamina\] (\d+) log events \((\d+) bytes\) of this environment were dropped:"
    r" it wrote logs faster than they could be stored"
)
PLATFORM_LINE = re.compile(r"(END|REPORT) RequestId: |\d{4}-\d\d-\d\dT")
RETENTION_ENUM = (
    "Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, "
    "400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]"
)

FLOOD = f"""
import os

BLOCK = {BLOCK}

def handler(event, context):
    mb = event["mb"]
    for chunk_index in range(mb):
        first = chunk_index * 1024
        chunk = "".join("%08d" % (first + i) + "." * (BLOCK - 8) for i in range(1024)).encode()
        view = memoryview(chunk)
        while view:
            view = view[os.write(1, view):]
    return {{"wrote": mb}}
"""

QUIET = """
def handler(event, context):
    print("quiet", event["n"])
    return event["n"]
"""


def expected_flood(offset: int, size: int) -> bytes:
    """Bytes ``offset .. offset + size`` of what FLOOD writes."""
    first, last = offset // BLOCK, (offset + size) // BLOCK + 1
    blocks = "".join(f"{i:08d}" + "." * (BLOCK - 8) for i in range(first, last)).encode()
    start = offset - first * BLOCK
    return blocks[start : start + size]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def stream_events(db: Path, group: str) -> dict[str, list[str]]:
    """Every event of a group, by stream, in stored order (read from the file itself)."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT s.name, e.message FROM log_events e JOIN log_streams s ON s.id = e.stream_id"
            " JOIN log_groups g ON g.id = e.group_id WHERE g.name = ?"
            " ORDER BY e.timestamp, e.id",
            (group,),
        ).fetchall()
    finally:
        conn.close()
    streams: dict[str, list[str]] = {}
    for name, message in rows:
        # A function's lines are stored with AWS's "\n" (runtime/log_lines.py NewlineTerminated).
        streams.setdefault(name, []).append(message.removesuffix("\n"))
    return streams


def test_a_flood_without_newline_is_bounded_and_spares_other_functions(
    own_server: Callable[..., LaminaServer],
) -> None:
    srv = own_server()
    lam = srv.client()
    flood = create_python_function(lam, FLOOD, MemorySize=256, Timeout=300)
    quiet = create_python_function(lam, QUIET)
    lam.invoke(FunctionName=flood, Payload=b'{"mb": 0}')  # both environments warm
    lam.invoke(FunctionName=quiet, Payload=b'{"n": -1}')
    assert srv.process is not None
    pid = srv.process.pid
    baseline = rss_bytes(pid)
    peak = [baseline]
    done = threading.Event()
    result: dict[str, Any] = {}

    def sample_rss() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_bytes(pid))
            time.sleep(0.02)

    def run_flood() -> None:
        client = srv.client()
        started = time.monotonic()
        result["response"] = client.invoke(
            FunctionName=flood, Payload=f'{{"mb": {FLOOD_MB}}}'.encode(), LogType="Tail"
        )
        result["seconds"] = time.monotonic() - started
        done.set()

    sampler = threading.Thread(target=sample_rss)
    flooder = threading.Thread(target=run_flood)
    sampler.start()
    flooder.start()
    latencies: list[float] = []
    quiet_ids: list[str] = []
    n = 0
    while not done.is_set():
        started = time.monotonic()
        response = lam.invoke(FunctionName=quiet, Payload=f'{{"n": {n}}}'.encode())
        latencies.append(time.monotonic() - started)
        assert response["Payload"].read() == str(n).encode()
        quiet_ids.append(response["ResponseMetadata"]["RequestId"])
        n += 1
        time.sleep(0.02)
    flooder.join()
    sampler.join()

    # The server stops at once: its final flush must store everything still buffered.
    assert srv.stop() == 0
    server_log = srv.log_path.read_text() if srv.log_path else ""
    assert "could not store" not in server_log and "Traceback" not in server_log

    response = result["response"]
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    tail = base64.b64decode(response["LogResult"]).decode()
    assert len(tail.encode()) <= 4096 and "REPORT RequestId: " in tail
    growth = peak[0] - baseline
    print(
        f"\nflood {FLOOD_MB} MB in {result['seconds']:.1f} s; server RSS +{growth >> 20} MB; "
        f"quiet invokes meanwhile: {len(latencies)}, p50 "
        f"{statistics.median(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
    )
    assert growth < 50 << 20, f"the server grew by {growth >> 20} MB"
    assert len(latencies) >= 5
    assert statistics.median(latencies) < 0.1 and max(latencies) < 1.0, latencies

    db = srv.data_dir / "logs.sqlite3"
    flood_request = response["ResponseMetadata"]["RequestId"]
    (messages,) = [
        m
        for m in stream_events(db, f"/aws/lambda/{flood}").values()
        if f"START RequestId: {flood_request} Version: $LATEST" in m
    ]
    start = messages.index(f"START RequestId: {flood_request} Version: $LATEST")
    end = messages.index(f"END RequestId: {flood_request}")
    assert messages[end + 1].startswith(f"REPORT RequestId: {flood_request}\t")
    offset = dropped = 0
    for message in messages[start + 1 : end]:
        data = message.encode()
        assert len(data) <= MAX_MESSAGE
        marker = MARKER.fullmatch(message)
        if marker is not None:  # the documented drop marker: skip what it counts
            offset += int(marker.group(2))
            dropped += int(marker.group(2))
            continue
        assert data == expected_flood(offset, len(data)), f"at byte {offset}"
        offset += len(data)
    assert offset == FLOOD_MB << 20  # every byte is either stored or counted as dropped
    print(f"stored {(offset - dropped) >> 20} MB of {FLOOD_MB} MB, dropped {dropped >> 20} MB")

    quiet_streams = stream_events(db, f"/aws/lambda/{quiet}")
    quiet_lines = [m for stream in quiet_streams.values() for m in stream]
    for i, request_id in enumerate(quiet_ids):
        assert f"START RequestId: {request_id} Version: $LATEST" in quiet_lines
        assert f"END RequestId: {request_id}" in quiet_lines
        assert any(m.startswith(f"REPORT RequestId: {request_id}\t") for m in quiet_lines)
        assert f"quiet {i}" in quiet_lines
    assert not any(MARKER.fullmatch(m) for m in quiet_lines)

    # The API serves the same events after a restart.
    again = own_server(data=srv.data_dir)
    logs = again.client("logs")
    page = logs.filter_log_events(
        logGroupName=f"/aws/lambda/{flood}", filterPattern=f'"REPORT RequestId: {flood_request}"'
    )
    while not page["events"] and page.get("nextToken"):
        page = logs.filter_log_events(
            logGroupName=f"/aws/lambda/{flood}",
            filterPattern=f'"REPORT RequestId: {flood_request}"',
            nextToken=page["nextToken"],
        )
    assert len(page["events"]) == 1

    # Stopped in the middle of a flood: the last events are flushed, none is too big.
    def interrupted_flood() -> None:
        with contextlib.suppress(Exception):  # the server goes away during the call
            again.client().invoke(FunctionName=flood, Payload=b'{"mb": 1024}')

    caller = threading.Thread(target=interrupted_flood)
    caller.start()
    time.sleep(2)
    assert again.stop() == 0
    caller.join()
    server_log = again.log_path.read_text() if again.log_path else ""
    assert "could not store" not in server_log and "Traceback" not in server_log
    (last,) = [
        m[m.index(start_line) + 1 :]
        for m in stream_events(db, f"/aws/lambda/{flood}").values()
        for start_line in [line for line in m if line.startswith("START ")][-1:]
        if flood_request not in start_line
    ]
    offset = 0
    for message in last:
        data = message.encode()
        assert len(data) <= MAX_MESSAGE
        if PLATFORM_LINE.match(message) or MARKER.fullmatch(message):
            break  # the end of what it wrote before it was stopped
        assert data == expected_flood(offset, len(data)), f"at byte {offset}"
        offset += len(data)
    assert offset > 1 << 20  # it was stopped mid-flood, after more than a MB
    db.unlink()  # hundreds of MB that no later test needs


def aws_logs(server: LaminaServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_PAGER": "",
    }
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        env.pop(key, None)
    return subprocess.run(
        [str(AWS), "logs", *args, "--endpoint-url", server.endpoint, "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def error_of(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def retention_of(logs: Any, group: str) -> int | None:
    (found,) = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    value: int | None = found.get("retentionInDays")
    return value


def test_retention_policies_expire_events(own_server: Callable[..., LaminaServer]) -> None:
    srv = own_server()
    lam, logs = srv.client(), srv.client("logs")
    function = create_python_function(lam, QUIET)
    group = f"/aws/lambda/{function}"
    for n in range(3):
        lam.invoke(FunctionName=function, Payload=f'{{"n": {n}}}'.encode())
    assert retention_of(logs, group) is None  # as on AWS: never expire by default

    logs.put_retention_policy(logGroupName=group, retentionInDays=14)
    assert retention_of(logs, group) == 14
    assert error_of(lambda: logs.put_retention_policy(logGroupName=group, retentionInDays=2)) == (
        "InvalidParameterException",
        "1 validation error detected: Value '2' at 'retentionInDays' failed to satisfy "
        f"constraint: {RETENTION_ENUM}",
    )
    missing = ("ResourceNotFoundException", "The specified log group does not exist.")
    assert error_of(lambda: logs.put_retention_policy(logGroupName="/nope", retentionInDays=1)) == (
        missing
    )
    assert error_of(lambda: logs.delete_retention_policy(logGroupName="/nope")) == missing
    logs.delete_retention_policy(logGroupName=group)
    assert retention_of(logs, group) is None

    if AWS.exists():  # the AWS CLI, as users type it
        ok = aws_logs(
            srv, "put-retention-policy", "--log-group-name", group, "--retention-in-days", "30"
        )
        assert ok.returncode == 0, ok.stderr
        assert retention_of(logs, group) == 30
        bad = aws_logs(
            srv, "put-retention-policy", "--log-group-name", group, "--retention-in-days", "10"
        )
        assert bad.returncode != 0
        assert (
            "An error occurred (InvalidParameterException) when calling the PutRetentionPolicy "
            "operation: 1 validation error detected: Value '10' at 'retentionInDays' failed to "
            f"satisfy constraint: {RETENTION_ENUM}"
        ) in bad.stderr
        gone = aws_logs(srv, "delete-retention-policy", "--log-group-name", "/nope")
        assert "(ResourceNotFoundException)" in gone.stderr
        assert aws_logs(srv, "delete-retention-policy", "--log-group-name", group).returncode == 0
        assert retention_of(logs, group) is None

    # Age the first invocation's events by three days (the file is the fault injected here),
    # then a one-day retention deletes them, and only them, in the background.
    assert srv.stop() == 0
    db = srv.data_dir / "logs.sqlite3"
    conn = sqlite3.connect(db)
    with conn:
        first_stream_events = conn.execute("SELECT min(id) FROM log_events").fetchone()[0]
        aged = conn.execute(
            "UPDATE log_events SET timestamp = timestamp - ? WHERE id < ? + 4",
            (3 * DAY_MS, first_stream_events),
        ).rowcount
    conn.close()
    assert aged == 4
    srv = own_server("--log-retention-days", "7", data=srv.data_dir)
    lam, logs = srv.client(), srv.client("logs")
    before = logs.filter_log_events(logGroupName=group)["events"]
    logs.put_retention_policy(logGroupName=group, retentionInDays=1)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        after = logs.filter_log_events(logGroupName=group)["events"]
        if len(after) < len(before):
            break
        time.sleep(0.1)
    assert len(after) == len(before) - 4
    assert all(e["timestamp"] > time.time() * 1000 - DAY_MS for e in after)
    assert [e["message"] for e in before[4:]] == [e["message"] for e in after]
    stored = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["storedBytes"]
    assert stored == sum(len(e["message"].encode()) + 26 for e in after)

    # --log-retention-days applies to the groups Lamina creates from now on.
    other = create_python_function(lam, QUIET)
    lam.invoke(FunctionName=other, Payload=b'{"n": 0}')
    assert retention_of(logs, f"/aws/lambda/{other}") == 7
    assert retention_of(logs, group) == 1


CHATTY = """
def handler(event, context):
    for k in range(4):
        print("inv%04d-line%d " % (event["n"], k) + "x" * 250_000)
    return event["n"]
"""


def test_storage_cap_deletes_the_oldest_events_first(
    own_server: Callable[..., LaminaServer],
) -> None:
    srv = own_server("--log-storage-mb", "2")
    lam, logs = srv.client(), srv.client("logs")
    function = create_python_function(lam, CHATTY)
    group = f"/aws/lambda/{function}"
    for n in range(12):  # about 12 MB of logs, six times the cap
        lam.invoke(FunctionName=function, Payload=f'{{"n": {n}}}'.encode())
    db = srv.data_dir / "logs.sqlite3"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        stored = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["storedBytes"]
        if stored <= 2 << 20:
            break
        time.sleep(0.2)
    assert stored <= 2 << 20
    lines: list[str] = []
    kwargs: dict[str, Any] = {"logGroupName": group}
    while True:
        page = logs.filter_log_events(**kwargs)
        lines += [e["message"][:13] for e in page["events"] if e["message"].startswith("inv")]
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]
    assert lines, "the newest events are kept"
    kept = len(lines)
    newest = [f"inv{n:04d}-line{k}" for n in range(12) for k in range(4)][-kept:]
    assert lines == newest  # what is left is the newest, in order: the oldest went first
    assert kept < 12  # most is gone
    size = db.stat().st_size
    wal = db.with_name(db.name + "-wal")
    print(f"\nlogs.sqlite3 {size} bytes (+ WAL {wal.stat().st_size if wal.exists() else 0})")
    assert size <= (2 << 20) + (256 << 10)  # freed pages went back to the file system
