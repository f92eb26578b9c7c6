"""Recursive loop detection, as AWS Lambda does it, and the per-function setting.

A chain of requests is every invocation caused by one first event. Its count travels in the
X-Ray trace header (``X-Amzn-Trace-Id``, ``_X_AMZN_TRACE_ID`` inside a function, SQS's
``AWSTraceHeader``) as a ``Lineage`` field: ``Lineage=<8 hex digits naming the function>:
<invocations of that function in this chain>``, one entry per function, joined by ``|``.
Each invocation Lamina starts (the Invoke API, an SQS event source mapping, an SNS or
EventBridge delivery) passes the header it received through ``RecursionGuard.admit``:

- the function's count goes up by one and the invocation gets the new header (which the
  runtime hands to the function, whose SDK sends it on with every call it makes);
- the 17th invocation of the same function in one chain is stopped (``MAX_INVOCATIONS``:
  AWS stops loops "after exceeding 16 invocations") unless the function's
  ``RecursiveLoop`` is ``Allow``: ``RecursiveInvocationException`` for the caller to act
  on (a synchronous caller gets it as AWS's 400; the other paths drop the event as their
  docstrings say), one warning log line, and ``RecursiveInvocationsDropped`` counted.
"""

from __future__ import annotations

import hashlib
import logging
import re
from functools import lru_cache
from urllib.parse import unquote

from lamina.domain.errors import AwsError, InvalidParameterValueException
from lamina.domain.names import constraint_error, validation_exception
from lamina.domain.tracing import new_trace_id
from lamina.services.function_catalog import FunctionCatalog
from lamina.store.function_options_store import SqliteFunctionOptionsStore

log = logging.getLogger("lamina.recursion")

# Invocations of one function in one chain that run; the next one is stopped.
MAX_INVOCATIONS = 16
ALLOW = "Allow"
TERMINATE = "Terminate"
_MODES = (TERMINATE, ALLOW)
# Entries kept in one header's Lineage (bounds what a caller's header can make us carry).
MAX_LINEAGE_ENTRIES = 32
MAX_TRACE_HEADER = 2048
# A header passed on as it came: printable ASCII (it becomes a Runtime API header).
_USABLE = re.compile(r"[\x20-\x7e]{1,2048}")


# The condition of an asynchronous event stopped as a loop (its on-failure record and
# dead letter): Lamina's name, AWS documents none.
RECURSIVE_LOOP_CONDITION = "RecursiveInvocationException"
# An SQS record's trace header in a batch event (``"AWSTraceHeader": "Root=...;Lineage=..."``).
_BATCH_TRACE = re.compile(rb'"AWSTraceHeader"\s*:\s*"([\x20-\x21\x23-\x5b\x5d-\x7e]{1,2048})"')


def batch_trace_header(payload: bytes) -> str | None:
    """The trace header of a batch event (an SQS event source mapping's): that of the
    record with the longest chain, so a loop is caught whichever record carries it."""
    if b"AWSTraceHeader" not in payload:
        return None
    best: str | None = None
    best_count = -1
    for found in _BATCH_TRACE.finditer(payload):
        header = found.group(1).decode("ascii")
        count = max(parse_lineage(header).values(), default=0)
        if count > best_count:
            best, best_count = header, count
    return best


class RecursiveInvocationException(AwsError):
    code = "RecursiveInvocationException"
    status = 400
    message_key = "Message"


@lru_cache(maxsize=4096)
def lineage_key(function_arn: str) -> str:
    """The 8 hex digits that name a function (unqualified ARN) in a Lineage."""
    return hashlib.sha256(function_arn.encode()).hexdigest()[:8]


def parse_lineage(trace_header: str | None) -> dict[str, int]:
    """The Lineage counts of a trace header (malformed entries are ignored)."""
    counts: dict[str, int] = {}
    if not trace_header:
        return counts
    # SDKs percent-encode the header (botocore leaves ``|`` out of its safe characters).
    for field in unquote(trace_header).split(";"):
        key, _, value = field.strip().partition("=")
        if key != "Lineage":
            continue
        for entry in value.split("|")[:MAX_LINEAGE_ENTRIES]:
            name, _, count = entry.partition(":")
            if len(name) == 8 and count.isdigit() and len(count) < 6:
                counts[name] = int(count)
    return counts


