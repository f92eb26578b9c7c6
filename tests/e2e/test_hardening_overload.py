"""Issue 9 item 16: a single host admits only what it can run, and recovers from a crash.

- 600 asynchronous events of a 128 MB function that imports boto3 are acknowledged, the
  server is SIGKILLed, restarted: every event left in the queue runs (none lost, none failed
  or retried as a function error), at full speed, and a synchronous invocation of the same
  function during the drain is answered promptly.
- Synchronous invocations beyond the host's room wait for room up to ``--admission-wait``,
  then get AWS's 429 ``ConcurrentInvocationLimitExceeded``; an idle environment of another
  function is stopped to make room.
- An asynchronous event that finds no room waits for it, in flight: no throttle, no attempt.
- At most ``--max-cold-starts`` environments initialise at once.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from support import REGION, LaminaServer, create_python_function

AUTH = (
    "AWS4-HMAC-SHA256 Credential=test/20261206/us-east-1/lambda/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0000"
)
EVENTS = 600
# The note's figure is "all within 30 s" on the project's 2-vCPU machine (measured 7-11 s,
# the synchronous invocation 0.9-1.7 s); the limits allow for a machine busy with other work.
DRAIN_LIMIT = 120.0
SYNC_LIMIT = 15.0

BOTO3_SLEEPER = (
    "import time\n"
    "import boto3\n"
    "def handler(event, context):\n"
    "    time.sleep(event.get('s', 0.1))\n"
    "    return {'id': event.get('id'), 'sdk': boto3.__version__}\n"
)
SLEEPER = (
    "import time\n"
    "def handler(event, context):\n"
    "    time.sleep(event.get('s', 0))\n"
    "    return {'ok': True}\n"
)
SLOW_INIT = (
    "import time\n"
    "INIT_START = time.time()\n"
    "time.sleep(0.4)\n"
    "INIT_END = time.time()\n"
    "def handler(event, context):\n"
    "    time.sleep(0.2)\n"
    "    return [INIT_START, INIT_END]\n"
)


def internal(server: LaminaServer, path: str) -> Any:
    request = urllib.request.Request(f"{server.endpoint}{path}", headers={"Authorization": AUTH})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def queue_of(server: LaminaServer, name: str) -> dict[str, Any]:
    functions: dict[str, dict[str, Any]] = internal(server, f"/_lamina/async?function={name}")[
        "functions"
    ]
    return functions.get(name, {})


def invoke(client: Any, name: str, event: dict[str, Any]) -> dict[str, Any]:
    try:
        response = client.invoke(FunctionName=name, Payload=json.dumps(event).encode())
    except ClientError as exc:
        return dict(exc.response)
    response["Body"] = json.loads(response["Payload"].read())
    return dict(response)


def single_attempt_client(server: LaminaServer) -> Any:
    """A client that shows the first answer (botocore retries a 429 by itself)."""
    return boto3.client(
        "lambda",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=120),
    )


def is_host_throttle(response: dict[str, Any]) -> bool:
    return (
        response["ResponseMetadata"]["HTTPStatusCode"] == 429
        and response.get("Error", {}).get("Code") == "TooManyRequestsException"
        and response.get("Reason") == "ConcurrentInvocationLimitExceeded"
    )


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until ``check`` holds."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.1)
    return time.monotonic() - started


def cpu_overcommit_for(environments_of_128_mb: float) -> str:
    """``--host-cpu-overcommit`` that leaves room for this many 128 MB environments."""
    cores = len(os.sched_getaffinity(0))
    return f"{environments_of_128_mb * 128 / (cores * 1769):.6f}"


def test_600_events_survive_sigkill_and_drain_at_full_speed(
    own_server: Callable[..., LaminaServer],
) -> None:
    srv = own_server()
    lam = srv.client()
    name = create_python_function(lam, BOTO3_SLEEPER, MemorySize=128, Timeout=30)

    def send(index: int) -> int:
        response = lam.invoke(
            FunctionName=name,
            InvocationType="Event",
            Payload=json.dumps({"id": index}).encode(),
        )
        return int(response["StatusCode"])

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(send, range(EVENTS)))
    assert statuses == [202] * EVENTS
    assert srv.process is not None
    os.kill(srv.process.pid, signal.SIGKILL)
    srv.process.wait()

    with sqlite3.connect(srv.data_dir / "async.sqlite3") as db:
        (left,) = db.execute(
            "SELECT COUNT(*) FROM events WHERE kind='invoke' AND function=?", (name,)
        ).fetchone()
    # Most of the backlog had not run when the server died (boto3 takes a while to import;
    # on this machine about 590 are left).
    assert left >= EVENTS // 4, left

    restarted = time.monotonic()
    srv.start()
    lam = srv.client()
    assert queue_of(srv, name)["pending"] + queue_of(srv, name)["inFlight"] > 0

    # A synchronous invocation of the same function while the backlog drains.
    sync_started = time.monotonic()
    answer = invoke(lam, name, {"id": "sync", "s": 0})
    sync_seconds = time.monotonic() - sync_started
    assert answer["StatusCode"] == 200, answer
    assert "FunctionError" not in answer, (answer["Body"], sync_seconds)
    assert answer["Body"]["id"] == "sync"
    assert sync_seconds < SYNC_LIMIT, sync_seconds

    def drained() -> bool:
        state = queue_of(srv, name)
        return state.get("succeeded", 0) >= left and not (
            state["pending"] or state["inFlight"] or state["retrying"]
        )

    wait_until(drained, DRAIN_LIMIT, "the backlog drained")
    drain_seconds = time.monotonic() - restarted
    state = queue_of(srv, name)
    # None lost, none failed: every event left in the queue ran once, successfully, and no
    # overload made one a function error (a retry would have waited a minute).
    assert state["succeeded"] == left, state
    assert state["dropped"] == 0, state
    with sqlite3.connect(srv.data_dir / "async.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM events").fetchone() == (0,)
    metrics = urllib.request.urlopen(
        urllib.request.Request(f"{srv.endpoint}/_lamina/metrics", headers={"Authorization": AUTH})
    ).read()
    errors = [
        line
        for line in metrics.decode().splitlines()
        if line.startswith("lamina_lambda_errors_total") and f'"{name}"' in line
    ]
    assert errors and all(float(line.split()[-1]) == 0 for line in errors), errors
    environments = next(
        line.split()[-1]
        for line in metrics.decode().splitlines()
        if line.startswith("lamina_host_environments ")
    )
    print(
        f"\noverload: {EVENTS} events acknowledged, SIGKILL with {left} left; after restart"
        f" all ran in {drain_seconds:.1f} s on {environments} environments, none lost; a"
        f" synchronous invoke during the drain answered in {sync_seconds:.2f} s"
    )


def test_sync_invocations_beyond_the_host_wait_then_get_the_429(
    own_server: Callable[..., LaminaServer],
) -> None:
    srv = own_server("--host-cpu-overcommit", cpu_overcommit_for(2.5), "--admission-wait", "1")
    lam = single_attempt_client(srv)
    busy = create_python_function(lam, SLEEPER, MemorySize=128, Timeout=30)
    other = create_python_function(lam, SLEEPER, MemorySize=128, Timeout=30)
    with ThreadPoolExecutor(4) as pool:
        holders = [pool.submit(invoke, lam, busy, {"s": 8}) for _ in range(2)]
        time.sleep(2.0)  # both environments started and busy: the host is full
        started = time.monotonic()
        refused = invoke(lam, busy, {"s": 0})
        waited = time.monotonic() - started
        assert is_host_throttle(refused), refused
        assert "retry-after" not in refused["ResponseMetadata"]["HTTPHeaders"]  # as AWS
        assert 0.9 <= waited < 5, waited
        assert is_host_throttle(invoke(lam, other, {"s": 0}))
        assert all(h.result()["StatusCode"] == 200 for h in holders)
    # The two environments of ``busy`` idle now; ``other`` needs room: the least recently
    # used idle one is stopped for it, and nothing waits.
    started = time.monotonic()
    assert invoke(lam, other, {"s": 0})["StatusCode"] == 200
    assert time.monotonic() - started < 5


def test_a_waiting_sync_invocation_runs_when_an_environment_frees(
    own_server: Callable[..., LaminaServer],
) -> None:
    srv = own_server("--host-cpu-overcommit", cpu_overcommit_for(1.5), "--admission-wait", "20")
    lam = srv.client()
    name = create_python_function(lam, SLEEPER, MemorySize=128, Timeout=30)
    with ThreadPoolExecutor(2) as pool:
        holder = pool.submit(invoke, lam, name, {"s": 3})
        time.sleep(1.0)
        started = time.monotonic()
        second = invoke(lam, name, {"s": 0})
        waited = time.monotonic() - started
        assert holder.result()["StatusCode"] == 200
    assert second["StatusCode"] == 200, second
    assert 1.0 < waited < 10, waited  # it waited for the one environment, then reused it


def test_cold_starts_in_flight_are_limited(own_server: Callable[..., LaminaServer]) -> None:
    srv = own_server("--max-cold-starts", "1")
    lam = srv.client()
    names = [create_python_function(lam, SLOW_INIT, MemorySize=128) for _ in range(4)]
    barrier = threading.Barrier(len(names))

    def one(name: str) -> dict[str, Any]:
        barrier.wait()
        return invoke(lam, name, {})

    with ThreadPoolExecutor(len(names)) as pool:
        results = list(pool.map(one, names))
    assert all(r["StatusCode"] == 200 for r in results), results
    inits = sorted((float(r["Body"][0]), float(r["Body"][1])) for r in results)
    for (_, end), (start, _) in zip(inits, inits[1:], strict=False):
        assert start >= end - 0.01, inits  # one after the other, never two at once


def test_an_event_waits_for_room_without_a_throttle_or_an_attempt(
    own_server: Callable[..., LaminaServer],
) -> None:
    srv = own_server("--host-cpu-overcommit", cpu_overcommit_for(1.5), "--admission-wait", "20")
    lam = srv.client()
    holder_fn = create_python_function(lam, SLEEPER, MemorySize=128, Timeout=30)
    event_fn = create_python_function(lam, SLEEPER, MemorySize=128, Timeout=30)
    with ThreadPoolExecutor(1) as pool:
        holder = pool.submit(invoke, lam, holder_fn, {"s": 4})
        time.sleep(1.0)  # the host's one environment is busy
        sent = time.monotonic()
        lam.invoke(FunctionName=event_fn, InvocationType="Event", Payload=b'{"s": 0}')
        time.sleep(1.0)
        assert queue_of(srv, event_fn)["inFlight"] == 1  # waiting for room, in flight
        assert holder.result()["StatusCode"] == 200
    wait_until(lambda: queue_of(srv, event_fn).get("succeeded") == 1, 30, "the event ran")
    assert time.monotonic() - sent > 2.0  # it ran once the holder's environment was free
    state = queue_of(srv, event_fn)
    assert (state["dropped"], state["retrying"], state["throttled"]) == (0, 0, 0), state
    metrics = urllib.request.urlopen(
        urllib.request.Request(f"{srv.endpoint}/_lamina/metrics", headers={"Authorization": AUTH})
    ).read()
    throttles = [
        line
        for line in metrics.decode().splitlines()
        if line.startswith("lamina_lambda_throttles_total") and f'"{event_fn}"' in line
    ]
    assert all(float(line.split()[-1]) == 0 for line in throttles), throttles
