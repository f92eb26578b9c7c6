#!/usr/bin/env python3
"""Lamina invoke benchmark, each figure beside its floor measured in the same run.

    .venv/bin/python bench/invoke_bench.py            # full run (~1 min)
    .venv/bin/python bench/invoke_bench.py --quick    # ~20 s

Floors (see bench/README.md and shared/docs/machine-limits.md):
- a bare ASGI echo app on uvicorn (httptools, uvloop), driven by the same client code
  as Lamina: the cost of "an HTTP request into a Python server" on this machine;
- ``python3.X -I -S -c pass`` by absolute path: the cost of starting an interpreter,
  the floor of a cold start.

Floor and Lamina are measured in alternating rounds so that a noisy neighbour hits
both. The script always exits 0: it is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gc
import http.client
import io
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
FUNCTION = "bench-hello"
ROLE = "arn:aws:iam::000000000000:role/lambda-role"
RUNTIME = "python3.11"
BODY = b'{"name": "world", "n": 1}'
# Every API request carries a SigV4 Authorization header (any key's shape will do; the floor
# server gets the same header, so both sides parse the same bytes).
AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=test/20261206/us-east-1/lambda/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0000"
)
HANDLER_SOURCE = (
    "def handler(event, context):\n    return {'hello': event.get('name'), 'ok': True}\n"
)

TARGET_WARM_P50_MS = 2.0
TARGET_RPS = 1500.0
TARGET_COLD_P50_MS = 100.0
TARGET_FIRST_INVOKE_MS = 60.0

ECHO_SERVER = textwrap.dedent(
    """
    import sys
    import uvicorn

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        await send({
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())],
        })
        await send({"type": "http.response.body", "body": body})

    uvicorn.run(app, host=sys.argv[1], port=int(sys.argv[2]), http="httptools",
                loop="uvloop", lifespan="off", log_level="warning", access_log=False,
                timeout_keep_alive=75)
    """
)

# One client process of the pure-Python load generator (used when wrk is absent).
LOAD_WORKER = textwrap.dedent(
    """
    import http.client, sys, time
    host, port, path, body = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].encode()
    headers = {"Content-Type": "application/json", "Authorization": sys.argv[5]}
    conn = http.client.HTTPConnection(host, port)
    def one():
        conn.request("POST", path, body, headers)
        response = conn.getresponse()
        response.read()
        return response.status
    for _ in range(20):
        one()
    print("ready", flush=True)
    start, duration = (float(x) for x in sys.stdin.readline().split())
    while time.time() < start:
        time.sleep(0.0005)
    end = start + duration
    count = errors = 0
    while time.time() < end:
        if one() != 200:
            errors += 1
        count += 1
    print(count, errors, flush=True)
    """
)

WRK_SCRIPT = """\
wrk.method = "POST"
wrk.body = '%s'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "%s"
"""


# --- small helpers ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def wait_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"server on port {port} did not start:\n{log.read_text()[-3000:]}")


def children_of(pid: int) -> list[int]:
    """Direct children of pid (from /proc), e.g. a Lamina server's environments."""
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as fh:
                out += [int(x) for x in fh.read().split()]
    return out


