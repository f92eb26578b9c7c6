#!/usr/bin/env python3
"""Asynchronous invocation benchmark: enqueue latency and sustained events/s end to end,
beside the raw SQLite commit rate of the same filesystem, measured in the same run.

    .venv/bin/python bench/async_bench.py            # ~30 s
    .venv/bin/python bench/async_bench.py --quick    # ~10 s

- **enqueue latency**: ``Invoke`` with ``InvocationType=Event`` answers 202 only after the
  event is committed (WAL, ``synchronous=FULL``: one fsync per group commit), while the
  events are also being run. Measured (after a warm-up that starts the environments the
  load needs) from one client sending back to back (every enqueue pays a whole commit),
  and from 16 connections at a fixed offered rate (open loop: each request is timed from
  the moment it was due, so a stall counts for every request it delays), at 500 and 1,000
  events/s. Target: p99 <= 10 ms at 1,000 events/s. For reference, 16 clients sending back
  to back saturate the machine: their latency is queueing (Little's law), not a target.
- **sustained**: events sent by 16 clients until all have *run* (the function returned),
  read from ``GET /_lamina/async``.
- **floor**: single-row commits per second with ``synchronous=FULL`` (the cost of one
  durable acknowledgement without grouping) and rows per second with 100 rows per commit.

The script always exits 0: it is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

HOST = "127.0.0.1"
FUNCTION = "bench-async"
ROLE = "arn:aws:iam::000000000000:role/lambda-role"
# Every API request carries a SigV4 Authorization header (checked for shape only).
AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=test/20261206/us-east-1/lambda/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0000"
)
TARGET_P99_MS = 10.0
CLIENTS = 16
RATES = (500, 1000)  # offered events/s of the open-loop rounds; the target applies to the last


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def request(
    conn: http.client.HTTPConnection, method: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    conn.request(method, path, body, headers)
    response = conn.getresponse()
    return response.status, response.read()


def package() -> str:
    import base64

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return base64.b64encode(buf.getvalue()).decode()


def sqlite_floor(directory: Path, seconds: float) -> tuple[float, float]:
    """(single-row commits/s, rows/s at 100 rows per commit), synchronous=FULL, WAL."""
    path = directory / "floor.sqlite3"
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)")
    row = (b"x" * 200,)
    rates = []
    for batch in (1, 100):
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO t(payload) VALUES (?)", [row] * batch)
            conn.execute("COMMIT")
            count += batch
        rates.append(count / (time.perf_counter() - started))
    conn.close()
    return rates[0], rates[1]


def enqueue_many(port: int, count: int, latencies: list[float], lock: threading.Lock) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    path = f"/2015-03-31/functions/{FUNCTION}/invocations"
    headers = {
        "X-Amz-Invocation-Type": "Event",
        "Content-Type": "application/json",
        "Authorization": AUTHORIZATION,
    }
    mine = []
    for i in range(count):
        started = time.perf_counter()
        status, _ = request(conn, "POST", path, json.dumps({"i": i}).encode(), headers)
        mine.append((time.perf_counter() - started) * 1000)
        assert status == 202, status
    with lock:
        latencies.extend(mine)


def run_clients(port: int, clients: int, per_client: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    lock = threading.Lock()
    threads = [
        threading.Thread(target=enqueue_many, args=(port, per_client, latencies, lock))
        for _ in range(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - started


async def _open_loop(port: int, rate: float, seconds: float) -> list[float]:
    """``CLIENTS`` keep-alive connections together offering ``rate`` events/s; latency of
    each from its due time."""
    import asyncio

    request_bytes = (
        f"POST /2015-03-31/functions/{FUNCTION}/invocations HTTP/1.1\r\nHost: {HOST}\r\n"
        "X-Amz-Invocation-Type: Event\r\nContent-Type: application/json\r\n"
        f"Authorization: {AUTHORIZATION}\r\n"
        'Content-Length: 8\r\n\r\n{"i": 1}'
    ).encode()
    latencies: list[float] = []
    interval = CLIENTS / rate
    start = time.perf_counter() + 0.05

    async def connection(k: int) -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        n = 0
        while True:
            due = start + (k / CLIENTS + n) * interval
            if due - start >= seconds:
                break
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(request_bytes)
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 202"), head
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - due) * 1000)
            n += 1
        writer.close()

    await asyncio.gather(*(connection(k) for k in range(CLIENTS)))
    return latencies


def open_loop(port: int, rate: float, seconds: float) -> list[float]:
    import asyncio

    return asyncio.run(_open_loop(port, rate, seconds))


def succeeded(port: int) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    _, body = request(conn, "GET", f"/_lamina/async?function={FUNCTION}", b"", {})
    figures = json.loads(body)["functions"].get(FUNCTION, {})
    return int(figures.get("succeeded", 0))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    single, per_client, sustained = (300, 60, 2000) if args.quick else (1000, 200, 6000)
    seconds = 2.0 if args.quick else 5.0
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        port = free_port()
        log = open(Path(tmp) / "server.log", "wb")  # noqa: SIM115
        env = dict(os.environ)
        server = subprocess.Popen(
            [sys.executable, "-m", "lamina.cli.main", "server", "--port", str(port),
             "--data-dir", str(data)],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        try:
            deadline = time.time() + 30
            while True:
                try:
                    conn = http.client.HTTPConnection(HOST, port, timeout=1)
                    request(conn, "GET", "/_lamina/health", b"", {})
                    break
                except OSError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.05)
            conn = http.client.HTTPConnection(HOST, port, timeout=30)
            body = json.dumps(
                {
                    "FunctionName": FUNCTION,
                    "Runtime": "python3.11",
                    "Role": ROLE,
                    "Handler": "handler.handler",
                    "Code": {"ZipFile": package()},
                }
            ).encode()
            status, out = request(
                conn, "POST", "/2015-03-31/functions", body, {"Authorization": AUTHORIZATION}
            )
            assert status == 201, out

            floor_single, floor_batched = sqlite_floor(Path(tmp), 1.0 if args.quick else 2.0)

            # Warm-up: start the environments the load below needs.
            run_clients(port, CLIENTS, per_client // 2)
            expected = CLIENTS * (per_client // 2)
            while succeeded(port) < expected:
                time.sleep(0.05)
            one, one_elapsed = run_clients(port, 1, single)
            expected += single
            # Let the queue drain before each round.
            while succeeded(port) < expected:
                time.sleep(0.05)
            paced: dict[int, list[float]] = {}
            for rate in RATES:
                paced[rate] = open_loop(port, rate, seconds)
                expected += len(paced[rate])
                while succeeded(port) < expected:
                    time.sleep(0.05)
            many, many_elapsed = run_clients(port, CLIENTS, per_client)
            expected += CLIENTS * per_client
            while succeeded(port) < expected:
                time.sleep(0.05)

            start_count = succeeded(port)
            started = time.perf_counter()
            _, send_elapsed = run_clients(port, CLIENTS, sustained // CLIENTS)
            total = CLIENTS * (sustained // CLIENTS)
            while succeeded(port) < start_count + total:
                time.sleep(0.02)
            end_to_end = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()

    print("asynchronous invocation (Invoke Event -> durable queue -> run)")
    print(
        f"  floor: SQLite WAL synchronous=FULL: {floor_single:,.0f} single-row commits/s, "
        f"{floor_batched:,.0f} rows/s at 100 rows per commit"
    )
    print(
        f"  enqueue, 1 client : p50 {percentile(one, 0.5):.2f} ms  p99 "
        f"{percentile(one, 0.99):.2f} ms  ({len(one) / one_elapsed:,.0f} events/s)"
    )
    for rate in RATES:
        samples = paced[rate]
        p99 = percentile(samples, 0.99)
        verdict = ""
        if rate == RATES[-1]:
            verdict = f"  target p99 <= {TARGET_P99_MS:.0f} ms: " + (
                "met" if p99 <= TARGET_P99_MS else "NOT met"
            )
        print(
            f"  enqueue, {CLIENTS} connections offering {rate:,}/s: p50 "
            f"{percentile(samples, 0.5):.2f} ms  p99 {p99:.2f} ms  max {max(samples):.2f} ms"
            f"{verdict}"
        )
    print(
        f"  enqueue, {CLIENTS} clients back to back (saturation, for reference): p50 "
        f"{percentile(many, 0.5):.2f} ms  p99 {percentile(many, 0.99):.2f} ms  "
        f"({len(many) / many_elapsed:,.0f} events/s)"
    )
    print(
        f"  sustained end to end: {total} events sent in {send_elapsed:.2f} s, all run after "
        f"{end_to_end:.2f} s: {total / end_to_end:,.0f} events/s"
    )


if __name__ == "__main__":
    main()
