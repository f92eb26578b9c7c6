"""Waiting on the event loop for a file descriptor to be ready: readable (a pidfd once its
process has exited) or writable (a socket whose buffer was full)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


async def readable(fd: int) -> None:
    loop = asyncio.get_running_loop()
    await _ready(loop.add_reader, loop.remove_reader, fd)


async def writable(fd: int) -> None:
    loop = asyncio.get_running_loop()
    await _ready(loop.add_writer, loop.remove_writer, fd)


async def _ready(watch: Callable[..., Any], unwatch: Callable[[int], object], fd: int) -> None:
    ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    watch(fd, wake)
    try:
        await ready
    finally:
        unwatch(fd)
