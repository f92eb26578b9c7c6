"""Metrics through a real server: ``GET /_lamina/metrics`` (Prometheus text 0.0.4) and the
``lamina metrics`` CLI, after invocations driven with boto3.

The module has its own server, so the account-wide counters can be checked exactly. Timing
is never asserted: in-flight gauges are polled with generous deadlines while handlers sleep.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from support import REGION, LaminaServer, create_python_function, unique

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
RESERVED_LIMIT = "ReservedFunctionConcurrentInvocationLimitExceeded"
HANDLER = (
    "import time\n"
    "def handler(event, context):\n"
    "    if event.get('fail'):\n"
    "        raise ValueError('boom')\n"
    "    time.sleep(event.get('s', 0))\n"
    "    return event\n"
)


# --- a strict parser of the text exposition format -------------------------------------------

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
_SAMPLE = re.compile(rf"^({_NAME})(\{{(?:{_LABEL})(?:,{_LABEL})*\}}|\{{\}})? (\S+)$")
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


@dataclass
class Family:
    name: str
    kind: str
    help: str
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)


def parse_exposition(text: str) -> dict[str, Family]:
    """Families by name; fails on anything the 0.0.4 text format does not allow (and on a
    family without HELP and TYPE, which Lamina always writes)."""
    assert text.endswith("\n")
    families: dict[str, Family] = {}
    helps: dict[str, str] = {}
    current: Family | None = None
    for line in text.split("\n")[:-1]:
        if line.startswith("# HELP "):
            name, _, help_text = line[len("# HELP ") :].partition(" ")
            assert re.fullmatch(_NAME, name) and name not in helps, line
            helps[name] = help_text
            continue
        if line.startswith("# TYPE "):
            name, kind = line[len("# TYPE ") :].split(" ")
            assert kind in TYPES and name not in families and name in helps, line
            current = families[name] = Family(name, kind, helps[name])
            continue
        assert not line.startswith("#") and line.strip(), f"unexpected line {line!r}"
        match = _SAMPLE.match(line)
        assert match, f"not a sample: {line!r}"
        name, labels_text, value_text = match.groups()
        assert current is not None, line
        suffixes = ("_bucket", "_sum", "_count") if current.kind == "histogram" else ("",)
        assert any(name == current.name + s for s in suffixes), (current.name, line)
        value = float(value_text)  # accepts NaN, +Inf, -Inf
        labels = dict(_LABEL_RE.findall(labels_text or ""))
        assert len(labels) == len(_LABEL_RE.findall(labels_text or "")), "duplicate label"
        current.samples.append((name, labels, value))
    for family in families.values():
        if family.kind == "histogram":
            check_histogram(family)
        if family.kind == "counter":
            assert family.name.endswith("_total")
            assert all(v >= 0 for _, _, v in family.samples)
    return families


def check_histogram(family: Family) -> None:
    """Per label set: cumulative buckets in ``le`` order ending in +Inf = _count, and _sum."""
    series: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
    for name, labels, value in family.samples:
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        entry = series.setdefault(key, {"buckets": []})
        if name.endswith("_bucket"):
            entry["buckets"].append((float(labels["le"]), value))
        else:
            entry[name.rsplit("_", 1)[1]] = value
    for entry in series.values():
        buckets = entry["buckets"]
        assert buckets and math.isinf(buckets[-1][0]), entry
        assert [b for b, _ in buckets] == sorted(b for b, _ in buckets)
        assert [c for _, c in buckets] == sorted(c for _, c in buckets)
        assert buckets[-1][1] == entry["count"]
        assert "sum" in entry


# --- helpers -----------------------------------------------------------------------------------


def scrape(server: LaminaServer, query: str = "") -> tuple[str, dict[str, Family]]:
    with urllib.request.urlopen(f"{server.endpoint}/_lamina/metrics{query}", timeout=30) as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == CONTENT_TYPE
        text: str = r.read().decode("utf-8")
    return text, parse_exposition(text)


def value(
    families: dict[str, Family], name: str, sample: str | None = None, **labels: str
) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` (0 if none)."""
    family = families[name]
    wanted = sample or name
    return sum(
        v
        for n, ls, v in family.samples
        if n == wanted and all(ls.get(k) == want for k, want in labels.items())
    )


def eventually(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)