@dataclass
class Server:
    name: str
    argv: list[str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    seen_children: set[int] = field(default_factory=set)

    def start(self) -> None:
        log = open(self.log, "ab")  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen(
            self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        log.close()
        wait_port(self.port, self.process, self.log)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def children(self) -> list[int]:
        kids = children_of(self.pid) if self.process else []
        self.seen_children.update(kids)
        return kids

    def stop(self) -> None:
        if self.process is None:
            return
        self.children()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # Environments run in their own sessions: make sure none outlives the server.
        for pid in self.seen_children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        self.process = None


# --- clients -----------------------------------------------------------------------------------


class Client:
    """One keep-alive ``http.client`` connection doing sequential POSTs."""

    def __init__(self, port: int, path: str, headers: dict[str, str] | None = None) -> None:
        self.conn = http.client.HTTPConnection(HOST, port)
        self.path = path
        self.headers = {
            "Content-Type": "application/json",
            "Authorization": AUTHORIZATION,
            **(headers or {}),
        }
        self.last_body = b""

    def post(self, body: bytes = BODY) -> http.client.HTTPResponse:
        self.conn.request("POST", self.path, body, self.headers)
        response = self.conn.getresponse()
        self.last_body = response.read()
        if response.status != 200:
            raise RuntimeError(f"{self.path}: HTTP {response.status}")
        return response

    def timed(self, n: int) -> list[float]:
        out = []
        clock = time.perf_counter
        post = self.post
        for _ in range(n):
            t0 = clock()
            post()
            out.append((clock() - t0) * 1000)
        return out

    def close(self) -> None:
        self.conn.close()


def alternate_latency(
    targets: dict[str, Client], rounds: int, per_round: int
) -> dict[str, list[float]]:
    """Sequential-request latency (ms), the targets measured in alternating rounds."""
    samples: dict[str, list[float]] = {name: [] for name in targets}
    gc.disable()
    try:
        for r in range(rounds):
            order = list(targets) if r % 2 == 0 else list(reversed(targets))
            for name in order:
                samples[name] += targets[name].timed(per_round)
    finally:
        gc.enable()
    return samples


@dataclass
class LoadResult:
    rps: float
    p50_ms: float | None = None  # latency under load (wrk only)
    p99_ms: float | None = None
    errors: int = 0


def _wrk_ms(text: str) -> float:
    value = float(re.match(r"[\d.]+", text).group())  # type: ignore[union-attr]
    if text.endswith("us"):
        return value / 1000
    if text.endswith("ms"):
        return value
    if text.endswith("s"):
        return value * 1000
    return value


def run_wrk(port: int, path: str, clients: int, duration: float, script: Path) -> LoadResult:
    proc = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{clients}",
            f"-d{max(1, round(duration))}s",
            "--latency",
            "-s",
            str(script),
            f"http://{HOST}:{port}{path}",
        ],
        capture_output=True,
        text=True,
        timeout=duration + 60,
    )
    out = proc.stdout
    rps_match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not rps_match:
        raise RuntimeError(f"wrk failed: {out}\n{proc.stderr}")
    result = LoadResult(float(rps_match.group(1)))
    for label, attr in (("50%", "p50_ms"), ("99%", "p99_ms")):
        found = re.search(rf"^\s+{re.escape(label)}\s+(\S+)", out, re.M)
        if found:
            setattr(result, attr, _wrk_ms(found.group(1)))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock_err = re.search(r"Socket errors:.*", out)
    result.errors = int(non2xx.group(1)) if non2xx else 0
    if sock_err:
        result.errors += sum(int(x) for x in re.findall(r"\d+", sock_err.group()))
    return result


def run_python_load(port: int, path: str, clients: int, duration: float) -> LoadResult:
    """``clients`` separate processes, each one keep-alive http.client connection."""
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-I",
                "-S",
                "-c",
                LOAD_WORKER,
                HOST,
                str(port),
                path,
                BODY.decode(),
                AUTHORIZATION,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(clients)
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError("load worker failed to start")
        start = time.time() + 0.2
        for p in procs:
            assert p.stdin is not None
            p.stdin.write(f"{start} {duration}\n")
            p.stdin.flush()
        total = errors = 0
        for p in procs:
            out, _ = p.communicate(timeout=duration + 60)
            count, errs = (int(x) for x in out.split())
            total += count
            errors += errs
        return LoadResult(total / duration, errors=errors)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


# --- Lamina setup ----------------------------------------------------------------------------


def hello_zip(source: str = HANDLER_SOURCE) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("lambda_function.py", source)
    return buf.getvalue()


def lambda_client(port: int) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "lambda",
        endpoint_url=f"http://{HOST}:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 0}, read_timeout=60, tcp_keepalive=True),
    )


