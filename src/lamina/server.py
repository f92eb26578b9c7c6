"""Runs Lamina: builds it (``lamina.wiring``), serves the edge with uvicorn, and shuts
down in order on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from lamina.api.app import EdgeApp
from lamina.api.function_peers import FunctionPeers
from lamina.api.http_protocol import (
    DEFAULT_MAX_HEADER_BYTES,
    bounded_protocol,
    connection_cap,
    raise_open_files_limit,
)
from lamina.api.url_trigger import FunctionUrlTrigger
from lamina.config import Settings
from lamina.lifecycle import Lifecycle
from lamina.runtime.api_proxy import RelayedConnections
from lamina.runtime.isolation import SelectedSandbox
from lamina.runtime.linux_sandbox import LinuxSandbox
from lamina.services.events.service import EventsService
from lamina.services.iam.service import IamService
from lamina.services.router_destinations import RouterSinks
from lamina.services.sns.service import SnsService
from lamina.services.sqs.service import SqsService
from lamina.stall_watch import watch_stalls
from lamina.wiring.apigateway import add_apigateway_services, build_apigateway
from lamina.wiring.authorization import install_authorizer
from lamina.wiring.edge import build_access, build_edge, build_services
from lamina.wiring.events import add_events_service, build_events
from lamina.wiring.function_sink import RegionsFunctionSink
from lamina.wiring.host import HostParts, build_host
from lamina.wiring.iam import add_iam_service, build_iam
from lamina.wiring.kms import add_kms_service, build_kms
from lamina.wiring.queues import add_queue_service, build_queues, queue_ports
from lamina.wiring.region import RegionalLambda
from lamina.wiring.regions import Regions
from lamina.wiring.scheduler import (
    Scheduler,
    Schedules,
    add_scheduler_service,
    build_scheduler,
)
from lamina.wiring.sns import add_sns_links, add_sns_service, build_sns, topic_sink
from lamina.wiring.sts import add_sts_service, build_sts

log = logging.getLogger("lamina")


@dataclass
class Lamina:
    """The wired server: the host's shared parts, the regions served and the edge."""

    settings: Settings
    host: HostParts
    regions: Regions
    queues: SqsService
    app: EdgeApp
    events: EventsService | None = None
    topics: SnsService | None = None
    schedules: Schedules | None = None
    scheduler: Scheduler | None = None
    # IAM (global) and its seams: ``iam.key_book``, ``iam.identity_policies``,
    # ``iam.role(arn)``, ``iam.trusts(role, service)`` (docs/iam.md).
    iam: IamService | None = None

    @property
    def sandbox(self) -> SelectedSandbox:
        return self.host.sandbox

    @property
    def relayed(self) -> RelayedConnections:
        return self.host.relayed

    def __post_init__(self) -> None:
        # Started in this order, stopped in reverse: environments stop first (in-flight
        # invocations end at once), then each region's services and stores, the sandbox, and
        # the queue service last (pollers and destinations use it until their region stops).
        lifecycle = self.lifecycle = Lifecycle()
        lifecycle.add("queues", start=self.queues.start, stop=self.queues.stop)
        lifecycle.add("sandbox", start=self.host.sandbox.select, stop=self.host.sandbox.close)
        regions = self.regions
        lifecycle.add(
            "regions",
            start=partial(regions.start, self.host.regions_with_state()),
            stop=regions.stop,
        )
        if self.topics is not None:
            # SNS delivers to functions and queues too: started after them, stopped before
            # them (undelivered notifications stay stored for the next start).
            lifecycle.add("sns", start=self.topics.start, stop=self.topics.stop)
        if self.events is not None:
            # Delivers to the regions' functions, the queues and SNS topics: started after
            # them, stopped before them (undelivered events stay stored for the next start).
            lifecycle.add("events", start=self.events.start, stop=self.events.stop)
        if self.scheduler is not None:
            # Its schedules are armed before the runner starts; its store closes after the
            # runner stopped (no fire in flight).
            lifecycle.add("scheduler", start=self.scheduler.start, stop=self.scheduler.stop)
        if self.schedules is not None:
            # Scheduled rules and Scheduler schedules fire into functions and queues: the
            # runner starts after them and stops before them.
            runner = self.schedules.runner
            lifecycle.add("schedule runner", start=runner.start, stop=runner.stop)
        lifecycle.add("environments", stop=self.stop_environments)
        lifecycle.add("bytecode compiler", stop=self.host.bytecode.close)
        lifecycle.add("payload checker", stop=self.host.payloads.close)

    async def start(self) -> None:
        await self.lifecycle.start()

    async def stop_environments(self) -> None:
        """Stop every execution environment of every region (asynchronous events stay
        queued for the next start)."""
        await self.regions.stop_environments()

    async def stop(self) -> None:
        await self.lifecycle.stop()


