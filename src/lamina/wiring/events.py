"""The EventBridge-compatible router on the edge (JSON 1.1, signing name ``events``): one
database for every region (buses keyed by region and account), delivering to the regions'
Lambda functions, the queue service, SNS topics (when a ``TopicSink`` is given) and its
own buses."""

from __future__ import annotations

from lamina.api.access import EdgeAccess
from lamina.api.endpoints import JsonService, ServiceDirectory
from lamina.api.events_api import events_handlers
from lamina.api.model import load_model
from lamina.api.protocols import JsonCodec
from lamina.services.events.delivery import DeliveryEngine
from lamina.services.events.errors import missing_member
from lamina.services.events.registry import EventsRegistry
from lamina.services.events.rules import RuleBook
from lamina.services.events.scheduled import RuleSchedules, check_rule_schedule
from lamina.services.events.service import EventsService
from lamina.services.events.targets import TargetSinks
from lamina.services.queue_ports import QueueSink
from lamina.services.schedules import Clock, ScheduleRunner
from lamina.services.topic_ports import TopicSink
from lamina.store.events_store import SqliteEventsStore
from lamina.wiring.function_sink import RegionsFunctionSink
from lamina.wiring.host import HostParts
from lamina.wiring.regions import Regions


def build_events(
    host: HostParts,
    regions: Regions,
    queues: QueueSink,
    topics: TopicSink | None = None,
    runner: ScheduleRunner | None = None,
) -> EventsService:
    """The service; scheduled rules run on ``runner`` (give the server's shared runner so
    that its clock's advances fire them), else on a runner of the service's own, on the
    wall clock, started and stopped with the service."""
    settings = host.settings
    store = SqliteEventsStore(host.data / "events.sqlite3", settings.queue_durability)
    registry = EventsRegistry(store)
    sinks = TargetSinks(RegionsFunctionSink(regions, settings.account_id), queues, topics)
    engine = DeliveryEngine(store, sinks, delay_scale=settings.async_delay_scale)
    own_runner = None
    if runner is None:
        runner = own_runner = ScheduleRunner(Clock())
    schedules = RuleSchedules(runner)
    rules = RuleBook(registry, check_rule_schedule, schedules)
    service = EventsService(registry, rules, engine, own_runner=own_runner)
    schedules.fire = service.fire_scheduled
    return service


def add_events_service(
    services: ServiceDirectory, events: EventsService, access: EdgeAccess
) -> None:
    model = load_model("events")
    services.add_json(
        JsonService(
            "events",
            "events",
            JsonCodec(model, missing_parameter=missing_member),
            events_handlers(events),
            check=access.checker("events"),
        )
    )
