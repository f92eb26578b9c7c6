#!/usr/bin/env python3
"""Steady-state invokes/s: Lamina and serverless-offline 13 both running, measured in short
alternating ``wrk -c16`` windows (issue 11's throughput target, drift cancelled).

    .venv/bin/python bench/peers_steady_bench.py --peers-dir /tmp/peers   # about 1.5 minutes

``peers_bench.py`` starts each server fresh and measures it for 8 s after a 1 s warm-up, one
server after the other: two figures of one repeat are taken about half a minute apart, and on a
shared machine the host's speed drifts by tens of percent within minutes. It also measures the
peer before its JIT has warmed up (serverless-offline's invokes/s rises by a fifth over its
first half minute). Here both servers start once (the same echo function, ``--memory`` MB for
Lamina, 128 by default), get ``--warmup`` seconds of load each, then ``--rounds`` pairs of
``--window``-second windows, in alternating order, so that each pair is measured within
seconds. It prints every window, the median of each server, the ratio of the medians and the
median and quartiles of the pairwise ratios, against the target (>= 1.5x); and, per window,
the CPU time per invoke of each server's main thread (Lamina's event loop, the bottleneck under
load) and of its whole process tree (``/proc/<pid>/task/*/schedstat``, nanoseconds), with their
pairwise ratios: the CPU per invoke moves less with the host than invokes/s do. The scratch
directory is the one ``peers_bench.py --setup DIR`` installs. Always exits 0 after a run: a
benchmark, not a test.

``--versus-src DIR`` measures a change instead: the second server is Lamina too, running the
package of another checkout (``DIR``: its ``src``, put first on the server's ``PYTHONPATH``,
e.g. a ``git worktree`` of the commit before), so the ratio is this code's speed over that
code's. Two servers measured this way differ by a few percent at most when they run the same
code; fresh servers measured one after the other, by up to a third. Judge a change by the
pairwise medians and their quartiles over many short windows (``--rounds 16 --window 2``):
within one server, alternating windows of two settings once showed +8 % and +16 % that two
servers side by side, 20 pairs, did not (pairwise median 1.00, quartiles 0.96 to 1.12).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import invoke_bench as ib  # noqa: E402 - the wrk runner
import peers_bench as pb  # noqa: E402 - the servers of the side-by-side benchmark
from invoke_bench import say  # noqa: E402


@dataclass(frozen=True)
class Window:
    rps: float
    main_us: float  # CPU of the server's main thread per invoke
    tree_us: float  # CPU of its whole process tree per invoke


def _thread_ns(pid: int, tid: int | str) -> int:
    with open(f"/proc/{pid}/task/{tid}/schedstat") as stat:
        return int(stat.read().split()[0])


def cpu_ns(pid: int) -> tuple[int, int]:
    """CPU time so far of ``pid``'s main thread and of every thread of its process tree."""
    tree = 0
    for member in [pid, *pb.descendants(pid)]:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # ended meanwhile
            tree += sum(_thread_ns(member, tid) for tid in os.listdir(f"/proc/{member}/task"))
    return _thread_ns(pid, pid), tree


def windows(
    servers: dict[str, tuple[pb.Proc, pb.Target]], rounds: int, seconds: float, clients: int
) -> dict[str, list[Window]]:
    """``rounds`` windows per server, the order alternating from one round to the next."""
    names = list(servers)
    measured: dict[str, list[Window]] = {name: [] for name in names}
    for n in range(rounds):
        for name in names if n % 2 == 0 else reversed(names):
            proc, target = servers[name]
            main_before, tree_before = cpu_ns(proc.pid)
            load = ib.run_wrk(proc.port, target.path, clients, seconds, target.script)
            main_after, tree_after = cpu_ns(proc.pid)
            if load.errors:
                raise RuntimeError(f"{name}: {load.errors} failed requests under load")
            invokes = load.rps * max(1, round(seconds))  # wrk's own duration
            measured[name].append(
                Window(
                    load.rps,
                    (main_after - main_before) / invokes / 1000,
                    (tree_after - tree_before) / invokes / 1000,
                )
            )
        latest = ", ".join(f"{name} {w[-1].rps:,.0f}/s" for name, w in measured.items())
        say(f"round {n + 1}/{rounds}: {latest}")
    return measured


def _spread(values: list[float]) -> str:
    """Median and quartiles."""
    q1, median, q3 = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
    return f"median {median:.2f}x (quartiles {q1:.2f} to {q3:.2f})"


