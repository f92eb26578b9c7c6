"""The default CPU policy (burst, docs/isolation.md "CPU"): sustained work still gets the
share of its memory size, and back-to-back invokes of a tiny handler at 128 MB are not
throttled into multi-millisecond stalls (the hard 1 ms-per-14 ms quota was: p90 8-10 ms).

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
    for policy in ("burst", "quota", "weight"):
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
        walls[memory] = _cpu_bound(lam, name, 0.1)["wall"]
    # 0.1 s of CPU at 128/1769 of a CPU takes 1.38 s (1.2 s with the burst spent first).
    assert walls[128] > 0.9, walls
    assert walls[128] > 2.5 * walls[512], walls  # 3.46x in theory
    assert walls[128] > 4 * walls[1769], walls  # 13.8x in theory


def _p90_ms(conn: http.client.HTTPConnection, path: str, count: int) -> float:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        conn.request("POST", path, b"{}", {"Content-Type": "application/json", **SIGNED})
        response = conn.getresponse()
        body = response.read()
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status == 200 and json.loads(body) == {"ok": True}
    return sorted(samples)[int(0.9 * count)]


def test_back_to_back_tiny_invokes_at_128_mb_are_not_throttled(
    lam: Any, server: LaminaServer
) -> None:
    if _policy(server) != "burst":
        pytest.skip("only the burst policy promises this (no CFS burst on this kernel?)")
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
    # 128/1769 = 0.072 of a CPU under burst and quota; here whatever the host has spare.
    assert result["cpu"] / result["wall"] > 0.2, result
