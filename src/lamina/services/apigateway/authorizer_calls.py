"""What every Lambda authorizer shares, HTTP and REST APIs alike: calling the function
(granted by its resource policy, 10 s to answer), reading an IAM policy answer, and
keeping answers for their TTL."""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from lamina.services.apigateway.ports import FunctionInvokeFailed, FunctionInvoker, InvokeGrants

log = logging.getLogger("lamina.apigateway")

PRINCIPAL = "apigateway.amazonaws.com"
# API Gateway's timeout for an authorizer.
AUTHORIZER_TIMEOUT = 10.0
# Cached authorizer answers kept (least recently used dropped first).
MAX_CACHED = 1000
_ACTIONS = ("execute-api:Invoke", "execute-api:*", "*")


class Rejected(enum.Enum):
    """An authorizer call that produced no answer: the function raised ``Unauthorized``, or
    it could not be called, failed otherwise or answered something that is not JSON."""

    UNAUTHORIZED = "unauthorized"
    FAILED = "failed"


async def call_authorizer(
    invoker: FunctionInvoker,
    grants: InvokeGrants,
    target: str,
    source_arn: str,
    event: dict[str, Any],
    request_id: str,
) -> Any:
    """The function's answer (parsed JSON), or a ``Rejected``."""
    if not await grants.allows(target, PRINCIPAL, source_arn):
        log.warning("Invalid permissions on the authorizer function %s (%s)", target, source_arn)
        return Rejected.FAILED
    payload = json.dumps(event, separators=(",", ":")).encode()
    try:
        answer = await asyncio.wait_for(
            invoker.invoke(target, payload, request_id), AUTHORIZER_TIMEOUT
        )
    except (FunctionInvokeFailed, TimeoutError) as failure:
        log.warning("the authorizer function %s failed: %s", target, failure)
        return Rejected.FAILED
    if answer.function_error is not None:
        try:
            message = json.loads(answer.payload).get("errorMessage")
        except (ValueError, AttributeError):
            message = None
        return Rejected.UNAUTHORIZED if message == "Unauthorized" else Rejected.FAILED
    try:
        return json.loads(answer.payload)
    except ValueError:
        return Rejected.FAILED


def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_verdict(document: Any, resource_arn: str) -> str | None:
    """``"allow"``, ``"deny"`` (an explicit Deny) or ``"none"`` (no statement allows) for
    invoking ``resource_arn``; None if the document is malformed."""
    if not isinstance(document, dict) or "Statement" not in document:
        return None
    allowed = False
    for statement in _as_list(document["Statement"]):
        if not isinstance(statement, dict):
            return None
        effect = statement.get("Effect")
        actions = [str(a) for a in _as_list(statement.get("Action", []))]
        resources = [str(r) for r in _as_list(statement.get("Resource", []))]
        if effect not in ("Allow", "Deny"):
            return None
        if not any(a in _ACTIONS for a in actions):
            continue
        if any(_wildcard(r).fullmatch(resource_arn) for r in resources):
            if effect == "Deny":
                return "deny"
            allowed = True
    return "allow" if allowed else "none"


def policy_allows(document: Any, resource_arn: str) -> bool | None:
    """Whether an IAM policy document allows invoking ``resource_arn``; None if malformed."""
    verdict = policy_verdict(document, resource_arn)
    return None if verdict is None else verdict == "allow"


class AnswerCache:
    """Authorizer answers by key until their expiry; at most ``limit`` kept."""

    def __init__(self, limit: int = MAX_CACHED) -> None:
        self._limit = limit
        self._answers: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        entry = self._answers.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            del self._answers[key]
            return None
        self._answers.move_to_end(key)
        return entry[1]

    def put(self, key: Hashable, ttl: float, answer: Any) -> None:
        self._answers[key] = (time.monotonic() + ttl, answer)
        self._answers.move_to_end(key)
        while len(self._answers) > self._limit:
            self._answers.popitem(last=False)

    def __len__(self) -> int:
        return len(self._answers)
