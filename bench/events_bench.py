#!/usr/bin/env python3
"""EventBridge benchmark: PutEvents accepted latency, event -> handler start, and pattern
matching with 1,000 rules on a bus, each beside its floor measured in the same run.

    .venv/bin/python bench/events_bench.py            # about 40 s
    .venv/bin/python bench/events_bench.py --quick    # about 20 s

- **PutEvents accepted p50**: one keep-alive ``http.client`` connection sends sequential
  PutEvents of one entry matching a rule with a Lambda target (the deliveries are committed
  before each answer). Floor, in alternating rounds: ``DescribeEventBus`` on the same
  connection (the edge and JSON protocol alone, nothing stored).
- **Event -> handler start p50**: sequential PutEvents to the same rule; the handler logs
  ``time.time()`` as it starts; the figure is that minus the time the request was sent.
  Floor: the same function invoked with ``InvocationType=Event`` directly.
- **Evaluations/s with 1,000 rules**: in process, a bus with 1,000 rules (exact
  ``source``/``detail-type`` values with ``detail`` filters, 2% prefix-only rules the index
  cannot narrow) meets a stream of events; evaluations = events x rules. Floor: the same
  events tested against every rule's compiled pattern (no index).

The script always exits 0: it is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import invoke_bench as ib  # noqa: E402 - the sibling benchmark's servers, clients and helpers
from invoke_bench import HOST, Row, percentile, say  # noqa: E402

from lamina.domain.event_pattern import compile_pattern  # noqa: E402
from lamina.services.events.arns import BusKey  # noqa: E402
from lamina.services.events.model import Rule  # noqa: E402
from lamina.services.events.rule_index import RuleIndex  # noqa: E402

EVENTS_AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=test/20261206/us-east-1/events/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0000"
)
RULES = 1000
TARGET_ACCEPT_MS = 1.0
TARGET_HANDLER_MS = 10.0
TARGET_EVALUATIONS = 200_000
HANDLER = (
    "import json, time\n"
    "def handler(event, context):\n"
    "    print('START_AT ' + json.dumps([event.get('id') or event.get('k'), time.time()]))\n"
)


class EventsClient(ib.Client):
    def __init__(self, port: int, operation: str) -> None:
        super().__init__(
            port,
            "/",
            {
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": f"AWSEvents.{operation}",
                "Authorization": EVENTS_AUTHORIZATION,
            },
        )


class AsyncInvokeClient(ib.Client):
    """Invoke with ``InvocationType=Event`` (answers 202)."""

    def __init__(self, port: int, name: str) -> None:
        super().__init__(
            port,
            f"/2015-03-31/functions/{name}/invocations",
            {"X-Amz-Invocation-Type": "Event"},
        )

    def post(self, body: bytes = ib.BODY) -> Any:
        self.conn.request("POST", self.path, body, self.headers)
        response = self.conn.getresponse()
        self.last_body = response.read()
        if response.status != 202:
            raise RuntimeError(f"{self.path}: HTTP {response.status}")
        return response


def put_body(source: str) -> bytes:
    entry = {"Source": source, "DetailType": "bench", "Detail": '{"n": 1}'}
    return json.dumps({"Entries": [entry]}).encode()


def timed_posts(client: ib.Client, body: bytes, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        client.post(body)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def handler_starts(port: int, name: str) -> dict[str, float]:
    import boto3

    logs = boto3.client(
        "logs",
        endpoint_url=f"http://{HOST}:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    found: dict[str, float] = {}
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"logGroupName": f"/aws/lambda/{name}"}
        if token:
            kwargs["nextToken"] = token
        page = logs.filter_log_events(**kwargs)
        for event in page["events"]:
            if event["message"].startswith("START_AT "):
                key, at = json.loads(event["message"][len("START_AT ") :])
                found[str(key)] = float(at)
        token = page.get("nextToken")
        if not token:
            return found


def wait_started(port: int, name: str, keys: set[str], timeout: float = 30) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = handler_starts(port, name)
        if keys <= found.keys():
            return found
        time.sleep(0.2)
    raise RuntimeError("handlers did not start in time")


def to_handler(port: int, name: str, samples: int) -> tuple[list[float], list[float]]:
    """(PutEvents -> handler start, Invoke Event -> handler start) in ms, alternating."""
    put = EventsClient(port, "PutEvents")
    invoke = AsyncInvokeClient(port, name)
    via_bus: list[float] = []
    direct: list[float] = []
    for i in range(samples):
        sent = time.time()
        put.post(put_body("bench.handler"))
        event_id = json.loads(put.last_body)["Entries"][0]["EventId"]
        started = wait_started(port, name, {event_id})
        via_bus.append((started[event_id] - sent) * 1000)
        key = f"direct-{i}"
        sent = time.time()
        invoke.post(json.dumps({"k": key}).encode())
        started = wait_started(port, name, {key})
        direct.append((started[key] - sent) * 1000)
    put.close()
    invoke.close()
    return via_bus, direct


def matching(seconds: float) -> tuple[float, float]:
    """(evaluations/s through the index, evaluations/s testing every rule)."""
    bus = BusKey("us-east-1", "000000000000", "default")
    rng = random.Random(7)
    rules: list[Rule] = []
    for i in range(RULES):
        if i % 50 == 0:
            pattern: dict[str, Any] = {"source": [{"prefix": f"app{i}."}]}
        else:
            pattern = {
                "source": [f"app{i % 200}"],
                "detail-type": [f"type{i % 7}"],
                "detail": {"level": [{"numeric": [">", i % 10]}], "state": ["on", "off"]},
            }
        text = json.dumps(pattern)
        rules.append(
            Rule(bus, f"r{i}", text, None, "ENABLED", None, None, {}, compile_pattern(text))
        )
    index = RuleIndex()
    for rule in rules:
        index.put(rule)
    events = [
        {
            "version": "0",
            "id": str(n),
            "source": f"app{rng.randrange(220)}",
            "detail-type": f"type{rng.randrange(7)}",
            "account": "000000000000",
            "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": {"level": rng.randrange(12), "state": rng.choice(["on", "off", "x"])},
        }
        for n in range(1000)
    ]
    for event in events[:50]:  # the index agrees with the full scan
        full = {r.name for r in rules if r.pattern is not None and r.pattern.matches(event)}
        assert {r.name for r in index.matching(event)} == full

    def rate(step: Any) -> float:
        done = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            for event in events:
                step(event)
            done += len(events)
        return done * RULES / (time.perf_counter() - t0)

    def full_scan(event: dict[str, Any]) -> None:
        for rule in rules:
            assert rule.pattern is not None
            rule.pattern.matches(event)

    return rate(index.matching), rate(full_scan)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    rounds, per_round, handler_samples = (3, 200, 10) if args.quick else (6, 300, 30)
    say("matching: 1,000 rules in process")
    indexed, scanned = matching(1.0 if args.quick else 3.0)
    with tempfile.TemporaryDirectory(prefix="lamina-events-bench-") as tmp:
        port = ib.free_port()
        server = ib.lamina_server("lamina", port, Path(tmp) / "data", Path(tmp) / "lamina.log")
        server.start()
        try:
            lam = ib.lambda_client(port)
            ib.create_function(lam, "bench-events", ib.hello_zip(HANDLER))
            arn = lam.get_function(FunctionName="bench-events")["Configuration"]["FunctionArn"]
            events = _events_client(port)
            events.put_rule(Name="bench", EventPattern='{"source": ["bench.handler"]}')
            events.put_targets(Rule="bench", Targets=[{"Id": "f", "Arn": arn}])
            events.put_rule(Name="accept", EventPattern='{"source": ["bench.accept"]}')
            events.put_targets(Rule="accept", Targets=[{"Id": "f", "Arn": arn}])
            say("PutEvents accepted latency")
            put = EventsClient(port, "PutEvents")
            describe = EventsClient(port, "DescribeEventBus")
            body = put_body("bench.accept")
            timed_posts(put, body, 50)
            timed_posts(describe, b"{}", 50)
            accepted: list[float] = []
            floor: list[float] = []
            for _ in range(rounds):
                accepted += timed_posts(put, body, per_round)
                floor += timed_posts(describe, b"{}", per_round)
            put.close()
            describe.close()
            time.sleep(2)  # let the accepted events' invocations drain
            say("event -> handler start")
            via_bus, direct = to_handler(port, "bench-events", handler_samples)
        finally:
            server.stop()
    accept_p50 = percentile(accepted, 50)
    handler_p50 = percentile(via_bus, 50)
    ib.print_table(
        [
            Row(
                "PutEvents accepted p50 (1 entry, Lambda target)",
                accept_p50,
                percentile(floor, 50),
                "ms",
                f"<= {TARGET_ACCEPT_MS} ms",
                accept_p50 <= TARGET_ACCEPT_MS,
            ),
            Row("PutEvents accepted p99", percentile(accepted, 99), percentile(floor, 99), "ms"),
            Row(
                "event -> handler start p50",
                handler_p50,
                percentile(direct, 50),
                "ms",
                f"<= {TARGET_HANDLER_MS} ms",
                handler_p50 <= TARGET_HANDLER_MS,
            ),
            Row(
                "evaluations/s, 1,000 rules",
                indexed,
                scanned,
                "/s",
                f">= {TARGET_EVALUATIONS:,}/s",
                indexed >= TARGET_EVALUATIONS,
            ),
        ]
    )
    print(
        "floors: DescribeEventBus on the same connection; Invoke (Event) of the same function; "
        "every rule's pattern tested (no index)"
    )
    return 0


def _events_client(port: int) -> Any:
    import boto3

    return boto3.client(
        "events",
        endpoint_url=f"http://{HOST}:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


if __name__ == "__main__":
    sys.exit(main())
