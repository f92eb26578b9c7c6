#!/usr/bin/env python3
"""SQS event source mapping benchmark: SendMessage -> handler start latency, and sustained
messages/s through one mapping, beside the SendMessage floors measured in the same run.

    .venv/bin/python bench/esm_bench.py            # full run, about 25 s
    .venv/bin/python bench/esm_bench.py --quick    # about 10 s

- **latency**: a mapping with ``BatchSize`` 1 and no batching window on a warm environment.
  The sender puts ``time.time()`` in each message's body just before sending it (one
  keep-alive ``http.client`` connection, one message every 20 ms so that each finds the
  poller waiting); the handler prints its own ``time.time()`` at start beside it, and the
  bench reads those lines from the function's log. Floor: SendMessage's own p50 (a queue
  without mapping, same client, same run): the message cannot be delivered before it is
  acknowledged.
- **sustained**: 20,000 messages (5,000 with ``--quick``) are loaded first (SendMessageBatch,
  4 clients); then a mapping with ``BatchSize`` 10 is created, and the figure is messages
  divided by the time from its creation until the queue is empty (no message visible nor in
  flight: every batch was invoked and deleted). The function's invocation count (from
  ``/_lamina/metrics``) is printed beside it. Floor: the rate the same queue took them in.

The script always exits 0: it is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import invoke_bench as ib  # noqa: E402 - the sibling benchmark's servers, clients and helpers
import sqs_bench as sb  # noqa: E402 - SQS clients and load generator
from invoke_bench import HOST, Row, Server, percentile, say  # noqa: E402

LATENCY_FUNCTION = "bench-esm-latency"
DRAIN_FUNCTION = "bench-esm-drain"
HANDLER_SOURCE = """\
import time


def handler(event, context):
    started = time.time()
    records = event["Records"]
    if len(records) == 1 and records[0]["body"].startswith("sent="):
        received = int(records[0]["attributes"]["ApproximateFirstReceiveTimestamp"]) / 1000
        print("BENCH-START", records[0]["body"][5:], started, received)
    return None
"""
SEND_INTERVAL = 0.02
TARGET_LATENCY_P50_MS = 5.0
TARGET_DRAIN_RATE = 3000.0
_LINE = re.compile(r"BENCH-START ([\d.]+) ([\d.]+) ([\d.]+)")


def log_lines(port: int, function: str) -> list[str]:
    """Every log message of the function (all streams)."""
    import boto3

    logs = boto3.client(
        "logs",
        endpoint_url=f"http://{HOST}:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=f"/aws/lambda/{function}")
    return [event["message"] for page in pages for event in page["events"]]


def start_latencies(
    port: int, function: str, expected: int, timeout: float
) -> list[tuple[float, float]]:
    """Of the function's BENCH-START lines, in send order: (handler start - send, first
    receive - send) in ms (the receive timestamp has a resolution of 1 ms)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [_LINE.search(line) for line in log_lines(port, function)]
        rows = sorted(tuple(float(x) for x in m.groups()) for m in found if m)
        if len(rows) >= expected or time.monotonic() > deadline:
            return [
                ((start - sent) * 1000, (received - sent) * 1000) for sent, start, received in rows
            ]
        time.sleep(0.2)


