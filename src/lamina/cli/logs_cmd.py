"""``lamina logs FUNCTION [--follow] [--since 10m] [--endpoint-url URL]``.

Reads a function's log group through the server's CloudWatch Logs API with boto3 and prints
``<ISO timestamp> <message>`` per event, like ``aws logs tail``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any, TextIO

from lamina.cli.endpoint import add_endpoint_argument, default_endpoint

DEFAULT_SINCE = "10m"
POLL_INTERVAL = 0.5
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+)([smhdw])")


def add_logs_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "logs",
        help="print a function's logs",
        description="Print the log events of a function (its log group /aws/lambda/FUNCTION).",
    )
    parser.add_argument(
        "function", metavar="FUNCTION", help="function name, or a log group name starting with /"
    )
    parser.add_argument(
        "-f", "--follow", action="store_true", help="keep polling for new events until Ctrl-C"
    )
    parser.add_argument(
        "--since",
        default=DEFAULT_SINCE,
        help="start time: a duration back from now (30s, 10m, 2h, 1d, 1w) or an ISO 8601 time "
        f"(default {DEFAULT_SINCE})",
    )
    add_endpoint_argument(parser)
    parser.set_defaults(func=run_logs)


def parse_since(value: str, now_ms: int | None = None) -> int:
    """Epoch milliseconds for ``10m``-style durations (back from now) or ISO 8601 times."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    text = value.strip()
    parts = _DURATION.findall(text)
    if parts and "".join(n + u for n, u in parts) == text:
        return now_ms - 1000 * sum(int(n) * _UNITS[u] for n, u in parts)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"invalid --since value {value!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


def format_event(event: dict[str, Any]) -> str:
    moment = datetime.fromtimestamp(int(event["timestamp"]) / 1000, tz=timezone.utc)
    message = str(event.get("message", "")).rstrip("\n").replace("\r", "\n")
    return f"{moment.isoformat(timespec='milliseconds')} {message}"


def make_client(endpoint: str) -> Any:
    import boto3

    session = boto3.session.Session()
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    credentials: dict[str, str] = {}
    if session.get_credentials() is None:
        credentials = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
    return session.client("logs", endpoint_url=endpoint, region_name=region, **credentials)


def log_group_for(function: str) -> str:
    return function if function.startswith("/") else f"/aws/lambda/{function}"


def fetch_events(client: Any, group: str, start_ms: int) -> Iterable[dict[str, Any]]:
    """All events of ``group`` from ``start_ms`` on, in time order (every page)."""
    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}
    while True:
        page = client.filter_log_events(**kwargs)
        yield from page.get("events", [])
        token = page.get("nextToken")
        if not token:
            return
        kwargs["nextToken"] = token


def follow(
    client: Any,
    group: str,
    start_ms: int,
    out: TextIO,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Poll forever (until KeyboardInterrupt), printing each event once."""
    seen: set[str] = set()  # event ids at the newest timestamp printed so far
    while True:
        try:
            for event in fetch_events(client, group, start_ms):
                if event["eventId"] in seen:
                    continue
                if event["timestamp"] > start_ms:
                    start_ms, seen = event["timestamp"], set()
                seen.add(event["eventId"])
                print(format_event(event), file=out, flush=True)
        except client.exceptions.ResourceNotFoundException:
            pass  # the function has not logged anything yet
        sleep(POLL_INTERVAL)


def run_logs(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        start_ms = parse_since(args.since)
    except ValueError as exc:
        print(f"lamina logs: {exc}", file=sys.stderr)
        return 2
    group = log_group_for(args.function)
    endpoint = args.endpoint or default_endpoint()
    client = make_client(endpoint)
    try:
        if args.follow:
            follow(client, group, start_ms, sys.stdout)
        for event in fetch_events(client, group, start_ms):
            print(format_event(event))
    except KeyboardInterrupt:
        return 0
    except client.exceptions.ResourceNotFoundException:
        print(f"lamina logs: no log group {group} (has the function run yet?)", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as exc:
        print(f"lamina logs: {endpoint}: {exc}", file=sys.stderr)
        return 1
    return 0
