#!/usr/bin/env python3
"""CPU policies side by side: tiny handlers back to back, and the speed-up of more memory.

    .venv/bin/python bench/cpu_policy_bench.py                       # ~2 min
    .venv/bin/python bench/cpu_policy_bench.py --rounds 1 --invokes 500
    .venv/bin/python bench/cpu_policy_bench.py --baseline-src /path/to/other/checkout/src
    .venv/bin/python bench/cpu_policy_bench.py --policies quota --src /path/to/checkout/src
    .venv/bin/python bench/cpu_policy_bench.py --policies boost,burst --work-ms 150

One isolated ``lamina server`` per ``--cpu-policy`` (and, with ``--baseline-src``, one
running another checkout's code), measured in alternating rounds so that a noisy
neighbour hits them all, beside two floors from the same run:

- back-to-back: ``--invokes`` sequential Invokes of an echo function on one keep-alive
  connection at 128 MB and at 1,769 MB (p50/p90/p99/max), floor: the bare uvicorn echo
  app of ``invoke_bench.py``, same client;
- paced: a handler doing ~2 ms of work at full speed, invoked every 50 ms at 128 MB (4 % of
  a CPU, under its 7.2 % share), p50 and max;
- CPU-bound: one Invoke of a loop calibrated to ``--work-ms`` at full speed, at 128, 512
  and 1,769 MB; AWS's proportionality makes 128 MB take 1769/128 = 13.8 times and 512 MB
  3.46 times as long as 1,769 MB. Floor: the same loop in the bench's own process.

The script always exits 0: it is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from invoke_bench import (
    ECHO_SERVER,
    HOST,
    ROLE,
    RUNTIME,
    Client,
    Server,
    free_port,
    guarded_run,
    hello_zip,
    invoke_path,
    lambda_client,
    lamina_command,
    percentile,
    say,
)

SPIN_SOURCE = (
    "import time\n"
    "def handler(event, context):\n"
    "    wall, cpu = time.perf_counter(), time.process_time()\n"
    "    x = 0\n"
    "    for i in range(event.get('n', 0)):\n"
    "        x += i\n"
    "    if 'n' not in event:\n"
    "        return {'hello': event.get('name'), 'ok': True}\n"
    "    return [time.perf_counter() - wall, time.process_time() - cpu]\n"
)
SIZES = (128, 512, 1769)
B2B_SIZES = (128, 1769)  # the back-to-back runs
Row = tuple[float, float, float, float]  # p50, p90, p99, max


def spin(n: int) -> int:
    """The handler's loop, for the in-process floor."""
    x = 0
    for i in range(n):
        x += i
    return x


@dataclass
class Target:
    label: str
    server: Server
    echo: Client | None = None
    spin: dict[int, Client] = field(default_factory=dict)
    back_to_back: dict[int, list[Row]] = field(default_factory=dict)
    paced: list[tuple[float, float]] = field(default_factory=list)
    cpu_ms: dict[int, list[float]] = field(default_factory=dict)
    share: dict[int, list[float]] = field(default_factory=dict)  # CPU / wall in the handler


def create(lam: Any, name: str, memory: int) -> None:
    lam.create_function(
        FunctionName=name,
        Runtime=RUNTIME,
        Handler="lambda_function.handler",
        Role=ROLE,
        Code={"ZipFile": hello_zip(SPIN_SOURCE)},
        MemorySize=memory,
        Timeout=60,
    )
    lam.get_waiter("function_active_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 200}
    )


def reconnect(client: Client) -> None:
    """A new keep-alive connection (the server closes idle ones) and one untimed invoke."""
    client.conn.close()
    client.post()


def timed_post(client: Client, body: bytes) -> float:
    start = time.perf_counter()
    client.post(body)
    return (time.perf_counter() - start) * 1000


def calibrate(client: Client, work_ms: float) -> int:
    """Iterations of the loop that take ``work_ms`` of CPU (the handler's own CPU time,
    the least of three runs per step: a busy machine stretches wall time far more)."""
    n = 200_000
    for _ in range(3):
        cpu_ms = []
        for _ in range(3):
            client.post(json.dumps({"n": n}).encode())
            cpu_ms.append(json.loads(client.last_body)[1] * 1000)
        n = max(1000, int(n * work_ms / max(0.1, min(cpu_ms))))
    return n


def paced(client: Client, body: bytes, count: int, every_s: float) -> tuple[float, float]:
    samples = []
    for _ in range(count):
        took = timed_post(client, body)
        samples.append(took)
        time.sleep(max(0.0, every_s - took / 1000))
    return statistics.median(samples), max(samples)


def start_target(tmp: Path, label: str, policy: str | None, src: str | None) -> Target:
    port = free_port()
    argv = [*lamina_command(), "server", "--host", HOST, "--port", str(port)]
    argv += ["--data-dir", str(tmp / label), "--isolation", "linux"]
    if policy:
        argv += ["--cpu-policy", policy]
    if src:  # another checkout's code on the same interpreter
        argv = ["env", f"PYTHONPATH={src}", *argv]
    return Target(label, Server(label, argv, port, tmp / f"{label}.log"))


def median_of(rows: Sequence[tuple[float, ...]], i: int) -> float:
    return statistics.median(r[i] for r in rows)


