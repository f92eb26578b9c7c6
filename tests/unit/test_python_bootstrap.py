"""The built-in Python runtime (``lamina/runtimes/python/bootstrap.py``) against a fake Runtime API.

Each test writes handler code into a temporary task root, starts a tiny Runtime API server
(stdlib ``ThreadingHTTPServer``) that serves queued events and records what the runtime posts,
and runs the bootstrap as ``<python> -I -S bootstrap.py`` exactly as the Lamina server does.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

BOOTSTRAP = (
    Path(__file__).resolve().parents[2] / "src" / "lamina" / "runtimes" / "python" / "bootstrap.py"
)
# The modules bootstrap.py imports from its own directory.
RUNTIME_MODULES = (
    "lamina_runtime_client",
    "lamina_runtime_context",
    "lamina_runtime_errors",
    "lamina_runtime_http",
    "lamina_runtime_logging",
    "lamina_runtime_marshal",
    "lamina_runtime_trace",
)
REQUEST_ID = "8476a536-e9f4-11e8-9739-2dfe598c3fcd"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:my-function"
NBSP = "\u00a0"


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Event:
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    request_id: str = REQUEST_ID


class FakeRuntimeAPI:
    """Serves queued events on /next; records /response, /error and /init/error posts."""

    def __init__(self, close_after_post: bool = False) -> None:
        self.events: queue.Queue[Event | None] = queue.Queue()
        self.connections: set[tuple[str, int]] = set()
        self.posts: list[Post] = []
        self.posted = threading.Condition()
        self.next_calls = 0
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                api.connections.add(self.client_address)
                if self.path != "/2018-06-01/runtime/invocation/next":
                    self._reply(404, b"{}", {})
                    return
                with api.posted:
                    api.next_calls += 1
                    api.posted.notify_all()
                event = api.events.get()
                if event is None:  # shutting down
                    self._reply(500, b'{"errorType":"Shutdown"}', {})
                    return
                headers = {
                    "Content-Type": "application/json",
                    "Lambda-Runtime-Aws-Request-Id": event.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 30_000),
                    "Lambda-Runtime-Invoked-Function-Arn": ARN,
                }
                headers.update(event.headers)
                self._reply(200, event.body, headers)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with api.posted:
                    api.posts.append(Post(self.path, dict(self.headers.items()), body))
                    api.posted.notify_all()
                self._reply(202, b'{"status":"OK"}', {"Content-Type": "application/json"})
                if close_after_post:  # an idle keep-alive connection dropped by the server
                    self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    def wait_posts(self, count: int, timeout: float = 20.0) -> list[Post]:
        with self.posted:
            ok = self.posted.wait_for(lambda: len(self.posts) >= count, timeout)
        assert ok, f"expected {count} posts, got {self.posts}"
        return self.posts[:count]

    def close(self) -> None:
        for _ in range(8):
            self.events.put(None)
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Run:
    posts: list[Post]
    stdout: str
    stderr: str
    returncode: int | None

    @property
    def results(self) -> list[Any]:
        return [p.json() for p in self.posts]


def interpreters() -> dict[str, str]:
    """Host interpreters by minor version, found the way the server finds them."""
    from lamina.runtime.launch import find_python

    found: dict[str, str] = {}
    for minor in range(8, 15):
        path = find_python(f"3.{minor}")
        if path:
            found[f"3.{minor}"] = path
    return found


class Harness:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.task_root = tmp_path / "task"
        self.task_root.mkdir()

    def write(self, files: dict[str, str]) -> None:
        for name, source in files.items():
            path = self.task_root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source))

    def env(self, api: FakeRuntimeAPI, handler: str, extra: dict[str, str]) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "_HANDLER": handler,
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "LAMBDA_TASK_ROOT": str(self.task_root),
            "AWS_LAMBDA_FUNCTION_NAME": "my-function",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/my-function",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
            "AWS_REGION": "us-east-1",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        }
        env.update(extra)
        return env

    def run(
        self,
        files: dict[str, str],
        events: list[Event | Any],
        handler: str = "lambda_function.handler",
        env: dict[str, str] | None = None,
        python: str = sys.executable,
        expect_exit: bool = False,
        posts: int | None = None,
        pass_fds: tuple[int, ...] = (),
        api: FakeRuntimeAPI | None = None,
    ) -> Run:
        """Run the bootstrap until it posted one result per event (or exits, if expected)."""
        self.write(files)
        api = api or FakeRuntimeAPI()
        for event in events:
            if not isinstance(event, Event):
                event = Event(json.dumps(event).encode())
            api.events.put(event)
        proc = subprocess.Popen(
            [python, "-I", "-S", str(BOOTSTRAP)],
            env=self.env(api, handler, env or {}),
            cwd=str(self.task_root),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=pass_fds,
        )
        try:
            if expect_exit:
                stdout, stderr = proc.communicate(timeout=20)
            else:
                api.wait_posts(len(events) if posts is None else posts)
                with api.posted:  # the runtime is back on /next: it is idle
                    api.posted.wait_for(lambda: api.next_calls > len(events), 10)
                proc.terminate()
                stdout, stderr = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
            api.close()
        return Run(list(api.posts), stdout.decode(), stderr.decode(), proc.returncode)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    yield Harness(tmp_path)


def lines(output: str) -> list[str]:
    return output.split("\n")[:-1] if output.endswith("\n") else output.split("\n")


HANDLER_ECHO = """
def handler(event, context):
    return {"echo": event}
