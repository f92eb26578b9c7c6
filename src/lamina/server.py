"""The one place that picks concrete adapters and wires Lamina together."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from lamina.api.access import EdgeAccess
from lamina.api.app import EdgeApp
from lamina.api.function_peers import FunctionPeers
from lamina.api.guard import HostAllowList
from lamina.api.http_protocol import (
    DEFAULT_MAX_HEADER_BYTES,
    bounded_protocol,
    connection_cap,
    raise_open_files_limit,
)
from lamina.api.internal import CodeLinks, async_endpoint, health, metrics_endpoint
from lamina.api.lambda_api import lambda_handlers
from lamina.api.logs_api import handle_logs_request
from lamina.api.model import lambda_model
from lamina.config import Settings
from lamina.domain.callers import FunctionApiPolicy
from lamina.domain.models import FunctionConfig
from lamina.runtime.admission import (
    Admission,
    HostBudget,
    HostCapacity,
    render_admission_metrics,
)
from lamina.runtime.api_proxy import RelayedConnections, serve_proxy
from lamina.runtime.bytecode import BytecodeCompiler
from lamina.runtime.concurrency import ConcurrencyLimiter
from lamina.runtime.credentials import CredentialRegistry
from lamina.runtime.environment import Environment
from lamina.runtime.isolation import SelectedSandbox
from lamina.runtime.launch import (
    EnvironmentPaths,
    LaunchPlan,
    is_python_runtime,
    plan_launch,
    sdk_path,
)
from lamina.runtime.linux_sandbox import LinuxSandbox
from lamina.runtime.pool import EnvironmentPool
from lamina.runtime.provisioned import ProvisionedEnvironments
from lamina.services.aliases import AliasService
from lamina.services.async_invoke import AsyncInvoker
from lamina.services.concurrency import ConcurrencyService
from lamina.services.event_invoke_config import EventInvokeConfigService
from lamina.services.functions import FunctionService
from lamina.services.invoke import InvokeService
from lamina.services.layers import LayerService
from lamina.services.logs import LogService
from lamina.services.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from lamina.services.metrics import MetricsCollector
from lamina.services.provisioned import ProvisionedConcurrencyService
from lamina.services.versions import VersionService
from lamina.store.aliases import SqliteAliasStore
from lamina.store.async_queue import AsyncQueueStore
from lamina.store.code import CodeStore
from lamina.store.concurrency import SqliteConcurrencyStore
from lamina.store.data_dir import prepare_data_dir
from lamina.store.disk_full import SpaceReserve
from lamina.store.event_invoke_config import SqliteEventInvokeConfigStore
from lamina.store.functions import SqliteFunctionStore
from lamina.store.layers import SqliteLayerStore
from lamina.store.log_store import SqliteLogStore
from lamina.store.provisioned import SqliteProvisionedStore

log = logging.getLogger("lamina")


@dataclass
class Lamina:
    settings: Settings
    app: EdgeApp
    functions: FunctionService
    invoke: InvokeService
    pool: EnvironmentPool
    logs: LogService
    sandbox: SelectedSandbox
    store: SqliteFunctionStore
    layers: LayerService | None = None
    concurrency: ConcurrencyService | None = None
    aliases: AliasService | None = None
    metrics: MetricsCollector | None = None
    provisioned: ProvisionedConcurrencyService | None = None
    async_invoke: AsyncInvoker | None = None
    event_configs: EventInvokeConfigService | None = None
    bytecode: BytecodeCompiler | None = None
    relayed: RelayedConnections | None = None

    async def start(self) -> None:
        await self.sandbox.select()
        await self.logs.start()
        self.pool.start()
        if self.provisioned is not None:
            self.provisioned.start()
        if self.async_invoke is not None:
            await self.async_invoke.start()

    async def stop_environments(self) -> None:
        """Stop every execution environment: on-demand and provisioned. Asynchronous events
        stop being dispatched first: those not done stay queued for the next start."""
        if self.async_invoke is not None:
            self.async_invoke.pause()
        if self.provisioned is not None:
            await asyncio.gather(self.pool.stop_all(), self.provisioned.stop())
        else:
            await self.pool.stop_all()

    async def stop(self) -> None:
        if self.bytecode is not None:
            self.bytecode.close()
        await self.stop_environments()
        await self.sandbox.close()
        if self.async_invoke is not None:
            await self.async_invoke.stop()
        await self.logs.stop()
        self.store.close()
        if self.layers is not None:
            self.layers.close()
        if self.concurrency is not None:
            self.concurrency.store.close()
        if self.aliases is not None:
            self.aliases.close()
        if self.provisioned is not None:
            self.provisioned.close()
        if self.event_configs is not None:
            self.event_configs.close()


def build(settings: Settings) -> Lamina:
    data = settings.data_dir
    prepare_data_dir(data)  # 0700, databases 0600
    store = SqliteFunctionStore(data / "lamina.sqlite3")
    code = CodeStore(
        data / "code",
        settings.code_storage_limit_mb * 1024 * 1024,
        SpaceReserve(data / "space-reserve"),  # deletions work on a full disk
    )
    logs = LogService(
        SqliteLogStore(data / "logs.sqlite3", default_retention_days=settings.log_retention_days),
        storage_limit_bytes=(settings.log_storage_mb << 20) or None,
    )
    sandbox = SelectedSandbox(
        settings.isolation,
        data,
        settings.port,
        settings.function_network,
        tmp_storage=settings.tmp_storage,
    )
    sdk_dir = sdk_path(data / "runtime-sdk")
    sandbox.sdk_dir = sdk_dir
    links = CodeLinks(settings.base_url, secrets.token_bytes(32), code)
    layer_store = SqliteLayerStore(data / "lamina.sqlite3")
    layers = LayerService(
        layer_store, store, code, settings.region, settings.account_id, links.url, data / "opt"
    )

    pool_ref: list[EnvironmentPool] = []
    # Execution-role credentials of live environments, and the relay's upstream connections:
    # the edge authenticates calls made from inside environments with both (api/access.py).
    credentials = CredentialRegistry()
    relayed = RelayedConnections()
    function_policy = FunctionApiPolicy(settings.function_api_access)

    def function_endpoint() -> str:
        """``AWS_ENDPOINT_URL`` of functions: the relay's listener inside an environment's
        own network namespace, else the server itself."""
        if sandbox.runtime_api_address(settings.function_network) is not None:
            return f"http://127.0.0.1:{settings.port}"
        return settings.base_url

    def make_environment(
        config: FunctionConfig,
        on_dead: Callable[[Environment], None] | None = None,
        initialization_type: str = "on-demand",
    ) -> Environment:
        issued: list[str] = []

        def plan(runtime_api: str, log_stream: str) -> LaunchPlan:
            where = EnvironmentPaths.isolated if sandbox.isolated_fs else EnvironmentPaths.plain
            paths = where(code.extracted(config.code_sha256), sdk_dir, layers.layers_dir(config))
            role = credentials.issue(config.name, config.role, config.effective_log_group)
            issued.append(role.access_key_id)
            launch = plan_launch(
                config,
                paths,
                runtime_api,
                log_stream,
                function_endpoint(),
                initialization_type,
                role.as_environment(),
            )
            if is_python_runtime(config.runtime or ""):
                # Later cold starts of this package import bytecode instead of compiling.
                bytecode.ensure(paths.host_task_root, launch.argv[0])
                bytecode.ensure(paths.host_opt_root, launch.argv[0])
            return launch

        async def serve_lamina_api(listener: socket.socket) -> asyncio.AbstractServer:
            return await serve_proxy(listener, settings.connect_host, settings.port, relayed)

        forget_environment = on_dead or pool_ref[0].on_dead

        def died(env: Environment) -> None:
            # The credentials die with the environment, wherever they are presented.
            for key in issued:
                credentials.revoke(key)
            forget_environment(env)

        return Environment(
            config,
            sandbox,
            plan,
            logs,
            died,
            network=settings.function_network,
            serve_lamina_api=serve_lamina_api,
        )

    bytecode = BytecodeCompiler(code.root, code.lock, f"compile-port-{settings.port}")
    # Host admission (runtime/admission.py): on-demand and provisioned environments share it.
    admission = Admission(
        HostCapacity(
            HostBudget.of_host(
                settings.host_memory_overcommit,
                settings.host_cpu_overcommit,
                settings.max_cold_starts,
            )
        )
    )
    pool = EnvironmentPool(make_environment, settings.idle_timeout, admission)
    pool_ref.append(pool)
    concurrency_ref: list[ConcurrencyService] = []
    provisioned_ref: list[ProvisionedConcurrencyService] = []
    event_configs_ref: list[EventInvokeConfigService] = []

    def make_provisioned(
        config: FunctionConfig, on_dead: Callable[[Environment], None]
    ) -> Environment:
        return make_environment(config, on_dead, "provisioned-concurrency")

    def function_changed(name: str) -> None:
        pool.retire_function(name)
        if provisioned_ref:
            provisioned_ref[0].function_changed(name)
        if concurrency_ref:
            concurrency_ref[0].function_changed(name)
        if event_configs_ref:
            event_configs_ref[0].function_changed(name)

    functions = FunctionService(
        store,
        code,
        settings.region,
        settings.account_id,
        links.url,
        function_changed,
        layers=layers,
    )
    aliases = AliasService(SqliteAliasStore(data / "lamina.sqlite3"), functions)
    functions.aliases = aliases
    versions = VersionService(functions)
    limiter = ConcurrencyLimiter(
        settings.concurrency_limit,
        unreserved_minimum=settings.unreserved_minimum,
        scaling_burst=settings.scaling_rate,
        scaling_window=settings.scaling_window,
    )
    # Provisioned concurrency stats (``provisioned_stats``) are wired in below.
    metrics = MetricsCollector(limiter, pool)
    invoke = InvokeService(functions, pool, limiter, metrics)
    invoke.admission_wait = settings.admission_wait
    concurrency = ConcurrencyService(
        SqliteConcurrencyStore(data / "lamina.sqlite3"),
        functions,
        limiter,
        on_capacity=invoke.capacity_changed,
    )
    concurrency_ref.append(concurrency)
    functions.reserved_concurrency = concurrency.reserved
    environments = ProvisionedEnvironments(make_provisioned, limiter, admission)
    environments.on_idle = invoke.capacity_changed
    invoke.provisioned = environments
    provisioned = ProvisionedConcurrencyService(
        SqliteProvisionedStore(data / "lamina.sqlite3"),
        functions,
        aliases,
        limiter,
        environments,
        on_capacity=invoke.capacity_changed,
    )
    provisioned_ref.append(provisioned)
    aliases.on_change = provisioned.alias_changed
    metrics.provisioned_stats = provisioned.stats

    event_configs = EventInvokeConfigService(
        SqliteEventInvokeConfigStore(data / "lamina.sqlite3"), functions
    )
    event_configs_ref.append(event_configs)
    async_invoke = AsyncInvoker(
        AsyncQueueStore(data / "async.sqlite3"),
        invoke,
        functions,
        event_configs,
        delay_scale=settings.async_delay_scale,
    )
    invoke.event_queue = async_invoke.enqueue
    invoke.on_capacity = async_invoke.capacity_changed

    metrics.sources.append(async_invoke.render_metrics)
    metrics.sources.append(logs.render_metrics)
    metrics.sources.append(partial(render_admission_metrics, admission))

    async def logs_handler(target: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        return await handle_logs_request(target, body, logs)

    app = EdgeApp(
        lambda_model(),
        lambda_handlers(
            functions,
            invoke,
            layers,
            concurrency,
            versions,
            aliases,
            provisioned,
            event_configs=event_configs,
        ),
        logs_handler=logs_handler,
        internal={
            "/_lamina/code/": links.serve,
            "/_lamina/health": health,
            "/_lamina/metrics": metrics_endpoint(metrics.render, METRICS_CONTENT_TYPE),
            "/_lamina/async": async_endpoint(async_invoke.snapshot),
        },
        access=EdgeAccess(
            HostAllowList(settings.host, settings.public_url),
            credentials,
            relayed,
            function_policy,
            settings.account_id,
            settings.region,
        ),
    )
    return Lamina(
        settings,
        app,
        functions,
        invoke,
        pool,
        logs,
        sandbox,
        store,
        layers=layers,
        concurrency=concurrency,
        aliases=aliases,
        metrics=metrics,
        provisioned=provisioned,
        async_invoke=async_invoke,
        event_configs=event_configs,
        bytecode=bytecode,
        relayed=relayed,
    )


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
    await lamina.start()
    # Everything loaded so far (botocore's service model, modules, the app) lives as long
    # as the server: out of the collector's sight, a full collection takes a millisecond
    # or two instead of tens, which every request in flight would wait for.
    gc.collect()
    gc.freeze()
    # The API port's bounds (api/http_protocol.py): header size, idle connections, and a
    # connection cap well below the open-files limit.
    max_connections = connection_cap(settings.max_connections, raise_open_files_limit())
    config = uvicorn.Config(
        lamina.app,
        host=settings.host,
        port=settings.port,
        http=bounded_protocol(max_connections, DEFAULT_MAX_HEADER_BYTES, function_peers(lamina)),
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_keep_alive=settings.keep_alive_timeout,
    )
    server = _GracefulServer(config)
    server.on_exit = lamina.stop_environments
    print(
        f"Lamina listening on {settings.base_url} "
        f"(account {settings.account_id}, region {settings.region}, "
        f"data {settings.data_dir}, sandbox: {lamina.sandbox.name})",
        flush=True,
    )
    try:
        await server.serve()
    finally:
        await lamina.stop()
        print("Lamina stopped", flush=True)


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