def report(measured: dict[str, list[Window]], title: str, args: argparse.Namespace) -> None:
    """Every window, the medians and their ratio; against the target unless ``--versus-src``."""
    ours, other = [w.rps for w in measured["lamina"]], [w.rps for w in measured["other"]]
    pairwise = [a / b for a, b in zip(ours, other, strict=True)]
    ratio = statistics.median(ours) / statistics.median(other)
    verdict = ""
    if args.versus_src is None:
        passed = ratio >= pb.TARGET_RPS_VS_PEER
        verdict = f" (target >= {pb.TARGET_RPS_VS_PEER:g}x: {'PASS' if passed else 'FAIL'})"
    print()
    print(
        f"Steady-state invokes/s, wrk -c{args.clients}, {args.rounds} alternating windows of"
        f" {args.window:g} s after {args.warmup:g} s of load each ({os.cpu_count()} CPUs,"
        f" load avg {os.getloadavg()[0]:.2f})"
    )
    ours_title = f"Lamina {args.memory:,} MB"
    width = max(len(ours_title), len(title)) + 1
    print(f"{ours_title + ':':<{width}} " + ", ".join(f"{x:,.0f}" for x in ours))
    print(f"{title + ':':<{width}} " + ", ".join(f"{x:,.0f}" for x in other))
    print(
        f"medians: {statistics.median(ours):,.0f}/s vs {statistics.median(other):,.0f}/s:"
        f" {ratio:.2f}x{verdict}; pairwise ratios {', '.join(f'{r:.2f}' for r in pairwise)},"
        f" {_spread(pairwise)}"
    )
    for label, field in (("main thread", "main_us"), ("process tree", "tree_us")):
        mine = [getattr(w, field) for w in measured["lamina"]]
        theirs = [getattr(w, field) for w in measured["other"]]
        ratios = [a / b for a, b in zip(mine, theirs, strict=True)]
        print(
            f"CPU per invoke, {label}: {statistics.median(mine):.1f} vs"
            f" {statistics.median(theirs):.1f} us; pairwise {_spread(ratios)}"
        )


def start_other(ctx: pb.Context, args: argparse.Namespace) -> tuple[pb.Proc, pb.Target]:
    """serverless-offline, or Lamina running ``--versus-src``'s package."""
    if args.versus_src is None:
        return pb.start_sls(ctx, 0)
    env = {"PYTHONPATH": str(args.versus_src.resolve())}
    return pb.start_lamina(ctx, 0, args.memory, env=env, tag="-versus")


def run(args: argparse.Namespace) -> int:
    if args.versus_src is None:
        keys = pb.available_keys(("lamina", "sls"), args.peers_dir)
        if keys is None or "sls" not in keys:
            return 0
    elif shutil.which("wrk") is None:
        say("wrk is not installed: run peers_bench.py --setup DIR first (or apt-get install wrk)")
        return 0
    title = "serverless-offline 13" if args.versus_src is None else f"Lamina of {args.versus_src}"
    tmp = Path(tempfile.mkdtemp(prefix="lamina-steady-"))
    ctx = pb.Context(tmp, args.peers_dir, pb.floor_python_of(args.peers_dir))
    servers: dict[str, tuple[pb.Proc, pb.Target]] = {}
    with pb.signals_as_interrupt():
        try:
            servers["lamina"] = pb.start_lamina(ctx, 0, args.memory)
            servers["other"] = start_other(ctx, args)
            for name, (proc, target) in servers.items():
                say(f"warming {name} for {args.warmup:g} s ...")
                ib.run_wrk(proc.port, target.path, args.clients, args.warmup, target.script)
            measured = windows(servers, args.rounds, args.window, args.clients)
        except KeyboardInterrupt:
            say("interrupted")
            return 0
        except Exception as exc:  # noqa: BLE001 - report, clean up, exit 0
            say(f"benchmark failed: {exc!r}; logs kept in {tmp}")
            return 0
        finally:
            for proc, _ in servers.values():
                proc.stop()
            time.sleep(0.5)
    shutil.rmtree(tmp, ignore_errors=True)
    report(measured, title, args)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    pb.add_peers_dir_argument(parser)
    parser.add_argument("--memory", type=int, default=128, help="Lamina's MemorySize (MB)")
    parser.add_argument("--clients", type=int, default=16, help="wrk connections")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds of load per server")
    parser.add_argument("--rounds", type=int, default=10, help="windows per server")
    parser.add_argument("--window", type=float, default=2.0, help="seconds per window")
    parser.add_argument(
        "--versus-src",
        type=Path,
        metavar="DIR",
        help="compare with Lamina running the package in DIR (another checkout's src)",
    )
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
