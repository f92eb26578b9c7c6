"""Counters of asynchronous invocation (AWS/Lambda AsyncEventsReceived, AsyncEventAge,
AsyncEventsDropped, DestinationDeliveryFailures, DeadLetterErrors) and their Prometheus
text, per function."""

from __future__ import annotations

from dataclasses import dataclass, field

from lamina.services.metrics import format_value

# Milliseconds: AsyncEventAge, from seconds to the 6 hours of the maximum age.
AGE_BUCKETS: tuple[float, ...] = (
    10,
    100,
    1000,
    10_000,
    60_000,
    300_000,
    1_800_000,
    7_200_000,
    21_600_000,
)


@dataclass
class FunctionStats:
    received: int = 0  # AsyncEventsReceived
    dropped: int = 0  # AsyncEventsDropped: ended without a successful run
    succeeded: int = 0
    destination_failures: int = 0  # DestinationDeliveryFailures
    dead_letter_errors: int = 0  # DeadLetterErrors
    redelivered: int = 0  # leased when a server died: run again (possible duplicates)
    age_counts: list[int] = field(default_factory=lambda: [0] * (len(AGE_BUCKETS) + 1))
    age_sum: float = 0.0

    def observe_age(self, ms: float) -> None:
        for i, bound in enumerate(AGE_BUCKETS):
            if ms <= bound:
                self.age_counts[i] += 1
                break
        else:
            self.age_counts[-1] += 1
        self.age_sum += ms


def render_async_metrics(stats_by_function: dict[str, FunctionStats], function: str | None) -> str:
    """The asynchronous-invocation families in Prometheus text (appended to
    ``GET /_lamina/metrics``)."""
    out: list[str] = []
    rows = sorted(
        (name, stats)
        for name, stats in stats_by_function.items()
        if function is None or name == function
    )
    counters = (
        (
            "lamina_lambda_async_events_received_total",
            "received",
            "Events queued for asynchronous invocation; AWS/Lambda AsyncEventsReceived.",
        ),
        (
            "lamina_lambda_async_events_dropped_total",
            "dropped",
            "Asynchronous events that ended without a successful run (retries exhausted, "
            "too old, reserved concurrency 0, function deleted); "
            "AWS/Lambda AsyncEventsDropped.",
        ),
        (
            "lamina_lambda_destination_delivery_failures_total",
            "destination_failures",
            "Failed attempts to deliver a record to a destination; AWS/Lambda "
            "DestinationDeliveryFailures.",
        ),
        (
            "lamina_lambda_dead_letter_errors_total",
            "dead_letter_errors",
            "Failed attempts to send an event to its dead-letter queue; AWS/Lambda "
            "DeadLetterErrors.",
        ),
        (
            "lamina_lambda_async_events_redelivered_total",
            "redelivered",
            "Events in flight when a server stopped, run again by the next one "
            "(possible duplicates).",
        ),
    )
    for metric, attribute, help_text in counters:
        out.append(f"# HELP {metric} {help_text}\n# TYPE {metric} counter\n")
        for name, stats in rows:
            value = getattr(stats, attribute)
            out.append(f'{metric}{{function="{_label(name)}"}} {value}\n')
    metric = "lamina_lambda_async_event_age_milliseconds"
    out.append(
        f"# HELP {metric} Time from queueing to each attempt to run an asynchronous event, "
        f"in milliseconds; AWS/Lambda AsyncEventAge.\n# TYPE {metric} histogram\n"
    )
    for name, stats in rows:
        label = f'function="{_label(name)}"'
        cumulative = 0
        bounds = [format_value(float(b)) for b in AGE_BUCKETS] + ["+Inf"]
        for bound, count in zip(bounds, stats.age_counts, strict=True):
            cumulative += count
            out.append(f'{metric}_bucket{{{label},le="{bound}"}} {cumulative}\n')
        out.append(f"{metric}_sum{{{label}}} {format_value(stats.age_sum)}\n")
        out.append(f"{metric}_count{{{label}}} {cumulative}\n")
    return "".join(out)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
