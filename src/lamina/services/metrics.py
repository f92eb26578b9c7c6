"""The AWS/Lambda metrics, in Prometheus text exposition format (version 0.0.4).

Counting happens on the invoke path, so it is kept to a few dict and int operations, no
locks (everything runs on the event loop) and no I/O:

- ``invoked`` once per invocation that ran (a result or a function error, timeouts and
  crashes included): invocations, errors, the duration histogram and, on a cold start, the
  init duration histogram, keyed by (function, invoked ARN, executed version);
- ``throttled`` once per refused invocation request, keyed by (function, invoked ARN, reason).

Everything else is read when scraped: in-flight counts from the ``ConcurrencyLimiter``,
environments from the ``EnvironmentPool``, provisioned concurrency from a ``stats`` callable.
Account-wide figures are sums of the per-function counters, computed at scrape time, and
exposed as their own ``lamina_lambda_account_*`` families, so that ``sum()`` over any one
family never counts an invocation twice. docs/metrics.md lists every metric.
"""

from __future__ import annotations

import logging
import math
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from lamina.runtime.invocation import Outcome

if TYPE_CHECKING:
    from lamina.runtime.concurrency import ConcurrencyLimiter
    from lamina.runtime.pool import EnvironmentPool

log = logging.getLogger("lamina.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Milliseconds. Lambda's timeout ranges from 1 s to 900 s; most handlers take 1-1000 ms.
DURATION_BUCKETS: tuple[float, ...] = (
    1,
    2.5,
    5,
    10,
    25,
    50,
    100,
    250,
    500,
    1000,
    2500,
    5000,
    10000,
    30000,
    60000,
    300000,
    900000,
)
# Init (cold start) takes tens of milliseconds to the 10 s on-demand init limit.
INIT_DURATION_BUCKETS: tuple[float, ...] = (
    10,
    25,
    50,
    100,
    250,
    500,
    1000,
    2500,
    5000,
    10000,
)

# "function:qualifier" -> (allocated provisioned environments, busy ones)
ProvisionedStats = Callable[[], dict[str, tuple[int, int]]]
# Renders one component's families (of one function, or all with None) as exposition text.
MetricsSource = Callable[[str | None], str]
# (function, invoked ARN, executed version)
SeriesKey = tuple[str, str, str]
# (function, invoked ARN, throttle reason)
ThrottleKey = tuple[str, str, str]


class _Histogram:
    """Observations per bucket (not cumulative: one increment per observation), plus sum."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.total = 0.0

    def observe(self, value: float) -> None:
        # bisect_left: the first bound >= value, as Prometheus's ``le`` is inclusive.
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def add(self, other: _Histogram) -> None:
        for i, count in enumerate(other.counts):
            self.counts[i] += count
        self.total += other.total

    @property
    def count(self) -> int:
        return sum(self.counts)


class _Series:
    """The counters of one (function, invoked ARN, executed version)."""

    __slots__ = ("duration", "errors", "init", "invocations")

    def __init__(self) -> None:
        self.invocations = 0
        self.errors = 0
        self.duration = _Histogram(DURATION_BUCKETS)
        self.init: _Histogram | None = None


def resource_of(invoked_arn: str) -> str:
    """AWS's ``Resource`` dimension: ``name`` or ``name:qualifier`` as the caller named it."""
    _, found, rest = invoked_arn.partition(":function:")
    return rest if found else invoked_arn


class MetricsCollector:
    def __init__(
        self,
        limiter: ConcurrencyLimiter | None = None,
        pool: EnvironmentPool | None = None,
        provisioned_stats: ProvisionedStats | None = None,
        sources: Iterable[MetricsSource] = (),
    ) -> None:
        """``provisioned_stats``: ``"function:qualifier"`` -> (provisioned environments
        allocated, busy now). ``sources``: other components' families (asynchronous
        invocation, logs, admission), rendered after these in this order; components built
        after the collector register theirs with ``add_source``."""
        self.limiter = limiter
        self.pool = pool
        self.provisioned_stats = provisioned_stats
        self._sources: list[MetricsSource] = list(sources)
        self._series: dict[SeriesKey, _Series] = {}
        self._throttles: dict[ThrottleKey, int] = {}

    def add_source(self, source: MetricsSource) -> None:
        """Render ``source``'s families after the ones registered before it."""
        self._sources.append(source)

    # --- counting (the invoke path) -------------------------------------------------------

    def invoked(self, function: str, invoked_arn: str, version: str, outcome: Outcome) -> None:
        """One invocation ran (its handler was called or its environment failed running it)."""
        key = (function, invoked_arn, version)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _Series()
        series.invocations += 1
        if outcome.function_error is not None:
            series.errors += 1
        series.duration.observe(outcome.duration_ms)
        init_ms = outcome.init_duration_ms
        if init_ms is not None:
            if series.init is None:
                series.init = _Histogram(INIT_DURATION_BUCKETS)
            series.init.observe(init_ms)

    def throttled(self, function: str, invoked_arn: str, reason: str) -> None:
        """One invocation request was refused with a 429."""
        key = (function, invoked_arn, reason)
        self._throttles[key] = self._throttles.get(key, 0) + 1

    # --- scraping ---------------------------------------------------------------------------

    def render(self, function: str | None = None) -> str:
        """The exposition text; ``function`` keeps only that function's series (the
        account-wide families are always complete)."""
        out: list[str] = []
        self._counters(out, function)
        self._gauges(out, function)
        out.extend(source(function) for source in self._sources)
        return "".join(out)

    def _counters(self, out: list[str], only: str | None) -> None:
        series = sorted(self._series.items())
        throttles = sorted(self._throttles.items())
        mine = [(k, s) for k, s in series if only is None or k[0] == only]

        def labels(key: SeriesKey) -> dict[str, str]:
            return {
                "function": key[0],
                "resource": resource_of(key[1]),
                "executed_version": key[2],
            }

        _family(
            out,
            "lamina_lambda_invocations_total",
            "counter",
            "Invocations that ran (success or function error); AWS/Lambda Invocations.",
            ((labels(k), s.invocations) for k, s in mine),
        )
        _family(
            out,
            "lamina_lambda_errors_total",
            "counter",
            "Invocations that ended in a function error (timeouts and crashes included); "
            "AWS/Lambda Errors.",
            ((labels(k), s.errors) for k, s in mine),
        )
        _family(
            out,
            "lamina_lambda_throttles_total",
            "counter",
            "Invocation requests refused with 429 TooManyRequestsException, by reason; "
            "AWS/Lambda Throttles.",
            (
                ({"function": k[0], "resource": resource_of(k[1]), "reason": k[2]}, n)
                for k, n in throttles
                if only is None or k[0] == only
            ),
        )
        _histogram_family(
            out,
            "lamina_lambda_duration_milliseconds",
            "Time the handler spent on an invocation, in milliseconds; AWS/Lambda Duration.",
            ((labels(k), s.duration) for k, s in mine),
        )
        _histogram_family(
            out,
            "lamina_lambda_init_duration_milliseconds",
            "Init Duration of cold starts (the count is the number of cold starts), "
            "in milliseconds; the REPORT line's Init Duration.",
            ((labels(k), s.init) for k, s in mine if s.init is not None),
        )

        # Account-wide: sums over every function (deleted ones included), whatever ``only``.
        invocations = errors = 0
        duration = _Histogram(DURATION_BUCKETS)
        for _, s in series:
            invocations += s.invocations
            errors += s.errors
            duration.add(s.duration)
        by_reason: dict[str, int] = {}
        for (_, _, reason), n in throttles:
            by_reason[reason] = by_reason.get(reason, 0) + n
        _family(
            out,
            "lamina_lambda_account_invocations_total",
            "counter",
            "Invocations of every function of the account; AWS/Lambda Invocations (no dimension).",
            [({}, invocations)],
        )
        _family(
            out,
            "lamina_lambda_account_errors_total",
            "counter",
            "Function errors of every function of the account; AWS/Lambda Errors (no dimension).",
            [({}, errors)],
        )
        _family(
            out,
            "lamina_lambda_account_throttles_total",
            "counter",
            "Throttled invocation requests of the account, by reason; AWS/Lambda Throttles "
            "(no dimension).",
            (({"reason": reason}, n) for reason, n in sorted(by_reason.items())),
        )
        _histogram_family(
            out,
            "lamina_lambda_account_duration_milliseconds",
            "Duration of every invocation of the account, in milliseconds; AWS/Lambda "
            "Duration (no dimension).",
            [({}, duration)],
        )

    def _gauges(self, out: list[str], only: str | None) -> None:
        limiter = self.limiter
        functions = limiter.functions() if limiter is not None else []
        _family(
            out,
            "lamina_lambda_concurrent_executions",
            "gauge",
            "Invocations of the function in flight (all versions and aliases, on-demand and "
            "provisioned); AWS/Lambda ConcurrentExecutions.",
            (
                ({"function": f.name}, f.in_flight + f.provisioned_in_flight)
                for f in functions
                if only in (None, f.name)
            ),
        )
        _family(
            out,
            "lamina_lambda_reserved_concurrency",
            "gauge",
            "The function's reserved concurrency (only functions that have one).",
            (
                ({"function": f.name}, f.reserved)
                for f in functions
                if f.reserved is not None and only in (None, f.name)
            ),
        )
        stats = self._provisioned()
        provisioned = sorted(
            (resource, allocated, busy)
            for resource, (allocated, busy) in stats.items()
            if only is None or resource.partition(":")[0] == only
        )
        _family(
            out,
            "lamina_lambda_provisioned_concurrent_executions",
            "gauge",
            "Invocations in flight on provisioned concurrency; AWS/Lambda "
            "ProvisionedConcurrentExecutions.",
            (({"function": _name(r), "resource": r}, busy) for r, _, busy in provisioned),
        )
        _family(
            out,
            "lamina_lambda_provisioned_concurrency_utilization",
            "gauge",
            "Busy provisioned environments / allocated ones (0-1); AWS/Lambda "
            "ProvisionedConcurrencyUtilization.",
            (
                ({"function": _name(r), "resource": r}, busy / allocated if allocated else 0.0)
                for r, allocated, busy in provisioned
            ),
        )
        _family(
            out,
            "lamina_lambda_provisioned_concurrency_allocated",
            "gauge",
            "Provisioned environments allocated (initialised) for the version or alias.",
            (({"function": _name(r), "resource": r}, allocated) for r, allocated, _ in provisioned),
        )
        envs: dict[tuple[str, str, str], int] = {}
        if self.pool is not None:
            for env in self.pool.environments:
                name = env.config.name
                if only is None or name == only:
                    key = (name, env.config.version, env.state.value)
                    envs[key] = envs.get(key, 0) + 1
        _family(
            out,
            "lamina_lambda_environments",
            "gauge",
            "Execution environments alive, by function version and state (starting, idle, busy).",
            (
                ({"function": n, "version": v, "state": s}, count)
                for (n, v, s), count in sorted(envs.items())
            ),
        )
        # Account-wide.
        account: list[tuple[str, str, float | int | None]] = [
            (
                "lamina_lambda_account_concurrent_executions",
                "Invocations in flight in the account; AWS/Lambda ConcurrentExecutions "
                "(no dimension).",
                limiter.in_flight if limiter is not None else None,
            ),
            (
                "lamina_lambda_unreserved_concurrent_executions",
                "Invocations in flight of functions without reserved concurrency; AWS/Lambda "
                "UnreservedConcurrentExecutions.",
                limiter.unreserved_in_flight if limiter is not None else None,
            ),
            (
                "lamina_lambda_account_concurrency_limit",
                "The account's concurrency limit (GetAccountSettings "
                "AccountLimit.ConcurrentExecutions).",
                limiter.account_limit if limiter is not None else None,
            ),
            (
                "lamina_lambda_unreserved_concurrency_limit",
                "Concurrency left to functions without a reservation (GetAccountSettings "
                "AccountLimit.UnreservedConcurrentExecutions).",
                limiter.unreserved_capacity if limiter is not None else None,
            ),
        ]
        for name, help_text, value in account:
            _family(out, name, "gauge", help_text, [] if value is None else [({}, value)])

    def _provisioned(self) -> dict[str, tuple[int, int]]:
        if self.provisioned_stats is None:
            return {}
        try:
            return dict(self.provisioned_stats())
        except Exception:  # noqa: BLE001 - a scrape never fails because of one source
            log.exception("provisioned concurrency stats failed")
            return {}


def _name(resource: str) -> str:
    return resource.partition(":")[0]


# --- the text format ------------------------------------------------------------------------


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels.items())
    return "{" + inner + "}"


