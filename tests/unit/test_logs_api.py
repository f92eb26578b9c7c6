"""The CloudWatch Logs API: through the edge's JSON codec directly, then real clients
(boto3, the AWS CLI, ``lamina logs``) against a uvicorn server in a thread."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import uvicorn
from botocore.config import Config
from botocore.exceptions import ClientError

from lamina.api.app import EdgeApp
from lamina.api.endpoints import JsonService, RestJsonService, ServiceDirectory
from lamina.api.logs_api import internal_error, logs_codec, logs_handlers
from lamina.api.model import lambda_model
from lamina.cli import logs_cmd
from lamina.services.logs import LogService
from lamina.store.log_store import SqliteLogStore

G = "/aws/lambda/fn"
S1 = "2024/01/01/[$LATEST]" + "a" * 32
S2 = "2024/01/01/[1]" + "b" * 32
NOW = int(time.time() * 1000)


# --- the edge with the Logs service only ------------------------------------------------


def logs_edge(logs: LogService) -> EdgeApp:
    services = ServiceDirectory(RestJsonService("lambda", "lambda", lambda_model(), {}))
    services.add_json(
        JsonService(
            "logs",
            "logs",
            logs_codec(),
            logs_handlers(logs),
            internal_error=internal_error,
        )
    )
    return EdgeApp(services, account_id="123456789012")


async def handle_logs_request(
    target: str, body: bytes, logs: LogService
) -> tuple[int, dict[str, str], bytes]:
    """One request through the edge: ``(status, headers, body)``."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": [(b"x-amz-target", target.encode()), (b"host", b"localhost")],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await logs_edge(logs)(scope, receive, send)
    headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], headers, sent[1]["body"]


