"""One region's Lambda: its stores, services, environments and handlers.

Regions are independent, as on AWS: functions, layers, aliases, concurrency limits, the
asynchronous-event queue and CloudWatch Logs of ``eu-west-1`` are not those of
``us-east-1``. Each region has its own databases (``HostParts.region_dir``) and its own pool of
environments; the host's capacity, sandbox and code store are shared.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from functools import partial

from lamina.api.endpoints import Handler
from lamina.api.lambda_api import lambda_handlers
from lamina.api.logs_api import logs_handlers
from lamina.domain.destinations import Destination
from lamina.domain.models import FunctionConfig
from lamina.lifecycle import Lifecycle
from lamina.runtime.admission import render_admission_metrics
from lamina.runtime.api_proxy import serve_proxy
from lamina.runtime.concurrency import ConcurrencyLimiter
from lamina.runtime.environment import Environment
from lamina.runtime.launch import EnvironmentPaths, LaunchPlan, is_python_runtime, plan_launch
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
from lamina.services.metrics import MetricsCollector
from lamina.services.provisioned import ProvisionedConcurrencyService
from lamina.services.versions import VersionService
from lamina.store.aliases import SqliteAliasStore
from lamina.store.async_queue import AsyncQueueStore
from lamina.store.concurrency import SqliteConcurrencyStore
from lamina.store.event_invoke_config import SqliteEventInvokeConfigStore
from lamina.store.functions import SqliteFunctionStore
from lamina.store.layers import SqliteLayerStore
from lamina.store.log_store import SqliteLogStore
from lamina.store.provisioned import SqliteProvisionedStore
from lamina.wiring.host import HostParts


class RegionalLambda:
    """The Lambda service of one region, wired. ``start``/``stop_environments``/``stop``
    follow the server's shutdown order (environments stop before the sandbox closes,
    stores close last)."""

    def __init__(
        self,
        host: HostParts,
        region: str,
        destinations: dict[str, Destination] | None = None,
    ) -> None:
        settings = host.settings
        self.region = region
        self.lifecycle = Lifecycle()
        data = host.region_dir(region)
        database = data / "lamina.sqlite3"
        account = settings.account_id

        self.store = SqliteFunctionStore(database)
        self.logs = LogService(
            SqliteLogStore(
                data / "logs.sqlite3", default_retention_days=settings.log_retention_days
            ),
            region=region,
            account=account,
            storage_limit_bytes=(settings.log_storage_mb << 20) or None,
        )
        self.layers = LayerService(
            SqliteLayerStore(database),
            self.store,
            host.code,
            region,
            account,
            host.links.url,
            host.data / "opt",
        )
        self.pool = EnvironmentPool(
            partial(self._make_environment, host), settings.idle_timeout, host.admission
        )
        self.functions = FunctionService(
            self.store,
            host.code,
            region,
            account,
            host.links.url,
            self._function_changed,
            layers=self.layers,
        )
        self.aliases = AliasService(SqliteAliasStore(database), self.functions)
        self.functions.aliases = self.aliases
        self.versions = VersionService(self.functions)
        self.limiter = ConcurrencyLimiter(
            settings.concurrency_limit,
            unreserved_minimum=settings.unreserved_minimum,
            scaling_burst=settings.scaling_rate,
            scaling_window=settings.scaling_window,
        )
        self.metrics = MetricsCollector(self.limiter, self.pool)
        self.invoke = InvokeService(self.functions, self.pool, self.limiter, self.metrics)
        self.invoke.admission_wait = settings.admission_wait
        self.concurrency = ConcurrencyService(
            SqliteConcurrencyStore(database),
            self.functions,
            self.limiter,
            on_capacity=self.invoke.capacity_changed,
        )
        self.functions.reserved_concurrency = self.concurrency.reserved
        self.environments = ProvisionedEnvironments(
            partial(self._make_provisioned, host), self.limiter, host.admission
        )
        self.environments.on_idle = self.invoke.capacity_changed
        self.invoke.provisioned = self.environments
        self.provisioned = ProvisionedConcurrencyService(
            SqliteProvisionedStore(database),
            self.functions,
            self.aliases,
            self.limiter,
            self.environments,
            on_capacity=self.invoke.capacity_changed,
        )
        self.aliases.on_change = self.provisioned.alias_changed
        self.metrics.provisioned_stats = self.provisioned.stats
        self.event_configs = EventInvokeConfigService(
            SqliteEventInvokeConfigStore(database), self.functions
        )
        self.async_invoke = AsyncInvoker(
            AsyncQueueStore(data / "async.sqlite3"),
            self.invoke,
            self.functions,
            self.event_configs,
            delay_scale=settings.async_delay_scale,
            destinations=destinations,
        )
        self.invoke.event_queue = self.async_invoke.enqueue
        self.invoke.on_capacity = self.async_invoke.capacity_changed
        self.metrics.sources.append(self.async_invoke.render_metrics)
        self.metrics.sources.append(self.logs.render_metrics)
        self.metrics.sources.append(partial(render_admission_metrics, host.admission))
        # Listeners of "a function changed or was deleted" beyond this module's own.
        self.function_listeners: list[Callable[[str], None]] = []

        self.lambda_handlers: dict[str, Handler] = lambda_handlers(
            self.functions,
            self.invoke,
            self.layers,
            self.concurrency,
            self.versions,
            self.aliases,
            self.provisioned,
            event_configs=self.event_configs,
        )
        self.logs_handlers: dict[str, Handler] = logs_handlers(self.logs)

        lifecycle = self.lifecycle
        lifecycle.add("logs", start=self.logs.start, stop=self.logs.stop)
        lifecycle.add("pool", start=self.pool.start)
        lifecycle.add("provisioned", start=self.provisioned.start)
        lifecycle.add("async invocations", start=self.async_invoke.start, stop=self._stop_async)
        lifecycle.add("stores", stop=self._close_stores)

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        await self.lifecycle.start()

    async def stop_environments(self) -> None:
        """Stop every execution environment: on-demand and provisioned. Asynchronous events
        stop being dispatched first: those not done stay queued for the next start."""
        self.async_invoke.pause()
        await asyncio.gather(self.pool.stop_all(), self.provisioned.stop())

    async def stop(self) -> None:
        await self.lifecycle.stop()

    async def _stop_async(self) -> None:
        await self.async_invoke.stop()

    def _close_stores(self) -> None:
        self.store.close()
        self.layers.close()
        self.concurrency.store.close()
        self.aliases.close()
        self.provisioned.close()
        self.event_configs.close()

    # --- wiring -----------------------------------------------------------------------------

    def _function_changed(self, name: str) -> None:
        self.pool.retire_function(name)
        self.provisioned.function_changed(name)
        self.concurrency.function_changed(name)
        self.event_configs.function_changed(name)
        for listener in self.function_listeners:
            listener(name)

    def _make_provisioned(
        self, host: HostParts, config: FunctionConfig, on_dead: Callable[[Environment], None]
    ) -> Environment:
        return self._make_environment(host, config, on_dead, "provisioned-concurrency")

    def _make_environment(
        self,
        host: HostParts,
        config: FunctionConfig,
        on_dead: Callable[[Environment], None] | None = None,
        initialization_type: str = "on-demand",
    ) -> Environment:
        settings = host.settings
        sandbox = host.sandbox
        issued: list[str] = []

        def plan(runtime_api: str, log_stream: str) -> LaunchPlan:
            where = EnvironmentPaths.isolated if sandbox.isolated_fs else EnvironmentPaths.plain
            paths = where(
                host.code.extracted(config.code_sha256),
                host.sdk_dir,
                self.layers.layers_dir(config),
            )
            role = host.credentials.issue(config.name, config.role, config.effective_log_group)
            issued.append(role.access_key_id)
            launch = plan_launch(
                config,
                paths,
                runtime_api,
                log_stream,
                host.function_endpoint(),
                initialization_type,
                role.as_environment(),
            )
            if is_python_runtime(config.runtime or ""):
                # Later cold starts of this package import bytecode instead of compiling.
                host.bytecode.ensure(paths.host_task_root, launch.argv[0])
                host.bytecode.ensure(paths.host_opt_root, launch.argv[0])
            return launch

        async def serve_lamina_api(listener: socket.socket) -> asyncio.AbstractServer:
            return await serve_proxy(listener, settings.connect_host, settings.port, host.relayed)

        forget_environment = on_dead or self.pool.on_dead

        def died(env: Environment) -> None:
            # The credentials die with the environment, wherever they are presented.
            for key in issued:
                host.credentials.revoke(key)
            forget_environment(env)

        return Environment(
            config,
            sandbox,
            plan,
            self.logs,
            died,
            network=settings.function_network,
            serve_lamina_api=serve_lamina_api,
        )