def format_value(value: float | int) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return f"{value:.1f}"
    return repr(value)


def _header(out: list[str], name: str, kind: str, help_text: str) -> None:
    out.append(f"# HELP {name} {_escape_help(help_text)}\n# TYPE {name} {kind}\n")


def _family(
    out: list[str],
    name: str,
    kind: str,
    help_text: str,
    samples: Iterable[tuple[dict[str, str], float | int]],
) -> None:
    _header(out, name, kind, help_text)
    for labels, value in samples:
        out.append(f"{name}{_labels(labels)} {format_value(value)}\n")


def _histogram_family(
    out: list[str],
    name: str,
    help_text: str,
    samples: Iterable[tuple[dict[str, str], _Histogram]],
) -> None:
    _header(out, name, "histogram", help_text)
    for labels, histogram in samples:
        cumulative = 0
        for bound, count in zip(_bounds(histogram.bounds), histogram.counts, strict=True):
            cumulative += count
            out.append(f"{name}_bucket{_labels({**labels, 'le': bound})} {cumulative}\n")
        out.append(f"{name}_sum{_labels(labels)} {format_value(histogram.total)}\n")
        out.append(f"{name}_count{_labels(labels)} {cumulative}\n")


def _bounds(bounds: tuple[float, ...]) -> Iterator[str]:
    for bound in bounds:
        yield format_value(float(bound))
    yield "+Inf"
