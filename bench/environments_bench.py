#!/usr/bin/env python3
"""Lamina execution-environment benchmark, each figure beside its floor measured in the same run.

    .venv/bin/python bench/environments_bench.py            # full run (~1 min)
    .venv/bin/python bench/environments_bench.py --quick    # ~15 s

What it measures (issue 3, "Done when"), see bench/README.md:
1. cold start p50/p99 (new environment -> first response, at the client) and the REPORT
   line's Init Duration: through the isolated zygote path (128 MB and 1769 MB) and
   exec-based (a second server with ``--isolation process``). Floors: ``fork`` of a warm
   Python parent (child writes a byte to a pipe, parent reads it) and
   ``python3.X -I -S -c pass`` by absolute path.
2. new environments per second: K concurrent invokes of one function whose handler
   sleeps, so each needs its own environment. Floors: K children forked at once by the warm
   parent, and K interpreters started at once.
3. idle warm environments per GiB by PSS (``/proc/<pid>/smaps_rollup``, every process of
   every environment, the spawner excluded) over the K environments the burst left idle.
   Floor: the PSS of an idle ``python3.X -I -S``.
4. warm invoke p50 through the isolated server (keep-alive ``http.client``) beside a bare
   uvicorn echo app.

Needs root for the isolated server (without it Lamina falls back to plain processes and the
isolated rows say so). Always exits 0: it is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import json
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import invoke_bench as ib  # noqa: E402 - the sibling benchmark's servers, clients and helpers
from invoke_bench import HOST, Row, Server, percentile, say  # noqa: E402

TARGET_COLD_ZYGOTE_MS = 10.0
TARGET_COLD_EXEC_MS = 75.0
TARGET_ENVS_PER_S = 200.0
TARGET_ENVS_PER_GIB = 100.0
TARGET_WARM_P50_MS = 1.0

HELLO = "bench-hello"
HELLO_1769 = "bench-hello-1769"
BURST = "bench-burst"
BURST_SLEEP_S = 0.5
GIB = 1024**3

HANDLER_SOURCE = textwrap.dedent(
    """
    import time

    def handler(event, context):
        return {'hello': event.get('name'), 'ok': True}

    def sleeper(event, context):
        time.sleep(event.get('sleep', 0.5))
        return {'ok': True}
    """
)

# The warm parent of the fork floor: the runtime's interpreter with the modules a Python
# runtime uses imported and its heap frozen, as Lamina's spawner does before it forks.
# Commands on stdin, one per line:
#   lat N    -> N sequential forks (child writes a byte to a pipe, parent reads it); prints
#               the N fork-to-byte times in microseconds
#   burst K  -> forks K children at once, each writes a byte and then idles; prints the
#               time until all K bytes were read (us) and the children's pids
#   release  -> ends the burst's children
FORK_PARENT = textwrap.dedent(
    """
    import gc, http.client, json, logging, os, socket, sys, time, traceback
    gc.collect()
    gc.freeze()
    clock = time.perf_counter
    kids = []
    hold_r = hold_w = -1
    for line in sys.stdin:
        op, _, arg = line.strip().partition(" ")
        if op == "lat":
            out = []
            for _ in range(int(arg)):
                r, w = os.pipe()
                t0 = clock()
                pid = os.fork()
                if pid == 0:
                    os.write(w, b"x")
                    os._exit(0)
                os.read(r, 1)
                out.append((clock() - t0) * 1e6)
                os.waitpid(pid, 0)
                os.close(r)
                os.close(w)
            print(json.dumps(out), flush=True)
        elif op == "burst":
            ready_r, ready_w = os.pipe()
            hold_r, hold_w = os.pipe()
            t0 = clock()
            for _ in range(int(arg)):
                pid = os.fork()
                if pid == 0:
                    os.close(hold_w)
                    os.write(ready_w, b"x")
                    os.read(hold_r, 1)
                    os._exit(0)
                kids.append(pid)
            got = 0
            while got < len(kids):
                got += len(os.read(ready_r, 65536))
            elapsed = (clock() - t0) * 1e6
            os.close(ready_r)
            os.close(ready_w)
            print(json.dumps([elapsed, kids]), flush=True)
        elif op == "release":
            os.close(hold_w)
            os.close(hold_r)
            for pid in kids:
                os.waitpid(pid, 0)
            kids = []
            print("[]", flush=True)
    """
)

# An idle interpreter (the PSS floor, and one interpreter start of the burst floor): says
# it is up by writing a byte, then waits for its stdin to close.
IDLE_PYTHON = "import os; os.write(1, b'x'); os.read(0, 1)"


# --- processes, PSS, cgroups ---------------------------------------------------------------------


def _read(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.read()
    except OSError:
        return ""


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def descendants(pid: int) -> list[int]:
    out: list[int] = []
    todo = [pid]
    while todo:
        kids = ib.children_of(todo.pop())
        out += kids
        todo += kids
    return out


def _is_namespace_init(pid: int) -> bool:
    """pid 1 of its own pid namespace (an isolated environment's init, or one the spawner
    prepared ahead, still waiting for its function)."""
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith("NSpid:"):
            ids = line.split()[1:]
            return len(ids) > 1 and ids[-1] == "1"
    return False


def environments(server: Server) -> dict[int, list[int]]:
    """Each environment's root process -> every process of it.

    Isolated: the environments are the spawners' children that are pid 1 of their own pid
    namespace with a runtime below them; the spawners and the inits prepared ahead (no
    runtime yet) are not environments. Plain processes: the server's other children are
    the runtimes."""
    out: dict[int, list[int]] = {}
    for child in ib.children_of(server.pid):
        if "spawner.py" in cmdline(child):
            roots = [p for p in ib.children_of(child) if _is_namespace_init(p)]
        else:
            roots = [child]
        for root in roots:
            below = descendants(root)
            if below or "spawner.py" not in cmdline(child):
                out[root] = [root, *below]
    return out


def pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_environments(server: Server, count: int, timeout: float = 15.0) -> int:
    """Wait until the server has ``count`` environments (after deletes: 0)."""
    deadline = time.monotonic() + timeout
    while True:
        n = len(environments(server))
        if n == count or time.monotonic() > deadline:
            return n
        time.sleep(0.05)


def cgroup_dirs(port: int) -> list[str]:
    """The server's parent cgroup directories (``lamina-port-<port>``), every hierarchy."""
    found = []
    name = f"lamina-port-{port}"
    root = "/sys/fs/cgroup"
    for top, dirs, _files in os.walk(root):
        if name in dirs:
            found.append(os.path.join(top, name))
        depth = top[len(root) :].count("/")
        dirs[:] = [d for d in dirs if not d.startswith("lamina-")] if depth < 4 else []
    return found


