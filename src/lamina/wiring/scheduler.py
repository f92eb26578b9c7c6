"""Schedules on the edge: the shared clock and schedule runner (EventBridge's scheduled rules
and EventBridge Scheduler's schedules are jobs of the same runner), and the Scheduler service
(rest-json, signing name ``scheduler``; one database for every region under the data
directory)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from lamina.api.access import EdgeAccess
from lamina.api.endpoints import RestJsonService, ServiceDirectory
from lamina.api.model import ServiceModel, load_model
from lamina.api.scheduler_api import scheduler_handlers
from lamina.services.event_bus_ports import EventBusSink
from lamina.services.function_ports import AsyncFunctionSink
from lamina.services.queue_ports import QueueSink
from lamina.services.scheduler.delivery import ScheduleDelivery
from lamina.services.scheduler.service import SchedulerService
from lamina.services.scheduler.targets import TargetSinks
from lamina.services.schedules import Clock, ScheduleRunner
from lamina.services.topic_ports import TopicSink
from lamina.store.scheduler_store import SqliteSchedulerStore
from lamina.wiring.host import HostParts

# Seconds the schedules' clock starts ahead of the wall clock (tests: a restart "after" a
# downtime, docs/schedules.md); unset: 0.
CLOCK_OFFSET_ENV = "LAMINA_CLOCK_OFFSET"


def clock_from_environment() -> Clock:
    """The schedules' clock, ``LAMINA_CLOCK_OFFSET`` seconds ahead (ignored unless a
    non-negative number)."""
    text = os.environ.get(CLOCK_OFFSET_ENV, "")
    try:
        offset = float(text) if text else 0.0
    except ValueError:
        offset = 0.0
    return Clock(offset=offset if math.isfinite(offset) else 0.0)


@dataclass
class Schedules:
    """The one clock (``POST /_lamina/clock?advance=``) and runner every schedule uses."""

    clock: Clock = field(default_factory=clock_from_environment)
    runner: ScheduleRunner = field(init=False)

    def __post_init__(self) -> None:
        self.runner = ScheduleRunner(self.clock)


@dataclass
class Scheduler:
    service: SchedulerService
    store: SqliteSchedulerStore

    async def start(self) -> None:
        await self.service.start()

    def stop(self) -> None:
        self.service.stop()
        self.store.close()


def build_scheduler(
    host: HostParts,
    schedules: Schedules,
    functions: AsyncFunctionSink,
    queues: QueueSink,
    topics: TopicSink | None = None,
    buses: EventBusSink | None = None,
) -> Scheduler:
    """The Scheduler service with its stored groups and schedules loaded (not yet armed:
    ``start`` does that, once the runner runs). Without ``topics`` or ``buses``, SNS and
    EventBridge targets are not delivered (their fires dead-letter)."""
    store = SqliteSchedulerStore(host.data / "scheduler.sqlite3")
    stored = store.load()
    targets = TargetSinks(functions, queues, topics, buses)
    delivery = ScheduleDelivery(targets, schedules.runner, store)
    service = SchedulerService(store, schedules.runner, delivery)
    service.groups.load(stored.groups)
    service.load(stored.schedules)
    delivery.resume(store.load_retries())  # failed deliveries a previous run left pending
    return Scheduler(service, store)


def add_scheduler_service(
    services: ServiceDirectory, scheduler: Scheduler, access: EdgeAccess
) -> None:
    services.add_rest_json(
        RestJsonService(
            "scheduler",
            "scheduler",
            ServiceModel(load_model("scheduler")),
            scheduler_handlers(scheduler.service),
            check=access.checker("scheduler"),
        )
    )