def queue_counts(conn: http.client.HTTPConnection, queue_url: str) -> tuple[int, int]:
    """(visible, in flight) of a queue, by one raw GetQueueAttributes."""
    body = json.dumps(
        {
            "QueueUrl": queue_url,
            "AttributeNames": [
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
            ],
        }
    ).encode()
    conn.request("POST", "/", body, sb.sqs_headers("GetQueueAttributes"))
    response = conn.getresponse()
    attributes = json.loads(response.read())["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


def stored(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def invocations(port: int, function: str) -> int:
    """The function's invocations so far (``lamina_lambda_invocations_total``)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    conn.request("GET", f"/_lamina/metrics?function={function}")
    text = conn.getresponse().read().decode()
    conn.close()
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in text.splitlines()
        if line.startswith("lamina_lambda_invocations_total{")
    )


def create_function(lam: Any, name: str, code: bytes, memory: int) -> None:
    lam.create_function(
        FunctionName=name,
        Runtime=ib.RUNTIME,
        Handler="lambda_function.handler",
        Role=ib.ROLE,
        Code={"ZipFile": code},
        MemorySize=memory,
        Timeout=30,
    )
    lam.get_waiter("function_active_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 200}
    )


def wait_enabled(lam: Any, mapping_uuid: str) -> None:
    deadline = time.monotonic() + 30
    while lam.get_event_source_mapping(UUID=mapping_uuid)["State"] != "Enabled":
        if time.monotonic() > deadline:
            raise RuntimeError("the mapping did not become Enabled")
        time.sleep(0.02)


def measure_latency(
    port: int, queue_url: str, samples: int, earlier: int = 0
) -> list[tuple[float, float]]:
    """Send ``samples`` messages one every ``SEND_INTERVAL`` s with their send time; their
    latencies (the first ``earlier`` lines of the log are an earlier call's)."""
    client = sb.FixedClient(port, "SendMessage", b"")
    next_at = time.perf_counter()
    for _ in range(samples):
        delay = next_at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        next_at += SEND_INTERVAL
        client.post(sb.send_body(queue_url, f"sent={time.time():.6f}"))
    client.close()
    return start_latencies(port, LATENCY_FUNCTION, earlier + samples, timeout=30)[earlier:]


def direct_latency(port: int, samples: int) -> list[float]:
    """Handler start - send (ms) of direct RequestResponse invokes of the drain function with
    a one-record event of the mapping's shape, one every ``SEND_INTERVAL`` s (the invoke
    path alone, for reference)."""
    client = ib.Client(port, ib.invoke_path(DRAIN_FUNCTION))
    next_at = time.perf_counter()
    for _ in range(samples):
        delay = next_at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        next_at += SEND_INTERVAL
        now = time.time()
        record = {
            "body": f"sent={now:.6f}",
            "attributes": {"ApproximateFirstReceiveTimestamp": str(int(now * 1000))},
        }
        client.post(json.dumps({"Records": [record]}).encode())
    client.close()
    return [start for start, _ in start_latencies(port, DRAIN_FUNCTION, samples, timeout=30)]


def drain(port: int, queue_url: str, lam: Any, arn: str, messages: int) -> tuple[float, float]:
    """(seconds from creating a BatchSize-10 mapping until the queue is empty, seconds until
    its first invocation)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    started = time.perf_counter()
    lam.create_event_source_mapping(FunctionName=DRAIN_FUNCTION, EventSourceArn=arn, BatchSize=10)
    first: float | None = None
    deadline = started + 300
    while time.perf_counter() < deadline:
        visible, in_flight = queue_counts(conn, queue_url)
        if first is None and visible + in_flight < messages:
            first = time.perf_counter() - started
        if visible == 0 and in_flight == 0:
            break
        time.sleep(0.02)
    else:
        raise RuntimeError("the queue did not drain within 300 s")
    conn.close()
    return time.perf_counter() - started, first or 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run (~20 s)")
    parser.add_argument("--messages", type=int, default=None, help="messages to drain")
    parser.add_argument(
        "--memory", type=int, default=128, help="the functions' MemorySize (default 128 MB)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server log)")
    args = parser.parse_args(argv)
    latency_samples = 100 if args.quick else 300
    messages = args.messages or (5000 if args.quick else 20_000)

    tmp = Path(tempfile.mkdtemp(prefix="lamina-esm-bench-"))
    servers: list[Server] = []
    began = time.monotonic()
    with ib.guarded_run(servers, tmp, args.keep):
        port = ib.free_port()
        lamina = Server(
            "lamina",
            [*ib.lamina_command(), "server", "--host", HOST, "--port", str(port),
             "--data-dir", str(tmp / "data")],
            port, tmp / "lamina.log",
        )  # fmt: skip
        servers.append(lamina)
        say(f"starting lamina :{port}; temp dir {tmp}")
        lamina.start()
        lam = ib.lambda_client(port)
        sqs = sb.sqs_client(port)
        code = ib.hello_zip(HANDLER_SOURCE)
        for name in (LATENCY_FUNCTION, DRAIN_FUNCTION):
            create_function(lam, name, code, args.memory)

        def queue(name: str) -> tuple[str, str]:
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            return url, arn["Attributes"]["QueueArn"]

        latency_url, latency_arn = queue("bench-esm-latency")
        drain_url, drain_arn = queue("bench-esm-drain")
        floor_url, _ = queue("bench-esm-floor")
        gc.collect()
        gc.freeze()

        say("SendMessage floor ...")
        floor_client = sb.FixedClient(port, "SendMessage", sb.send_body(floor_url))
        floor_client.timed(200)
        send_ms = floor_client.timed(1000 if args.quick else 3000)
        floor_client.close()

        say(f"latency: BatchSize 1, {latency_samples} messages ...")
        created = lam.create_event_source_mapping(
            FunctionName=LATENCY_FUNCTION, EventSourceArn=latency_arn, BatchSize=1
        )
        wait_enabled(lam, created["UUID"])
        warm = measure_latency(port, latency_url, 20)  # starts the environment
        measured = measure_latency(port, latency_url, latency_samples, len(warm))
        latencies = [start for start, _ in measured]
        received = [receive for _, receive in measured]

        say("direct invokes of the same handler (reference) ...")
        direct = direct_latency(port, latency_samples + 20)[20:]

        say(f"sustained: loading {messages:,} messages, then a BatchSize-10 mapping drains them")
        body = sb.batch_body(drain_url)
        clients = sb.BATCH_CLIENTS
        per_client_s = 0.5
        loaded = 0
        load_rates: list[float] = []
        while loaded < messages:
            rate, _ = sb.batch_load(port, body, clients, per_client_s)
            load_rates.append(rate * 10)
            loaded = stored(sqs, drain_url)
        before = invocations(port, DRAIN_FUNCTION)
        elapsed, first = drain(port, drain_url, lam, drain_arn, loaded)
        invoked = invocations(port, DRAIN_FUNCTION) - before

        p50 = percentile(latencies, 50)
        drain_rate = loaded / elapsed
        rows = [
            Row("SendMessage -> handler start p50 (SendMessage p50)", p50,
                percentile(send_ms, 50), "ms", f"<= {TARGET_LATENCY_P50_MS:g} ms",
                p50 <= TARGET_LATENCY_P50_MS),
            Row("SendMessage -> handler start p90 (SendMessage p90)", percentile(latencies, 90),
                percentile(send_ms, 90), "ms"),
            Row("SendMessage -> handler start p99 (SendMessage p99)", percentile(latencies, 99),
                percentile(send_ms, 99), "ms"),
            Row("  of which SendMessage -> received by the poller p50 (1 ms clock)",
                percentile(received, 50), percentile(send_ms, 50), "ms"),
            Row("Invoke -> handler start p50 (direct invoke, reference)",
                percentile(direct, 50), percentile(send_ms, 50), "ms"),
            Row("drained msgs/s, BatchSize 10 (SendMessageBatch in, 4 clients)", drain_rate,
                statistics.median(load_rates), "/s", f">= {TARGET_DRAIN_RATE:,.0f}/s",
                drain_rate >= TARGET_DRAIN_RATE),
        ]  # fmt: skip
        print()
        print(
            f"Lamina SQS event source benchmark ({'quick' if args.quick else 'full'} run, "
            f"{os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.2f}, "
            f"{time.monotonic() - began:.0f} s)"
        )
        ib.print_table(rows)
        print()
        print(f"functions: {ib.RUNTIME}, {args.memory} MB; BatchSize 1 latency, BatchSize 10 drain")
        print("floors: SendMessage = sequential SendMessage, same client, a queue without mapping;")
        print("        SendMessageBatch in = the rate the drained queue was loaded at (4 clients)")
        print(
            f"samples: latency {len(latencies)} (of {latency_samples}) at one message per "
            f"{SEND_INTERVAL * 1000:.0f} ms; SendMessage {len(send_ms)}; drained {loaded:,} "
            f"messages in {elapsed:.2f} s ({invoked:,} invocations, first after {first:.2f} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
