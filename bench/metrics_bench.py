#!/usr/bin/env python3
"""What counting the metrics costs an invocation, beside a floor measured in the same run.

    .venv/bin/python bench/metrics_bench.py            # ~10 s
    .venv/bin/python bench/metrics_bench.py --quick    # ~3 s

(a) ``MetricsCollector.invoked`` (one invocation: invocations, errors, duration histogram),
    also on a cold start (plus the init histogram), and ``throttled``, in process.
(b) The floor: one dict ``get`` and an int increment, run by the same loop.
(c) A scrape: ``render()`` with 100 functions x 2 resources.

Each figure is the median of several rounds. The script always exits 0.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lamina.runtime.concurrency import ConcurrencyLimiter  # noqa: E402
from lamina.runtime.invocation import Outcome  # noqa: E402
from lamina.services.metrics import MetricsCollector  # noqa: E402

ARN = "arn:aws:lambda:us-east-1:000000000000:function:"


def per_call_ns(body: Callable[[int], None], n: int, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        body(n)
        samples.append((time.perf_counter_ns() - start) / n)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, rounds = (50_000, 5) if args.quick else (200_000, 9)

    warm = Outcome(b"{}", None, None, "success", 3.7, None, 10, "")
    cold = Outcome(b"{}", None, None, "success", 3.7, 85.0, 10, "")
    failed = Outcome(b"{}", "Unhandled", None, "error", 12.0, None, 10, "")

    def invoked(outcome: Outcome) -> Callable[[int], None]:
        m = MetricsCollector()

        def body(count: int) -> None:
            record = m.invoked
            for _ in range(count):
                # A fresh ARN string per invocation, as InvokeService builds one.
                record("bench", ARN + "bench", "$LATEST", outcome)

        return body

    def throttled(count: int) -> None:
        m = MetricsCollector()
        record = m.throttled
        for _ in range(count):
            record("bench", ARN + "bench", "ConcurrentInvocationLimitExceeded")

    def floor(count: int) -> None:
        counters: dict[tuple[str, str, str], int] = {}
        for _ in range(count):
            key = ("bench", ARN + "bench", "$LATEST")
            counters[key] = counters.get(key, 0) + 1

    rows = [
        ("floor: dict get + increment (same key build)", per_call_ns(floor, n, rounds)),
        ("invoked(), warm success", per_call_ns(invoked(warm), n, rounds)),
        ("invoked(), function error", per_call_ns(invoked(failed), n, rounds)),
        ("invoked(), cold start (+ init histogram)", per_call_ns(invoked(cold), n, rounds)),
        ("throttled()", per_call_ns(throttled, n, rounds)),
    ]

    limiter = ConcurrencyLimiter()
    big = MetricsCollector(limiter)
    for i in range(100):
        for suffix, version in (("", "$LATEST"), (":live", "3")):
            big.invoked(f"fn{i}", f"{ARN}fn{i}{suffix}", version, warm)
        limiter.release(limiter.acquire(f"fn{i}"))
    scrape_rounds = 5 if args.quick else 20
    scrape = statistics.median(_timed(big.render) for _ in range(scrape_rounds))
    size = len(big.render())

    print(f"Python {sys.version.split()[0]}, {n} calls x {rounds} rounds (median)")
    for label, ns in rows:
        print(f"  {label:<48} {ns:8.0f} ns")
    print(f"  {'scrape, 100 functions x 2 resources':<48} {scrape:8.2f} ms ({size} bytes)")


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


if __name__ == "__main__":
    main()
