"""Invoke payloads checked for JSON without holding up the event loop
(``services.payload_check``): a large one in a worker process, with the same answers as the
inline check."""

from __future__ import annotations

import asyncio
import json
import os
import signal

import pytest

from lamina.domain.errors import InvalidRequestContentException
from lamina.services.payload_check import INLINE_BYTES, PayloadChecker, check_payload

# About 6 MB of records: ~100 ms for json.loads, with the GIL held throughout.
RECORD = {"body": "x" * 100, "attrs": {"a": 1, "b": [1, 2, 3]}}
LARGE = json.dumps({"records": [{"id": i, **RECORD} for i in range(40_000)]}).encode()


def _checked_with_turns(checker: PayloadChecker, payload: bytes) -> tuple[bytes | str, int]:
    """The check's result (or its error's message), and how often the loop turned meanwhile."""

    async def run() -> tuple[bytes | str, int]:
        turns = 0
        checking = asyncio.ensure_future(checker.check(payload))
        while not checking.done():
            turns += 1
            await asyncio.sleep(0)
        try:
            return checking.result(), turns
        except InvalidRequestContentException as exc:
            return str(exc), turns

    try:
        return asyncio.run(run())
    finally:
        checker.close()


def test_a_large_payload_is_checked_while_the_loop_keeps_turning() -> None:
    assert len(LARGE) > INLINE_BYTES
    result, turns = _checked_with_turns(PayloadChecker(), LARGE)
    assert result is LARGE or result == LARGE
    assert turns > 100, turns


def test_a_large_invalid_payload_gets_the_inline_checks_answer() -> None:
    broken = LARGE[:-1]
    with pytest.raises(InvalidRequestContentException) as inline:
        check_payload(broken)
    result, _ = _checked_with_turns(PayloadChecker(), broken)
    assert result == str(inline.value)
    assert "Could not parse payload into json" in result


def test_a_large_blank_payload_runs_as_an_empty_object() -> None:
    result, _ = _checked_with_turns(PayloadChecker(), b" \n" * INLINE_BYTES)
    assert result == b"{}"


def test_a_small_payload_is_checked_inline() -> None:
    checker = PayloadChecker()
    assert asyncio.run(checker.check(b'{"a": 1}')) == b'{"a": 1}'
    assert checker._worker is None  # no worker process for it


def test_a_worker_that_died_is_replaced() -> None:
    checker = PayloadChecker()

    async def run() -> list[bytes]:
        first = await checker.check(LARGE)
        assert checker._worker is not None
        for pid in list(checker._worker._processes):  # killed from outside
            os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(0.2)
        second = await checker.check(LARGE)  # answered all the same
        third = await checker.check(LARGE)  # by a new worker
        return [first, second, third]

    try:
        assert asyncio.run(run()) == [LARGE] * 3
    finally:
        checker.close()
