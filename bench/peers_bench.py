#!/usr/bin/env python3
"""Side-by-side invoke benchmark: Lamina (128 MB and 1,769 MB), serverless-offline 13 and a floor.

    .venv/bin/python bench/peers_bench.py --setup /tmp/peers       # once: wrk, venv, npm
    .venv/bin/python bench/peers_bench.py --peers-dir /tmp/peers   # a run, about 2.5 minutes

Every server runs the same Python echo handler (``bench/peers/handler.py``) and is invoked
through the Lambda Invoke path (``POST /2015-03-31/functions/<name>/invocations``):

- **Lamina** ``lamina server`` (isolated environments when run as root), one ``python3.11``
  function of 128 MB (the default memory size) or 1,769 MB (one full vCPU on AWS);
- **serverless-offline 13** (``serverless@3``), the same handler as a ``python3.11``
  function, through its Lambda invoke endpoint;
- **the floor**: ``bench/peers/floor_app.py``, the handler called in-process by a bare
  ASGI app on uvicorn (httptools, uvloop).

Each repeat starts every server fresh, in alternating order, and measures: the first
invoke after start (a new connection, once the function exists), 1,000 sequential invokes
on one keep-alive connection after 50 warm-up ones (p50, p99), ``wrk -c16`` invokes/s for
8 s after a 1 s warm-up, and the PSS of the server's whole process tree (every descendant's
``/proc/<pid>/smaps_rollup``) sampled during that load. The table gives the medians of the
repeats, each with its ratio to the floor, and issue 11's targets. ``--setup DIR`` is the
only thing that installs anything (never run it in CI). Always exits 0 after a run: it is a
benchmark, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import http.client
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

sys.path.insert(0, str(Path(__file__).resolve().parent))

import invoke_bench as ib  # noqa: E402 - the sibling benchmark's wrk runner and helpers
from invoke_bench import HOST, percentile, say  # noqa: E402

HERE = Path(__file__).resolve().parent / "peers"
BODY = b'{"hello": "world", "n": 1}'
EXPECTED = {"ok": True, "echo": json.loads(BODY)}
HEADERS = {
    "Content-Type": "application/json",
    "Authorization": (
        "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/lambda/aws4_request, "
        "SignedHeaders=host, Signature=abc"
    ),
}
FUNCTION = "echo"
SLS_FUNCTION = "bench-dev-echo"  # serverless.yml: service "bench", stage "dev", function "echo"
RUNTIME = "python3.11"
FLOOR_DEPS = ("uvicorn", "httptools", "uvloop")

TARGET_RPS_VS_PEER = 1.5
TARGET_WARM_P50_MS = {128: 0.6, 1769: 0.45}
TARGET_WARM_P99_MS = 2.0
TARGET_FIRST_MS = 60.0

KEYS = ("lamina128", "lamina1769", "sls", "floor")
TITLES = {
    "lamina128": "Lamina 128 MB",
    "lamina1769": "Lamina 1,769 MB",
    "sls": "serverless-offline 13",
    "floor": "floor",
}


# --- setup (only with --setup) ---------------------------------------------------------------


def run_step(argv: list[str], cwd: Path | None = None) -> None:
    say("$ " + " ".join(argv))
    subprocess.run(argv, cwd=cwd, check=True)


def setup(scratch: Path) -> None:
    """Install wrk (apt-get, if missing), the floor's venv and serverless-offline into
    ``scratch``. Idempotent; raises CalledProcessError when a step fails."""
    scratch.mkdir(parents=True, exist_ok=True)
    if shutil.which("wrk") is None:
        if os.geteuid() != 0:
            raise SystemExit("wrk is missing and installing it needs root: apt-get install -y wrk")
        run_step(["apt-get", "update"])
        run_step(["apt-get", "install", "-y", "wrk"])
    # The floor runs the uvicorn stack Lamina runs, at the same versions, in its own venv.
    from importlib.metadata import version

    venv = scratch / "venv"
    if not (venv / "bin" / "python").exists():
        run_step([sys.executable, "-m", "venv", str(venv)])
    pins = [f"{name}=={version(name)}" for name in FLOOR_DEPS]
    run_step([str(venv / "bin" / "pip"), "install", "-q", *pins])
    sls = scratch / "sls"
    sls.mkdir(exist_ok=True)
    for name in ("package.json", "serverless.yml", "handler.py"):
        shutil.copy(HERE / name, sls / name)
    run_step(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=sls)
    say(f"setup done; run: {sys.executable} bench/peers_bench.py --peers-dir {scratch}")


# --- servers -----------------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """Every process below pid (isolated environments included: they are the children of
    Lamina's spawner)."""
    out: list[int] = []
    todo = [pid]
    while todo:
        kids = ib.children_of(todo.pop())
        out += kids
        todo += kids
    return out


def pss_kib(pid: int) -> int:
    """The PSS of one process in KiB (0 if it is gone or unreadable)."""
    with contextlib.suppress(OSError, ValueError), open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


@dataclass
class Proc:
    """A server process started in its own session; ``stop`` ends it and everything it
    started (by pid: its group and every descendant seen)."""

    name: str
    argv: list[str]
    port: int
    log: Path
    cwd: Path | None = None
    env: dict[str, str] | None = None
    process: subprocess.Popen[bytes] | None = None
    seen: set[int] = field(default_factory=set)
    started_at: float = 0.0

    def start(self, timeout: float = 120) -> None:
        with open(self.log, "ab") as log:
            self.started_at = time.perf_counter()
            self.process = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env={**os.environ, **(self.env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        ib.wait_port(self.port, self.process, self.log, timeout)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def tree(self) -> list[int]:
        """The server and its descendants now (remembered for ``stop``)."""
        pids = [self.pid, *descendants(self.pid)]
        self.seen.update(pids)
        return pids

    def stop(self) -> None:
        if self.process is None:
            return
        self.tree()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        for pid in self.seen - {self.process.pid}:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self.process = None


@dataclass(frozen=True)
class Context:
    tmp: Path
    peers_dir: Path | None
    floor_python: str


def check_invoke_answer(name: str, data: bytes) -> None:
    """The answer to an Invoke must be the handler's result for the request's body."""
    if json.loads(data) != EXPECTED:
        raise RuntimeError(f"{name}: unexpected invoke result {data[:300]!r}")


@dataclass(frozen=True)
class Target:
    """What one server is asked: every request's path and headers (the sequential client
    sends them, ``script`` makes wrk send the same), and the check of the first answer
    (``check(server name, body)`` raises RuntimeError when it is not the handler's)."""

    path: str
    headers: dict[str, str]
    script: Path
    check: Callable[[str, bytes], None]


def invoke_target(name: str) -> Target:
    """An Invoke of function ``name`` through the Lambda API path."""
    return Target(ib.invoke_path(name), HEADERS, HERE / "post.lua", check_invoke_answer)


def handler_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.write(HERE / "handler.py", "handler.py")
    return buf.getvalue()


def floor_proc(ctx: Context, rep: int) -> Proc:
    """The floor's uvicorn, started (it answers a POST to any path)."""
    port = ib.free_port()
    argv = [ctx.floor_python, "-m", "uvicorn", "floor_app:app", "--app-dir", str(HERE)]
    argv += ["--host", HOST, "--port", str(port), "--http", "httptools", "--loop", "uvloop"]
    argv += ["--lifespan", "off", "--log-level", "warning", "--no-access-log"]
    proc = Proc("floor", argv, port, ctx.tmp / f"floor.{rep}.log")
    proc.start()
    return proc


def start_floor(ctx: Context, rep: int) -> tuple[Proc, Target]:
    return floor_proc(ctx, rep), invoke_target(FUNCTION)


def sls_proc(ctx: Context, rep: int, endpoint: Literal["lambda", "http"]) -> Proc:
    """serverless-offline, started; ``Proc.port`` is its ``endpoint``'s port: ``lambda``
    (the invoke endpoint) or ``http`` (its API Gateway emulation, httpApi events)."""
    assert ctx.peers_dir is not None
    sls = ctx.peers_dir / "sls"
    for name in ("serverless.yml", "handler.py"):  # the repository's copies, not stale ones
        shutil.copy(HERE / name, sls / name)
    ports = [ib.free_port() for _ in range(4)]
    argv = ["node", "node_modules/serverless/bin/serverless.js", "offline", "start"]
    argv += ["--host", HOST, "--lambdaPort", str(ports[0]), "--httpPort", str(ports[1])]
    argv += ["--websocketPort", str(ports[2]), "--albPort", str(ports[3])]
    env = {
        "SLS_TELEMETRY_DISABLED": "1",
        "SLS_NOTIFICATIONS_MODE": "off",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }
    port = ports[1] if endpoint == "http" else ports[0]
    proc = Proc("sls", argv, port, ctx.tmp / f"sls.{rep}.log", cwd=sls, env=env)
    proc.start()
    return proc


def start_sls(ctx: Context, rep: int) -> tuple[Proc, Target]:
    return sls_proc(ctx, rep, "lambda"), invoke_target(SLS_FUNCTION)


def lamina_with_function(
    ctx: Context, rep: int, memory: int, env: dict[str, str] | None = None, tag: str = ""
) -> tuple[Proc, Any]:
    """``lamina server`` on a fresh data directory with the echo function ``FUNCTION`` of
    ``memory`` MB, Active; returns the server and a boto3 Lambda client for it. ``env``: the
    server's extra environment (``PYTHONPATH`` to run another checkout's package); ``tag``
    tells its files apart from another server's of the same repeat."""
    port = ib.free_port()
    name = f"lamina{memory}{tag}"
    data = ctx.tmp / f"{name}.{rep}"
    argv = [*ib.lamina_command(), "server", "--host", HOST, "--port", str(port)]
    argv += ["--data-dir", str(data)]
    proc = Proc(name, argv, port, ctx.tmp / f"{name}.{rep}.log", env=env)
    proc.start()
    lam = ib.lambda_client(port)
    lam.create_function(
        FunctionName=FUNCTION,
        Runtime=RUNTIME,
        Handler="handler.handler",
        Role=ib.ROLE,
        Code={"ZipFile": handler_zip()},
        MemorySize=memory,
        Timeout=30,
    )
    lam.get_waiter("function_active_v2").wait(
        FunctionName=FUNCTION, WaiterConfig={"Delay": 0.05, "MaxAttempts": 200}
    )
    return proc, lam


def start_lamina(
    ctx: Context, rep: int, memory: int, env: dict[str, str] | None = None, tag: str = ""
) -> tuple[Proc, Target]:
    """``lamina_with_function``'s server and its Invoke target."""
    proc, _ = lamina_with_function(ctx, rep, memory, env, tag)
    return proc, invoke_target(FUNCTION)


def lamina_package() -> str:
    """The directory of the lamina package the servers import (PYTHONPATH can pick another
    checkout's)."""
    probe = "import os, lamina; print(os.path.dirname(lamina.__file__))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    return done.stdout.strip() or "?"


Starter = Callable[[Context, int], tuple[Proc, Target]]


def starter(key: str) -> Starter:
    if key == "floor":
        return start_floor
    if key == "sls":
        return start_sls
    memory = int(key.removeprefix("lamina"))
    return lambda ctx, rep: start_lamina(ctx, rep, memory)


# --- measurements ------------------------------------------------------------------------------


class Invoker:
    """One keep-alive ``http.client`` connection doing sequential POSTs of ``BODY`` to a
    target; each answer must be 200."""

    def __init__(self, port: int, target: Target) -> None:
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)
        self.path = target.path
        self.headers = target.headers

    def invoke(self) -> bytes:
        self.conn.request("POST", self.path, BODY, self.headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"{self.path}: HTTP {response.status}: {data[:300]!r}")
        return data

    def timed(self, n: int) -> list[float]:
        out = []
        clock = time.perf_counter
        for _ in range(n):
            t0 = clock()
            self.invoke()
            out.append((clock() - t0) * 1000)
        return out

    def close(self) -> None:
        self.conn.close()


class PssSampler(threading.Thread):
    """Samples the PSS of a server's process tree every ``period`` seconds until stopped;
    keeps the largest total (KiB) and the number of processes it counted."""

    def __init__(self, proc: Proc, period: float = 2.0) -> None:
        super().__init__(daemon=True)
        self.proc = proc
        self.period = period
        self.peak_kib = 0
        self.processes = 0
        self.done = threading.Event()

    def sample(self) -> None:
        pids = self.proc.tree()
        total = sum(pss_kib(pid) for pid in pids)
        if total > self.peak_kib:
            self.peak_kib, self.processes = total, len(pids)

    def run(self) -> None:
        while not self.done.wait(self.period):
            self.sample()

    def stop(self) -> None:
        self.done.set()
        self.join()


@dataclass
class Sample:
    """One repeat of one server."""

    first_ms: float
    warm_p50_ms: float
    warm_p99_ms: float
    rps: float
    load_p50_ms: float | None
    load_p99_ms: float | None
    errors: int
    pss_mib: float | None
    processes: int


def measure(proc: Proc, target: Target, warm_n: int, clients: int, seconds: float) -> Sample:
    path, script = target.path, target.script
    first = Invoker(proc.port, target)
    t0 = time.perf_counter()
    data = first.invoke()
    first_ms = (time.perf_counter() - t0) * 1000
    first.close()
    target.check(proc.name, data)
    client = Invoker(proc.port, target)
    client.timed(50)
    gc.disable()
    try:
        warm = client.timed(warm_n)
    finally:
        gc.enable()
        client.close()
    ib.run_wrk(proc.port, path, clients, 1.0, script)  # warm-up: one environment per client
    sampler = PssSampler(proc, period=min(2.0, seconds / 2))
    sampler.start()
    try:
        load = ib.run_wrk(proc.port, path, clients, seconds, script)
    finally:
        sampler.stop()
    return Sample(
        first_ms=first_ms,
        warm_p50_ms=percentile(warm, 50),
        warm_p99_ms=percentile(warm, 99),
        rps=load.rps,
        load_p50_ms=load.p50_ms,
        load_p99_ms=load.p99_ms,
        errors=load.errors,
        pss_mib=sampler.peak_kib / 1024 if sampler.peak_kib else None,
        processes=sampler.processes,
    )


# --- report ------------------------------------------------------------------------------------


def median_of(samples: list[Sample], attr: str) -> float | None:
    values = [getattr(s, attr) for s in samples if getattr(s, attr) is not None]
    return statistics.median(values) if values else None


def cell(value: float | None, floor: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "/s":
        text = f"{value:,.0f}/s"
    elif unit == "MiB":
        text = f"{value:,.0f} MiB"
    else:
        text = f"{value:.2f} ms" if value < 100 else f"{value:,.0f} ms"
    if floor:
        text += f" ({value / floor:.2f}x)"
    return text


def verdict(checks: list[bool | None]) -> str:
    return " / ".join("-" if c is None else ("PASS" if c else "FAIL") for c in checks)


def le(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def build_rows(
    results: dict[str, list[Sample]], clients: int, warm_n: int
) -> list[tuple[str, ...]]:
    def med(key: str, attr: str) -> float | None:
        return median_of(results.get(key, []), attr)

    rows: list[tuple[str, ...]] = []

    def row(measure: str, attr: str, unit: str, target: str = "", checks: str = "") -> None:
        floor = med("floor", attr)
        cells = [cell(med(k, attr), floor if k != "floor" else None, unit) for k in KEYS]
        rows.append((measure, *cells, target, checks))

    first = [med(k, "first_ms") for k in ("lamina128", "lamina1769")]
    row(
        "first invoke after start",
        "first_ms",
        "ms",
        f"<= {TARGET_FIRST_MS:g} ms",
        verdict([le(x, TARGET_FIRST_MS) for x in first]),
    )
    p50 = [med("lamina128", "warm_p50_ms"), med("lamina1769", "warm_p50_ms")]
    row(
        f"warm p50 ({warm_n:,} sequential, keep-alive)",
        "warm_p50_ms",
        "ms",
        f"<= {TARGET_WARM_P50_MS[128]:g} / {TARGET_WARM_P50_MS[1769]:g} ms",
        verdict([le(p50[0], TARGET_WARM_P50_MS[128]), le(p50[1], TARGET_WARM_P50_MS[1769])]),
    )
    p99 = [med("lamina128", "warm_p99_ms"), med("lamina1769", "warm_p99_ms")]
    row(
        "warm p99",
        "warm_p99_ms",
        "ms",
        f"<= {TARGET_WARM_P99_MS:g} ms",
        verdict([le(x, TARGET_WARM_P99_MS) for x in p99]),
    )
    peer = med("sls", "rps")
    lam = med("lamina128", "rps")
    need = peer * TARGET_RPS_VS_PEER if peer else None
    row(
        f"invokes/s, wrk -c{clients}",
        "rps",
        "/s",
        f">= {TARGET_RPS_VS_PEER:g}x peer at 128 MB" + (f" ({need:,.0f}/s)" if need else ""),
        verdict([None if lam is None or need is None else lam >= need, None]),
    )
    row(f"latency p50 under {clients}-client load", "load_p50_ms", "ms")
    row(f"latency p99 under {clients}-client load", "load_p99_ms", "ms")
    row(f"PSS of the server's process tree, {clients} clients", "pss_mib", "MiB")
    return rows


TABLE_HEADER = ("measure", *(TITLES[k] for k in KEYS), "target", "pass/fail (128 / 1,769 MB)")


def print_table(rows: list[tuple[str, ...]], header: tuple[str, ...] = TABLE_HEADER) -> None:
    lines = [header, *rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for n, line in enumerate(lines):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


# --- main --------------------------------------------------------------------------------------


@contextlib.contextmanager
def signals_as_interrupt() -> Iterator[None]:
    def on_signal(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def available_keys(keys: tuple[str, ...], peers_dir: Path | None) -> list[str] | None:
    """``keys`` without ``sls`` when serverless-offline is not installed (said); None when
    wrk is missing (said): nothing can run."""
    if shutil.which("wrk") is None:
        say("wrk is not installed: run with --setup DIR first (or apt-get install -y wrk)")
        return None
    if peers_dir is not None and (peers_dir / "sls/node_modules/serverless").is_dir():
        return list(keys)
    say("serverless-offline is not installed: its column stays empty (--setup DIR)")
    return [k for k in keys if k != "sls"]


def floor_python_of(peers_dir: Path | None) -> str:
    """The floor's interpreter: the scratch venv's of --setup, else this one."""
    venv_python = peers_dir / "venv/bin/python" if peers_dir else None
    return str(venv_python) if venv_python and venv_python.exists() else sys.executable


def run_repeats(
    keys: list[str],
    start: Callable[[str], Starter],
    args: argparse.Namespace,
    titles: dict[str, str] = TITLES,
) -> dict[str, list[Sample]] | None:
    """Each repeat starts every server of ``keys`` fresh (``start(key)(ctx, repeat)``), in
    alternating order, measures it and stops its tree. Returns every repeat's samples, or
    None when interrupted (Ctrl-C, SIGTERM) or failed (said; the logs are kept). Writes
    ``args.json`` either way; removes the scratch directory unless ``args.keep``."""
    peers_dir: Path | None = args.peers_dir
    tmp = Path(tempfile.mkdtemp(prefix="lamina-peers-"))
    ctx = Context(tmp, peers_dir, floor_python_of(peers_dir))
    results: dict[str, list[Sample]] = {k: [] for k in keys}
    completed = False
    with signals_as_interrupt():
        try:
            for rep in range(args.repeats):
                order = keys if rep % 2 == 0 else list(reversed(keys))
                for key in order:
                    say(f"repeat {rep + 1}/{args.repeats}: {titles[key]} ...")
                    proc, target = start(key)(ctx, rep)
                    try:
                        sample = measure(proc, target, args.n, args.clients, args.duration)
                    finally:
                        proc.stop()
                    results[key].append(sample)
                    say(f"  {json.dumps(sample.__dict__)}")
                    time.sleep(0.5)  # let the stopped tree's exit settle
            completed = True
        except KeyboardInterrupt:
            say("interrupted")
        except Exception as exc:  # noqa: BLE001 - report, clean up, exit 0
            say(f"benchmark failed: {exc!r}; logs kept in {tmp}")
            args.keep = True
        finally:
            if not args.keep:
                shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        raw = {k: [s.__dict__ for s in v] for k, v in results.items()}
        args.json.write_text(json.dumps(raw, indent=1))
    return results if completed else None


def repeat_ratios(ours: list[Sample], peer: list[Sample]) -> list[float]:
    """Our invokes/s over the peer's, each repeat's pair (measured back to back)."""
    return [a.rps / b.rps for a, b in zip(ours, peer, strict=False) if b.rps]


def run(args: argparse.Namespace) -> int:
    keys = available_keys(KEYS, args.peers_dir)
    if keys is None:
        return 0
    floor_python = floor_python_of(args.peers_dir)
    began = time.monotonic()
    results = run_repeats(keys, starter, args)
    if results is None:
        return 0
    print()
    print(
        f"Side-by-side invoke benchmark (medians of {args.repeats} repeats, {os.cpu_count()} CPUs, "
        f"load avg {os.getloadavg()[0]:.2f}, {time.monotonic() - began:.0f} s)"
    )
    print_table(build_rows(results, args.clients, args.n))
    print()
    print("(x) = ratio to the floor (latency and PSS: lower is better; invokes/s: higher)")
    print(f"Lamina: `lamina server` with the lamina package of {lamina_package()}")
    print(f"floor: bench/peers/floor_app.py on uvicorn + httptools + uvloop ({floor_python})")
    errors = {TITLES[k]: sum(s.errors for s in v) for k, v in results.items()}
    print(f"load errors (non-2xx + socket errors, all repeats): {errors}")
    for key, samples in results.items():
        rps = ", ".join(f"{s.rps:,.0f}" for s in samples)
        p99 = ", ".join(f"{s.warm_p99_ms:.2f}" for s in samples)
        print(f"per repeat, {TITLES[key]}: invokes/s [{rps}], warm p99 ms [{p99}]")
    ratios = repeat_ratios(results.get("lamina128", []), results.get("sls", []))
    if ratios:
        listed = ", ".join(f"{r:.2f}" for r in ratios)
        print(
            f"Lamina 128 MB / serverless-offline invokes/s, repeat by repeat (each pair minutes"
            f" apart, so the host's drift between repeats cancels): [{listed}],"
            f" median {statistics.median(ratios):.2f}x"
        )
    procs = {TITLES[k]: median_of(v, "processes") for k, v in results.items()}
    print(f"processes in the tree at load (median): {procs}")
    return 0


def add_peers_dir_argument(parser: argparse.ArgumentParser) -> None:
    """``--peers-dir``: the scratch directory of ``--setup`` (every side-by-side benchmark's)."""
    parser.add_argument(
        "--peers-dir",
        type=Path,
        default=Path(os.environ["PEERS_DIR"]) if os.environ.get("PEERS_DIR") else None,
        help="the DIR of peers_bench.py --setup (default $PEERS_DIR)",
    )


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a run (this benchmark's and peers_http_bench.py's)."""
    add_peers_dir_argument(parser)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n", type=int, default=1000, help="sequential invokes timed")
    parser.add_argument("--clients", type=int, default=16, help="wrk connections")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds of wrk load")
    parser.add_argument("--json", type=Path, help="write every repeat's figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server logs)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--setup",
        type=Path,
        metavar="DIR",
        help="install wrk, the floor's venv and serverless-offline into DIR, then exit",
    )
    add_run_arguments(parser)
    args = parser.parse_args(argv)
    if args.setup is not None:
        setup(args.setup.resolve())
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
