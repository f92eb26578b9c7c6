#!/usr/bin/env python3
"""Lamina concurrency benchmark, each figure beside its floor measured in the same run.

    .venv/bin/python bench/concurrency_bench.py            # full run (~1 min)
    .venv/bin/python bench/concurrency_bench.py --quick    # ~20 s

(a) The concurrency decision: a lease taken and released by ``ConcurrencyLimiter`` (in
    process, no server), beside a dict increment/decrement pair run by the same loop.
(b) Invokes/s with 16 clients on one function, with and without reserved concurrency (the
    reservation is large enough never to throttle): the figure without is the floor.

The script always exits 0: it is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import invoke_bench as ib  # noqa: E402 - the sibling benchmark's servers, clients and helpers
from invoke_bench import HOST, Server, say  # noqa: E402

from lamina.runtime.concurrency import ConcurrencyLimiter  # noqa: E402

FUNCTION = "bench-concurrency"
TARGET_DECISION_US = 20.0
TARGET_RESERVED_RATIO = 0.95
RESERVED = 200  # more than the clients: the reservation never throttles


# --- (a) the decision, in process ----------------------------------------------------------


def _per_op_us(run_batch: Callable[[int], None], batch: int, batches: int) -> list[float]:
    """Microseconds per operation, one sample per batch."""
    out = []
    clock = time.perf_counter_ns
    for _ in range(batches):
        t0 = clock()
        run_batch(batch)
        out.append((clock() - t0) / batch / 1000)
    return out


def decision_costs(batch: int, batches: int) -> dict[str, list[float]]:
    limiter = ConcurrencyLimiter(1000)
    limiter.set_reserved("reserved-fn", 100)
    acquire, release = limiter.acquire, limiter.release

    def warm_unreserved(n: int) -> None:
        for _ in range(n):
            release(acquire("fn", False))

    def warm_reserved(n: int) -> None:
        for _ in range(n):
            release(acquire("reserved-fn", False))

    scaling = ConcurrencyLimiter(1000, scaling_burst=10**9, scaling_window=1.0)

    def new_environment(n: int) -> None:
        # A token taken from the scaling bucket each time (a clock read and the refill).
        for _ in range(n):
            scaling.release(scaling.acquire("fn", True))

    counts: dict[str, int] = {}

    def floor(n: int) -> None:
        for _ in range(n):
            counts["fn"] = counts.get("fn", 0) + 1
            counts["fn"] -= 1

    cases = {
        "floor": floor,
        "unreserved": warm_unreserved,
        "reserved": warm_reserved,
        "new environment": new_environment,
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for fn in cases.values():
        fn(batch)  # warm-up
    gc.disable()
    try:
        # Interleaved so that noise hits every case alike.
        for _ in range(batches):
            for name, fn in cases.items():
                samples[name] += _per_op_us(fn, batch, 1)
    finally:
        gc.enable()
    return samples


# --- (b) throughput with and without a reservation -----------------------------------------


def throughput(
    lam: Any,
    port: int,
    tool: str,
    clients: int,
    rounds: int,
    seconds: float,
    tmp: Path,
) -> dict[str, list[ib.LoadResult]]:
    path = ib.invoke_path(FUNCTION)
    script = tmp / "post.lua"
    script.write_text(ib.WRK_SCRIPT % (ib.BODY.decode(), ib.AUTHORIZATION))

    def load(duration: float) -> ib.LoadResult:
        if tool == "wrk":
            return ib.run_wrk(port, path, clients, duration, script)
        return ib.run_python_load(port, path, clients, duration)

    def configure(reserved: bool) -> None:
        if reserved:
            lam.put_function_concurrency(
                FunctionName=FUNCTION, ReservedConcurrentExecutions=RESERVED
            )
        else:
            lam.delete_function_concurrency(FunctionName=FUNCTION)

    load(1.0)  # warm-up: one environment per client
    results: dict[str, list[ib.LoadResult]] = {"without": [], "with": []}
    # ABBA order, so that drift over the run hits both alike.
    order: list[str] = []
    for r in range(rounds):
        order += ["without", "with"] if r % 2 == 0 else ["with", "without"]
    for name in order:
        configure(name == "with")
        results[name].append(load(seconds))
    configure(False)
    return results


# --- report ------------------------------------------------------------------------------------


def render(rows: list[tuple[str, ...]]) -> None:
    header = ("measure", "Lamina", "floor", "ratio", "target", "pass/fail")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run (~20 s)")
    parser.add_argument(
        "--load",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="16-client load generator: wrk (C) if installed, else 16 Python processes",
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server log)")
    args = parser.parse_args(argv)

    batch, batches = (2000, 100) if args.quick else (5000, 200)
    rounds, seconds = (1, 2.0) if args.quick else (3, 4.0)
    tool = args.load
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "python"
    elif tool == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install -y wrk)")

    tmp = Path(tempfile.mkdtemp(prefix="lamina-concurrency-bench-"))
    servers: list[Server] = []

    began = time.monotonic()
    with ib.guarded_run(servers, tmp, args.keep):
        say(f"decision cost ({batches} x {batch} leases per case) ...")
        costs = decision_costs(batch, batches)

        port = ib.free_port()
        lamina = Server(
            "lamina",
            [
                *ib.lamina_command(),
                "server",
                "--host",
                HOST,
                "--port",
                str(port),
                "--data-dir",
                str(tmp / "data"),
            ],
            port,
            tmp / "lamina.log",
        )
        servers.append(lamina)
        say(f"starting lamina :{port}; temp dir {tmp}")
        lamina.start()
        lam = ib.lambda_client(port)
        ib.create_function(lam, FUNCTION, ib.hello_zip())
        ib.check_invoke(port, ib.invoke_path(FUNCTION))
        say(f"throughput ({args.clients} clients, {tool}, {rounds} x {seconds:g} s each) ...")
        loads = throughput(lam, port, tool, args.clients, rounds, seconds, tmp)

        floor_us = statistics.median(costs["floor"])
        rows: list[tuple[str, ...]] = []
        for case in ("unreserved", "reserved", "new environment"):
            value = statistics.median(costs[case])
            rows.append(
                (
                    f"lease taken + released, {case} (median)",
                    f"{value:.3f} µs",
                    f"{floor_us:.3f} µs",
                    f"{value / floor_us:.2f}x",
                    f"<= {TARGET_DECISION_US:g} µs",
                    verdict(value <= TARGET_DECISION_US),
                )
            )
        with_rps = statistics.median(x.rps for x in loads["with"])
        without_rps = statistics.median(x.rps for x in loads["without"])
        ratio = with_rps / without_rps if without_rps else float("nan")
        rows.append(
            (
                f"invokes/s, {args.clients} clients, reserved {RESERVED} ({tool})",
                f"{with_rps:,.0f}/s",
                f"{without_rps:,.0f}/s",
                f"{ratio:.3f}x",
                f">= {TARGET_RESERVED_RATIO:.2f}x",
                verdict(ratio >= TARGET_RESERVED_RATIO),
            )
        )
        errors = sum(r.errors for rs in loads.values() for r in rs)
        print()
        print(
            f"Lamina concurrency benchmark ({'quick' if args.quick else 'full'} run, "
            f"{os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.2f}, "
            f"{time.monotonic() - began:.0f} s)"
        )
        render(rows)
        print()
        print("floors: decision = a dict increment/decrement pair in the same loop;")
        print("        invokes/s = the same function without reserved concurrency (no lease")
        print("        path change: every invoke takes a lease either way)")
        print(
            f"samples: decision {batches} x {batch} per case (interleaved); load "
            f"{rounds} x {seconds:g} s per configuration in ABBA order (median), {errors} errors"
        )
        per_with = ", ".join(f"{x.rps:,.0f}" for x in loads["with"])
        per_without = ", ".join(f"{x.rps:,.0f}" for x in loads["without"])
        print(f"invokes/s per round: with [{per_with}], without [{per_without}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
