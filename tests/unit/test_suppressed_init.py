"""The invocation's clock when its init ran inside it (a suppressed init, after the first
init outlived ``INIT_LIMIT_SECONDS``) and when such a retry lands on a warm environment."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any, cast

import pytest

from lamina.runtime.environment import Environment, _Running
from lamina.runtime.invocation import Invocation


class _Sink:
    def append(self, *args: object) -> None:
        pass

    def append_platform(self, *args: object) -> None:
        pass


class _Handle:
    def cpu_boost(self) -> None:
        return None


def _deliver(running: _Running, timeout: float) -> tuple[float, int]:
    """(seconds until the invocation's timer fires, the event's deadline in ms from now)."""
    config = SimpleNamespace(version="$LATEST", effective_log_group="/aws/lambda/f")
    config.timeout = timeout
    env = Environment(cast(Any, config), cast(Any, None), cast(Any, None), cast(Any, _Sink()),
                      print)  # fmt: skip
    env._handle = cast(Any, _Handle())
    env._running = running
    event = env._deliver(running)
    assert running.timer is not None
    left = running.timer.when() - asyncio.get_running_loop().time()
    running.timer.cancel()
    return left, event.deadline_ms - int(time.time() * 1000)


def test_an_init_inside_the_invocation_takes_its_time_from_the_timeout() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        invocation = Invocation("r", b"{}", "arn", suppressed_init=True)
        running = _Running(invocation, loop.create_future(), cold=True, init_inside=True)
        running.started = time.perf_counter() - 2.0  # the environment started 2 s ago
        left, deadline = _deliver(running, 5.0)
        assert left == pytest.approx(3.0, abs=0.01)
        assert deadline == pytest.approx(3000, abs=10)
        assert time.perf_counter() - running.started >= 2.0  # Duration counts the init

    asyncio.run(scenario())


def test_a_retry_served_by_a_warm_environment_gets_its_whole_timeout() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        invocation = Invocation("r", b"{}", "arn", suppressed_init=True)
        running = _Running(invocation, loop.create_future())  # not cold: no init inside
        left, deadline = _deliver(running, 5.0)
        assert left == pytest.approx(5.0, abs=0.01)
        assert deadline == pytest.approx(5000, abs=10)

    asyncio.run(scenario())
