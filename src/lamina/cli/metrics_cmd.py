"""``lamina metrics [--function NAME] [--raw] [--endpoint URL]``.

Fetches ``GET /_lamina/metrics`` (Prometheus text, docs/metrics.md) and prints a table per
function (invocations, errors, throttles, in flight, duration average and estimated
percentiles, cold starts) and the account's figures; ``--raw`` prints the text as served.
"""

from __future__ import annotations

import argparse
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TextIO

from lamina.cli.endpoint import add_endpoint_argument, default_endpoint, get

PATH = "/_lamina/metrics"
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*')
_ESCAPED = re.compile(r'\\[\\"n]')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}

Sample = tuple[str, dict[str, str], float]
_TABLE_SAMPLES = {
    "lamina_lambda_concurrent_executions",
    "lamina_lambda_invocations_total",
    "lamina_lambda_errors_total",
    "lamina_lambda_throttles_total",
    "lamina_lambda_duration_milliseconds_sum",
    "lamina_lambda_duration_milliseconds_count",
    "lamina_lambda_duration_milliseconds_bucket",
    "lamina_lambda_init_duration_milliseconds_count",
}


def add_metrics_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "metrics",
        help="print the server's AWS/Lambda metrics",
        description="Print invocations, errors, throttles, durations and concurrency, per "
        "function and for the account (from GET /_lamina/metrics).",
    )
    parser.add_argument("--function", metavar="NAME", help="only this function, per resource")
    parser.add_argument(
        "--raw", action="store_true", help="print the Prometheus text exposition as served"
    )
    add_endpoint_argument(parser)
    parser.set_defaults(func=run_metrics)


def fetch(endpoint: str, function: str | None = None) -> str:
    return get(endpoint, PATH, {"function": function} if function else None).decode("utf-8")


def parse(text: str) -> list[Sample]:
    """The samples of an exposition text (comments skipped; lenient about the rest)."""
    samples: list[Sample] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match is None:
            continue
        name, labels_text, value = match.groups()
        labels = {key: _unescape(raw) for key, raw in _LABEL.findall(labels_text or "")}
        try:
            samples.append((name, labels, float(value)))
        except ValueError:
            continue
    return samples


def _unescape(value: str) -> str:
    return _ESCAPED.sub(lambda m: _UNESCAPE[m.group(0)], value)


@dataclass
class _Row:
    invocations: float = 0
    errors: float = 0
    throttles: float = 0
    in_flight: float | None = None
    duration_sum: float = 0
    duration_count: float = 0
    cold_starts: float = 0
    buckets: dict[float, float] = field(default_factory=lambda: defaultdict(float))

    def quantile(self, q: float) -> float | None:
        """Estimated like PromQL's histogram_quantile (linear within the bucket)."""
        if not self.buckets or not self.duration_count:
            return None
        rank = q * self.duration_count
        lower, below = 0.0, 0.0
        for bound, cumulative in sorted(self.buckets.items()):
            if cumulative >= rank:
                if bound == float("inf"):
                    return lower
                if cumulative == below:
                    return bound
                return lower + (bound - lower) * (rank - below) / (cumulative - below)
            lower, below = bound, cumulative
        return lower


def _rows(samples: list[Sample], key_labels: tuple[str, ...]) -> dict[tuple[str, ...], _Row]:
    rows: dict[tuple[str, ...], _Row] = defaultdict(_Row)
    for name, labels, value in samples:
        if "function" not in labels or name not in _TABLE_SAMPLES:
            continue
        key = tuple(labels.get(k, "") for k in key_labels)
        if name == "lamina_lambda_concurrent_executions":
            if key_labels == ("function",):
                rows[key].in_flight = value
            continue
        row = rows[key]
        if name == "lamina_lambda_invocations_total":
            row.invocations += value
        elif name == "lamina_lambda_errors_total":
            row.errors += value
        elif name == "lamina_lambda_throttles_total":
            row.throttles += value
        elif name == "lamina_lambda_duration_milliseconds_sum":
            row.duration_sum += value
        elif name == "lamina_lambda_duration_milliseconds_count":
            row.duration_count += value
        elif name == "lamina_lambda_duration_milliseconds_bucket":
            row.buckets[float(labels.get("le", "inf").replace("+Inf", "inf"))] += value
        elif name == "lamina_lambda_init_duration_milliseconds_count":
            row.cold_starts += value
    return rows


