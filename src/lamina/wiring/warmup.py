"""Warm what a function's first environment needs before it is invoked.

A Python function runs on its runtime's interpreter, whose spawner (``runtime/spawner_client.py``)
preloads the runtime: starting one takes 70-150 ms, which the first invoke of a function on
an interpreter not yet in use would wait for. The spawner is started instead, in the
background, when a function on that runtime is created or configured, and at a region's
start for the runtimes its functions use (``HostParts.warm_runtime``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from lamina.api.endpoints import Handler
from lamina.domain.context import RequestContext
from lamina.domain.function_rules import SUPPORTED_RUNTIMES
from lamina.domain.models import FunctionConfig

# The operations whose request may name a runtime the next invoke needs.
WARMING_OPERATIONS = ("CreateFunction", "UpdateFunctionConfiguration")

Warm = Callable[[str | None], None]


def warming_handlers(handlers: dict[str, Handler], warm: Warm) -> dict[str, Handler]:
    """``handlers`` with ``WARMING_OPERATIONS`` wrapped: a request naming one of AWS's
    runtimes (``Runtime``) has ``warm`` called with it before it is handled, so the spawner
    starts while the function is created (``warm`` must return at once; a request that
    fails afterwards started at most the spawner of an installed interpreter). Answers
    and errors are unchanged."""
    wrapped = dict(handlers)
    for operation in WARMING_OPERATIONS:
        handler = handlers.get(operation)
        if handler is not None:
            wrapped[operation] = _warming(handler, warm)
    return wrapped


def _warming(handler: Handler, warm: Warm) -> Handler:
    async def handle(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        runtime = params.get("Runtime")
        if isinstance(runtime, str) and runtime in SUPPORTED_RUNTIMES:
            warm(runtime)
        return await handler(ctx, params)

    return handle


async def warm_existing(configs: Callable[[], Iterable[FunctionConfig]], warm: Warm) -> None:
    """Warm each runtime of ``configs`` (read in a worker thread: a store query)."""

    def runtimes() -> set[str]:
        return {config.runtime for config in configs() if config.runtime}

    for runtime in sorted(await asyncio.to_thread(runtimes)):
        warm(runtime)
