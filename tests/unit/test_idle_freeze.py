"""An environment is frozen once idle a moment, not at once, and never while busy."""

from __future__ import annotations

import asyncio

from lamina.runtime.idle_freeze import FREEZE_AFTER_IDLE_SECONDS, IdleFreezer

GRACE = FREEZE_AFTER_IDLE_SECONDS


class _Environment:
    def __init__(self) -> None:
        self.idle = True
        self.freezes = 0

    def freeze(self) -> None:
        self.freezes += 1


def test_an_idle_environment_is_frozen_after_the_grace_not_at_once() -> None:
    async def main() -> None:
        env = _Environment()
        freezer = IdleFreezer(lambda: env.idle, env.freeze)
        loop = asyncio.get_running_loop()
        freezer.went_idle(loop)
        await asyncio.sleep(GRACE / 2)
        assert env.freezes == 0
        # Busy and idle again before the timer: the grace restarts from the last idle.
        freezer.went_idle(loop)
        await asyncio.sleep(GRACE * 0.75)
        assert env.freezes == 0
        await asyncio.sleep(GRACE)
        assert env.freezes == 1

    asyncio.run(main())


def test_a_busy_environment_is_not_frozen_by_its_timer() -> None:
    async def main() -> None:
        env = _Environment()
        freezer = IdleFreezer(lambda: env.idle, env.freeze)
        freezer.went_idle(asyncio.get_running_loop())
        env.idle = False
        await asyncio.sleep(GRACE * 2)
        assert env.freezes == 0

    asyncio.run(main())


def test_an_ended_environment_is_not_frozen() -> None:
    async def main() -> None:
        env = _Environment()
        freezer = IdleFreezer(lambda: env.idle, env.freeze)
        freezer.went_idle(asyncio.get_running_loop())
        freezer.cancel()
        await asyncio.sleep(GRACE * 2)
        assert env.freezes == 0

    asyncio.run(main())
