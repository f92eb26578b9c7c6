"""The CPU policies (docs/isolation.md "CPU"): under the default (boost) and burst,
sustained work still gets the share of its memory size; under boost, back-to-back invokes
of a tiny handler at 128 MB are never throttled (burst stalls one in ~100 for up to 90 ms;
the hard 1 ms-per-14 ms quota: p90 8-10 ms). ``LAMINA_CPU_POLICY=burst`` runs the default
server under burst (the boost-only test then fails, as it should).

Not benchmarks: each bound is generous, compared with a floor from the same run."""

from __future__ import annotations

import http.client
import json
import os
import time
from collections.abc import Callable
from typing import Any

import pytest
from support import SIGNED, LaminaServer, create_python_function

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="isolation needs root")

HANDLER = r"""
import time

def handler(event, context):
    seconds = event.get("cpu")
    if seconds is None:
        return {"ok": True}
    wall, cpu = time.monotonic(), time.process_time()
    while time.process_time() - cpu < seconds:
        pass
    return {"wall": time.monotonic() - wall, "cpu": time.process_time() - cpu}
"""


def _policy(server: LaminaServer) -> str:
    assert server.log_path is not None
    log = server.log_path.read_text()
    if "linux namespaces" not in log:
        pytest.skip("the server runs without isolation")
    for policy in ("boost", "burst", "quota", "weight"):
        if f"CPU policy {policy}" in log:
            return policy
    pytest.skip("no cpu controller: CPU is not limited")


def _cpu_bound(lam: Any, name: str, seconds: float) -> dict[str, float]:
    payload = json.dumps({"cpu": seconds}).encode()
    response = lam.invoke(FunctionName=name, Payload=payload)
    assert "FunctionError" not in response
    result: dict[str, float] = json.loads(response["Payload"].read())
    return result


def test_cpu_bound_work_scales_with_memory(lam: Any, server: LaminaServer) -> None:
    if _policy(server) == "weight":
        pytest.skip("the weight policy does not cap an idle host's CPU")
    walls = {}
    for memory in (128, 512, 1769):
        name = create_python_function(lam, HANDLER, MemorySize=memory, Timeout=30)
        _cpu_bound(lam, name, 0.001)  # the environment starts (init runs at full speed)
        walls[memory] = _cpu_bound(lam, name, 0.15)["wall"]
    # 0.15 s of CPU at 128/1769 of a CPU takes 2.07 s; 1.74 s under boost (its 10 ms
    # window and the 14.4 ms burst at full speed first), 1.88 s under burst.
    assert walls[128] > 1.2, walls
    assert walls[128] > 2.5 * walls[512], walls  # 3.46x in theory
    assert walls[128] > 4 * walls[1769], walls  # 13.8x in theory


def _latencies_ms(
    conn: http.client.HTTPConnection, path: str, count: int, payload: bytes = b"{}"
) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        conn.request("POST", path, payload, {"Content-Type": "application/json", **SIGNED})
        response = conn.getresponse()
        body = response.read()
        samples.append((time.perf_counter() - start) * 1000)
        reply = json.loads(body)
        assert response.status == 200 and ("ok" in reply or "cpu" in reply), body
    return sorted(samples)


def _p90_ms(conn: http.client.HTTPConnection, path: str, count: int) -> float:
    return _latencies_ms(conn, path, count)[int(0.9 * count)]


def test_back_to_back_tiny_invokes_at_128_mb_never_stall(lam: Any, server: LaminaServer) -> None:
    """Under boost every invoke of a short handler (0.2 ms of CPU) runs within its boost
    window: no stall at 128 MB, however fast the client (burst: a stall of up to ~90 ms
    once the environment has used 7.2 ms of CPU more than its share)."""
    if _policy(server) != "boost":
        pytest.skip("only the boost policy promises this")
    small = create_python_function(lam, HANDLER, MemorySize=128)
    full = create_python_function(lam, HANDLER, MemorySize=1769)  # the floor: never throttled
    conn = http.client.HTTPConnection("127.0.0.1", server.port)
    slow: dict[str, int] = {small: 0, full: 0}
    try:
        paths = {n: f"/2015-03-31/functions/{n}/invocations" for n in (small, full)}
        work = json.dumps({"cpu": 0.0002}).encode()
        for path in paths.values():
            _latencies_ms(conn, path, 20, work)  # the environments start, caches fill
        for _ in range(2):  # alternating, so that a noisy neighbour hits both
            for name, path in paths.items():
                slow[name] += sum(ms > 20 for ms in _latencies_ms(conn, path, 300, work))
    finally:
        conn.close()
    # 600 invokes at ~1,000/s use ~4 times a 128 MB share: burst stalls a few in every
    # 100 ms for 20-90 ms. A busy host may delay one or two of either function's.
    assert slow[small] <= slow[full] + 1, slow


def test_back_to_back_tiny_invokes_at_128_mb_are_not_throttled(
    lam: Any, server: LaminaServer
) -> None:
    if _policy(server) not in ("boost", "burst"):
        pytest.skip("only boost and burst promise this (no CFS burst on this kernel?)")
    small = create_python_function(lam, HANDLER, MemorySize=128)
    full = create_python_function(lam, HANDLER, MemorySize=1769)  # the floor: never throttled
    conn = http.client.HTTPConnection("127.0.0.1", server.port)
    try:
        paths = {n: f"/2015-03-31/functions/{n}/invocations" for n in (small, full)}
        for path in paths.values():
            _p90_ms(conn, path, 50)  # the environments start, caches fill
        p90: dict[str, list[float]] = {small: [], full: []}
        for _ in range(2):  # alternating, so that a noisy neighbour hits both
            for name, path in paths.items():
                time.sleep(0.3)
                p90[name].append(_p90_ms(conn, path, 300))
    finally:
        conn.close()
    # Today's 128 MB p90 is within ~1.5 ms of 1,769 MB's; a hard 1 ms quota made it 6-9 ms
    # more (one invoke in five waited for the next period).
    assert min(p90[small]) < min(p90[full]) + 2.5, p90


def test_weight_policy_does_not_cap_an_idle_host(
    own_server: Callable[..., LaminaServer],
) -> None:
    server = own_server("--cpu-policy", "weight")
    if _policy(server) != "weight":
        pytest.skip("no cpu controller")
    lam = server.client()
    name = create_python_function(lam, HANDLER, MemorySize=128, Timeout=30)
    _cpu_bound(lam, name, 0.001)
    result = _cpu_bound(lam, name, 0.1)
    # 128/1769 = 0.072 of a CPU under boost, burst and quota; here whatever the host has.
    assert result["cpu"] / result["wall"] > 0.2, result
