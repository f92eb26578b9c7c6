"""The metrics collector and its Prometheus text (services/metrics.py), and the CLI's reading
of it (cli/metrics_cmd.py)."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from lamina.cli.metrics_cmd import parse, render_table
from lamina.runtime.concurrency import ConcurrencyLimiter
from lamina.runtime.invocation import Outcome, State
from lamina.services.metrics import (
    DURATION_BUCKETS,
    MetricsCollector,
    format_value,
    resource_of,
)

ARN = "arn:aws:lambda:us-east-1:000000000000:function:"


def outcome(duration: float = 1.0, error: str | None = None, init: float | None = None) -> Outcome:
    return Outcome(
        payload=b"{}",
        function_error=error,
        error_type=None,
        status="error" if error else "success",
        duration_ms=duration,
        init_duration_ms=init,
        max_memory_mb=10,
        log_text="",
    )


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(n, frozenset(ls.items())): v for n, ls, v in parse(text)}


def get(text: str, name: str, **labels: str) -> float:
    return samples(text)[(name, frozenset(labels.items()))]


def test_resource_is_what_the_caller_named() -> None:
    assert resource_of(ARN + "f") == "f"
    assert resource_of(ARN + "f:live") == "f:live"
    assert resource_of(ARN + "f:$LATEST") == "f:$LATEST"


def test_invocations_errors_and_account_sums() -> None:
    m = MetricsCollector()
    for _ in range(3):
        m.invoked("f", ARN + "f", "$LATEST", outcome())
    m.invoked("f", ARN + "f", "$LATEST", outcome(error="Unhandled"))
    m.invoked("f", ARN + "f:live", "2", outcome(error="Unhandled"))
    m.invoked("g", ARN + "g", "$LATEST", outcome())
    text = m.render()
    f = {"function": "f", "resource": "f", "executed_version": "$LATEST"}
    assert get(text, "lamina_lambda_invocations_total", **f) == 4
    assert get(text, "lamina_lambda_errors_total", **f) == 1
    live = {"function": "f", "resource": "f:live", "executed_version": "2"}
    assert get(text, "lamina_lambda_invocations_total", **live) == 1
    assert get(text, "lamina_lambda_errors_total", **live) == 1
    assert get(text, "lamina_lambda_account_invocations_total") == 6
    assert get(text, "lamina_lambda_account_errors_total") == 2
    assert get(text, "lamina_lambda_account_duration_milliseconds_count") == 6


def test_throttles_by_reason() -> None:
    m = MetricsCollector()
    m.throttled("f", ARN + "f", "ReservedFunctionConcurrentInvocationLimitExceeded")
    m.throttled("f", ARN + "f", "ReservedFunctionConcurrentInvocationLimitExceeded")
    m.throttled("g", ARN + "g:1", "ConcurrentInvocationLimitExceeded")
    text = m.render()
    reserved = "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert (
        get(text, "lamina_lambda_throttles_total", function="f", resource="f", reason=reserved) == 2
    )
    assert (
        get(
            text,
            "lamina_lambda_throttles_total",
            function="g",
            resource="g:1",
            reason="ConcurrentInvocationLimitExceeded",
        )
        == 1
    )
    assert get(text, "lamina_lambda_account_throttles_total", reason=reserved) == 2
    assert "lamina_lambda_invocations_total{" not in text


def test_duration_buckets_are_cumulative_and_le_inclusive() -> None:
    m = MetricsCollector()
    for duration in (0.0, 1.0, 1.5, 100.0, 2_000_000.0):
        m.invoked("f", ARN + "f", "$LATEST", outcome(duration))
    text = m.render()
    labels = {"function": "f", "resource": "f", "executed_version": "$LATEST"}
    name = "lamina_lambda_duration_milliseconds"
    assert get(text, f"{name}_bucket", **labels, le="1.0") == 2  # 0 and 1 (le is inclusive)
    assert get(text, f"{name}_bucket", **labels, le="2.5") == 3
    assert get(text, f"{name}_bucket", **labels, le="100.0") == 4
    assert get(text, f"{name}_bucket", **labels, le="900000.0") == 4
    assert get(text, f"{name}_bucket", **labels, le="+Inf") == 5
    assert get(text, f"{name}_count", **labels) == 5
    assert get(text, f"{name}_sum", **labels) == pytest.approx(2_000_102.5)
    buckets = [line for line in text.splitlines() if line.startswith(f"{name}_bucket{{function")]
    assert len(buckets) == len(DURATION_BUCKETS) + 1


def test_init_duration_only_for_cold_starts() -> None:
    m = MetricsCollector()
    m.invoked("f", ARN + "f", "$LATEST", outcome(init=120.0))
    m.invoked("f", ARN + "f", "$LATEST", outcome())
    m.invoked("g", ARN + "g", "$LATEST", outcome())
    text = m.render()
    name = "lamina_lambda_init_duration_milliseconds"
    f = {"function": "f", "resource": "f", "executed_version": "$LATEST"}
    assert get(text, f"{name}_count", **f) == 1
    assert get(text, f"{name}_sum", **f) == 120.0
    assert f'{name}_count{{function="g"' not in text


def test_help_and_type_once_per_family_even_when_empty() -> None:
    text = MetricsCollector().render()
    types = re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)
    helps = re.findall(r"^# HELP (\S+) ", text, re.M)
    assert [n for n, _ in types] == helps
    assert len(set(helps)) == len(helps)
    kinds = dict(types)
    assert kinds["lamina_lambda_invocations_total"] == "counter"
    assert kinds["lamina_lambda_duration_milliseconds"] == "histogram"
    assert kinds["lamina_lambda_concurrent_executions"] == "gauge"
    assert kinds["lamina_lambda_provisioned_concurrency_utilization"] == "gauge"
    assert text.endswith("\n")
    # Account counters start at 0; the gauges without a limiter are declared, without samples.
    assert get(text, "lamina_lambda_account_invocations_total") == 0
    assert "\nlamina_lambda_account_concurrent_executions " not in text


def test_label_values_are_escaped() -> None:
    m = MetricsCollector()
    m.throttled("f", ARN + "f", 'we"ird\\reason\nx')
    text = m.render()
    assert 'reason="we\\"ird\\\\reason\\nx"' in text
    assert get(text, "lamina_lambda_account_throttles_total", reason='we"ird\\reason\nx') == 1


def test_format_value() -> None:
    assert format_value(3) == "3"
    assert format_value(2.5) == "2.5"
    assert format_value(1000.0) == "1000.0"
    assert format_value(float("inf")) == "+Inf"
    assert format_value(float("-inf")) == "-Inf"
    assert format_value(float("nan")) == "NaN"


def test_gauges_from_the_limiter() -> None:
    limiter = ConcurrencyLimiter(10, unreserved_minimum=2)
    limiter.set_reserved("r", 3)
    m = MetricsCollector(limiter)
    leases = [limiter.acquire("f"), limiter.acquire("f"), limiter.acquire("r")]
    # An invocation on a provisioned environment is in flight too (outside the pool).
    leases.append(limiter.acquire_provisioned("f"))
    text = m.render()
    assert get(text, "lamina_lambda_concurrent_executions", function="f") == 3
    assert get(text, "lamina_lambda_concurrent_executions", function="r") == 1
    assert get(text, "lamina_lambda_account_concurrent_executions") == 4
    assert get(text, "lamina_lambda_unreserved_concurrent_executions") == 2
    assert get(text, "lamina_lambda_reserved_concurrency", function="r") == 3
    assert get(text, "lamina_lambda_account_concurrency_limit") == 10
    assert get(text, "lamina_lambda_unreserved_concurrency_limit") == 7
    for lease in leases:
        limiter.release(lease)
    text = m.render()
    assert get(text, "lamina_lambda_concurrent_executions", function="f") == 0
    assert get(text, "lamina_lambda_account_concurrent_executions") == 0
    assert get(text, "lamina_lambda_unreserved_concurrent_executions") == 0


class _Config:
    def __init__(self, name: str, version: str) -> None:
        self.name = name
        self.version = version


class _Env:
    def __init__(self, name: str, version: str, state: State) -> None:
        self.config = _Config(name, version)
        self.state = state


class _Pool:
    def __init__(self, envs: list[_Env]) -> None:
        self.environments = set(envs)


def test_environments_from_the_pool() -> None:
    pool: Any = _Pool(
        [
            _Env("f", "$LATEST", State.IDLE),
            _Env("f", "$LATEST", State.IDLE),
            _Env("f", "$LATEST", State.BUSY),
            _Env("f", "2", State.STARTING),
        ]
    )
    text = MetricsCollector(pool=pool).render()
    name = "lamina_lambda_environments"
    assert get(text, name, function="f", version="$LATEST", state="idle") == 2
    assert get(text, name, function="f", version="$LATEST", state="busy") == 1
    assert get(text, name, function="f", version="2", state="starting") == 1


def test_provisioned_gauges_from_stats() -> None:
    m = MetricsCollector(provisioned_stats=lambda: {"f:live": (4, 1), "g:3": (0, 0)})
    text = m.render()
    live = {"function": "f", "resource": "f:live"}
    assert get(text, "lamina_lambda_provisioned_concurrent_executions", **live) == 1
    assert get(text, "lamina_lambda_provisioned_concurrency_utilization", **live) == 0.25
    assert get(text, "lamina_lambda_provisioned_concurrency_allocated", **live) == 4
    g = {"function": "g", "resource": "g:3"}
    assert get(text, "lamina_lambda_provisioned_concurrency_utilization", **g) == 0


def test_provisioned_stats_failing_does_not_fail_the_scrape() -> None:
    def broken() -> dict[str, tuple[int, int]]:
        raise RuntimeError("boom")

    text = MetricsCollector(provisioned_stats=broken).render()
    assert "# TYPE lamina_lambda_provisioned_concurrent_executions gauge" in text
    assert "lamina_lambda_provisioned_concurrent_executions{" not in text


def test_function_filter_keeps_account_families_whole() -> None:
    limiter = ConcurrencyLimiter(10, unreserved_minimum=2)
    m = MetricsCollector(limiter, provisioned_stats=lambda: {"f:1": (1, 1), "g:1": (1, 0)})
    m.invoked("f", ARN + "f", "$LATEST", outcome(init=5.0))
    m.invoked("g", ARN + "g", "$LATEST", outcome())
    m.throttled("g", ARN + "g", "ConcurrentInvocationLimitExceeded")
    lease = limiter.acquire("g")
    text = m.render("f")
    functions = {ls.get("function") for _, ls, _ in parse(text)} - {None}
    assert functions == {"f"}
    assert get(text, "lamina_lambda_account_invocations_total") == 2
    assert get(text, "lamina_lambda_account_concurrent_executions") == 1
    limiter.release(lease)


def test_cli_parse_and_table() -> None:
    limiter = ConcurrencyLimiter(10, unreserved_minimum=2)
    m = MetricsCollector(limiter)
    for duration in (10.0, 20.0, 30.0, 40.0):
        m.invoked("hello", ARN + "hello", "$LATEST", outcome(duration))
    m.invoked("hello", ARN + "hello:live", "1", outcome(5.0, error="Unhandled", init=80.0))
    m.throttled("other", ARN + "other", "ReservedFunctionConcurrentInvocationLimitExceeded")
    lease = limiter.acquire("hello")
    out = io.StringIO()
    render_table(parse(m.render()), None, out)
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:3] == ["FUNCTION", "INVOCATIONS", "ERRORS"]
    hello = next(line.split() for line in lines if line.startswith("hello "))
    # invocations, errors, throttles, in flight, avg, p50, p99, cold starts
    assert hello[1:6] == ["5", "1", "0", "1", "21.0"]
    assert hello[-1] == "1"
    other = next(line.split() for line in lines if line.startswith("other "))
    assert other[1:4] == ["0", "0", "1"]
    assert lines[-1].startswith("account: 5 invocations, 1 errors, 1 throttles; in flight 1 of 10")
    limiter.release(lease)

    out = io.StringIO()
    render_table(parse(m.render("hello")), "hello", out)
    text = out.getvalue()
    assert "hello:live (version 1)" in text
    assert "hello (version $LATEST)" in text
    assert "other" not in text


def test_cli_quantiles_estimated_like_promql() -> None:
    m = MetricsCollector()
    for _ in range(100):
        m.invoked("f", ARN + "f", "$LATEST", outcome(30.0))  # all in (25, 50]
    out = io.StringIO()
    render_table(parse(m.render()), None, out)
    row = next(line.split() for line in out.getvalue().splitlines() if line.startswith("f "))
    assert row[5] == "30.0"  # average
    assert row[6] == "37.5"  # p50: halfway through the (25, 50] bucket
    assert row[7] == "49.8"  # p99