def invoke(lam: Any, name: str, event: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    response: dict[str, Any] = lam.invoke(
        FunctionName=name, Payload=json.dumps(event).encode(), **kwargs
    )
    response["Body"] = json.loads(response["Payload"].read())
    return response


def lamina_cli(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "lamina.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaServer]:
    """A server of its own: every invocation it sees is one of this module's."""
    srv = LaminaServer(tmp_path_factory.mktemp("lamina-metrics") / "data")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def lam(server: LaminaServer) -> Any:
    """No retries at all (botocore's legacy ``max_attempts: 1`` still retries a 429 once,
    and every attempt is a throttled request)."""
    return boto3.client(
        "lambda",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=120, max_pool_connections=20),
    )


@dataclass
class Driven:
    """What ``driven`` did, the expected figures."""

    fn: str
    throttled: str
    ok: int = 5
    failed: int = 3
    timeouts: int = 1
    via_alias: int = 1
    throttles: int = 3

    @property
    def invocations(self) -> int:
        return self.ok + self.failed + self.timeouts + self.via_alias

    @property
    def errors(self) -> int:
        return self.failed + self.timeouts


@pytest.fixture(scope="module")
def driven(server: LaminaServer, lam: Any) -> Driven:
    """N successes, M function errors and a timeout on one function (and one invocation
    through an alias), plus throttles of a function with reserved concurrency 0."""
    fn = create_python_function(lam, HANDLER, Timeout=1)
    throttled = create_python_function(lam, HANDLER)
    lam.put_function_concurrency(FunctionName=throttled, ReservedConcurrentExecutions=0)
    run = Driven(fn, throttled)
    for i in range(run.ok):
        assert invoke(lam, fn, {"i": i})["Body"] == {"i": i}
    for _ in range(run.failed):
        assert invoke(lam, fn, {"fail": True})["FunctionError"] == "Unhandled"
    timed_out = invoke(lam, fn, {"s": 10})
    assert timed_out["Body"]["errorType"] == "Sandbox.Timedout"
    version = lam.publish_version(FunctionName=fn)["Version"]
    lam.create_alias(FunctionName=fn, Name="live", FunctionVersion=version)
    assert "FunctionError" not in invoke(lam, fn, {"a": 1}, Qualifier="live")
    for _ in range(run.throttles):
        with pytest.raises(ClientError) as excinfo:
            invoke(lam, throttled, {})
        assert excinfo.value.response["Reason"] == RESERVED_LIMIT
    return run


# --- tests ------------------------------------------------------------------------------------


def test_every_family_has_help_and_type(server: LaminaServer, driven: Driven) -> None:
    _, families = scrape(server)
    want = {
        "lamina_lambda_invocations_total": "counter",
        "lamina_lambda_errors_total": "counter",
        "lamina_lambda_throttles_total": "counter",
        "lamina_lambda_duration_milliseconds": "histogram",
        "lamina_lambda_init_duration_milliseconds": "histogram",
        "lamina_lambda_concurrent_executions": "gauge",
        "lamina_lambda_provisioned_concurrent_executions": "gauge",
        "lamina_lambda_provisioned_concurrency_utilization": "gauge",
        "lamina_lambda_environments": "gauge",
        "lamina_lambda_account_invocations_total": "counter",
        "lamina_lambda_account_errors_total": "counter",
        "lamina_lambda_account_throttles_total": "counter",
        "lamina_lambda_account_duration_milliseconds": "histogram",
        "lamina_lambda_account_concurrent_executions": "gauge",
        "lamina_lambda_unreserved_concurrent_executions": "gauge",
    }
    for name, kind in want.items():
        assert families[name].kind == kind, name
        assert families[name].help, name
    # Provisioned concurrency is not wired in: its gauges are declared, without samples.
    assert families["lamina_lambda_provisioned_concurrent_executions"].samples == []


def test_counters_per_function(server: LaminaServer, driven: Driven) -> None:
    _, m = scrape(server)
    fn = driven.fn
    assert value(m, "lamina_lambda_invocations_total", function=fn) == driven.invocations
    assert value(m, "lamina_lambda_errors_total", function=fn) == driven.errors
    assert value(m, "lamina_lambda_throttles_total", function=fn) == 0
    # The Resource dimension: unqualified calls, and the alias with its executed version.
    assert value(m, "lamina_lambda_invocations_total", function=fn, resource=fn) == (
        driven.invocations - driven.via_alias
    )
    assert (
        value(
            m,
            "lamina_lambda_invocations_total",
            function=fn,
            resource=f"{fn}:live",
            executed_version="1",
        )
        == driven.via_alias
    )
    # Duration: one observation per invocation; the timeout's lasted at least 1 s.
    duration = "lamina_lambda_duration_milliseconds"
    assert value(m, duration, f"{duration}_count", function=fn) == driven.invocations
    assert value(m, duration, f"{duration}_sum", function=fn) >= 1000
    assert value(m, duration, f"{duration}_bucket", function=fn, le="+Inf") == (driven.invocations)
    # Cold starts: the first environment of $LATEST, and the one of version 1 (the alias).
    init = "lamina_lambda_init_duration_milliseconds"
    assert value(m, init, f"{init}_count", function=fn) == 2

    throttled = driven.throttled
    assert value(m, "lamina_lambda_invocations_total", function=throttled) == 0
    assert (
        value(m, "lamina_lambda_throttles_total", function=throttled, reason=RESERVED_LIMIT)
        == driven.throttles
    )
    assert value(m, "lamina_lambda_reserved_concurrency", function=throttled) == 0


def test_account_counters_are_the_sums(server: LaminaServer, driven: Driven) -> None:
    _, m = scrape(server)
    assert value(m, "lamina_lambda_account_invocations_total") == driven.invocations
    assert value(m, "lamina_lambda_account_errors_total") == driven.errors
    assert (
        value(m, "lamina_lambda_account_throttles_total", reason=RESERVED_LIMIT) == driven.throttles
    )
    duration = "lamina_lambda_account_duration_milliseconds"
    assert value(m, duration, f"{duration}_count") == driven.invocations
    for name in ("invocations_total", "errors_total", "throttles_total"):
        assert value(m, f"lamina_lambda_account_{name}") == value(m, f"lamina_lambda_{name}")


def test_an_async_event_throttled_counts_once(
    server: LaminaServer, lam: Any, driven: Driven
) -> None:
    name = create_python_function(lam, HANDLER)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    assert lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")["StatusCode"] == 202

    def counted() -> bool:
        return value(scrape(server)[1], "lamina_lambda_throttles_total", function=name) >= 1

    eventually(counted)
    _, m = scrape(server)
    assert value(m, "lamina_lambda_throttles_total", function=name, reason=RESERVED_LIMIT) == 1
    assert value(m, "lamina_lambda_invocations_total", function=name) == 0
    lam.delete_function(FunctionName=name)


def test_function_filter(server: LaminaServer, driven: Driven) -> None:
    _, m = scrape(server, f"?function={driven.throttled}")
    functions = {
        labels["function"]
        for family in m.values()
        for _, labels, _ in family.samples
        if "function" in labels
    }
    assert functions == {driven.throttled}
    assert value(m, "lamina_lambda_account_invocations_total") >= driven.invocations


def test_concurrent_executions_while_invocations_run(
    server: LaminaServer, lam: Any, driven: Driven
) -> None:
    name = create_python_function(lam, HANDLER, Timeout=60)
    count = 3
    results: list[Any] = []

    def call() -> None:
        results.append(invoke(lam, name, {"s": 6}))

    threads = [threading.Thread(target=call) for _ in range(count)]
    for thread in threads:
        thread.start()
    try:

        def all_in_flight() -> bool:
            _, m = scrape(server)
            return value(m, "lamina_lambda_concurrent_executions", function=name) == count

        eventually(all_in_flight, timeout=30)
        _, m = scrape(server)
        # Nothing else runs on this server now.
        assert value(m, "lamina_lambda_account_concurrent_executions") == count
        assert value(m, "lamina_lambda_unreserved_concurrent_executions") == count
    finally:
        for thread in threads:
            thread.join(timeout=120)
    assert len(results) == count and all("FunctionError" not in r for r in results)
    _, m = scrape(server)
    assert value(m, "lamina_lambda_concurrent_executions", function=name) == 0
    assert value(m, "lamina_lambda_account_concurrent_executions") == 0
    assert value(m, "lamina_lambda_unreserved_concurrent_executions") == 0
    assert value(m, "lamina_lambda_invocations_total", function=name) == count
    # The three environments stay warm, idle.
    assert value(m, "lamina_lambda_environments", function=name, state="idle") == count


def test_cli_table(server: LaminaServer, driven: Driven) -> None:
    out = lamina_cli("metrics", "--endpoint", server.endpoint)
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["FUNCTION", "INVOCATIONS", "ERRORS", "THROTTLES"]
    row = next(line.split() for line in lines if line.startswith(driven.fn + " "))
    assert row[1:5] == [str(driven.invocations), str(driven.errors), "0", "0"]
    row = next(line.split() for line in lines if line.startswith(driven.throttled + " "))
    assert row[1:4] == ["0", "0", str(driven.throttles)]
    assert any(line.startswith("account: ") for line in lines)


def test_cli_one_function_and_raw(server: LaminaServer, driven: Driven) -> None:
    out = lamina_cli("metrics", "--endpoint", server.endpoint, "--function", driven.fn)
    assert driven.throttled not in out
    assert f"{driven.fn}:live (version 1)" in out
    raw = lamina_cli("metrics", "--endpoint", server.endpoint, "--raw")
    families = parse_exposition(raw)
    assert value(families, "lamina_lambda_invocations_total", function=driven.fn) == (
        driven.invocations
    )


def test_cli_unknown_function(server: LaminaServer) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lamina.cli.main", "metrics", "--endpoint", server.endpoint]
        + ["--function", unique()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "no metrics" in result.stderr
