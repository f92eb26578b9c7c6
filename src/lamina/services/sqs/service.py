"""The SQS service as the server sees it: one store, the queue registry, the message engine.

``SqsService`` owns their lifecycle: ``start()`` rebuilds the registry from the store and
starts the message engine (expiry sweeps, delayed-message timers, move tasks); ``stop()``
stops the engine and closes the store after every requested write is committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from lamina.domain.sqs.queue import Queue, QueueCounts
from lamina.services.sqs import messages
from lamina.services.sqs.engine_state import DEFAULT_MAX_MESSAGES
from lamina.services.sqs.queues import QueueRegistry
from lamina.store.ports import SqsMessageStore, SqsStore


class MessageEngine(Protocol):
    """What the facade and the queue API need from the message engine."""

    async def start(self) -> None:
        """Load messages of every live queue (the registry is loaded) and start timers."""
        ...

    async def stop(self) -> None:
        """Stop timers and wake every waiter; no write is issued afterwards."""
        ...

    def counts(self, queue: Queue) -> QueueCounts:
        """The queue's Approximate* counters (in memory: no store read)."""
        ...


EngineFactory = Callable[[SqsMessageStore, QueueRegistry], MessageEngine]


def message_engine(max_messages: int) -> EngineFactory:
    """The message engine (``services.sqs.messages``) holding at most ``max_messages``; it
    registers its deletion hook."""

    def build(store: SqsMessageStore, registry: QueueRegistry) -> MessageEngine:
        return messages.MessageEngine(store, registry, max_messages=max_messages)

    return build


class SqsService:
    """The queue registry and the message engine over one store."""

    def __init__(
        self,
        store: SqsStore,
        *,
        base_url: str,
        engine_factory: EngineFactory | None = None,
        max_messages: int = DEFAULT_MAX_MESSAGES,
    ) -> None:
        """``engine_factory`` replaces the message engine (tests); the default is
        ``services.sqs.messages.MessageEngine``."""
        self.store = store
        self.queues = QueueRegistry(store, base_url)
        factory: EngineFactory = engine_factory or message_engine(max_messages)
        self.engine: MessageEngine = factory(store, self.queues)
        self._started = False

    async def start(self) -> None:
        """Load the queues (off the event loop), then start the message engine."""
        if self._started:
            return
        await asyncio.to_thread(self.queues.load)
        await self.engine.start()
        self._started = True

    async def stop(self) -> None:
        """Stop the engine, then close the store (pending writes are committed first)."""
        if self._started:
            await self.engine.stop()
            self._started = False
        await asyncio.to_thread(self.store.close)