def cpu_stat(pid: int) -> tuple[str, int, float]:
    """The CPU limit of pid's cgroup and how often it was throttled:
    (quota, times throttled, ms throttled)."""
    for line in _read(f"/proc/{pid}/cgroup").splitlines():
        _id, controllers, path = line.split(":", 2)
        if "cpu" in controllers.split(","):
            bases = [f"/sys/fs/cgroup/{controllers}{path}", f"/sys/fs/cgroup/cpu{path}"]
        elif controllers == "":
            bases = [f"/sys/fs/cgroup{path}", f"/sys/fs/cgroup/unified{path}"]
        else:
            continue
        for base in bases:
            stat = _read(f"{base}/cpu.stat")
            if "nr_throttled" not in stat:
                continue
            fields = dict(x.split() for x in stat.splitlines() if x.strip())
            quota = _read(f"{base}/cpu.cfs_quota_us").strip()
            if quota:  # v1, microseconds per 100 ms period
                quota = "none" if quota == "-1" else f"{int(quota) / 1000:g} ms/100 ms"
            else:
                quota = _read(f"{base}/cpu.max").strip()
            throttled_ms = (
                int(fields.get("throttled_time", 0)) / 1e6
                + int(fields.get("throttled_usec", 0)) / 1e3
            )
            return quota, int(fields.get("nr_throttled", 0)), throttled_ms
    return "-", 0, 0.0


# --- floors ------------------------------------------------------------------------------------