def _num(value: float | None, decimals: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:.{decimals}f}"


def _table(headers: list[str], rows: list[list[str]], out: TextIO) -> None:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    print(
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(headers, widths, strict=True))
        ),
        file=out,
    )
    for row in rows:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ),
            file=out,
        )


def render_table(samples: list[Sample], function: str | None, out: TextIO) -> None:
    headers = [
        "FUNCTION",
        "INVOCATIONS",
        "ERRORS",
        "THROTTLES",
        "IN FLIGHT",
        "AVG MS",
        "P50 MS",
        "P99 MS",
        "COLD STARTS",
    ]

    def cells(label: str, row: _Row) -> list[str]:
        avg = row.duration_sum / row.duration_count if row.duration_count else None
        return [
            label,
            _num(row.invocations),
            _num(row.errors),
            _num(row.throttles),
            _num(row.in_flight),
            _num(avg, 1),
            _num(row.quantile(0.5), 1),
            _num(row.quantile(0.99), 1),
            _num(row.cold_starts),
        ]

    per_function = _rows(samples, ("function",))
    selected = sorted(k for k in per_function if function is None or k[0] == function)
    _table(headers, [cells(k[0], per_function[k]) for k in selected], out)
    if function is not None:
        per_resource = _rows(samples, ("function", "resource", "executed_version"))
        rows = [
            cells(f"{resource} (version {version})" if version else resource, row)[:4]
            + cells("", row)[5:]
            for (name, resource, version), row in sorted(per_resource.items())
            if name == function and resource
        ]
        if rows:
            print(file=out)
            _table(["RESOURCE", *headers[1:4], *headers[5:]], rows, out)
        provisioned = [
            (labels["resource"], name, value)
            for name, labels, value in samples
            if name.startswith("lamina_lambda_provisioned_") and labels.get("function") == function
        ]
        if provisioned:
            print(file=out)
            for resource, name, value in sorted(provisioned):
                print(
                    f"{resource}  {name.removeprefix('lamina_lambda_')} {_num(value, 2)}", file=out
                )
    account = {name: value for name, labels, value in samples if not labels}
    throttles = sum(
        value for name, _, value in samples if name == "lamina_lambda_account_throttles_total"
    )
    print(file=out)
    print(
        f"account: {_num(account.get('lamina_lambda_account_invocations_total'))} invocations, "
        f"{_num(account.get('lamina_lambda_account_errors_total'))} errors, "
        f"{_num(throttles)} throttles; in flight "
        f"{_num(account.get('lamina_lambda_account_concurrent_executions'))} of "
        f"{_num(account.get('lamina_lambda_account_concurrency_limit'))} "
        f"(unreserved {_num(account.get('lamina_lambda_unreserved_concurrent_executions'))} of "
        f"{_num(account.get('lamina_lambda_unreserved_concurrency_limit'))})",
        file=out,
    )


def run_metrics(args: argparse.Namespace) -> int:
    endpoint = args.endpoint or default_endpoint()
    try:
        text = fetch(endpoint, args.function)
    except (urllib.error.URLError, OSError) as exc:
        print(f"lamina metrics: {endpoint}: {exc}", file=sys.stderr)
        return 1
    if args.raw:
        sys.stdout.write(text)
        return 0
    samples = parse(text)
    if args.function is not None and not any(
        labels.get("function") == args.function for _, labels, _ in samples
    ):
        print(f"lamina metrics: no metrics for function {args.function} yet", file=sys.stderr)
        return 1
    render_table(samples, args.function, sys.stdout)
    return 0
