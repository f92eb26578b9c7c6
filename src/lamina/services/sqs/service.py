"""The SQS service as the server sees it: one database, the queue registry, the message engine.

``SqsService`` owns their lifecycle: ``start()`` rebuilds the registry from SQLite and starts
the message engine (expiry sweeps, delayed-message timers, move tasks); ``stop()`` stops the
engine and closes the database after every queued write is committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from lamina.domain.sqs.queue import Queue, QueueCounts
from lamina.services.sqs import messages
from lamina.services.sqs.queues import QueueRegistry
from lamina.store.sqs_db import SqsDatabase


class MessageEngine(Protocol):
    """What the facade and the queue API need from the message engine."""

    async def start(self) -> None:
        """Load messages of every live queue (the registry is loaded) and start timers."""
        ...

    async def stop(self) -> None:
        """Stop timers and wake every waiter; no write is issued afterwards."""
        ...

    def counts(self, queue: Queue) -> QueueCounts:
        """The queue's Approximate* counters (in memory: no SQLite read)."""
        ...


EngineFactory = Callable[[SqsDatabase, QueueRegistry], MessageEngine]


def _message_engine(db: SqsDatabase, registry: QueueRegistry) -> MessageEngine:
    """The message engine (``services.sqs.messages``): it registers its deletion hooks."""
    return messages.MessageEngine(db, registry)


class SqsService:
    """The queue registry and the message engine over one ``sqs.sqlite3``."""

    def __init__(
        self,
        db: SqsDatabase,
        *,
        base_url: str,
        engine_factory: EngineFactory | None = None,
    ) -> None:
        """``engine_factory`` replaces the message engine (tests); the default is
        ``services.sqs.messages.MessageEngine``."""
        self.db = db
        self.queues = QueueRegistry(db, base_url)
        factory: EngineFactory = engine_factory or _message_engine
        self.engine: MessageEngine = factory(db, self.queues)
        self._started = False

    async def start(self) -> None:
        """Load the queues (off the event loop), then start the message engine."""
        if self._started:
            return
        await asyncio.to_thread(self.queues.load)
        await self.engine.start()
        self._started = True

    async def stop(self) -> None:
        """Stop the engine, then close the database (pending writes are committed first)."""
        if self._started:
            await self.engine.stop()
            self._started = False
        await asyncio.to_thread(self.db.close)
