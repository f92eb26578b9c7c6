"""The SNS service: the registry of topics and subscriptions, the publisher and the
delivery worker over one store, started and stopped as one component."""

from __future__ import annotations

import asyncio
import contextlib
import time

from lamina.services.function_ports import AsyncFunctionSink
from lamina.services.queue_ports import QueueSink
from lamina.services.sns import notification_codec
from lamina.services.sns.deliverer import Deliverer
from lamina.services.sns.model import Delivery
from lamina.services.sns.payloads import Urls
from lamina.services.sns.publisher import Publisher
from lamina.services.sns.registry import SnsRegistry
from lamina.store.sns_records import SnsStore

# How often expired FIFO deduplication ids are dropped from the store.
DEDUP_SWEEP_SECONDS = 60.0


class SnsService:
    def __init__(
        self,
        store: SnsStore,
        queues: QueueSink,
        *,
        base_url: str,
        functions: AsyncFunctionSink | None = None,
    ) -> None:
        self.store = store
        self.urls = Urls(base_url)
        self.registry = SnsRegistry(store)
        self.deliverer = Deliverer(self.registry, store, queues, functions, self.urls)
        self.registry.on_pending = self.deliverer.send_confirmation
        self.publisher = Publisher(self.registry, store, self.deliverer)
        self._sweeper: asyncio.Task[None] | None = None

    def bind_functions(self, functions: AsyncFunctionSink) -> None:
        self.deliverer.bind_functions(functions)

    async def start(self) -> None:
        """Load topics, subscriptions and the deliveries a previous run left, then deliver."""
        now = time.time()
        await asyncio.to_thread(self.registry.load)
        pending = await asyncio.to_thread(self.store.load_pending, now)
        self.publisher.restore_dedup(pending.dedup)
        notifications = {
            message.message_id: notification_codec.loads(message.body)
            for message in pending.messages
        }
        for row in pending.deliveries:
            notification = notifications.get(row.message_id)
            if notification is None:
                continue
            delivery = Delivery(row.delivery_id, row.message_id, row.subscription_arn, row.attempts)
            self.deliverer.add(notification, [delivery], row.due)
        self.deliverer.start()
        self._sweeper = asyncio.ensure_future(self._sweep())

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(DEDUP_SWEEP_SECONDS)
            await self.store.expire_dedup(time.time())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.deliverer.stop()
        self.store.close()
