"""Issue 9, items 5 and 7: the Runtime API bounds what a runtime may send, and serves only
its own runtime.

The attacks run inside functions, against their own environment's Runtime API (item 5)
or, with ``--function-network host``, against another function's (item 7).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from support import LaminaServer, create_python_function

from lamina.runtime.linux_sandbox import probe_isolation

# A function that misbehaves towards its own Runtime API when asked to, and otherwise
# pipelines three requests as HTTP allows (served one after the other).
ATTACKER = r'''
import os, socket, time, uuid

ENVIRONMENT = uuid.uuid4().hex
PING = b"GET /2018-06-01/ping HTTP/1.1\r\nHost: runtime\r\n\r\n"


def connect():
    host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def flood(prefix, filler, total):
    """Send prefix, then total bytes of filler, 1 MB at a time (never held in memory)."""
    sock = connect()
    chunk = filler * (1024 * 1024 // len(filler))
    sent = 0
    try:
        sock.sendall(prefix)
        while sent < total:
            sock.sendall(chunk)
            sent += len(chunk)
    except OSError as exc:
        return {"sent": sent, "error": type(exc).__name__}
    return {"sent": sent}


def pipelined_flood(seconds):
    sock = connect()
    batch = PING * 1000
    end = time.monotonic() + seconds
    sent = 0
    try:
        while time.monotonic() < end:
            sock.sendall(batch)
            sent += 1000
    except OSError as exc:
        return {"sent": sent, "error": type(exc).__name__}
    return {"sent": sent}


def many_connections(count):
    held = [connect() for _ in range(count)]
    for sock in held:
        sock.sendall(PING)
    time.sleep(5)
    return {"held": len(held)}


def pipelined_pings(count):
    sock = connect()
    sock.sendall(PING * count)
    received = b""
    while received.count(b"pong") < count:
        data = sock.recv(65536)
        if not data:
            break
        received += data
    return received.count(b"HTTP/1.1 200 OK")


def handler(event, context):
    attack = event.get("attack")
    if attack == "header":
        return flood(b"GET /2018-06-01/ping HTTP/1.1\r\nX-Big: ", b"a", 300 << 20)
    if attack == "url":
        return flood(b"GET /2018-06-01/ping?", b"a", 300 << 20)
    if attack == "body":
        return flood(
            b"POST /2018-06-01/ping HTTP/1.1\r\nContent-Length: 314572800\r\n\r\n", b"a", 300 << 20
        )
    if attack == "pipeline":
        return pipelined_flood(10)
    if attack == "connections":
        return many_connections(20)
    return {"environment": ENVIRONMENT, "pongs": pipelined_pings(3)}
'''

ATTACKS = {
    "header": "request headers over 65536 bytes",
    "url": "request URL over 8192 bytes",
    "body": "request body over 67108864 bytes",
    "pipeline": "more than 4 pipelined requests",
    "connections": "more than 16 connections",
}


def invoke(client: Any, name: str, payload: Any, **kwargs: Any) -> dict[str, Any]:
    response = client.invoke(FunctionName=name, Payload=json.dumps(payload).encode(), **kwargs)
    response["Body"] = response["Payload"].read()
    return dict(response)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class Bystander:
    """Invokes a warm function over and over, and samples the server's memory."""

    def __init__(self, client: Any, name: str, server_pid: int) -> None:
        self.client, self.name, self.server_pid = client, name, server_pid
        self.latencies: list[float] = []
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            response = invoke(self.client, self.name, {"n": len(self.latencies)})
            self.latencies.append(time.perf_counter() - started)
            assert "FunctionError" not in response
            self.peak_rss = max(self.peak_rss, rss_bytes(self.server_pid))
            time.sleep(0.005)

    def __enter__(self) -> Bystander:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_runtime_breaking_a_limit_loses_its_environment_not_the_server(
    own_server: Callable[..., LaminaServer], attack: str
) -> None:
    server = own_server()
    assert server.process is not None
    lam = server.client()
    bystander = create_python_function(lam, "def handler(e, c):\n    return e\n")
    attacker = create_python_function(lam, ATTACKER, Timeout=30, MemorySize=256)
    before = json.loads(invoke(lam, attacker, {})["Body"])
    # Pipelining within the limit is served, one request after the other.
    assert before["pongs"] == 3
    for _ in range(5):
        invoke(lam, bystander, {})
    rss_before = rss_bytes(server.process.pid)

    with Bystander(server.client(), bystander, server.process.pid) as watch:
        time.sleep(0.5)
        started = time.monotonic()
        response = invoke(lam, attacker, {"attack": attack}, LogType="Tail")
        took = time.monotonic() - started
        time.sleep(max(0.0, 2.0 - took))

    request_id = response["ResponseMetadata"]["RequestId"]
    assert response.get("FunctionError") == "Unhandled", response["Body"]
    assert json.loads(response["Body"]) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime API limit exceeded: "
        f"{ATTACKS[attack]}",
    }
    log_tail = base64.b64decode(response["LogResult"]).decode()
    assert f"{request_id} Runtime API limit exceeded: {ATTACKS[attack]}\n" in log_tail
    assert "Status: error\tError Type: Runtime.ExitError" in log_tail
    # The environment is stopped at once, not when the invocation times out (30 s).
    assert took < 5, took
    # Meanwhile another function was served as usual, and the server did not buffer.
    assert len(watch.latencies) >= 20, len(watch.latencies)
    assert watch.p99() < 0.2, sorted(watch.latencies)[-5:]
    assert watch.peak_rss - rss_before < 30 * 1024 * 1024, (watch.peak_rss, rss_before)
    # The next invocation gets a fresh environment, which works.
    after = json.loads(invoke(lam, attacker, {})["Body"])
    assert after["pongs"] == 3
    assert after["environment"] != before["environment"]
    assert server.process.poll() is None
    assert server.log_path is not None
    assert f"broke a Runtime API limit ({ATTACKS[attack]})" in server.log_path.read_text()


