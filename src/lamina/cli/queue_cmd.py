"""``lamina queue [--function NAME] [--retained] [--json] [--endpoint URL]``.

Fetches ``GET /_lamina/async`` and prints, per function, the asynchronous queue: events
pending (due, waiting for a turn), in flight, retrying (waiting for a retry, throttled ones
included), records waiting for their destination, retained items (dead letters...), and the
counters (received, succeeded, dropped, failed deliveries, redelivered after a restart).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, TextIO

from lamina.cli.endpoint import add_endpoint_argument, default_endpoint, get

PATH = "/_lamina/async"
COLUMNS = (
    ("FUNCTION", None),
    ("PENDING", "pending"),
    ("IN FLIGHT", "inFlight"),
    ("RETRYING", "retrying"),
    ("DELIVERIES", "deliveries"),
    ("RETAINED", "retained"),
    ("RECEIVED", "received"),
    ("SUCCEEDED", "succeeded"),
    ("DROPPED", "dropped"),
    ("DEST FAIL", "destinationDeliveryFailures"),
    ("DLQ ERR", "deadLetterErrors"),
    ("REDELIVERED", "redelivered"),
)


def add_queue_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "queue",
        help="print the asynchronous invocation queue per function",
        description="Pending, in-flight and retrying asynchronous events per function, and "
        "their counters (from GET /_lamina/async).",
    )
    parser.add_argument("--function", metavar="NAME", help="only this function")
    parser.add_argument(
        "--retained",
        action="store_true",
        help="also list retained items (dead letters, records for SQS/SNS/... targets)",
    )
    parser.add_argument("--json", action="store_true", help="print the JSON as served")
    add_endpoint_argument(parser)
    parser.set_defaults(func=run_queue)


def fetch(endpoint: str, function: str | None, retained: bool) -> dict[str, Any]:
    query: dict[str, str] = {}
    if function:
        query["function"] = function
    if retained:
        query["retained"] = "1"
    data: dict[str, Any] = json.loads(get(endpoint, PATH, query))
    return data


def render(data: dict[str, Any], out: TextIO) -> None:
    rows = [
        [name] + [str(figures.get(key, 0)) for _, key in COLUMNS[1:]]
        for name, figures in sorted(data.get("functions", {}).items())
    ]
    if not rows:
        out.write("no asynchronous events yet\n")
    else:
        header = [title for title, _ in COLUMNS]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            cells = [row[0].ljust(widths[0])] + [
                c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
            ]
            out.write("  ".join(cells).rstrip() + "\n")
    for item in data.get("retained", []):
        out.write(
            f"\n#{item['id']} {item['function']} {item['reason']} -> {item['target']}"
            f" (request {item['requestId']})\n  {item['body'][:500]}\n"
        )
        if item.get("attributes"):
            out.write(f"  attributes: {json.dumps(item['attributes'])}\n")


def run_queue(args: argparse.Namespace) -> int:
    endpoint = args.endpoint or default_endpoint()
    try:
        data = fetch(endpoint, args.function, args.retained)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"lamina queue: {endpoint}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0
    render(data, sys.stdout)
    return 0
