"""The built-in Python runtime's Runtime API client over the socket pair Lamina's sandbox hands
it (``adopt_connection``): it gets its events, and while it waits for one it is not woken by
Lamina reading what it wrote (a ``recv`` blocked on a Unix socket would be, once per invoke)."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

RUNTIME_DIR = Path(__file__).resolve().parents[2] / "src" / "lamina" / "runtimes" / "python"

EVENT = (
    b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r1\r\nLambda-Runtime-Deadline-Ms: 42\r\n"
    b"Content-Type: application/json\r\nContent-Length: 8\r\n\r\n"
    b'{"n": 1}'
)


@pytest.fixture
def client_module() -> Iterator[ModuleType]:
    """The client as the runtime imports it (its directory on ``sys.path``)."""
    sys.path.insert(0, str(RUNTIME_DIR))
    try:
        import lamina_runtime_client

        yield lamina_runtime_client
    finally:
        sys.path.remove(str(RUNTIME_DIR))
        for name in ("lamina_runtime_client", "lamina_runtime_http"):
            sys.modules.pop(name, None)


def voluntary_switches(thread_id: int) -> int:
    status = Path(f"/proc/self/task/{thread_id}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("voluntary_ctxt"))
    return int(line.split()[1])


def read_request(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\r\n\r\n"):
        data += sock.recv(4096)
    return data


def test_waiting_for_an_event_is_not_woken_by_lamina_reading_the_request(
    client_module: ModuleType,
) -> None:
    runtime_end, lamina_end = socket.socketpair()
    client_module.adopt_connection(runtime_end.detach())
    client = client_module.RuntimeAPIClient("127.0.0.1:9001")
    got: list[tuple[dict[str, str], bytes]] = []
    waiter_id: list[int] = []

    def wait_for_event() -> None:
        waiter_id.append(threading.get_native_id())
        got.append(client.wait_next_invocation())

    waiting = threading.Thread(target=wait_for_event)
    waiting.start()
    try:
        time.sleep(0.3)  # the client wrote its GET /next and sleeps, waiting for the answer
        before = voluntary_switches(waiter_id[0])
        request = read_request(lamina_end)  # the kernel wakes a recv blocked on the pair here
        time.sleep(0.2)
        assert voluntary_switches(waiter_id[0]) == before
        assert request.startswith(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n")
        lamina_end.sendall(EVENT)
        waiting.join(timeout=10)
        assert got and got[0][1] == b'{"n": 1}'
        assert got[0][0]["lambda-runtime-aws-request-id"] == "r1"
    finally:
        lamina_end.close()
        client.close()
        waiting.join(timeout=10)