# Function B: answers for itself, and tells where its Runtime API listens.
OWNER = """
import os, uuid
ENVIRONMENT = uuid.uuid4().hex
def handler(event, context):
    if event.get("where"):
        return {"address": os.environ["AWS_LAMBDA_RUNTIME_API"], "environment": ENVIRONMENT}
    return {"mine": event}
"""

# Function A: takes B's next invocation from B's Runtime API and answers for it; or tries
# to get B's environment killed by breaking a limit on B's Runtime API.
THIEF = r"""
import json, socket

def exchange(sock, request):
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return {"status": None, "closed": True, "raw": data.decode("latin-1")}
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    while len(body) < int(headers.get("Content-Length", "0")):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return {"status": int(lines[0].split()[1]), "headers": headers, "body": body.decode()}

def handler(event, context):
    host, port = event["target"].rsplit(":", 1)
    if event.get("flood"):
        try:
            sock = socket.create_connection((host, int(port)), timeout=20)
            sock.sendall(b"GET /2018-06-01/ping HTTP/1.1\r\nX-Big: " + b"a" * (8 << 20))
        except OSError as exc:
            return {"error": type(exc).__name__}
        return {"error": None}
    try:
        sock = socket.create_connection((host, int(port)), timeout=20)
        got = exchange(sock, b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
    except OSError as exc:
        return {"status": None, "error": type(exc).__name__}
    if got["status"] == 200:
        request_id = got["headers"]["Lambda-Runtime-Aws-Request-Id"]
        answer = json.dumps({"stolen": json.loads(got["body"])}).encode()
        got["posted"] = exchange(sock, (
            f"POST /2018-06-01/runtime/invocation/{request_id}/response HTTP/1.1\r\n"
            f"Host: x\r\nContent-Length: {len(answer)}\r\n\r\n"
        ).encode() + answer)
    return got
"""


def test_host_network_runtime_api_serves_only_its_own_runtime(
    own_server: Callable[..., LaminaServer],
) -> None:
    unavailable = probe_isolation()
    if unavailable is not None:
        pytest.skip(f"isolated environments need it: {unavailable}")
    server = own_server("--isolation", "linux", "--function-network", "host")
    lam = server.client()
    owner = create_python_function(lam, OWNER)
    thief = create_python_function(lam, THIEF, Timeout=30)
    where = json.loads(invoke(lam, owner, {"where": True})["Body"])
    address = where["address"]
    assert address.startswith("127.0.0.1:")

    with ThreadPoolExecutor(1) as pool:
        stealing = pool.submit(invoke, server.client(), thief, {"target": address})
        time.sleep(1.5)  # the thief's /next reached the owner's Runtime API first
        mine = invoke(lam, owner, {"card": "4111"})
        stolen = stealing.result(timeout=60)

    assert "FunctionError" not in mine, mine["Body"]
    assert json.loads(mine["Body"]) == {"mine": {"card": "4111"}}
    assert "FunctionError" not in stolen, stolen["Body"]
    seen = json.loads(stolen["Body"])
    assert seen["status"] == 403, seen
    assert json.loads(seen["body"]) == {
        "errorMessage": "This Runtime API serves only its own environment's runtime",
        "errorType": "AccessDeniedException",
    }
    assert "4111" not in stolen["Body"].decode()
    # Nor can another function get the owner's environment killed by breaking its limits.
    flooded = invoke(lam, thief, {"target": address, "flood": True})
    assert "FunctionError" not in flooded, flooded["Body"]
    # The owner's environment is unharmed and keeps its own invocations.
    assert json.loads(invoke(lam, owner, {"n": 2})["Body"]) == {"mine": {"n": 2}}
    assert json.loads(invoke(lam, owner, {"where": True})["Body"]) == where
    assert server.log_path is not None
    log_text = server.log_path.read_text()
    assert "not this environment's runtime" in log_text
    assert "broke a Runtime API limit" not in log_text