def build(settings: Settings) -> Lamina:
    host = build_host(settings)
    queues = build_queues(host)
    iam = build_iam(host)
    # The router's services deliver to the regions' functions and take their destinations'
    # records: built after the regions, handed to them through ``router``.
    router = RouterSinks()
    # KMS (docs/security.md): functions' KMSKeyArn names one of its keys.
    kms = build_kms(host)
    regions = Regions(
        settings.region,
        partial(RegionalLambda, host, queues=queue_ports(queues), router=router, kms=kms),
    )
    access = build_access(host)
    services = build_services(regions, access)
    add_queue_service(services, queues, access)
    add_kms_service(services, kms, access)
    add_iam_service(services, iam, access)
    # STS (global): its sessions, IAM users' keys join the edge's key book (docs/security.md).
    sts = build_sts(host, iam)
    add_sts_service(services, sts, access)
    schedules = Schedules()
    topics = build_sns(host, regions, queue_ports(queues))
    add_sns_service(services, topics, access)
    events = build_events(
        host, regions, queue_ports(queues), topic_sink(topics), runner=schedules.runner
    )
    add_events_service(services, events, access)
    functions = RegionsFunctionSink(regions, settings.account_id)
    scheduler = build_scheduler(
        host, schedules, functions, queue_ports(queues), topic_sink(topics), events
    )
    add_scheduler_service(services, scheduler, access)
    router.topics, router.buses = topic_sink(topics), events
    apigateway = build_apigateway(host, regions)
    add_apigateway_services(services, apigateway, access, settings.base_url)
    # Permissions (--iam audit|enforce, docs/security.md "Permissions"): nothing under off.
    authorizer = install_authorizer(
        settings.iam, host, access, iam, regions, queues, topics, events, scheduler
    )
    app = build_edge(host, regions, services, access, schedules.clock)
    # API Gateway stages (docs/http.md), asked before the AWS APIs.
    app.triggers.append(apigateway.trigger)
    # Function URLs (docs/http.md), asked before the AWS APIs.
    app.triggers.append(
        FunctionUrlTrigger(
            regions.all, settings.account_id, host.keys, settings.auth_mode, authorizer
        )
    )
    add_sns_links(app, topics)
    lamina = Lamina(
        settings,
        host,
        regions,
        queues,
        app,
        events,
        topics,
        schedules,
        scheduler,
        iam,
    )
    lamina.lifecycle.add("api gateway store", stop=apigateway.stop)
    lamina.lifecycle.add("kms store", stop=kms.close)
    lamina.lifecycle.add("iam store", stop=iam.stop)
    lamina.lifecycle.add("sts store", stop=_closer(sts.sessions.close))
    return lamina


def _closer(close: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    async def stop() -> None:
        close()

    return stop


def function_peers(lamina: Lamina) -> FunctionPeers | None:
    """With ``--function-network host``, isolated functions reach the API port directly:
    their connections are told apart by their environments' uids (api/function_peers.py)."""
    backend = lamina.sandbox.backend
    if lamina.settings.function_network != "host" or lamina.relayed is None:
        return None
    if not isinstance(backend, LinuxSandbox):
        return None
    return FunctionPeers(lamina.relayed, backend.users.owns)


def _graceful_server_class() -> Any:
    import uvicorn

    class GracefulServer(uvicorn.Server):
        """Stops on SIGINT/SIGTERM and returns, so Lamina can shut down and exit 0.

        (uvicorn re-raises the signal after its own shutdown, which would kill the
        process before environments are stopped and logs flushed.)
        """

        on_exit: Callable[[], Awaitable[None]] | None = None
        _exiting: asyncio.Future[None] | None = None

        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            # Stop environments now: in-flight invocations end at once instead of holding
            # the shutdown until their timeout.
            if self.on_exit is not None and self._exiting is None:
                self._exiting = asyncio.ensure_future(self.on_exit())

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.handle_exit, sig, None)
            try:
                yield
            finally:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)

    return GracefulServer


