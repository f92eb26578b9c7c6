"""InvokeServiceInvoker: the pollers' port over the invoke path (throttles, missing functions,
platform failures, background priority, the ARN the function is invoked as)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from lamina.domain.errors import ResourceNotFoundException, TooManyRequestsException
from lamina.runtime.admission import BACKGROUND
from lamina.runtime.invocation import Outcome
from lamina.services.event_sources.invoker import (
    FunctionTarget,
    FunctionUnavailable,
    InvokeServiceInvoker,
    Throttled,
)

TARGET = FunctionTarget("fn", "live", "arn:aws:lambda:us-east-1:111111111111:function:fn:live")


def outcome(payload: bytes, error: str | None = None, error_type: str | None = None) -> Outcome:
    return Outcome(payload, error, error_type, "success", 1.0, None, 128, "")


class Stubs:
    def __init__(self, result: Outcome | Exception) -> None:
        self.result = result
        self.calls: list[tuple[Any, ...]] = []
        self.throttles: list[tuple[str, str, str]] = []
        self.config = SimpleNamespace(name="fn", timeout=7)
        self.missing = False
        self.functions = SimpleNamespace(require=self.require)
        self.invoke = SimpleNamespace(
            run=self.run,
            metrics=SimpleNamespace(throttled=lambda *a: self.throttles.append(a)),
            limiter=SimpleNamespace(reserved=lambda name: 4),
            # Recursive loop detection (tests/unit/test_recursion.py): lets every batch run.
            admit=lambda config, header: header or "Root=1-00000000-000000000000000000000000",
        )

    def require(self, name: str, qualifier: str | None = None, *, route: bool = False) -> Any:
        if self.missing:
            raise ResourceNotFoundException("Function not found: x")
        return self.config

    async def run(self, config: Any, invocation: Any, priority: int, wait: float) -> Outcome:
        self.calls.append((config, invocation, priority, wait))
        if isinstance(self.result, Exception):
            raise self.result
        return self.result

    def adapter(self) -> InvokeServiceInvoker:
        return InvokeServiceInvoker(self.invoke, self.functions)  # type: ignore[arg-type]


def test_success_runs_in_the_background_as_the_mapped_arn() -> None:
    stubs = Stubs(outcome(b'{"ok": 1}'))
    result = asyncio.run(stubs.adapter().invoke(TARGET, b'{"Records": []}'))
    assert result.payload == b'{"ok": 1}' and result.function_error is None
    _, invocation, priority, _ = stubs.calls[0]
    assert priority == BACKGROUND
    assert invocation.invoked_arn == TARGET.arn and invocation.payload == b'{"Records": []}'
    assert stubs.adapter().timeout_seconds(TARGET) == 7
    assert stubs.adapter().concurrency_cap(TARGET) == 4


def test_function_error_is_a_value() -> None:
    stubs = Stubs(outcome(b'{"errorMessage": "x"}', "Unhandled", "RuntimeError"))
    result = asyncio.run(stubs.adapter().invoke(TARGET, b"{}"))
    assert result.function_error == "Unhandled"


def test_throttle_is_counted_and_raised() -> None:
    stubs = Stubs(
        TooManyRequestsException(
            "Rate Exceeded.", "ReservedFunctionConcurrentInvocationLimitExceeded", 2
        )
    )
    with pytest.raises(Throttled) as caught:
        asyncio.run(stubs.adapter().invoke(TARGET, b"{}"))
    assert caught.value.retry_after == 2.0
    assert stubs.throttles == [
        ("fn", TARGET.arn, "ReservedFunctionConcurrentInvocationLimitExceeded")
    ]


def test_missing_function_and_platform_failure_are_unavailable() -> None:
    stubs = Stubs(outcome(b"{}"))
    stubs.missing = True
    with pytest.raises(FunctionUnavailable):
        asyncio.run(stubs.adapter().invoke(TARGET, b"{}"))
    assert stubs.adapter().timeout_seconds(TARGET) is None
    failing = Stubs(outcome(b"boom", "Unhandled", "Sandbox.Failure"))
    with pytest.raises(FunctionUnavailable):
        asyncio.run(failing.adapter().invoke(TARGET, b"{}"))