def environments_started(port: int, function: str) -> int:
    """Environments the function has had: one log stream each (isolated environments
    are not the server's children, so counting processes would not tell)."""
    import boto3

    logs = boto3.client(
        "logs",
        endpoint_url=f"http://{HOST}:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    pages = logs.get_paginator("describe_log_streams").paginate(
        logGroupName=f"/aws/lambda/{function}"
    )
    return sum(len(page["logStreams"]) for page in pages)


def create_function(lam: Any, name: str, code: bytes, memory: int = 128) -> None:
    lam.create_function(
        FunctionName=name,
        Runtime=RUNTIME,
        Handler="lambda_function.handler",
        Role=ROLE,
        Code={"ZipFile": code},
        MemorySize=memory,
        Timeout=30,
    )
    lam.get_waiter("function_active_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 200}
    )


def invoke_path(name: str) -> str:
    return f"/2015-03-31/functions/{name}/invocations"


def check_invoke(port: int, path: str) -> None:
    """The function answers what its handler returns (so the figures measure success)."""
    client = Client(port, path)
    response = client.post()
    client.close()
    body = json.loads(client.last_body)
    error = response.getheader("X-Amz-Function-Error")
    if error or body != {"hello": "world", "ok": True}:
        raise RuntimeError(f"unexpected invoke result: {error} {body!r}")


def boto3_latency(lam: Any, name: str, n: int) -> list[float]:
    out = []
    gc.disable()
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            response = lam.invoke(FunctionName=name, Payload=BODY)
            response["Payload"].read()
            out.append((time.perf_counter() - t0) * 1000)
    finally:
        gc.enable()
    return out


_INIT = re.compile(r"Init Duration: ([\d.]+) ms")


def cold_starts(
    lam: Any, port: int, samples: int, mode: str, code: bytes
) -> tuple[list[float], list[float]]:
    """Client-side latency of invokes that each need a new environment, and the
    ``Init Duration`` of their REPORT lines (ms)."""
    latencies: list[float] = []
    inits: list[float] = []
    for i in range(samples):
        if mode == "update":
            name = FUNCTION
            lam.update_function_configuration(
                FunctionName=name, Environment={"Variables": {"BENCH_SAMPLE": str(i)}}
            )
            lam.get_waiter("function_updated_v2").wait(
                FunctionName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 200}
            )
        else:
            name = f"{FUNCTION}-cold-{i}"
            create_function(lam, name, code)
        # Let the retired environments finish exiting so they don't share the CPU with
        # the sample (their shutdown is not part of a cold start).
        time.sleep(0.6 if i == 0 else 0.15)
        client = Client(port, invoke_path(name), {"X-Amz-Log-Type": "Tail"})
        t0 = time.perf_counter()
        response = client.post()
        latencies.append((time.perf_counter() - t0) * 1000)
        client.close()
        tail = base64.b64decode(response.getheader("X-Amz-Log-Result") or "").decode()
        found = _INIT.search(tail)
        if found is None:
            raise RuntimeError(f"sample {i} was not a cold start; log tail:\n{tail}")
        inits.append(float(found.group(1)))
        if mode == "create":
            lam.delete_function(FunctionName=name)
    return latencies, inits


def interpreter_starts(python: str, samples: int) -> list[float]:
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        subprocess.run([python, "-I", "-S", "-c", "pass"], check=True)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def runtime_python(runtime: str = RUNTIME) -> str:
    """The interpreter Lamina runs ``runtime`` functions on (absolute path, no shim)."""
    try:
        from lamina.runtime.launch import find_python

        found = find_python(runtime.removeprefix("python"))
        if found:
            return found
    except ImportError:
        pass
    return os.path.realpath(shutil.which(runtime) or sys.executable)


def lamina_command() -> list[str]:
    exe = Path(sys.executable).parent / "lamina"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "lamina.cli.main"]


# --- report ---------------------------------------------------------------------------------