class ForkParent:
    """The warm parent of the fork floor (a separate process on the runtime's interpreter)."""

    def __init__(self, python: str) -> None:
        self.proc = subprocess.Popen(
            [python, "-I", "-S", "-c", FORK_PARENT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, line: str) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def forks_ms(self, n: int) -> list[float]:
        return [x / 1000 for x in self.ask(f"lat {n}")]

    def burst(self, k: int) -> tuple[float, list[int]]:
        elapsed_us, kids = self.ask(f"burst {k}")
        return elapsed_us / 1e6, kids

    def release(self) -> None:
        self.ask("release")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def interpreter_burst(python: str, k: int) -> tuple[float, float]:
    """Start k idle interpreters at once: (seconds until all k are up, mean PSS in KiB)."""
    ready_r, ready_w = os.pipe()
    hold_r, hold_w = os.pipe()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        t0 = time.perf_counter()
        for _ in range(k):
            procs.append(
                subprocess.Popen(
                    [python, "-I", "-S", "-c", IDLE_PYTHON], stdin=hold_r, stdout=ready_w
                )
            )
        got = 0
        while got < k:
            got += len(os.read(ready_r, 65536))
        elapsed = time.perf_counter() - t0
        time.sleep(0.1)
        pss = statistics.mean(pss_kib(p.pid) for p in procs)
        return elapsed, pss
    finally:
        for fd in (ready_r, ready_w, hold_r, hold_w):
            os.close(fd)
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


# --- Lamina side -------------------------------------------------------------------------------


def create_function(
    lam: Any, name: str, code: bytes, memory: int, handler: str = "handler"
) -> None:
    lam.create_function(
        FunctionName=name,
        Runtime=ib.RUNTIME,
        Handler=f"lambda_function.{handler}",
        Role=ib.ROLE,
        Code={"ZipFile": code},
        MemorySize=memory,
        Timeout=30,
    )


def wait_active(lam: Any, names: list[str]) -> None:
    for name in names:
        lam.get_waiter("function_active_v2").wait(
            FunctionName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 200}
        )


_DURATION = re.compile(r"\tDuration: ([\d.]+) ms")


def cold_invoke(port: int, name: str) -> tuple[float, float]:
    """One invoke that needs a new environment (fresh connection, LogType=Tail):
    (client-side ms, Init Duration ms)."""
    client = ib.Client(port, ib.invoke_path(name), {"X-Amz-Log-Type": "Tail"})
    try:
        t0 = time.perf_counter()
        response = client.post()
        elapsed = (time.perf_counter() - t0) * 1000
    finally:
        client.close()
    tail = base64.b64decode(response.getheader("X-Amz-Log-Result") or "").decode()
    found = ib._INIT.search(tail)
    if found is None:
        raise RuntimeError(f"{name}: not a cold start (no Init Duration); log tail:\n{tail}")
    return elapsed, float(found.group(1))


@dataclass
class BurstResult:
    environments: int  # invokes whose REPORT had an Init Duration
    seconds: float  # first request sent -> last environment ready
    init_ms: list[float]
    errors: list[str]  # one line per failed invoke

    @property
    def rate(self) -> float:
        return self.environments / self.seconds if self.seconds > 0 else 0.0


async def _burst(port: int, path: str, k: int, body: bytes) -> BurstResult:
    """k concurrent invokes, one connection each, all sent at once. An environment is ready
    when its invoke was delivered: response time minus the REPORT's Duration."""
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: {ib.AUTHORIZATION}\r\n"
        f"X-Amz-Log-Type: Tail\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    conns = [await asyncio.open_connection(HOST, port) for _ in range(k)]
    clock = time.perf_counter

    async def one(reader: asyncio.StreamReader) -> tuple[float, int, dict[str, str], bytes]:
        head = await reader.readuntil(b"\r\n\r\n")
        done = clock()
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return done, status, headers, body

    t0 = clock()
    for _reader, writer in conns:
        writer.write(request)
    results = await asyncio.gather(*(one(reader) for reader, _writer in conns))
    for _reader, writer in conns:
        writer.close()
    ready: list[float] = []
    inits: list[float] = []
    errors: list[str] = []
    for done, status, headers, body in results:
        tail = base64.b64decode(headers.get("x-amz-log-result", "")).decode(errors="replace")
        init, duration = ib._INIT.search(tail), _DURATION.search(tail)
        if status != 200 or "x-amz-function-error" in headers or not duration:
            errors.append(f"HTTP {status} {body[:120].decode(errors='replace')}")
            continue
        if init:
            inits.append(float(init.group(1)))
            ready.append(done - t0 - float(duration.group(1)) / 1000)
    return BurstResult(len(inits), max(ready) if ready else float("nan"), inits, errors)