def with_lineage(trace_header: str | None, counts: dict[str, int]) -> str:
    """``trace_header`` (a new one if absent or unusable) with its Lineage replaced."""
    base = unquote(trace_header) if trace_header else None
    if base is not None and not _USABLE.fullmatch(base):
        base = None
    fields = [
        f.strip()
        for f in (base or new_trace_id()).split(";")
        if f.strip() and not f.strip().startswith("Lineage=")
    ]
    if not any(f.startswith("Root=") for f in fields):
        fields = new_trace_id().split(";")
    entries = list(counts.items())[-MAX_LINEAGE_ENTRIES:]
    fields.append("Lineage=" + "|".join(f"{k}:{v}" for k, v in entries))
    return ";".join(fields)


class RecursionGuard:
    """The ``RecursiveLoop`` setting of each function (Get/PutFunctionRecursionConfig) and
    the check every invocation path makes."""

    def __init__(self, store: SqliteFunctionOptionsStore, catalog: FunctionCatalog) -> None:
        self._store = store
        self._catalog = catalog
        # Stopped invocations per function (the RecursiveInvocationsDropped metric).
        self.dropped: dict[str, int] = {}

    # --- the configuration ----------------------------------------------------------------

    def get(self, name: str) -> str:
        self._catalog.require(name)
        return self._store.recursion(name) or TERMINATE

    def put(self, name: str, recursive_loop: str) -> str:
        if recursive_loop not in _MODES:
            raise validation_exception(
                [
                    constraint_error(
                        "recursiveLoop",
                        recursive_loop,
                        "Member must satisfy enum value set: [Terminate, Allow]",
                    )
                ]
            )
        self._catalog.require(name)
        if not self._store.put_recursion(name, recursive_loop):
            raise self._catalog_gone(name)
        return recursive_loop

    def _catalog_gone(self, name: str) -> AwsError:
        try:
            self._catalog.require(name)
        except AwsError as error:
            return error
        return InvalidParameterValueException(f"Function {name} changed meanwhile")

    def function_deleted(self, name: str) -> None:
        self._store.forget(name)
        self.dropped.pop(name, None)

    # --- the guard --------------------------------------------------------------------------

    def admit(self, name: str, function_arn: str, trace_header: str | None) -> str:
        """The trace header of one more invocation of ``name`` in the chain of
        ``trace_header`` (a new chain when None). Raises ``RecursiveInvocationException``
        (after logging and counting it) when this would be the function's 17th invocation
        in the chain and its setting is not ``Allow``."""
        key = lineage_key(function_arn)
        if not trace_header:  # a new chain (the common case): nothing to parse
            return f"{new_trace_id()};Lineage={key}:1"
        counts = parse_lineage(trace_header)
        seen = counts.pop(key, 0)
        if seen >= MAX_INVOCATIONS and self._store.recursion(name) != ALLOW:
            self.dropped[name] = self.dropped.get(name, 0) + 1
            log.warning(
                "Lambda has detected that function %s is being invoked in a recursive loop"
                " (%d invocations in one chain of requests) and stopped this invocation"
                " (RecursiveInvocationsDropped). Set its RecursiveLoop to Allow to let it go on.",
                function_arn,
                seen,
            )
            raise RecursiveInvocationException(
                "Recursive invocation was detected. Lambda has stopped this invocation of"
                f" {function_arn} because it was invoked in a recursive loop."
            )
        counts[key] = min(seen + 1, 99999)
        return with_lineage(trace_header, counts)

    def render_metrics(self, function: str | None = None) -> str:
        """``lamina_recursive_invocations_dropped_total`` per function (Prometheus text)."""
        rows = [(name, n) for name, n in sorted(self.dropped.items()) if function in (None, name)]
        if not rows:
            return ""
        out = [
            "# HELP lamina_recursive_invocations_dropped_total Invocations stopped by"
            " recursive loop detection (AWS's RecursiveInvocationsDropped).",
            "# TYPE lamina_recursive_invocations_dropped_total counter",
        ]
        out += [
            f'lamina_recursive_invocations_dropped_total{{function="{name}"}} {n}'
            for name, n in rows
        ]
        return "\n".join(out) + "\n"