def latency_row(samples: list[float]) -> Row:
    lat = sorted(samples)
    return percentile(lat, 50), percentile(lat, 90), percentile(lat, 99), lat[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policies", default="boost,burst,quota,weight")
    parser.add_argument("--src", help="a checkout's src/ for the policies' servers")
    parser.add_argument("--baseline-src", help="a checkout's src/ to run as 'baseline' too")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--invokes", type=int, default=1000)
    parser.add_argument("--work-ms", type=float, default=200.0)
    parser.add_argument("--paced", type=int, default=40, help="paced invokes per round")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server logs)")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="lamina-cpu-bench-"))
    targets = [start_target(tmp, p, p, args.src) for p in args.policies.split(",") if p]
    if args.baseline_src:
        targets.append(start_target(tmp, "baseline", None, args.baseline_src))
    servers = [t.server for t in targets]
    with guarded_run(servers, tmp, args.keep):
        echo_port = free_port()
        echo = Server("echo", [sys.executable, "-c", ECHO_SERVER, HOST, str(echo_port)], echo_port,
                      tmp / "echo.log")  # fmt: skip
        servers.append(echo)
        echo.start()
        floor_client = Client(echo_port, "/")
        floor_client.timed(200)
        floor_rows: list[Row] = []
        for t in targets:
            t.server.start()
            lam = lambda_client(t.server.port)
            for memory in SIZES:
                create(lam, f"spin-{memory}", memory)
                t.spin[memory] = Client(t.server.port, invoke_path(f"spin-{memory}"))
            t.echo = t.spin[128]
            for memory in B2B_SIZES:
                t.spin[memory].timed(200)  # the environment starts, caches fill
            for client in t.spin.values():
                client.post()
        reconnect(targets[0].spin[1769])
        n = calibrate(targets[0].spin[1769], args.work_ms)
        work = json.dumps({"n": n}).encode()
        small = json.dumps({"n": n // 100}).encode()  # ~2 ms at full speed
        floor_ms: list[float] = []
        say(f"{n:,} iterations = {args.work_ms:g} ms at full speed; servers: "
            + ", ".join(f"{t.label} :{t.server.port}" for t in targets))  # fmt: skip
        gc.collect()
        gc.freeze()
        gc.disable()
        for r in range(args.rounds):
            reconnect(floor_client)
            started = time.perf_counter()
            spin(n)
            floor_ms.append((time.perf_counter() - started) * 1000)
            floor_rows.append(latency_row(floor_client.timed(args.invokes)))
            for t in targets if r % 2 == 0 else targets[::-1]:
                assert t.echo is not None
                for client in t.spin.values():
                    reconnect(client)
                for memory in B2B_SIZES:
                    time.sleep(0.5)  # idle, as between bursts of traffic
                    rows = t.back_to_back.setdefault(memory, [])
                    rows.append(latency_row(t.spin[memory].timed(args.invokes)))
                time.sleep(0.5)  # the back-to-back run spent the budget: refill it
                t.paced.append(paced(t.echo, small, args.paced, 0.05))
                for memory in SIZES:
                    time.sleep(0.2)
                    t.cpu_ms.setdefault(memory, []).append(timed_post(t.spin[memory], work))
                    wall, cpu = json.loads(t.spin[memory].last_body)
                    t.share.setdefault(memory, []).append(cpu / wall)
            say(f"round {r + 1}/{args.rounds} done")
        gc.enable()

        floor = statistics.median(floor_ms)
        print()
        print(f"medians of {args.rounds} rounds; {args.invokes} back-to-back invokes per round")
        stats = ("p50", "p90", "p99", "max")
        head = "| policy | " + " | ".join(f"b2b {m} MB {x}" for m in B2B_SIZES for x in stats)
        print(head + " | paced p50 | paced max |")
        print("|" + "---|" * (head.count("|") + 2))
        floors = [f"{median_of(floor_rows, i):.2f} ms" for i in range(4)]
        for t in targets:
            cells = [
                f"{median_of(t.back_to_back[m], i):.2f} ms" for m in B2B_SIZES for i in range(4)
            ]
            cells += [f"{median_of(t.paced, i):.2f} ms" for i in range(2)]
            print(f"| {t.label} | " + " | ".join(cells) + " |")
        print(f"| floor | {' | '.join(floors * len(B2B_SIZES))} | - | - |")
        print()
        head = "| policy | " + " | ".join(f"{m} MB" for m in SIZES) + " | 128/1769 | 512/1769 | "
        head += " | ".join(f"share {m}" for m in SIZES) + " |"
        print(head)
        print("|" + "---|" * (head.count("|") - 1))
        for t in targets:
            cpu = {m: statistics.median(v) for m, v in t.cpu_ms.items()}
            cells = [f"{cpu[m]:.0f} ms" for m in SIZES]
            cells += [f"{cpu[128] / cpu[1769]:.1f}x", f"{cpu[512] / cpu[1769]:.2f}x"]
            cells += [f"{statistics.median(t.share[m]):.3f}" for m in SIZES]
            print(f"| {t.label} | " + " | ".join(cells) + " |")
        ideal = [f"{floor * 1769 / m:.0f} ms" for m in SIZES]
        shares = " | ".join(f"{m / 1769:.3f}" for m in SIZES)
        print(f"| floor | {' | '.join(ideal)} | 13.8x | 3.46x | {shares} |")
        print(
            "floor: the echo app (latency); the loop in the bench process "
            f"({floor:.0f} ms) / the share (CPU-bound); share: the handler's CPU time / its "
            "wall time, beside MemorySize/1769"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
