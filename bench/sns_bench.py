#!/usr/bin/env python3
"""SNS benchmark: Publish to a topic with 10 SQS subscriptions, beside its floors measured in
the same run.

    .venv/bin/python bench/sns_bench.py            # about 30 s
    .venv/bin/python bench/sns_bench.py --quick    # about 15 s

- **Publish latency**: one keep-alive ``http.client`` connection sends sequential Publish
  requests (query protocol) to a topic with 10 SQS subscriptions. The answer comes once the
  fan-out (the message and its 10 delivery rows) is committed. Floors, in alternating rounds
  with it: (a) the commit discipline alone (``sqs_bench.CommitFloor``: one-row group commits,
  the server's synchronous mode, same filesystem); (b) the same client against a bare uvicorn
  echo app (the cost of an HTTP request into Python).
- **Fan-out drain**: after the latency rounds, the time until every published message sits
  in all 10 queues (the deliveries run behind the answers).

The script always exits 0: it is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import invoke_bench as ib  # noqa: E402 - the sibling benchmark's servers, clients and helpers
from invoke_bench import HOST, Row, Server, percentile, say  # noqa: E402
from sqs_bench import CommitFloor, Timed, alternate  # noqa: E402

from lamina.store.sns_store import SYNCHRONOUS  # noqa: E402

SNS_AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=test/20261206/us-east-1/sns/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0000"
)
SUBSCRIPTIONS = 10
TARGET_PUBLISH_P50_MS = 2.0


class PublishClient(ib.Client):
    """A keep-alive client posting the same Publish form to ``/`` each time."""

    def __init__(self, port: int, topic_arn: str) -> None:
        super().__init__(
            port,
            "/",
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Authorization": SNS_AUTHORIZATION,
            },
        )
        self.body = urlencode(
            {
                "Action": "Publish",
                "Version": "2010-03-31",
                "TopicArn": topic_arn,
                "Message": "x" * 100,
            }
        ).encode()

    def post(self, body: bytes | None = None) -> Any:
        return super().post(self.body if body is None else body)


def clients(port: int) -> tuple[Any, Any]:
    import boto3
    from botocore.config import Config

    def make(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=f"http://{HOST}:{port}",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 0}, read_timeout=60),
        )

    return make("sns"), make("sqs")


def queue_depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run (~15 s)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server logs)")
    parser.add_argument(
        "--queue-durability",
        choices=sorted(SYNCHRONOUS),
        default="kill",
        help="the server's --queue-durability (and the floor's matching synchronous mode)",
    )
    args = parser.parse_args(argv)
    rounds, per_round = (4, 150) if args.quick else (8, 300)

    tmp = Path(tempfile.mkdtemp(prefix="lamina-sns-bench-"))
    servers: list[Server] = []
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

        sns, sqs = clients(lamina_port)
        topic = sns.create_topic(Name="bench-topic")["TopicArn"]
        urls = []
        for n in range(SUBSCRIPTIONS):
            url = sqs.create_queue(QueueName=f"bench-sub-{n}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
            urls.append(url)
        probe = PublishClient(lamina_port, topic)
        probe.post()
        if b"<MessageId>" not in probe.last_body:
            raise RuntimeError(f"unexpected Publish answer: {probe.last_body!r}")
        probe.close()
        gc.collect()
        gc.freeze()

        say(f"Publish latency, {SUBSCRIPTIONS} SQS subscriptions (http.client keep-alive) ...")
        publisher = PublishClient(lamina_port, topic)
        targets: dict[str, Timed] = {
            "lamina": publisher,
            "echo": PublishClient(echo_port, topic),
            "commit": floor,
        }
        for target in targets.values():
            target.timed(100)
        published_before = 1 + 100
        lat = alternate(targets, rounds, per_round)
        published = published_before + rounds * per_round

        say("waiting for the fan-out to drain ...")
        drain_started = time.monotonic()
        while any(queue_depth(sqs, url) < published for url in urls):
            if time.monotonic() - drain_started > 120:
                raise RuntimeError("the fan-out did not drain in 120 s")
            time.sleep(0.2)
        drain_s = time.monotonic() - drain_started

        p50 = percentile(lat["lamina"], 50)
        rows = [
            Row(f"Publish p50, {SUBSCRIPTIONS} SQS subs, vs commit floor", p50,
                percentile(lat["commit"], 50), "ms", f"<= {TARGET_PUBLISH_P50_MS:g} ms",
                p50 <= TARGET_PUBLISH_P50_MS),
            Row("Publish p99 vs commit floor", percentile(lat["lamina"], 99),
                percentile(lat["commit"], 99), "ms"),
            Row("Publish p50 vs echo floor", p50, percentile(lat["echo"], 50), "ms"),
            Row("Publish p99 vs echo floor", percentile(lat["lamina"], 99),
                percentile(lat["echo"], 99), "ms"),
            Row(f"deliveries after the last answer ({published * SUBSCRIPTIONS} in all)",
                drain_s * 1000, None, "ms"),
        ]  # fmt: skip
        print()
        ib.print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
