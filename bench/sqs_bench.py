#!/usr/bin/env python3
"""SQS benchmark: SendMessage latency, SendMessageBatch throughput and idle long polls, each
beside its floor measured in the same run.

    .venv/bin/python bench/sqs_bench.py            # full run, about 40 s
    .venv/bin/python bench/sqs_bench.py --quick    # about 25 s

- **SendMessage latency**: one keep-alive ``http.client`` connection sends sequential
  SendMessage requests (JSON protocol). Floors, in alternating rounds with it: (a) the commit
  discipline alone: a ``GroupCommitWriter`` committing one row per operation (WAL,
  the server's synchronous mode: ``--queue-durability kill`` (default) is ``NORMAL``,
  ``power-loss`` is ``FULL``) driven from an event loop, on the same filesystem; (b) the same
  client against a bare uvicorn echo app (the cost of an HTTP request into Python).
- **SendMessageBatch throughput**: 4 client processes, each one keep-alive connection sending
  batches of 10 back to back. Floor: rows/s of 100-row commits through the same writer.
- **Idle long polls**: 1,000 connections each hold a ReceiveMessage (``WaitTimeSeconds=20``)
  on an empty queue; the server's CPU time (``/proc/<pid>/stat``, every thread) over 5 s while
  they wait, beside the same server's CPU over 5 s with nothing held. Then one SendMessage
  wakes one of them (the wake-up latency is printed).

The script always exits 0: it is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import invoke_bench as ib  # noqa: E402 - the sibling benchmark's servers, clients and helpers
from invoke_bench import HOST, Row, Server, percentile, say  # noqa: E402

from lamina.store.group_commit import GroupCommitWriter
from lamina.store.sqs_db import SYNCHRONOUS  # noqa: E402

# Any key's SigV4 shape will do (the server checks the shape only for keys it did not issue).
SQS_AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=test/20261206/us-east-1/sqs/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0000"
)
JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
MESSAGE_BODY = "x" * 100
ROW_PAYLOAD = b"x" * 200  # a floor row: about a message row's size
BATCH_CLIENTS = 4
IDLE_POLLS = 1000
IDLE_SECONDS = 5.0

TARGET_SEND_P50_MS = 0.5
TARGET_BATCH_RATE = 10_000.0


def sqs_headers(operation: str) -> dict[str, str]:
    return {
        "Content-Type": JSON_CONTENT_TYPE,
        "X-Amz-Target": f"AmazonSQS.{operation}",
        "Authorization": SQS_AUTHORIZATION,
    }


def sqs_client(port: int) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "sqs",
        endpoint_url=f"http://{HOST}:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 0}, read_timeout=60),
    )


def send_body(queue_url: str, body: str = MESSAGE_BODY) -> bytes:
    return json.dumps({"QueueUrl": queue_url, "MessageBody": body}).encode()


def batch_body(queue_url: str, size: int = 10) -> bytes:
    entries = [{"Id": str(i), "MessageBody": MESSAGE_BODY} for i in range(size)]
    return json.dumps({"QueueUrl": queue_url, "Entries": entries}).encode()


class Timed(Protocol):
    def timed(self, n: int) -> list[float]: ...


class FixedClient(ib.Client):
    """A keep-alive client posting the same request body to ``/`` each time."""

    def __init__(self, port: int, operation: str, body: bytes) -> None:
        super().__init__(port, "/", sqs_headers(operation))
        self.body = body

    def post(self, body: bytes | None = None) -> Any:
        return super().post(self.body if body is None else body)


# --- the commit floor ------------------------------------------------------------------------


def _event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop  # the server's loop

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


class CommitFloor:
    """The commit discipline alone: a ``GroupCommitWriter`` (WAL, the server's synchronous
    mode for the chosen ``--queue-durability``) on the same filesystem, each operation awaited
    from an event loop as the server does."""

    def __init__(self, directory: Path, synchronous: str) -> None:
        conn = sqlite3.connect(
            str(directory / "floor.sqlite3"), check_same_thread=False, isolation_level=None
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)")
        self.writer = GroupCommitWriter(conn, "bench-floor")
        self.writer.start()
        self.loop = _event_loop()

    @staticmethod
    def _insert(rows: int) -> Any:
        values = [(ROW_PAYLOAD,)] * rows

        def op(conn: sqlite3.Connection) -> None:
            conn.executemany("INSERT INTO t(payload) VALUES (?)", values)

        return op

    def timed(self, n: int) -> list[float]:
        """Latency (ms) of ``n`` sequential single-row group commits."""
        op = self._insert(1)

        async def run() -> list[float]:
            out = []
            for _ in range(n):
                t0 = time.perf_counter()
                await self.writer.run_op(op)
                out.append((time.perf_counter() - t0) * 1000)
            return out

        return self.loop.run_until_complete(run())

    def rows_per_second(self, rows: int, seconds: float) -> float:
        """Rows/s committed by sequential ``rows``-row operations for ``seconds``."""
        op = self._insert(rows)

        async def run() -> float:
            count, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:
                await self.writer.run_op(op)
                count += rows
            return count / (time.perf_counter() - started)

        return self.loop.run_until_complete(run())

    def close(self) -> None:
        self.writer.stop()
        self.writer.conn.close()
        self.loop.close()


def alternate(targets: dict[str, Timed], rounds: int, per_round: int) -> dict[str, list[float]]:
    """Sequential latency (ms), the targets measured in alternating rounds."""
    samples: dict[str, list[float]] = {name: [] for name in targets}
    gc.disable()
    try:
        for r in range(rounds):
            for name in list(targets) if r % 2 == 0 else list(reversed(targets)):
                samples[name] += targets[name].timed(per_round)
    finally:
        gc.enable()
    return samples


# --- SendMessageBatch load -------------------------------------------------------------------

BATCH_WORKER = textwrap.dedent(
    """
    import http.client, json, sys, time
    host, port, body = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
    headers = json.loads(sys.argv[4])
    conn = http.client.HTTPConnection(host, port)
    def one():
        conn.request("POST", "/", body, headers)
        response = conn.getresponse()
        data = response.read()
        return response.status == 200 and b'"Failed"' not in data
    for _ in range(20):
        one()
    print("ready", flush=True)
    start, duration = (float(x) for x in sys.stdin.readline().split())
    while time.time() < start:
        time.sleep(0.0005)
    end = start + duration
    count = errors = 0
    while time.time() < end:
        if not one():
            errors += 1
        count += 1
    print(count, errors, flush=True)
    """
)


def batch_load(port: int, body: bytes, clients: int, seconds: float) -> tuple[float, int]:
    """(requests/s, failed requests): ``clients`` processes sending the batch back to back."""
    headers = json.dumps(sqs_headers("SendMessageBatch"))
    argv = [sys.executable, "-I", "-S", "-c", BATCH_WORKER, HOST, str(port), body.decode(), headers]
    procs = [
        subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(clients)
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError("batch worker failed to start")
        start = time.time() + 0.2
        for p in procs:
            assert p.stdin is not None
            p.stdin.write(f"{start} {seconds}\n")
            p.stdin.flush()
        total = errors = 0
        for p in procs:
            out, _ = p.communicate(timeout=seconds + 60)
            count, errs = (int(x) for x in out.split())
            total += count
            errors += errs
        return total / seconds, errors
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


# --- idle long polls -------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raw_request(port: int, operation: str, body: bytes) -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in sqs_headers(operation).items())
    return (
        f"POST / HTTP/1.1\r\nHost: {HOST}:{port}\r\n{head}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _idle_long_polls(
    port: int, pid: int, queue_url: str, count: int, seconds: float
) -> dict[str, float]:
    receive = raw_request(
        port,
        "ReceiveMessage",
        json.dumps({"QueueUrl": queue_url, "WaitTimeSeconds": 20}).encode(),
    )
    connections = []
    for start in range(0, count, 100):  # open in chunks: the listen backlog is finite
        connections += await asyncio.gather(
            *(asyncio.open_connection(HOST, port) for _ in range(start, min(count, start + 100)))
        )
    for _, writer in connections:
        writer.write(receive)
    await asyncio.gather(*(writer.drain() for _, writer in connections))
    answers = [asyncio.ensure_future(reader.readuntil(b"\r\n\r\n")) for reader, _ in connections]
    await asyncio.sleep(1.0)  # every request read and parked
    cpu_before, t0 = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    cpu_used, elapsed = cpu_seconds(pid) - cpu_before, time.monotonic() - t0
    held = sum(1 for answer in answers if not answer.done())
    # One message wakes one held poll at once.
    sender_reader, sender = await asyncio.open_connection(HOST, port)
    woke_started = time.perf_counter()
    sender.write(raw_request(port, "SendMessage", send_body(queue_url)))
    done, _ = await asyncio.wait(answers, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    wake_ms = (time.perf_counter() - woke_started) * 1000 if done else float("nan")
    for answer in answers:
        answer.cancel()
    for _, writer in connections:
        writer.close()
    sender.close()
    del sender_reader
    return {"cpu_s": cpu_used, "elapsed_s": elapsed, "held": held, "wake_ms": wake_ms}


def idle_long_polls(port: int, pid: int, queue_url: str, count: int, seconds: float) -> Any:
    return asyncio.run(_idle_long_polls(port, pid, queue_url, count, seconds))


def idle_server_cpu(pid: int, seconds: float) -> float:
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return cpu_seconds(pid) - before


# --- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run (~20 s)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server logs)")
    parser.add_argument(
        "--queue-durability",
        choices=sorted(SYNCHRONOUS),
        default="kill",
        help="the server's --queue-durability (and the floor's matching synchronous mode)",
    )
    args = parser.parse_args(argv)
    lat_rounds, per_round = (4, 250) if args.quick else (8, 500)
    load_rounds, load_seconds = (1, 2.0) if args.quick else (3, 3.0)

    tmp = Path(tempfile.mkdtemp(prefix="lamina-sqs-bench-"))
    servers: list[Server] = []
    began = time.monotonic()
    with ib.guarded_run(servers, tmp, args.keep) as cleanup:
        echo_port, lamina_port = ib.free_port(), ib.free_port()
        echo = Server(
            "echo", [sys.executable, "-c", ib.ECHO_SERVER, HOST, str(echo_port)], echo_port,
            tmp / "echo.log",
        )  # fmt: skip
        lamina = Server(
            "lamina",
            [*ib.lamina_command(), "server", "--host", HOST, "--port", str(lamina_port),
             "--data-dir", str(tmp / "data"), "--queue-durability", args.queue_durability],
            lamina_port, tmp / "lamina.log",
        )  # fmt: skip
        servers += [echo, lamina]
        say(f"starting servers (echo :{echo_port}, lamina :{lamina_port}); temp dir {tmp}")
        echo.start()
        lamina.start()
        floor = CommitFloor(tmp, SYNCHRONOUS[args.queue_durability])
        cleanup.callback(floor.close)

        sqs = sqs_client(lamina_port)
        send_url = sqs.create_queue(QueueName="bench-send")["QueueUrl"]
        batch_url = sqs.create_queue(QueueName="bench-batch")["QueueUrl"]
        poll_url = sqs.create_queue(QueueName="bench-idle")["QueueUrl"]
        probe = FixedClient(lamina_port, "SendMessage", send_body(send_url))
        probe.post()
        if b"MD5OfMessageBody" not in probe.last_body:
            raise RuntimeError(f"unexpected SendMessage answer: {probe.last_body!r}")
        probe.close()
        gc.collect()
        gc.freeze()

        say("SendMessage latency (http.client keep-alive) ...")
        targets: dict[str, Timed] = {
            "lamina": FixedClient(lamina_port, "SendMessage", send_body(send_url)),
            "echo": FixedClient(echo_port, "SendMessage", send_body(send_url)),
            "commit": floor,
        }
        for target in targets.values():
            target.timed(200)
        lat = alternate(targets, lat_rounds, per_round)

        say(f"SendMessageBatch throughput ({BATCH_CLIENTS} clients) ...")
        body = batch_body(batch_url)
        batch_load(lamina_port, body, BATCH_CLIENTS, 1.0)  # warm-up
        batch_rates: list[float] = []
        floor_rates: list[float] = []
        errors = 0
        for _ in range(load_rounds):
            requests_per_s, failed = batch_load(lamina_port, body, BATCH_CLIENTS, load_seconds)
            batch_rates.append(requests_per_s * 10)
            errors += failed
            floor_rates.append(floor.rows_per_second(100, min(load_seconds, 2.0)))
        stored = int(
            sqs.get_queue_attributes(
                QueueUrl=batch_url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]["ApproximateNumberOfMessages"]
        )

        say(f"{IDLE_POLLS} idle long polls, server CPU over {IDLE_SECONDS:g} s ...")
        idle_cpu = idle_server_cpu(lamina.pid, IDLE_SECONDS)
        polls = idle_long_polls(lamina_port, lamina.pid, poll_url, IDLE_POLLS, IDLE_SECONDS)

        send_p50 = percentile(lat["lamina"], 50)
        batch_rate = statistics.median(batch_rates)
        cpu_ms, idle_ms = polls["cpu_s"] * 1000, idle_cpu * 1000
        rows = [
            Row("SendMessage p50 vs commit floor", send_p50, percentile(lat["commit"], 50), "ms",
                f"<= {TARGET_SEND_P50_MS:g} ms", send_p50 <= TARGET_SEND_P50_MS),
            Row("SendMessage p99 vs commit floor", percentile(lat["lamina"], 99),
                percentile(lat["commit"], 99), "ms"),
            Row("SendMessage p50 vs echo floor", send_p50, percentile(lat["echo"], 50), "ms"),
            Row("SendMessage p99 vs echo floor", percentile(lat["lamina"], 99),
                percentile(lat["echo"], 99), "ms"),
            Row(f"SendMessageBatch msgs/s, {BATCH_CLIENTS} clients (100-row commits)", batch_rate,
                statistics.median(floor_rates), "/s", f">= {TARGET_BATCH_RATE:,.0f}/s",
                batch_rate >= TARGET_BATCH_RATE),
            Row(f"server CPU, {IDLE_POLLS} long polls held {IDLE_SECONDS:g} s (idle server)",
                cpu_ms, idle_ms, "ms", "no polling loop",
                polls["held"] == IDLE_POLLS and cpu_ms <= idle_ms + 0.01 * IDLE_SECONDS * 1000),
            Row("long poll wake-up (SendMessage -> answer)", polls["wake_ms"], None, "ms"),
        ]  # fmt: skip
        print()
        print(
            f"Lamina SQS benchmark ({'quick' if args.quick else 'full'} run, {os.cpu_count()} "
            f"CPUs, load avg {os.getloadavg()[0]:.2f}, {time.monotonic() - began:.0f} s)"
        )
        ib.print_table(rows)
        print()
        print(
            "floors: commit = GroupCommitWriter, one row per commit (WAL, synchronous="
            f"{SYNCHRONOUS[args.queue_durability]}, --queue-durability {args.queue_durability}),"
        )
        print(
            "        same filesystem; echo = bare ASGI echo app on uvicorn, same client and bytes;"
        )
        print("        100-row commits = rows/s of 100-row operations through the same writer;")
        print("        idle server = the same server's CPU over the same time, nothing held")
        print(
            f"samples: latency {len(lat['lamina'])} per target in {lat_rounds} alternating rounds;"
            f" batch {load_rounds} x {load_seconds:g} s (median), {errors} failed requests,"
            f" {stored:,} messages stored; long polls held {polls['held']}/{IDLE_POLLS}"
            f" after {polls['elapsed_s']:.1f} s"
        )
        print(
            "batch msgs/s per round: "
            + ", ".join(f"{x:,.0f}" for x in batch_rates)
            + "; 100-row floor rows/s: "
            + ", ".join(f"{x:,.0f}" for x in floor_rates)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