def call(
    service: LogService, operation: str, body: dict[str, Any] | bytes
) -> tuple[int, dict[str, Any]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, headers, payload = asyncio.run(
        handle_logs_request(f"Logs_20140328.{operation}", raw, service)
    )
    assert headers["content-type"] == "application/x-amz-json-1.1"
    assert headers["x-amzn-requestid"]
    return status, json.loads(payload)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[LogService]:
    svc = LogService(SqliteLogStore(tmp_path / "logs.sqlite3"), account="123456789012")
    for i, line in enumerate(
        ["START RequestId: r1 Version: $LATEST", "hello", "END RequestId: r1"]
    ):
        svc.append(G, S1, NOW + i, line)
    svc.append(G, S2, NOW + 1, "[ERROR] boom")
    yield svc
    asyncio.run(svc.stop())


def test_describe_and_events_shapes(service: LogService) -> None:
    status, body = call(service, "DescribeLogGroups", {})
    assert status == 200
    (group,) = body["logGroups"]
    assert group["logGroupName"] == G
    assert group["arn"] == f"arn:aws:logs:us-east-1:123456789012:log-group:{G}:*"
    assert group["logGroupArn"] == group["arn"][:-2]
    assert isinstance(group["creationTime"], int) and "nextToken" not in body

    status, body = call(service, "DescribeLogStreams", {"logGroupName": G})
    assert [s["logStreamName"] for s in body["logStreams"]] == [S1, S2]
    assert body["logStreams"][0]["firstEventTimestamp"] == NOW
    assert body["logStreams"][0]["lastEventTimestamp"] == NOW + 2

    _, body = call(
        service, "GetLogEvents", {"logGroupName": G, "logStreamName": S1, "startFromHead": True}
    )
    assert [e["message"] for e in body["events"]][1] == "hello"
    assert set(body["events"][0]) == {"timestamp", "message", "ingestionTime"}
    assert body["nextForwardToken"].startswith("f/")
    assert body["nextBackwardToken"].startswith("b/")

    _, body = call(
        service, "FilterLogEvents", {"logGroupName": G, "filterPattern": "?ERROR ?hello"}
    )
    assert [(e["logStreamName"], e["message"]) for e in body["events"]] == [
        (S1, "hello"),
        (S2, "[ERROR] boom"),
    ]
    assert set(body["events"][0]) == {
        "logStreamName",
        "timestamp",
        "message",
        "ingestionTime",
        "eventId",
    }


def test_log_group_identifier_arn(service: LogService) -> None:
    arn = f"arn:aws:logs:us-east-1:123456789012:log-group:{G}:*"
    status, body = call(service, "FilterLogEvents", {"logGroupIdentifier": arn})
    assert status == 200 and len(body["events"]) == 4
    status, body = call(service, "FilterLogEvents", {"logGroupIdentifier": arn, "logGroupName": G})
    assert status == 400 and body["__type"] == "InvalidParameterException"


@pytest.mark.parametrize(
    ("operation", "body", "error"),
    [
        ("DescribeLogStreams", {"logGroupName": "/nope"}, "ResourceNotFoundException"),
        ("FilterLogEvents", {"logGroupName": "/nope"}, "ResourceNotFoundException"),
        ("DeleteLogGroup", {"logGroupName": "/nope"}, "ResourceNotFoundException"),
        ("GetLogEvents", {"logGroupName": G, "logStreamName": "x"}, "ResourceNotFoundException"),
        ("GetLogEvents", {"logGroupName": G}, "InvalidParameterException"),
        ("CreateLogGroup", {"logGroupName": G}, "ResourceAlreadyExistsException"),
        ("CreateLogGroup", {"logGroupName": "bad name"}, "InvalidParameterException"),
        ("CreateLogGroup", {}, "InvalidParameterException"),
        ("DescribeLogGroups", {"limit": 0}, "InvalidParameterException"),
        ("DescribeLogGroups", {"limit": 51}, "InvalidParameterException"),
        ("DescribeLogGroups", {"limit": "5"}, "SerializationException"),
        ("DescribeLogGroups", {"nextToken": "bogus"}, "InvalidParameterException"),
        ("DescribeLogStreams", {"logGroupName": G, "orderBy": "X"}, "InvalidParameterException"),
        ("FilterLogEvents", {"logGroupName": G, "filterPattern": "{"}, "InvalidParameterException"),
        ("FilterLogEvents", {"logGroupName": G, "logStreamNames": []}, "InvalidParameterException"),
        ("FilterLogEvents", {}, "InvalidParameterException"),
        ("PutLogEvents", {}, "UnknownOperationException"),
        ("DescribeLogGroups", b"{not json", "SerializationException"),
        ("DescribeLogGroups", b"[]", "SerializationException"),
    ],
)
def test_errors(
    service: LogService, operation: str, body: dict[str, Any] | bytes, error: str
) -> None:
    status, payload = call(service, operation, body)
    assert status == 400
    # AWS's request framework names its own errors with its namespace (clients drop it).
    assert payload["__type"].rpartition("#")[2] == error
    assert isinstance(payload["message"], str) and payload["message"]


def test_error_messages(service: LogService) -> None:
    _, body = call(service, "DescribeLogStreams", {"logGroupName": "/nope"})
    assert body == {
        "__type": "ResourceNotFoundException",
        "message": "The specified log group does not exist.",
    }
    status, headers, _ = asyncio.run(handle_logs_request("Bogus.Op", b"{}", service))
    assert status == 400 and headers["x-amzn-errortype"] == "UnknownOperationException"


def test_unexpected_error_is_a_clean_500(
    service: LogService, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(service, "describe_log_groups", explode)
    status, body = call(service, "DescribeLogGroups", {})
    assert status == 500
    assert body == {
        "__type": "ServiceUnavailableException",
        "message": "An internal error occurred.",
    }


def test_create_then_delete(service: LogService) -> None:
    assert call(service, "CreateLogGroup", {"logGroupName": "/mine"}) == (200, {})
    assert call(service, "DeleteLogGroup", {"logGroupName": G}) == (200, {})
    _, body = call(service, "DescribeLogGroups", {})
    assert [g["logGroupName"] for g in body["logGroups"]] == ["/mine"]


# --- a real server ------------------------------------------------------------------------


class LogsApp:
    """A minimal ASGI app: POST / goes to handle_logs_request."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.loop: asyncio.AbstractEventLoop | None = None
        self.logs: LogService | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        assert self.logs is not None
        status, out_headers, payload = await handle_logs_request(
            headers.get("x-amz-target", ""), body, self.logs
        )
        raw_headers = [
            (k.encode(), v.encode()) for k, v in out_headers.items() if k != "content-length"
        ]
        raw_headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": payload})

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.loop = asyncio.get_running_loop()
                self.logs = LogService(SqliteLogStore(self.path))
                await self.logs.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                assert self.logs is not None
                await self.logs.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def run(self, fn: Callable[[LogService], Coroutine[Any, Any, None]]) -> None:
        """Run ``fn(service)`` on the server's event loop and wait for it."""
        assert self.loop is not None and self.logs is not None
        asyncio.run_coroutine_threadsafe(fn(self.logs), self.loop).result(timeout=10)

    def append(self, group: str, stream: str, *events: tuple[int, str]) -> None:
        async def add(logs: LogService) -> None:
            for ts, message in events:
                logs.append(group, stream, ts, message)

        self.run(add)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[LogsApp, str]]:
    app = LogsApp(tmp_path / "logs.sqlite3")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    yield app, f"http://127.0.0.1:{sock.getsockname()[1]}"
    uv.should_exit = True
    thread.join(timeout=10)
    sock.close()


def boto_logs(url: str) -> Any:
    return boto3.client(
        "logs",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )


def test_boto3_end_to_end(server: tuple[LogsApp, str]) -> None:
    app, url = server
    client = boto_logs(url)
    lines = [(NOW + i, f"line {i}") for i in range(25)]
    app.append(G, S1, *lines)
    app.append(G, S2, (NOW + 100, "REPORT RequestId: r\tDuration: 1.00 ms\t"))
    for i in range(60):
        app.append(f"/aws/lambda/g{i:02d}", S1, (NOW, "x"))

    groups = [
        g["logGroupName"]
        for page in client.get_paginator("describe_log_groups").paginate(
            logGroupNamePrefix="/aws/lambda/g"
        )
        for g in page["logGroups"]
    ]
    assert groups == [f"/aws/lambda/g{i:02d}" for i in range(60)]

    streams = client.describe_log_streams(logGroupName=G, orderBy="LastEventTime", descending=True)[
        "logStreams"
    ]
    assert [s["logStreamName"] for s in streams] == [S2, S1]

    events = [
        e
        for page in client.get_paginator("filter_log_events").paginate(
            logGroupName=G, PaginationConfig={"PageSize": 10}
        )
        for e in page["events"]
    ]
    assert [e["message"] for e in events] == [m for _, m in lines] + [
        "REPORT RequestId: r\tDuration: 1.00 ms\t"
    ]
    filtered = client.filter_log_events(
        logGroupName=G, filterPattern='"line 1"', startTime=NOW, endTime=NOW + 12
    )
    assert [e["message"] for e in filtered["events"]] == ["line 1", "line 10", "line 11", "line 12"]

    newest = client.get_log_events(logGroupName=G, logStreamName=S1, limit=5)
    assert [e["message"] for e in newest["events"]] == [f"line {i}" for i in range(20, 25)]
    older = client.get_log_events(
        logGroupName=G, logStreamName=S1, limit=5, nextToken=newest["nextBackwardToken"]
    )
    assert [e["message"] for e in older["events"]] == [f"line {i}" for i in range(15, 20)]
    tail = client.get_log_events(
        logGroupName=G, logStreamName=S1, nextToken=newest["nextForwardToken"]
    )
    assert tail["events"] == [] and tail["nextForwardToken"] == newest["nextForwardToken"]

    client.create_log_group(logGroupName="/custom/group")
    with pytest.raises(ClientError) as info:
        client.create_log_group(logGroupName="/custom/group")
    assert info.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    client.delete_log_group(logGroupName="/custom/group")
    with pytest.raises(client.exceptions.ResourceNotFoundException) as missing:
        client.describe_log_streams(logGroupName="/custom/group")
    assert missing.value.response["Error"]["Message"] == "The specified log group does not exist."
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.skipif(shutil.which("aws") is None, reason="AWS CLI not installed")
def test_aws_cli(server: tuple[LogsApp, str], tmp_path: Path) -> None:
    app, url = server
    app.append(G, S1, (NOW, "START RequestId: r1 Version: $LATEST"), (NOW + 1, "hi there"))
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    base = ["aws", "logs", "--endpoint-url", url, "--output", "json"]
    out = subprocess.run(
        [*base, "filter-log-events", "--log-group-name", G, "--filter-pattern", "hi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert [e["message"] for e in json.loads(out.stdout)["events"]] == ["hi there"]
    failed = subprocess.run(
        [*base, "describe-log-streams", "--log-group-name", "/nope"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert failed.returncode != 0 and "ResourceNotFoundException" in failed.stderr


# --- lamina logs ------------------------------------------------------------------------


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lamina")
    logs_cmd.add_logs_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_cli_prints_events(server: tuple[LogsApp, str], capsys: pytest.CaptureFixture[str]) -> None:
    app, url = server
    # Now, not when the module was imported: the CLI's default window (--since) is the last
    # minutes of the wall clock, and a slow run may import this module long before.
    now = int(time.time() * 1000)
    app.append(G, S1, (now - 3_600_000, "too old"), (now, "first\n"), (now + 1, "a\rb"))
    args = parse(["logs", "fn", "--endpoint-url", url])
    assert args.func is logs_cmd.run_logs
    assert args.func(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[2] == "b"  # "\r" separates lines of one event
    assert lines[0].endswith("+00:00 first") and lines[1].endswith("+00:00 a")

    assert logs_cmd.run_logs(parse(["logs", "fn", "--since", "2h", "--endpoint-url", url])) == 0
    assert "too old" in capsys.readouterr().out

    assert logs_cmd.run_logs(parse(["logs", "missing", "--endpoint-url", url])) == 1
    assert "no log group /aws/lambda/missing" in capsys.readouterr().err
    assert logs_cmd.run_logs(parse(["logs", "fn", "--since", "yesterday"])) == 2


def test_cli_follow(server: tuple[LogsApp, str]) -> None:
    app, url = server
    app.append(G, S1, (NOW, "one"), (NOW, "two"))
    out = io.StringIO()
    polls = 0

    def fake_sleep(seconds: float) -> None:
        nonlocal polls
        polls += 1
        if polls == 1:
            app.append(G, S1, (NOW, "three"), (NOW + 5, "four"))
        elif polls == 2:
            app.append(G, S2, (NOW + 6, "five"))
        else:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        logs_cmd.follow(logs_cmd.make_client(url), G, NOW - 1000, out, sleep=fake_sleep)
    messages = [line.split(" ", 1)[1] for line in out.getvalue().splitlines()]
    assert messages == ["one", "two", "three", "four", "five"]


def test_cli_follow_waits_for_the_group(server: tuple[LogsApp, str]) -> None:
    app, url = server
    out = io.StringIO()
    calls = 0

    def fake_sleep(seconds: float) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            app.append("/aws/lambda/late", S1, (NOW, "finally"))
        else:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        logs_cmd.follow(logs_cmd.make_client(url), "/aws/lambda/late", NOW - 1, out, fake_sleep)
    assert out.getvalue().endswith(" finally\n")


def test_parse_since_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    assert logs_cmd.parse_since("10m", now_ms=1_000_000) == 400_000
    assert logs_cmd.parse_since("1h30m", now_ms=10_000_000) == 4_600_000
    assert logs_cmd.parse_since("1970-01-01T00:00:01Z") == 1000
    assert logs_cmd.parse_since("1970-01-01T00:00:02") == 2000
    with pytest.raises(ValueError):
        logs_cmd.parse_since("soon")
    assert logs_cmd.log_group_for("/custom/group") == "/custom/group"
    monkeypatch.delenv("LAMINA_ENDPOINT", raising=False)
    monkeypatch.setenv("LAMINA_PORT", "9123")
    assert logs_cmd.default_endpoint() == "http://127.0.0.1:9123"
    monkeypatch.setenv("LAMINA_ENDPOINT", "http://example:1")
    assert logs_cmd.default_endpoint() == "http://example:1"


def test_cli_module_has_no_server_imports() -> None:
    # The CLI must stay importable without pulling in the server side.
    code = "import lamina.cli.logs_cmd, sys; print('lamina.services.logs' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"


# --- retention ---------------------------------------------------------------------------

RETENTION_ENUM = (
    "Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, "
    "400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]"
)


def test_put_and_delete_retention_policy(service: LogService) -> None:
    assert call(service, "DescribeLogGroups", {})[1]["logGroups"][0].get("retentionInDays") is None
    assert call(service, "PutRetentionPolicy", {"logGroupName": G, "retentionInDays": 14}) == (
        200,
        {},
    )
    assert call(service, "DescribeLogGroups", {})[1]["logGroups"][0]["retentionInDays"] == 14
    assert call(service, "DeleteRetentionPolicy", {"logGroupName": G}) == (200, {})
    assert "retentionInDays" not in call(service, "DescribeLogGroups", {})[1]["logGroups"][0]


@pytest.mark.parametrize(
    ("operation", "body", "error", "message"),
    [
        (
            "PutRetentionPolicy",
            {"logGroupName": G, "retentionInDays": 2},
            "InvalidParameterException",
            f"1 validation error detected: Value '2' at 'retentionInDays' failed to satisfy "
            f"constraint: {RETENTION_ENUM}",
        ),
        (
            "PutRetentionPolicy",
            {"logGroupName": G, "retentionInDays": -1},
            "InvalidParameterException",
            f"1 validation error detected: Value '-1' at 'retentionInDays' failed to satisfy "
            f"constraint: {RETENTION_ENUM}",
        ),
        (
            "PutRetentionPolicy",
            {"logGroupName": "/nope", "retentionInDays": 1},
            "ResourceNotFoundException",
            "The specified log group does not exist.",
        ),
        (
            "DeleteRetentionPolicy",
            {"logGroupName": "/nope"},
            "ResourceNotFoundException",
            "The specified log group does not exist.",
        ),
        (
            "PutRetentionPolicy",
            {"logGroupName": G},
            "InvalidParameterException",
            "1 validation error detected: Value 'null' at 'retentionInDays' failed to satisfy "
            "constraint: Member must not be null",
        ),
        (
            "PutRetentionPolicy",
            {"logGroupName": G, "retentionInDays": "7"},
            "SerializationException",
            "Value of member retentionInDays must be an integer.",
        ),
    ],
)
def test_retention_errors(
    service: LogService, operation: str, body: dict[str, Any], error: str, message: str
) -> None:
    assert call(service, operation, body) == (400, {"__type": error, "message": message})