def burst(port: int, name: str, k: int) -> BurstResult:
    body = json.dumps({"sleep": BURST_SLEEP_S}).encode()
    return asyncio.run(_burst(port, ib.invoke_path(name), k, body))


def environment_pss(server: Server, exclude: set[int]) -> tuple[int, int, float]:
    """(environments, processes, mean PSS per environment in KiB), the environments whose
    root process is in ``exclude`` left out."""
    envs = {root: procs for root, procs in environments(server).items() if root not in exclude}
    per_env = [sum(pss_kib(p) for p in procs) for procs in envs.values()]
    processes = sum(len(procs) for procs in envs.values())
    return len(envs), processes, statistics.mean(per_env) if per_env else float("nan")


# --- report --------------------------------------------------------------------------------------


def fmt(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == "/GiB":
        return f"{value:,.0f}/GiB"
    if unit == "MiB":
        return f"{value:.1f} MiB"
    return ib.fmt(value, unit)


def print_table(rows: list[Row]) -> None:
    header = ("measure", "Lamina", "floor", "ratio", "target", "pass/fail")
    lines = [header]
    for row in rows:
        ok = row.floor and not math.isnan(row.floor) and not math.isnan(row.lamina)
        ratio = f"{row.lamina / row.floor:.2f}x" if ok else "-"  # type: ignore[operator]
        verdict = "" if row.passed is None else ("PASS" if row.passed else "FAIL")
        lines.append(
            (
                row.measure,
                fmt(row.lamina, row.unit),
                fmt(row.floor, row.unit),
                ratio,
                row.target,
                verdict,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for n, line in enumerate(lines):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


# --- main --------------------------------------------------------------------------------------


def lamina_server(tmp: Path, name: str, isolation: str) -> Server:
    port = ib.free_port()
    argv = [
        *ib.lamina_command(),
        "server",
        "--host",
        HOST,
        "--port",
        str(port),
        "--data-dir",
        str(tmp / f"data-{name}"),
        "--isolation",
        isolation,
    ]
    return Server(name, argv, port, tmp / f"{name}.log")


def sandbox_line(server: Server) -> str:
    found = re.search(r"sandbox: (.*)\)$", server.log.read_text(), re.M)
    return found.group(1).strip() if found else "?"


def server_exceptions(server: Server) -> dict[str, int]:
    """The last line of each traceback in the server's log, with how often it occurred."""
    counts: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in server.log.read_text(errors="replace").splitlines():
            if re.match(r"[A-Za-z_.]+(Error|Exception|Unavailable): ", line):
                counts[line[:160]] = counts.get(line[:160], 0) + 1
    return counts


def stop_server(server: Server) -> list[str]:
    """Stop a server; returns problems (processes or cgroups it left behind)."""
    problems = []
    port = server.port
    seen = set(server.seen_children)
    if server.process is not None:
        seen.update(descendants(server.pid))
    server.stop()
    time.sleep(0.1)
    for pid in sorted(seen):
        # Environments' processes run Lamina's spawner or runtime: their command lines
        # name lamina (a recycled pid would not).
        if "lamina" in cmdline(pid) and _read(f"/proc/{pid}/stat").split()[2:3] != ["Z"]:
            problems.append(f"{server.name}: process {pid} outlived the server")
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    left = cgroup_dirs(port)
    if left:
        problems.append(f"{server.name}: cgroups left behind: {', '.join(left)}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run (<= 30 s)")
    parser.add_argument("--burst", type=int, help="concurrent invokes per burst (K)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server logs)")
    args = parser.parse_args(argv)

    quick = args.quick
    cold_n = 20 if quick else 50
    burst_k = args.burst or (100 if quick else 200)
    burst_rounds = 1 if quick else 3
    warm_rounds, warm_per_round = (4, 200) if quick else (10, 500)
    forks_per_round = 10 if quick else 20

    tmp = Path(tempfile.mkdtemp(prefix="lamina-envbench-"))
    servers: list[Server] = []
    fork_parent: ForkParent | None = None
    problems: list[str] = []

    began = time.monotonic()
    last = [began]

    def phase(message: str) -> None:
        now = time.monotonic()
        say(f"[{now - began:5.1f} s, +{now - last[0]:4.1f}] {message}")
        last[0] = now

    with ib.guarded_run(servers, tmp, args.keep, stop=stop_server) as cleanup:
        python = ib.runtime_python()
        fork_parent = ForkParent(python)
        cleanup.callback(fork_parent.close)
        iso = lamina_server(tmp, "isolated", "auto")
        proc = lamina_server(tmp, "process", "process")
        echo_port = ib.free_port()
        echo = Server(
            "echo",
            [sys.executable, "-c", ib.ECHO_SERVER, HOST, str(echo_port)],
            echo_port,
            tmp / "echo.log",
        )
        servers += [iso, proc, echo]
        phase(
            f"starting servers (isolated :{iso.port}, process :{proc.port}, echo :{echo_port}); "
            f"temp dir {tmp}"
        )
        for server in servers:
            server.start()
        sandbox = sandbox_line(iso)
        isolated = not sandbox.startswith("process")
        if not isolated:
            say(f"WARNING: the isolated server runs without isolation: {sandbox}")

        # Functions: hello (128 and 1769 MB), the burst's sleeper, and one fresh function per
        # cold-start sample (created up front, concurrently).
        code = ib.hello_zip(HANDLER_SOURCE)
        lams = {"isolated": ib.lambda_client(iso.port), "process": ib.lambda_client(proc.port)}
        ports = {"isolated": iso.port, "process": proc.port}
        configs = [("isolated", 128), ("isolated", 1769), ("process", 128)]
        names = {c: [f"cold-{c[1]}-{i}" for i in range(cold_n)] for c in configs}
        todo = [(s, HELLO, 128, "handler") for s in lams]
        todo += [(s, BURST, 128, "sleeper") for s in lams]
        todo += [("isolated", HELLO_1769, 1769, "handler")]
        todo += [(c[0], n, c[1], "handler") for c, ns in names.items() for n in ns]
        phase(f"creating {len(todo)} functions ...")
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda t: create_function(lams[t[0]], t[1], code, t[2], t[3]), todo))
            list(pool.map(lambda t: wait_active(lams[t[0]], [t[1]]), todo))
        for port in ports.values():
            ib.check_invoke(port, ib.invoke_path(HELLO))  # starts the spawner, warms caches

        # 1. Cold starts: each sample invokes a function that has never run; the
        # configurations and the floors take turns so that noise hits them all.
        phase(f"cold starts ({cold_n} per configuration) ...")
        ib.interpreter_starts(python, 3)
        fork_parent.forks_ms(20)
        cold: dict[tuple[str, int], list[float]] = {c: [] for c in configs}
        init: dict[tuple[str, int], list[float]] = {c: [] for c in configs}
        fork_ms: list[float] = []
        python_ms: list[float] = []
        gc.collect()
        gc.disable()
        for i in range(cold_n):
            for config in configs if i % 2 == 0 else configs[::-1]:
                elapsed, init_ms = cold_invoke(ports[config[0]], names[config][i])
                cold[config].append(elapsed)
                init[config].append(init_ms)
                time.sleep(0.02)
            fork_ms += fork_parent.forks_ms(forks_per_round)
            python_ms += ib.interpreter_starts(python, 1)
        gc.enable()

        # Delete the cold functions (their environments stop) before the next measurements.
        phase("deleting the cold-start functions ...")
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(
                    lambda t: lams[t[0]].delete_function(FunctionName=t[1]),
                    [(c[0], n) for c, ns in names.items() for n in ns],
                )
            )
        for server in (iso, proc):
            wait_environments(server, 1)  # the hello function's environment stays

        # 2 + 3. Bursts of K concurrent invokes of the sleeping function: environments per
        # second, then the PSS of the K idle environments the first burst leaves. The
        # floors (K forks, K interpreters) take turns with them.
        phase(f"bursts of {burst_k} concurrent invokes ({burst_rounds} per server) ...")
        bursts: dict[str, list[BurstResult]] = {"isolated": [], "process": []}
        pss: dict[str, tuple[int, int, float]] = {}
        fork_rates: list[float] = []
        interp_rates: list[float] = []
        idle_pss: list[float] = []
        for r in range(burst_rounds):
            elapsed, _kids = fork_parent.burst(burst_k)
            fork_parent.release()
            fork_rates.append(burst_k / elapsed)
            for server_name in ("isolated", "process") if r % 2 == 0 else ("process", "isolated"):
                server = iso if server_name == "isolated" else proc
                lam = lams[server_name]
                before = set(environments(server))
                result = burst(ports[server_name], BURST, burst_k)
                bursts[server_name].append(result)
                if r == 0:
                    time.sleep(0.3)  # the runtimes reach /next and the environments freeze
                    pss[server_name] = environment_pss(server, before)
                # Retire the burst's environments (a configuration change) for the next round.
                lam.update_function_configuration(
                    FunctionName=BURST, Environment={"Variables": {"ROUND": str(r)}}
                )
                lam.get_waiter("function_updated_v2").wait(
                    FunctionName=BURST, WaiterConfig={"Delay": 0.05, "MaxAttempts": 200}
                )
                wait_environments(server, len(before))
            elapsed, mean_pss = interpreter_burst(python, burst_k)
            interp_rates.append(burst_k / elapsed)
            idle_pss.append(mean_pss)

        # 4. Warm invoke latency: isolated server (128 MB and 1769 MB) and the echo floor,
        # alternating rounds.
        phase("warm latency (http.client, keep-alive) ...")
        clients = {
            "lamina": ib.Client(iso.port, ib.invoke_path(HELLO)),
            "lamina-1769": ib.Client(iso.port, ib.invoke_path(HELLO_1769)),
            "echo": ib.Client(echo_port, ib.invoke_path(HELLO)),
        }
        for client in clients.values():
            client.timed(200)
        envs_now = environments(iso)
        throttled_before = {root: cpu_stat(root) for root in envs_now}
        lat = ib.alternate_latency(clients, warm_rounds, warm_per_round)
        for client in clients.values():
            client.close()
        throttled = []
        for root, (quota, n0, ms0) in throttled_before.items():
            _q, n1, ms1 = cpu_stat(root)
            if n1 > n0:
                throttled.append(f"{quota}: {n1 - n0} times, {ms1 - ms0:.0f} ms")

        phase("stopping servers ...")
        for server in (iso, proc, echo):
            problems += stop_server(server)
        phase("done")

        # --- report ---
        def p(samples: list[float], q: float) -> float:
            return percentile(samples, q)

        fork_p50, fork_p99 = p(fork_ms, 50), p(fork_ms, 99)
        py_p50, py_p99 = p(python_ms, 50), p(python_ms, 99)
        rows: list[Row] = []
        zyg = "isolated" if isolated else "isolated (FELL BACK to process)"
        for memory in (128, 1769):
            c, n = cold[("isolated", memory)], init[("isolated", memory)]
            rows += [
                Row(
                    f"cold start p50, {zyg} (zygote), {memory} MB",
                    p(c, 50),
                    fork_p50,
                    "ms",
                    f"<= {TARGET_COLD_ZYGOTE_MS:g} ms",
                    p(c, 50) <= TARGET_COLD_ZYGOTE_MS,
                ),
                Row(f"cold start p99, {zyg}, {memory} MB", p(c, 99), fork_p99, "ms"),
                Row(f"Init Duration p50, {zyg}, {memory} MB", p(n, 50), fork_p50, "ms"),
            ]
        c, n = cold[("process", 128)], init[("process", 128)]
        rows += [
            Row(
                "cold start p50, exec (--isolation process)",
                p(c, 50),
                py_p50,
                "ms",
                f"<= {TARGET_COLD_EXEC_MS:g} ms",
                p(c, 50) <= TARGET_COLD_EXEC_MS,
            ),
            Row("cold start p99, exec", p(c, 99), py_p99, "ms"),
            Row("Init Duration p50, exec", p(n, 50), py_p50, "ms"),
        ]
        iso_rate = statistics.median(b.rate for b in bursts["isolated"])
        proc_rate = statistics.median(b.rate for b in bursts["process"])
        rows += [
            Row(
                f"new environments/s, {zyg}, {burst_k} at once",
                iso_rate,
                statistics.median(fork_rates),
                "/s",
                f">= {TARGET_ENVS_PER_S:,.0f}/s",
                iso_rate >= TARGET_ENVS_PER_S,
            ),
            Row(
                f"new environments/s, exec, {burst_k} at once",
                proc_rate,
                statistics.median(interp_rates),
                "/s",
            ),
        ]
        floor_pss = statistics.median(idle_pss)
        iso_envs, iso_procs, iso_pss = pss["isolated"]
        proc_envs, proc_procs, proc_pss = pss["process"]
        per_gib = GIB / (iso_pss * 1024)
        rows += [
            Row(
                f"idle environments per GiB (PSS), {zyg}",
                per_gib,
                GIB / (floor_pss * 1024),
                "/GiB",
                f">= {TARGET_ENVS_PER_GIB:g}/GiB",
                per_gib >= TARGET_ENVS_PER_GIB,
            ),
            Row(f"PSS per idle environment, {zyg}", iso_pss / 1024, floor_pss / 1024, "MiB"),
            Row("PSS per idle environment, exec", proc_pss / 1024, floor_pss / 1024, "MiB"),
        ]
        warm_p50 = p(lat["lamina"], 50)
        rows += [
            Row(
                f"warm invoke p50, {zyg}, 128 MB",
                warm_p50,
                p(lat["echo"], 50),
                "ms",
                f"<= {TARGET_WARM_P50_MS:g} ms",
                warm_p50 <= TARGET_WARM_P50_MS,
            ),
            Row(f"warm invoke p99, {zyg}, 128 MB", p(lat["lamina"], 99), p(lat["echo"], 99), "ms"),
            Row(
                f"warm invoke p50, {zyg}, 1769 MB",
                p(lat["lamina-1769"], 50),
                p(lat["echo"], 50),
                "ms",
            ),
            Row(
                f"warm invoke p99, {zyg}, 1769 MB",
                p(lat["lamina-1769"], 99),
                p(lat["echo"], 99),
                "ms",
            ),
        ]

        errors = [e for bs in bursts.values() for b in bs for e in b.errors]
        rates = {k: ", ".join(f"{b.rate:,.0f}" for b in bs) for k, bs in bursts.items()}
        init_iso, init_exec = (
            p([x for b in bursts[k] for x in b.init_ms], 50) for k in ("isolated", "process")
        )
        warm_n = len(lat["lamina"])
        print()
        print(
            f"Lamina environments benchmark ({'quick' if quick else 'full'} run, "
            f"{os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.2f}, "
            f"{time.monotonic() - began:.0f} s; sandbox: {sandbox})"
        )
        print_table(rows)
        notes = f"""
ratio = Lamina / floor (ms, MiB: lower is better; /s, /GiB: higher is better).
Targets (issue 3) apply to the p50. Floors, measured in this run:
  fork:   a warm `{python} -I -S` parent (json, socket, http.client,
          logging imported, gc.freeze()) forks, the child writes a byte to a pipe, the
          parent reads it ({len(fork_ms)} samples)
  python: `{python} -I -S -c pass` ({len(python_ms)} samples)
  /s:     {burst_k} children forked at once by that warm parent (isolated row);
          {burst_k} idle `python -I -S` started at once (exec row)
  PSS:    mean PSS of those {burst_k} idle `python -I -S` processes
  echo:   a bare ASGI echo app on uvicorn, same keep-alive client
Method:
  cold start: {cold_n} fresh functions per configuration, each invoked once on a new
    connection with LogType=Tail (client time; Init Duration from the REPORT line)
  environments/s: {burst_k} invokes sent at once (one connection each) to one 128 MB
    function whose handler sleeps {BURST_SLEEP_S:g} s, so each needs its own environment; an
    environment is ready when its response arrives minus the REPORT's Duration;
    rate = new environments / (first send -> last ready); median of {burst_rounds} round(s):
    isolated [{rates["isolated"]}], exec [{rates["process"]}] /s;
    Init Duration p50 {init_iso:.0f} / {init_exec:.0f} ms; {len(errors)} failed invokes
  PSS: /proc/<pid>/smaps_rollup summed over every process of the {iso_envs} idle environments
    the first burst left ({iso_procs} processes; the spawner and the inits it prepared ahead
    excluded); exec: {proc_envs} environments, {proc_procs} processes
  warm: {warm_n} sequential invokes per target in {warm_rounds} alternating rounds, after
    200 warm-up"""
        print(notes)
        if throttled:
            print("  CPU throttling (cgroup cpu.stat) of the environments during the warm rounds,")
            print(f"    by CPU quota: {'; '.join(throttled)}")
        for error in sorted(set(errors))[:3]:
            print(f"PROBLEM: burst invoke failed ({errors.count(error)}x): {error}")
        for server in (iso, proc):
            for line, count in server_exceptions(server).items():
                print(f"PROBLEM: {server.name} server log, {count}x: {line}")
        for problem in problems:
            print(f"PROBLEM: {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