async def serve(settings: Settings) -> None:
    import uvicorn

    _GracefulServer = _graceful_server_class()

    lamina = build(settings)
    # What uvicorn imports when it starts serving, imported meanwhile in a thread: the
    # sandbox's start mostly waits on the spawner process, and environments prepared ahead
    # right after it are not held up by imports on the event loop.
    preloading = asyncio.ensure_future(asyncio.to_thread(preload_modules, EDGE_MODULES))
    # Everything loaded so far (botocore's service model, modules, the app) lives as long
    # as the server: out of the collector's sight, a full collection takes a millisecond
    # or two instead of tens, which every request in flight would wait for. Collected
    # before the start, so the full collection does not delay what the start prepares.
    gc.collect()
    gc.freeze()
    try:
        await lamina.start()
    finally:
        await preloading
    gc.freeze()  # what the start added, without another full collection
    # Requests free what they allocate as they go (reference counting); a young-generation
    # collection every 700 net allocations mostly scans in-flight requests' objects again.
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])
    # The event loop gives the GIL up at every poll; while a thread works through an upload
    # (decoding, hashing, reading a zip's directory) it waited up to the switch interval to
    # get it back, each time: 5 ms by default, tens of milliseconds per warm invoke.
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    # The API port's bounds (api/http_protocol.py): header size, idle connections, and a
    # connection cap well below the open-files limit.
    max_connections = connection_cap(settings.max_connections, raise_open_files_limit())
    config = uvicorn.Config(
        lamina.app,
        host=settings.host,
        port=settings.port,
        http=bounded_protocol(
            max_connections,
            DEFAULT_MAX_HEADER_BYTES,
            function_peers(lamina),
            lean=lamina.app,
        ),
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_keep_alive=settings.keep_alive_timeout,
        # The client address is the connection's: never a header's. (uvicorn trusts
        # X-Forwarded-For from loopback by default, where the functions' relay connects from.)
        proxy_headers=False,
    )
    server = _GracefulServer(config)
    server.on_exit = lamina.stop_environments
    print(
        f"Lamina listening on {settings.base_url} "
        f"(account {settings.account_id}, region {settings.region}, "
        f"data {settings.data_dir}, sandbox: {lamina.sandbox.name})",
        flush=True,
    )
    stalls = None
    if settings.stall_report_ms:
        stalls = asyncio.ensure_future(watch_stalls(settings.stall_report_ms))
    try:
        await server.serve()
    finally:
        if stalls is not None:
            stalls.cancel()
        await lamina.stop()
        print("Lamina stopped", flush=True)


# Net container allocations between young-generation collections (CPython's default: 700).
YOUNG_COLLECTION_THRESHOLD = 10_000

# How long a thread that wants the GIL waits before the holder is made to give it up
# (CPython's default: 5 ms). Throughput under load is the same at 1 ms (A/B, 16 clients).
GIL_SWITCH_INTERVAL_S = 0.001

# Modules uvicorn imports as it starts serving (its lifespan and WebSocket protocol
# modules, the IDNA codec of the listening address): missing ones are skipped.
EDGE_MODULES = (
    "uvicorn.lifespan.off",
    "uvicorn.protocols.websockets.auto",
    "encodings.idna",
)


def preload_modules(names: tuple[str, ...]) -> None:
    """Import ``names`` (blocking: run it in a thread); a module that cannot be imported
    is left for whoever needs it to report."""
    for name in names:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def run(settings: Settings) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    runner: Any
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        runner = asyncio.run
    runner(serve(settings))
    sys.stdout.flush()