"""


# --- invocations --------------------------------------------------------------------------------


def test_success_results(harness: Harness) -> None:
    files = {
        "lambda_function.py": """
            def handler(event, context):
                kind = event["kind"]
                if kind == "dict":
                    return {"ok": True, "n": [1, 2.5, None], "s": "é"}
                if kind == "none":
                    return None
                if kind == "str":
                    return "text"
                if kind == "bytes":
                    return b"raw\\x00bytes"
                if kind == "nested-bytes":
                    return {"b": b"abc"}
                if kind == "decimal":
                    import decimal
                    return {"d": decimal.Decimal("1.10"), "n": decimal.Decimal("NaN")}
        """
    }
    kinds = ["dict", "none", "str", "bytes", "nested-bytes", "decimal"]
    run = harness.run(files, [{"kind": k} for k in kinds])
    assert [p.path for p in run.posts] == [
        f"/2018-06-01/runtime/invocation/{REQUEST_ID}/response"
    ] * len(kinds)
    bodies = [p.body for p in run.posts]
    assert json.loads(bodies[0]) == {"ok": True, "n": [1, 2.5, None], "s": "é"}
    assert bodies[0] == '{"ok": true, "n": [1, 2.5, null], "s": "é"}'.encode()  # python3.12+
    assert bodies[1] == b"null"
    assert bodies[2] == b'"text"'
    assert bodies[3] == b"raw\x00bytes"
    assert run.posts[3].headers["Content-Type"] == "application/unknown"
    assert run.posts[0].headers["Content-Type"] == "application/json"
    assert bodies[4] == b'{"b": "abc"}'
    assert bodies[5] == b'{"d": 1.10, "n": NaN}'
    assert "Lambda-Runtime-Function-Error-Type" not in run.posts[0].headers
    assert run.stderr == ""


def test_ascii_json_before_python312(harness: Harness) -> None:
    run = harness.run(
        {"lambda_function.py": HANDLER_ECHO},
        ["é"],
        env={"AWS_EXECUTION_ENV": "AWS_Lambda_python3.11"},
    )
    assert run.posts[0].body == b'{"echo": "\\u00e9"}'


def test_context_attributes(harness: Harness) -> None:
    files = {
        "lambda_function.py": """
            import os

            def handler(event, context):
                cc = context.client_context
                return {
                    "aws_request_id": context.aws_request_id,
                    "function_name": context.function_name,
                    "function_version": context.function_version,
                    "invoked_function_arn": context.invoked_function_arn,
                    "memory_limit_in_mb": context.memory_limit_in_mb,
                    "log_group_name": context.log_group_name,
                    "log_stream_name": context.log_stream_name,
                    "remaining": context.get_remaining_time_in_millis(),
                    "identity": [context.identity.cognito_identity_id,
                                 context.identity.cognito_identity_pool_id],
                    "client_context": None if cc is None else {
                        "custom": cc.custom, "env": cc.env,
                        "installation_id": cc.client and cc.client.installation_id,
                        "app_title": cc.client and cc.client.app_title,
                    },
                    "w3c": context.w3c(),
                    "tenant_id": context.tenant_id,
                    "trace": os.environ.get("_X_AMZN_TRACE_ID"),
                    "repr": repr(context).startswith("LambdaContext([aws_request_id="),
                }
        """
    }
    client_context = {
        "client": {"installation_id": "inst", "app_title": "title"},
        "custom": {"k": "v"},
        "env": {"platform": "x"},
        "w3c": {"traceparent": "00-abc-def-01", "other": "dropped"},
    }
    full = Event(
        b"{}",
        {
            "Lambda-Runtime-Trace-Id": "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1",
            "Lambda-Runtime-Client-Context": json.dumps(client_context),
            "Lambda-Runtime-Cognito-Identity": json.dumps(
                {"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"}
            ),
            "Lambda-Runtime-Aws-Tenant-Id": "tenant-a",
        },
    )
    bare = Event(b"{}", request_id="req-2")
    run = harness.run(files, [full, bare])
    first, second = run.results
    assert 25_000 < first.pop("remaining") <= 30_000
    assert first == {
        "aws_request_id": REQUEST_ID,
        "function_name": "my-function",
        "function_version": "$LATEST",
        "invoked_function_arn": ARN,
        "memory_limit_in_mb": "128",  # a string, as AWS's runtime has it
        "log_group_name": "/aws/lambda/my-function",
        "log_stream_name": "2024/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
        "identity": ["id-1", "pool-1"],
        "client_context": {
            "custom": {"k": "v"},
            "env": {"platform": "x"},
            "installation_id": "inst",
            "app_title": "title",
        },
        "w3c": {"traceparent": "00-abc-def-01"},
        "tenant_id": "tenant-a",
        "trace": "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1",
        "repr": True,
    }
    assert second["aws_request_id"] == "req-2"
    assert second["identity"] == [None, None]
    assert second["client_context"] is None
    assert second["tenant_id"] is None
    assert second["trace"] is None  # removed when the invocation has no trace id
    assert run.posts[1].path == "/2018-06-01/runtime/invocation/req-2/response"


def test_trace_id_variable_reaches_c_code_and_children(harness: Harness) -> None:
    # With ctypes imported before the loop starts (as in an environment forked from the
    # spawner), the runtime sets _X_AMZN_TRACE_ID with putenv on a buffer of its own.
    files = {
        "lambda_function.py": """
            import ctypes, os, subprocess

            libc = ctypes.CDLL(None)
            libc.getenv.restype = ctypes.c_char_p

            def handler(event, context):
                c_value = libc.getenv(b"_X_AMZN_TRACE_ID")
                child = subprocess.run(
                    ["/bin/sh", "-c", 'printf %s "${_X_AMZN_TRACE_ID-unset}"'],
                    capture_output=True, text=True,
                ).stdout
                return [
                    os.environ.get("_X_AMZN_TRACE_ID"),
                    c_value and c_value.decode(),
                    child,
                ]
        """
    }
    traced = [
        Event(b"{}", {"Lambda-Runtime-Trace-Id": f"Root=1-{n:08x}-{'a' * n};Sampled=1"})
        for n in (1, 300, 2)  # the second is longer than the first buffer
    ]
    run = harness.run(files, [traced[0], traced[1], Event(b"{}"), traced[2]])
    trace = [f"Root=1-{n:08x}-{'a' * n};Sampled=1" for n in (1, 300, 2)]
    assert run.results == [[t, t, t] for t in trace[:2]] + [[None, None, "unset"]] + [
        [trace[2]] * 3
    ]


def test_unhandled_error(harness: Harness) -> None:
    files = {
        "lambda_function.py": """
            def handler(event, context):
                helper()

            def helper():
                raise ValueError("boom")
        """
    }
    run = harness.run(files, [{}])
    (post,) = run.posts
    assert post.path == f"/2018-06-01/runtime/invocation/{REQUEST_ID}/error"
    # AWS's runtime sends no Lambda-Runtime-Function-Error-Type on invocation errors.
    assert "Lambda-Runtime-Function-Error-Type" not in post.headers
    source = str(harness.task_root / "lambda_function.py")
    assert post.json() == {
        "errorMessage": "boom",
        "errorType": "ValueError",
        "requestId": REQUEST_ID,
        "stackTrace": [
            f'  File "{source}", line 3, in handler\n    helper()\n',
            f'  File "{source}", line 6, in helper\n    raise ValueError("boom")\n',
        ],
    }
    xray = json.loads(post.headers["Lambda-Runtime-Function-XRay-Error-Cause"])
    assert xray == {
        "working_directory": str(harness.task_root),
        "exceptions": [
            {
                "message": "boom",
                "type": "ValueError",
                "stack": [
                    {"label": "handler", "path": source, "line": 3},
                    {"label": "helper", "path": source, "line": 6},
                ],
            }
        ],
        "paths": [source],
    }
    assert lines(run.stdout) == [
        "[ERROR] ValueError: boom\rTraceback (most recent call last):"
        f'\r{NBSP * 2}File "{source}", line 3, in handler\r{NBSP * 4}helper()'
        f'\r{NBSP * 2}File "{source}", line 6, in helper\r{NBSP * 4}raise ValueError("boom")'
    ]


def test_unhandled_error_json_log(harness: Harness) -> None:
    files = {
        "lambda_function.py": """
            class Custom(Exception):
                pass

            def handler(event, context):
                raise Custom()
        """
    }
    run = harness.run(
        files, [{}], env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"}
    )
    assert run.posts[0].json()["errorType"] == "Custom"
    assert run.posts[0].json()["errorMessage"] == ""
    (line,) = lines(run.stdout)
    entry = json.loads(line)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry.pop("timestamp"))
    assert entry == {
        "level": "ERROR",
        "errorMessage": "",
        "errorType": "Custom",
        "requestId": REQUEST_ID,
        "stackTrace": [
            f'  File "{harness.task_root}/lambda_function.py", line 6, in handler\n'
            "    raise Custom()\n"
        ],
    }


def test_marshal_and_unmarshal_errors(harness: Harness) -> None:
    files = {
        "lambda_function.py": """
            def handler(event, context):
                return {"s": {1, 2}}
        """
    }
    run = harness.run(files, [{}, Event(b"{not json")])
    marshal, unmarshal = run.results
    assert marshal == {
        "errorMessage": "Unable to marshal response: Object of type set is not JSON serializable",
        "errorType": "Runtime.MarshalError",
        "requestId": REQUEST_ID,
        "stackTrace": [],
    }
    assert unmarshal == {
        "errorMessage": "Unable to unmarshal input: Expecting property name enclosed in double "
        "quotes: line 1 column 2 (char 1)",
        "errorType": "Runtime.UnmarshalError",
        "requestId": REQUEST_ID,
        "stackTrace": [],
    }
    assert lines(run.stdout) == [
        "[ERROR] Runtime.MarshalError: Unable to marshal response: Object of type set is not "
        "JSON serializable\rTraceback (most recent call last):",
        "[ERROR] Runtime.UnmarshalError: Unable to unmarshal input: Expecting property name "
        "enclosed in double quotes: line 1 column 2 (char 1)\rTraceback (most recent call last):",
    ]


def test_bad_context_header(harness: Harness) -> None:
    run = harness.run(
        {"lambda_function.py": HANDLER_ECHO},
        [Event(b"{}", {"Lambda-Runtime-Client-Context": "{nope"})],
    )
    error = run.results[0]
    assert error["errorType"] == "Runtime.LambdaContextUnmarshalError"
    assert error["errorMessage"].startswith("Unable to parse Client Context JSON: ")


def test_non_json_content_type_gives_bytes(harness: Harness) -> None:
    files = {
        "lambda_function.py": """
            def handler(event, context):
                return repr(event)
        """
    }
    run = harness.run(files, [Event(b"plain", {"Content-Type": "text/plain"})])
    assert run.results == ["b'plain'"]


def test_runtime_survives_errors_and_keeps_one_connection(harness: Harness) -> None:
    files = {
        "lambda_function.py": """
            import gc, socket
            def handler(event, context):
                if event == "fail":
                    raise RuntimeError("x")
                socks = [o for o in gc.get_objects() if isinstance(o, socket.socket)]
                return [s.getsockname()[1] for s in socks if s.fileno() != -1]
        """
    }
    run = harness.run(files, ["ok", "fail", "ok", "ok"])
    assert [p.path.rsplit("/", 1)[1] for p in run.posts] == ["response", "error"] + ["response"] * 2
    ports = [run.results[i] for i in (0, 2, 3)]
    assert len(ports[0]) == 1 and ports[0] == ports[1] == ports[2]


def test_reconnects_when_the_server_drops_the_connection(harness: Harness) -> None:
    api = FakeRuntimeAPI(close_after_post=True)
    run = harness.run({"lambda_function.py": HANDLER_ECHO}, [1, 2, 3], api=api)
    assert run.results == [{"echo": 1}, {"echo": 2}, {"echo": 3}]
    assert len(api.connections) >= 3
    assert run.stderr == ""


def test_large_payloads(harness: Harness) -> None:
    files = {
        "lambda_function.py": """
            def handler(event, context):
                return {"data": event["data"] * 2}
        """
    }
    data = "x" * (1024 * 1024)
    run = harness.run(files, [{"data": data}])
    assert run.results == [{"data": data * 2}]


def load_bootstrap_module() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("lamina_bootstrap_probe", BOOTSTRAP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_client_reads_chunked_and_close_delimited_responses() -> None:
    import socket

    bootstrap = load_bootstrap_module()
    listener = socket.create_server(("127.0.0.1", 0))
    replies = [
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nLambda-Runtime-Aws-Request-Id: r1\r\n"
        b"\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n",
        b"HTTP/1.0 200 OK\r\nLambda-Runtime-Aws-Request-Id: r2\r\n\r\nuntil close",
    ]
    seen: list[bytes] = []

    def serve() -> None:
        for reply in replies:
            conn, _ = listener.accept()
            with conn:
                seen.append(conn.recv(65536))
                conn.sendall(reply)
                if reply.startswith(b"HTTP/1.1"):
                    conn.recv(65536)  # the runtime reconnects only after this one is closed

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    host, port = listener.getsockname()
    client = bootstrap.RuntimeAPIClient(f"{host}:{port}")
    try:
        headers, body = client.wait_next_invocation()
        assert (headers["lambda-runtime-aws-request-id"], body) == ("r1", b"hello world")
        client.close()
        headers, body = client.wait_next_invocation()
        assert (headers["lambda-runtime-aws-request-id"], body) == ("r2", b"until close")
    finally:
        client.close()
        listener.close()
    assert seen[0].startswith(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: ")


def test_client_pipelines_next_behind_the_response_post() -> None:
    """The POST and the next GET go out in one write; a lost pipelined GET is sent again."""
    import socket

    bootstrap = load_bootstrap_module()
    listener = socket.create_server(("127.0.0.1", 0))
    ack = b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}"
    invocation = (
        b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r%d\r\nContent-Length: 2\r\n\r\n{}"
    )
    seen: list[bytes] = []

    def receive(conn: socket.socket, ending: bytes) -> bytes:
        data = b""
        while not data.endswith(ending):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        return data

    def serve() -> None:
        conn, _ = listener.accept()
        conn.settimeout(5)  # a client that does not pipeline fails the test instead of hanging
        with conn:
            seen.append(receive(conn, b"\r\n\r\n"))  # GET next
            conn.sendall(invocation % 1)
            seen.append(receive(conn, b"/next HTTP/1.1\r\n" + seen[0].split(b"\r\n", 1)[1]))
            conn.sendall(ack)  # then closes: the pipelined GET is never answered
        conn, _ = listener.accept()
        with conn:
            seen.append(receive(conn, b"\r\n\r\n"))
            conn.sendall(invocation % 2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    host, port = listener.getsockname()
    client = bootstrap.RuntimeAPIClient(f"{host}:{port}")
    try:
        headers, _ = client.wait_next_invocation()
        assert headers["lambda-runtime-aws-request-id"] == "r1"
        client.post_invocation_result("r1", b'"ok"', b"application/json")
        headers, _ = client.wait_next_invocation()
        assert headers["lambda-runtime-aws-request-id"] == "r2"
    finally:
        client.close()
        listener.close()
    thread.join(5)
    post, _, pipelined = seen[1].partition(b'"ok"')
    assert post.startswith(b"POST /2018-06-01/runtime/invocation/r1/response HTTP/1.1\r\n")
    assert pipelined == seen[0] == seen[2]


def test_import_has_no_side_effects() -> None:
    before = (list(sys.path), sys.stdout, sys.stderr, dict(os.environ))
    module = load_bootstrap_module()
    assert (list(sys.path), sys.stdout, sys.stderr, dict(os.environ)) == before
    assert callable(module.main)
    # The sibling modules are imported with it (before main() takes the directory off sys.path).
    for name in RUNTIME_MODULES:
        assert Path(sys.modules[name].__file__ or "").parent == BOOTSTRAP.parent


# --- logging ------------------------------------------------------------------------------------


LOGGING_HANDLER = """
    import logging, sys

    logger = logging.getLogger()
    logging.getLogger().setLevel(logging.INFO)
    print("init print")

    def handler(event, context):
        print("hello", "world")
        print("two\\nlines")
        sys.stdout.write("partial")
        sys.stdout.write(" line\\n")
        logger.info("info %s", "message")
        logger.debug("hidden")
        logger.warning("multi\\nline")
        logging.getLogger("child").error({"a": 1}, extra={"key": "value"})
        context.log("via context\\n")
        print("to stderr", file=sys.stderr)
        return "done"