@dataclass
class Row:
    measure: str
    lamina: float
    floor: float | None
    unit: str
    target: str = ""
    passed: bool | None = None


def fmt(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == "/s":
        return f"{value:,.0f}/s"
    return f"{value:.2f} ms" if value < 100 else f"{value:.0f} ms"


def print_table(rows: list[Row]) -> None:
    header = ("measure", "Lamina", "floor", "ratio", "target", "pass/fail")
    lines = []
    for row in rows:
        ratio = (
            f"{row.lamina / row.floor:.2f}x"
            if row.floor and not math.isnan(row.floor) and not math.isnan(row.lamina)
            else "-"
        )
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
    widths = [max(len(str(x[i])) for x in [header, *lines]) for i in range(len(header))]

    def render(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    print(render(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for line in lines:
        print(render(line))


# --- first invoke after a server start (--first-invoke) ------------------------------------


@dataclass
class FirstInvoke:
    """One server start's figures (ms)."""

    ready: float  # process spawned -> port accepts
    created: float  # CreateFunction + the active waiter
    new: float  # first invoke of the function just created
    existing: float  # after a restart on the same data: first invoke of that function


def lamina_server(name: str, port: int, data: Path, log: Path) -> Server:
    argv = [*lamina_command(), "server", "--host", HOST, "--port", str(port)]
    return Server(name, [*argv, "--data-dir", str(data)], port, log)


def timed_first_post(port: int, name: str) -> float:
    client = Client(port, invoke_path(name))
    t0 = time.perf_counter()
    client.post()
    elapsed = (time.perf_counter() - t0) * 1000
    client.close()
    body = json.loads(client.last_body)
    if body != {"hello": "world", "ok": True}:
        raise RuntimeError(f"unexpected invoke result: {body!r}")
    return elapsed


def first_invoke_once(
    servers: list[Server], tmp: Path, sample: int, runtime: str, code: bytes
) -> FirstInvoke:
    """Start a server on a fresh data directory, create a function and invoke it at once;
    stop it, start another on the same data and invoke the function again."""
    data, log = tmp / f"data-{sample}", tmp / f"lamina-{sample}.log"
    first = lamina_server("lamina", free_port(), data, log)
    servers.append(first)
    t0 = time.perf_counter()
    first.start()
    ready = (time.perf_counter() - t0) * 1000
    lam = lambda_client(first.port)
    t0 = time.perf_counter()
    lam.create_function(
        FunctionName=FUNCTION,
        Runtime=runtime,
        Handler="lambda_function.handler",
        Role=ROLE,
        Code={"ZipFile": code},
        MemorySize=128,
    )
    lam.get_waiter("function_active_v2").wait(
        FunctionName=FUNCTION, WaiterConfig={"Delay": 0.05, "MaxAttempts": 200}
    )
    created = (time.perf_counter() - t0) * 1000
    new = timed_first_post(first.port, FUNCTION)
    first.stop()
    second = lamina_server("lamina (restarted)", free_port(), data, log)
    servers.append(second)
    second.start()
    existing = timed_first_post(second.port, FUNCTION)
    second.stop()
    return FirstInvoke(ready, created, new, existing)


def first_invoke_rows(
    samples: list[FirstInvoke], echo_ready: list[float], python_ms: list[float]
) -> list[Row]:
    def med(attr: str) -> float:
        return statistics.median(float(getattr(x, attr)) for x in samples)

    floor = statistics.median(python_ms)
    rows = [Row("server start -> port ready", med("ready"), statistics.median(echo_ready), "ms")]
    rows.append(Row("CreateFunction + active waiter (boto3)", med("created"), None, "ms"))
    for attr, what in (("new", "just created"), ("existing", "existing, after restart")):
        value = med(attr)
        rows.append(
            Row(
                f"first invoke, {what}",
                value,
                floor,
                "ms",
                f"<= {TARGET_FIRST_INVOKE_MS:g} ms",
                value <= TARGET_FIRST_INVOKE_MS,
            )
        )
    return rows


def first_invoke_main(quick: bool, runtime: str, keep: bool) -> int:
    """``--first-invoke``: the first invoke after a server start, median of several starts,
    beside the interpreter-start floor (and the echo server's start beside Lamina's)."""
    rounds = 3 if quick else 5
    tmp = Path(tempfile.mkdtemp(prefix="lamina-bench-first-"))
    servers: list[Server] = []
    began = time.monotonic()
    with guarded_run(servers, tmp, keep):
        code = hello_zip()
        python = runtime_python(runtime)
        interpreter_starts(python, 3)
        samples: list[FirstInvoke] = []
        echo_ready: list[float] = []
        python_ms: list[float] = []
        for sample in range(rounds):
            say(f"first invoke: server start {sample + 1} of {rounds} ({runtime}) ...")
            echo_port = free_port()
            echo = Server(
                "echo",
                [sys.executable, "-c", ECHO_SERVER, HOST, str(echo_port)],
                echo_port,
                tmp / "echo.log",
            )
            servers.append(echo)
            t0 = time.perf_counter()
            echo.start()
            echo_ready.append((time.perf_counter() - t0) * 1000)
            echo.stop()
            samples.append(first_invoke_once(servers, tmp, sample, runtime, code))
            python_ms += interpreter_starts(python, 3)
        print()
        print(
            f"Lamina first invoke after a server start ({runtime}, {rounds} starts, "
            f"{os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.2f}, "
            f"{time.monotonic() - began:.0f} s)"
        )
        print_table(first_invoke_rows(samples, echo_ready, python_ms))
        print()
        print(f"floors: first invoke = `{python} -I -S -c pass`; server start = the echo app's")
        print("medians over server starts; first invoke: client side, on a fresh connection")
        for name in ("new", "existing"):
            values = ", ".join(f"{getattr(x, name):.1f}" for x in samples)
            print(f"first invoke ({name}) per start: [{values}] ms")
    return 0


# --- main -----------------------------------------------------------------------------------


@contextlib.contextmanager
def guarded_run(
    servers: list[Server],
    tmp: Path,
    keep: bool,
    stop: Callable[[Server], object] = Server.stop,
) -> Iterator[contextlib.ExitStack]:
    """The body of a benchmark's ``main``: Ctrl-C, SIGTERM and failures are reported, not
    raised (a benchmark always exits 0), and however it ends the servers are stopped, the
    callbacks registered on the yielded stack run and the temp dir goes (unless kept)."""

    def on_signal(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    with contextlib.ExitStack() as cleanup:
        try:
            yield cleanup
        except KeyboardInterrupt:
            say("interrupted")
        except Exception as exc:  # noqa: BLE001 - report, clean up, exit 0
            say(f"benchmark failed: {exc!r}")
            for server in servers:
                if server.log.exists():
                    say(f"--- {server.name} log (tail) ---\n{server.log.read_text()[-2000:]}")
        finally:
            for server in servers:
                with contextlib.suppress(Exception):
                    stop(server)
            if keep:
                say(f"kept {tmp}")
            else:
                shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run (~20 s)")
    parser.add_argument(
        "--load",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="16-client load generator: wrk (C) if installed, else 16 Python processes",
    )
    parser.add_argument(
        "--cold-mode",
        choices=("update", "create"),
        default="update",
        help="force a new environment per cold sample by updating the function's "
        "configuration (default) or by creating a fresh function",
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--memory",
        type=int,
        default=128,
        help="the function's MemorySize in MB for the warm and load figures (default 128; "
        "1769 is one vCPU)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server logs)")
    parser.add_argument(
        "--first-invoke",
        action="store_true",
        help="measure only the first invoke after a server start (a just-created function, "
        "and an existing one after a restart), median of several starts",
    )
    parser.add_argument(
        "--first-invoke-runtime",
        default=RUNTIME,
        help=f"the function's runtime for --first-invoke (default {RUNTIME})",
    )
    args = parser.parse_args(argv)
    if args.first_invoke:
        return first_invoke_main(args.quick, args.first_invoke_runtime, args.keep)

    quick = args.quick
    lat_rounds, lat_per_round = (4, 250) if quick else (10, 600)
    load_rounds, load_seconds = (1, 2.0) if quick else (3, 5.0)
    boto_n = 200 if quick else 1000
    cold_n = 10 if quick else 30
    python_n = 15 if quick else 30

    load_tool = args.load
    if load_tool == "auto":
        load_tool = "wrk" if shutil.which("wrk") else "python"
    elif load_tool == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install -y wrk)")

    tmp = Path(tempfile.mkdtemp(prefix="lamina-bench-"))
    servers: list[Server] = []

    began = time.monotonic()
    with guarded_run(servers, tmp, args.keep):
        echo_port, lamina_port = free_port(), free_port()
        echo = Server(
            "echo",
            [sys.executable, "-c", ECHO_SERVER, HOST, str(echo_port)],
            echo_port,
            tmp / "echo.log",
        )
        lamina = Server(
            "lamina",
            [
                *lamina_command(),
                "server",
                "--host",
                HOST,
                "--port",
                str(lamina_port),
                "--data-dir",
                str(tmp / "data"),
            ],
            lamina_port,
            tmp / "lamina.log",
        )
        servers += [echo, lamina]
        say(f"starting servers (echo :{echo_port}, lamina :{lamina_port}); temp dir {tmp}")
        echo.start()
        lamina.start()

        lam = lambda_client(lamina_port)
        code = hello_zip()
        create_function(lam, FUNCTION, code, args.memory)
        path = invoke_path(FUNCTION)
        check_invoke(lamina_port, path)
        gc.collect()
        gc.freeze()

        # 1. Warm latency, one keep-alive connection, sequential.
        say("warm latency (http.client, keep-alive) ...")
        clients = {"lamina": Client(lamina_port, path), "echo": Client(echo_port, path)}
        for c in clients.values():
            c.timed(200)  # warm-up: the environment starts, caches fill
        lat = alternate_latency(clients, lat_rounds, lat_per_round)
        for c in clients.values():
            c.close()

        # 2. Throughput, 16 concurrent keep-alive clients.
        say(f"throughput ({args.clients} clients, {load_tool}) ...")
        script = tmp / "post.lua"
        script.write_text(WRK_SCRIPT % (BODY.decode(), AUTHORIZATION))

        def load(port: int, seconds: float) -> LoadResult:
            if load_tool == "wrk":
                return run_wrk(port, path, args.clients, seconds, script)
            return run_python_load(port, path, args.clients, seconds)

        load(lamina_port, 1.0)  # warm-up: start one environment per client
        load(echo_port, 1.0)
        environments = environments_started(lamina_port, FUNCTION)
        loads: dict[str, list[LoadResult]] = {"lamina": [], "echo": []}
        for r in range(load_rounds):
            order = ["lamina", "echo"] if r % 2 == 0 else ["echo", "lamina"]
            for name in order:
                port = lamina_port if name == "lamina" else echo_port
                loads[name].append(load(port, load_seconds))
        environments = max(environments, len(lamina.children()))

        # 3. boto3 client latency (reference): same client against both servers.
        say("boto3 latency ...")
        echo_lam = lambda_client(echo_port)
        boto3_latency(lam, FUNCTION, 50)
        boto3_latency(echo_lam, FUNCTION, 50)
        boto: dict[str, list[float]] = {"lamina": [], "echo": []}
        for r in range(4):
            for name, client in (("lamina", lam), ("echo", echo_lam))[:: 1 if r % 2 == 0 else -1]:
                boto[name] += boto3_latency(client, FUNCTION, boto_n // 4)

        # 4. Cold starts, and the interpreter-start floor.
        say(f"cold starts ({cold_n} samples, mode={args.cold_mode}) ...")
        python = runtime_python()
        interpreter_starts(python, 3)
        cold_ms, init_ms = cold_starts(lam, lamina_port, cold_n, args.cold_mode, code)
        py_ms = interpreter_starts(python, python_n)

        # --- report ---
        def med(results: list[LoadResult], attr: str) -> float | None:
            values = [getattr(x, attr) for x in results if getattr(x, attr) is not None]
            return statistics.median(values) if values else None

        lam_rps, echo_rps = med(loads["lamina"], "rps"), med(loads["echo"], "rps")
        warm_p50 = percentile(lat["lamina"], 50)
        cold_p50 = percentile(cold_ms, 50)
        rows = [
            Row(
                "warm invoke p50 (http.client keep-alive)",
                warm_p50,
                percentile(lat["echo"], 50),
                "ms",
                f"<= {TARGET_WARM_P50_MS:g} ms",
                warm_p50 <= TARGET_WARM_P50_MS,
            ),
            Row(
                "warm invoke p99", percentile(lat["lamina"], 99), percentile(lat["echo"], 99), "ms"
            ),
            Row(
                "warm invoke p50 (boto3, reference)",
                percentile(boto["lamina"], 50),
                percentile(boto["echo"], 50),
                "ms",
            ),
            Row(
                "warm invoke p99 (boto3, reference)",
                percentile(boto["lamina"], 99),
                percentile(boto["echo"], 99),
                "ms",
            ),
            Row(
                f"invokes/s, {args.clients} clients ({load_tool})",
                lam_rps or 0.0,
                echo_rps,
                "/s",
                f">= {TARGET_RPS:,.0f}/s",
                (lam_rps or 0.0) >= TARGET_RPS,
            ),
        ]
        if load_tool == "wrk":
            rows += [
                Row(
                    f"latency p50 under {args.clients}-client load",
                    med(loads["lamina"], "p50_ms") or float("nan"),
                    med(loads["echo"], "p50_ms"),
                    "ms",
                ),
                Row(
                    f"latency p99 under {args.clients}-client load",
                    med(loads["lamina"], "p99_ms") or float("nan"),
                    med(loads["echo"], "p99_ms"),
                    "ms",
                ),
            ]
        rows += [
            Row(
                "cold start p50 (new env -> response)",
                cold_p50,
                percentile(py_ms, 50),
                "ms",
                f"<= {TARGET_COLD_P50_MS:g} ms",
                cold_p50 <= TARGET_COLD_P50_MS,
            ),
            Row("cold start p99", percentile(cold_ms, 99), percentile(py_ms, 99), "ms"),
            Row(
                "Init Duration p50 (REPORT line)",
                percentile(init_ms, 50),
                percentile(py_ms, 50),
                "ms",
            ),
        ]

        cold_how = "configuration update" if args.cold_mode == "update" else "new function"
        errors = sum(r.errors for rs in loads.values() for r in rs)
        print()
        print(
            f"Lamina invoke benchmark ({'quick' if quick else 'full'} run, "
            f"{os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.2f}, "
            f"{time.monotonic() - began:.0f} s)"
        )
        print_table(rows)
        print()
        print("floors: echo = bare ASGI echo app on uvicorn (httptools, uvloop), same client;")
        print(f"        cold start = `{python} -I -S -c pass` (subprocess, same percentile)")
        print("ratio = Lamina / floor (latency: lower is better; invokes/s: higher is better)")
        print(
            f"samples: warm {len(lat['lamina'])} per server in {lat_rounds} alternating rounds; "
            f"boto3 {len(boto['lamina'])}; load {load_rounds} x {load_seconds:g} s per server "
            f"(median), {environments} environments warm, {errors} errors; "
            f"cold {len(cold_ms)} ({cold_how} per sample)"
        )
        per_round = ", ".join(f"{x.rps:,.0f}" for x in loads["lamina"])
        per_round_echo = ", ".join(f"{x.rps:,.0f}" for x in loads["echo"])
        print(f"invokes/s per round: lamina [{per_round}], echo [{per_round_echo}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