"""

TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def test_print_and_text_logging(harness: Harness) -> None:
    run = harness.run({"lambda_function.py": LOGGING_HANDLER}, [{}])
    assert run.results == ["done"]
    out = lines(run.stdout)
    assert out[:5] == ["init print", "hello world", "two", "lines", "partial line"]
    assert re.fullmatch(rf"\[INFO\]\t{TS}\t{REQUEST_ID}\tinfo message", out[5])
    assert re.fullmatch(rf"\[WARNING\]\t{TS}\t{REQUEST_ID}\tmulti\rline", out[6])
    assert re.fullmatch(rf"\[ERROR\]\t{TS}\t{REQUEST_ID}\t\{{'a': 1\}}", out[7])
    assert out[8:] == ["via context"]
    assert run.stderr == "to stderr\n"


def test_logging_exception_is_one_line(harness: Harness) -> None:
    files = {
        "lambda_function.py": """
            import logging

            def handler(event, context):
                try:
                    1 / 0
                except ZeroDivisionError:
                    logging.exception("failed")
                return 1
        """
    }
    run = harness.run(files, [{}])
    (line,) = lines(run.stdout)
    assert re.fullmatch(
        rf"\[ERROR\]\t{TS}\t{REQUEST_ID}\tfailed\rTraceback \(most recent call last\):\r"
        r".*\rZeroDivisionError: division by zero",
        line,
    )


def test_json_logging(harness: Harness) -> None:
    run = harness.run(
        {"lambda_function.py": LOGGING_HANDLER},
        [{}],
        env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"},
    )
    out = lines(run.stdout)
    assert out[:5] == ["init print", "hello world", "two", "lines", "partial line"]
    records = [json.loads(line) for line in out[5:8]]
    for record in records:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record.pop("timestamp"))
    assert records == [
        {"level": "INFO", "message": "info message", "logger": "root", "requestId": REQUEST_ID},
        {"level": "WARNING", "message": "multi\nline", "logger": "root", "requestId": REQUEST_ID},
        {
            "level": "ERROR",
            "message": {"a": 1},
            "logger": "child",
            "requestId": REQUEST_ID,
            "key": "value",
        },
    ]
    assert out[8:] == ["via context"]


def test_framed_telemetry_log_fd(harness: Harness) -> None:
    files = {
        "lambda_function.py": """
            import logging, os

            def handler(event, context):
                logging.warning("multi\\nline")
                if event == "fail":
                    raise ValueError("boom")
                return "_LAMBDA_TELEMETRY_LOG_FD" in os.environ
        """
    }
    read_fd, write_fd = os.pipe()
    try:
        run = harness.run(
            files,
            ["ok", "fail"],
            env={"_LAMBDA_TELEMETRY_LOG_FD": str(write_fd)},
            pass_fds=(write_fd,),
        )
        os.close(write_fd)
        data = b""
        while chunk := os.read(read_fd, 65536):
            data += chunk
    finally:
        os.close(read_fd)
    assert run.results[0] is False  # the variable is removed from the environment
    frames = []
    while data:
        frame_type, length = int.from_bytes(data[:4], "big"), int.from_bytes(data[4:8], "big")
        timestamp_us = int.from_bytes(data[8:16], "big")
        assert abs(timestamp_us / 1e6 - time.time()) < 60
        frames.append((frame_type, data[16 : 16 + length].decode()))
        data = data[16 + length :]
    assert len(frames) == 3
    assert frames[0][0] == 0xA55A0003  # text, no log level configured
    assert re.fullmatch(rf"\[WARNING\]\t{TS}\t{REQUEST_ID}\tmulti\nline\n", frames[0][1])
    assert frames[2][0] == 0xA55A0017  # text error
    assert frames[2][1].startswith("[ERROR] ValueError: boom\nTraceback (most recent call last):\n")
    assert run.stdout == ""


def test_log_level_from_environment(harness: Harness) -> None:
    files = {
        "lambda_function.py": """
            import logging

            def handler(event, context):
                logging.debug("debug")
                logging.info("info")
                logging.warning("warning")
                logging.error("error")
                return None
        """
    }
    default = harness.run(files, [{}])  # root logger stays at WARNING, as on AWS
    assert [line.split("\t")[0] for line in lines(default.stdout)] == ["[WARNING]", "[ERROR]"]
    trace = harness.run(files, [{}], env={"AWS_LAMBDA_LOG_LEVEL": "TRACE"})
    assert [line.split("\t")[0] for line in lines(trace.stdout)] == [
        "[DEBUG]",
        "[INFO]",
        "[WARNING]",
        "[ERROR]",
    ]
    error = harness.run(files, [{}], env={"AWS_LAMBDA_LOG_LEVEL": "ERROR"})
    assert [line.split("\t")[0] for line in lines(error.stdout)] == ["[ERROR]"]


# --- init errors --------------------------------------------------------------------------------


def init_error(harness: Harness, files: dict[str, str], handler: str) -> tuple[Post, Run]:
    run = harness.run(files, [], handler=handler, expect_exit=True)
    assert run.returncode == 1, run.stderr
    (post,) = run.posts
    assert post.path == "/2018-06-01/runtime/init/error"
    body = post.json()
    assert post.headers["Lambda-Runtime-Function-Error-Type"] == body["errorType"]
    assert list(body) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert body["requestId"] == ""
    out = lines(run.stdout)
    assert len(out) == 2
    assert re.fullmatch(rf"\[WARNING\]\t{TS}\t\tLAMBDA_WARNING: Unhandled exception\. .*\r", out[0])
    return post, run


def test_init_error_import_module(harness: Harness) -> None:
    post, run = init_error(harness, {}, "missing_module.handler")
    assert post.json() == {
        "errorMessage": (
            "Unable to import module 'missing_module': No module named 'missing_module'"
        ),
        "errorType": "Runtime.ImportModuleError",
        "requestId": "",
        "stackTrace": [],
    }
    assert lines(run.stdout)[1] == (
        "[ERROR] Runtime.ImportModuleError: Unable to import module 'missing_module': "
        "No module named 'missing_module'\rTraceback (most recent call last):"
    )


def test_init_error_import_inside_module(harness: Harness) -> None:
    post, _ = init_error(harness, {"app/main.py": "import not_installed\n"}, "app/main.handler")
    assert post.json()["errorType"] == "Runtime.ImportModuleError"
    assert post.json()["errorMessage"] == (
        "Unable to import module 'app/main': No module named 'not_installed'"
    )


def test_init_error_handler_not_found(harness: Harness) -> None:
    post, _ = init_error(harness, {"lambda_function.py": "x = 1\n"}, "lambda_function.nope")
    assert post.json() == {
        "errorMessage": "Handler 'nope' missing on module 'lambda_function'",
        "errorType": "Runtime.HandlerNotFound",
        "requestId": "",
        "stackTrace": [],
    }


def test_init_error_malformed_handler(harness: Harness) -> None:
    post, _ = init_error(harness, {}, "handler")
    assert post.json() == {
        "errorMessage": "Bad handler 'handler': not enough values to unpack (expected 2, got 1)",
        "errorType": "Runtime.MalformedHandlerName",
        "requestId": "",
        "stackTrace": [],
    }


def test_init_error_syntax(harness: Harness) -> None:
    source = "def handler(event, context):\n    return (1\n\nx = )\n"
    post, run = init_error(harness, {"lambda_function.py": source}, "lambda_function.handler")
    body = post.json()
    assert body["errorType"] == "Runtime.UserCodeSyntaxError"
    try:
        compile(source, "lambda_function.py", "exec")
    except SyntaxError as e:
        expected = e
    path = str(harness.task_root / "lambda_function.py")
    assert body["errorMessage"] == (
        f"Syntax error in module 'lambda_function': {expected.msg} "
        f"(lambda_function.py, line {expected.lineno})"
    )
    # The RIC's format: no comma before "Line", the source line as SyntaxError.text has it.
    (trace,) = body["stackTrace"]
    assert trace.rstrip("\n") == f'  File "{path}" Line {expected.lineno}\n    {expected.text}'
    assert lines(run.stdout)[1].startswith(
        "[ERROR] Runtime.UserCodeSyntaxError: Syntax error in module 'lambda_function'"
    )


def test_init_error_exception_at_import(harness: Harness) -> None:
    files = {
        "lambda_function.py": """
            class ConfigError(Exception):
                pass

            raise ConfigError("missing setting")
        """
    }
    post, run = init_error(harness, files, "lambda_function.handler")
    body = post.json()
    assert body["errorType"] == "ConfigError"
    assert body["errorMessage"] == "missing setting"
    # Like AWS: the importlib frames stay, the runtime's own frames are dropped.
    assert "bootstrap.py" not in "".join(body["stackTrace"])
    assert "importlib" in body["stackTrace"][0]
    assert body["stackTrace"][-1] == (
        f'  File "{harness.task_root}/lambda_function.py", line 5, in <module>\n'
        '    raise ConfigError("missing setting")\n'
    )
    assert lines(run.stdout)[1].startswith(
        "[ERROR] ConfigError: missing setting\rTraceback (most recent call last):\r"
    )


def test_init_error_builtin_module_conflict(harness: Harness) -> None:
    post, _ = init_error(harness, {}, "sys.handler")
    assert post.json()["errorType"] == "Runtime.BuiltInModuleConflict"
    assert post.json()["errorMessage"] == "Cannot use built-in module sys as a handler module"


# --- exits --------------------------------------------------------------------------------------


def test_sys_exit_in_handler_exits_without_posting(harness: Harness) -> None:
    files = {
        "lambda_function.py": """
            import sys

            def handler(event, context):
                print("bye")
                sys.exit(3)
        """
    }
    run = harness.run(files, [{}], expect_exit=True)
    assert run.returncode == 3
    assert run.posts == []
    assert run.stdout == "bye\n"


def test_exit_builtin_and_sys_exit_at_import(harness: Harness) -> None:
    run = harness.run({"lambda_function.py": "exit(4)\n"}, [], expect_exit=True)
    assert run.returncode == 4
    assert run.posts == []


# --- sys.path -----------------------------------------------------------------------------------


def test_sys_path_order_and_sdk(harness: Harness, tmp_path: Path) -> None:
    sdk = tmp_path / "sdk"
    (sdk / "fake_sdk").mkdir(parents=True)
    (sdk / "fake_sdk" / "__init__.py").write_text("WHERE = 'sdk'\n")
    (sdk / "shadowed").mkdir()
    (sdk / "shadowed" / "__init__.py").write_text("WHERE = 'sdk'\n")
    files = {
        "shadowed/__init__.py": "WHERE = 'task'\n",
        "bootstrap.py": "WHERE = 'user bootstrap'\n",
        "lambda_function.py": """
            import sys, fake_sdk, shadowed, bootstrap

            def handler(event, context):
                return {"path": sys.path, "sdk": fake_sdk.WHERE, "shadowed": shadowed.WHERE,
                        "bootstrap": bootstrap.WHERE}
        """,
    }
    run = harness.run(files, [{}], env={"LAMINA_SDK_PATH": str(sdk)})
    (result,) = run.results
    assert result["sdk"] == "sdk"
    assert result["shadowed"] == "task"  # packaged code wins over the SDK
    assert result["bootstrap"] == "user bootstrap"
    path = result["path"]
    assert path[0] == str(harness.task_root)
    assert path[-1] == str(sdk)
    assert str(BOOTSTRAP.parent) not in path
    assert any(p.endswith("lib-dynload") for p in path)


def test_user_modules_with_generic_names_are_not_shadowed(harness: Harness) -> None:
    # The runtime's own modules sit beside bootstrap.py; user modules named after what they
    # do (context, client, logging setup, errors, ...) must still be the user's.
    generic = ("context", "client", "logging_setup", "errors", "marshaller", "runtime")
    files = {f"{name}.py": f"WHERE = 'user {name}'\n" for name in generic}
    files["client.py"] = """
        import sys
        import context, errors, logging_setup, marshaller, runtime

        WHERE = "user client"

        def handler(event, context_):
            names = ["context", "client", "logging_setup", "errors", "marshaller", "runtime"]
            return {
                "where": {name: sys.modules[name].WHERE for name in names},
                "files": sorted({sys.modules[name].__file__ for name in names}),
                "runtime": sorted(name for name in sys.modules if name.startswith("lamina_")),
            }
    """
    run = harness.run(files, [{}], handler="client.handler")
    (result,) = run.results
    assert result["where"] == {name: f"user {name}" for name in generic}
    assert result["files"] == sorted(str(harness.task_root / f"{name}.py") for name in generic)
    assert result["runtime"] == sorted(RUNTIME_MODULES)


# --- other interpreters -------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"])
def test_other_interpreters(harness: Harness, version: str) -> None:
    python = interpreters().get(version)
    if python is None:
        pytest.skip(f"no python{version} on this host")
    files = {
        "lambda_function.py": """
            import logging, sys
            logging.getLogger().setLevel(logging.INFO)

            def handler(event, context):
                logging.info("v%d.%d", *sys.version_info[:2])
                if event == "fail":
                    raise KeyError("k")
                return {"version": "%d.%d" % sys.version_info[:2], "event": event,
                        "mem": context.memory_limit_in_mb}
        """
    }
    run = harness.run(files, ["ok", "fail"], python=python)
    ok, fail = run.results
    assert ok == {"version": version, "event": "ok", "mem": "128"}
    assert fail["errorType"] == "KeyError"
    assert fail["errorMessage"] == "'k'"
    assert fail["stackTrace"][-1].endswith('    raise KeyError("k")\n')
    out = lines(run.stdout)
    assert re.fullmatch(rf"\[INFO\]\t{TS}\t{REQUEST_ID}\tv{version}", out[0])
    assert out[2].startswith("[ERROR] KeyError: 'k'\rTraceback (most recent call last):\r")
    assert run.stderr == ""


@pytest.mark.parametrize("version", ["3.8", "3.13"])
def test_other_interpreters_init_error(harness: Harness, version: str) -> None:
    python = interpreters().get(version)
    if python is None:
        pytest.skip(f"no python{version} on this host")
    run = harness.run({}, [], handler="nope.handler", python=python, expect_exit=True)
    assert run.returncode == 1
    assert run.posts[0].json()["errorType"] == "Runtime.ImportModuleError"
