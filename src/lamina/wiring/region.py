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
from pathlib import Path

from lamina.api.endpoints import Handler
from lamina.api.event_source_api import event_source_handlers, with_mapping_tags
from lamina.api.function_url_api import function_url_handlers
from lamina.api.lambda_api import lambda_handlers
from lamina.api.lambda_config_api import lambda_config_handlers
from lamina.api.lambda_kms_key import invoke_key_check, with_kms_key_check
from lamina.api.lambda_policy_api import policy_handlers
from lamina.api.lambda_recursion_api import recursion_handlers
from lamina.api.lambda_signing_api import code_signing_handlers, with_code_signing
from lamina.api.lambda_streaming_api import streaming_handlers
from lamina.api.lambda_unsupported_api import unsupported_handlers
from lamina.api.logs_api import logs_handlers
from lamina.domain.destinations import Destination
from lamina.domain.models import FunctionConfig
from lamina.lifecycle import Lifecycle
from lamina.runtime.admission import render_admission_metrics
from lamina.runtime.api_proxy import serve_proxy
from lamina.runtime.concurrency import ConcurrencyLimiter
from lamina.runtime.environment import Environment
from lamina.runtime.launch import EnvironmentPaths, LaunchPlan, is_python_runtime, plan_launch
from lamina.runtime.log_lines import NewlineTerminated
from lamina.runtime.pool import EnvironmentPool
from lamina.runtime.provisioned import ProvisionedEnvironments
from lamina.services.alias_book import AliasBook
from lamina.services.aliases import AliasService
from lamina.services.async_invoke import AsyncInvoker
from lamina.services.code_signing import CodeSigningService
from lamina.services.concurrency import ConcurrencyService
from lamina.services.destination_gate import gated
from lamina.services.event_invoke_config import EventInvokeConfigService
from lamina.services.event_sources.invoker import InvokeServiceInvoker
from lamina.services.event_sources.mappings import EventSourceMappingService
from lamina.services.function_catalog import FunctionCatalog
from lamina.services.function_packages import FunctionPackages
from lamina.services.function_policies import FunctionPolicies
from lamina.services.function_urls import FunctionUrlService
from lamina.services.functions import FunctionService
from lamina.services.invoke import InvokeService
from lamina.services.kms.service import KmsService
from lamina.services.layers import LayerService
from lamina.services.logs import LogService
from lamina.services.metrics import MetricsCollector
from lamina.services.provisioned import ProvisionedConcurrencyService
from lamina.services.queue_destination import QueueDestination
from lamina.services.queue_ports import QueuePorts
from lamina.services.recursion import RecursionGuard
from lamina.services.router_destinations import (
    EventBusDestination,
    RouterSinks,
    TopicDestination,
)
from lamina.services.runtime_management import RuntimeManagementService
from lamina.services.signals import LambdaSignals
from lamina.services.url_address import UrlAddresses
from lamina.services.versions import VersionService
from lamina.store.aliases import SqliteAliasStore
from lamina.store.async_queue import AsyncQueueStore
from lamina.store.code_signing_store import SqliteCodeSigningStore
from lamina.store.concurrency import SqliteConcurrencyStore
from lamina.store.event_invoke_config import SqliteEventInvokeConfigStore
from lamina.store.event_source_mappings import SqliteEventSourceMappingStore
from lamina.store.function_options_store import SqliteFunctionOptionsStore
from lamina.store.function_policy_store import SqliteFunctionPolicyStore
from lamina.store.function_url_store import SqliteFunctionUrlStore
from lamina.store.functions import SqliteFunctionStore
from lamina.store.layers import SqliteLayerStore
from lamina.store.log_store import SqliteLogStore
from lamina.store.provisioned import SqliteProvisionedStore
from lamina.wiring.host import HostParts
from lamina.wiring.warmup import warm_existing, warming_handlers


class RegionalLambda:
    """The Lambda service of one region, wired. ``start``/``stop_environments``/``stop``
    follow the server's shutdown order (environments stop before the sandbox closes,
    stores close last)."""

    def __init__(
        self,
        host: HostParts,
        region: str,
        queues: QueuePorts | None = None,
        router: RouterSinks | None = None,
        kms: KmsService | None = None,
    ) -> None:
        settings = host.settings
        self.region = region
        self.lifecycle = Lifecycle()
        data = host.region_dir(region)
        database = data / "lamina.sqlite3"
        account = settings.account_id

        self.signals = LambdaSignals()
        self.store = SqliteFunctionStore(database, host.sealer)
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
        self.alias_book = AliasBook(SqliteAliasStore(database))
        self.catalog = FunctionCatalog(self.store, self.alias_book, region, account)
        # Recursive loop detection, runtime management and code signing (their own
        # tables; rows go with their function).
        self.function_options = SqliteFunctionOptionsStore(database)
        self.recursion = RecursionGuard(self.function_options, self.catalog)
        self.signals.function_deleted.connect(self.recursion.function_deleted)
        self.runtime_management = RuntimeManagementService(self.function_options, self.catalog)
        self.code_signing = CodeSigningService(
            SqliteCodeSigningStore(database), self.catalog, region, account
        )
        self.functions = FunctionService(
            self.catalog,
            FunctionPackages(host.code, self.store, self.layers),
            self.signals,
            host.links.url,
            settings.function_update_seconds,
        )
        # First listener: a changed function's warm environments retire before anything else.
        self.signals.function_changed.connect(self._function_changed)
        self.aliases = AliasService(self.alias_book, self.catalog, self.signals)
        # Resource-based policies (AddPermission...); they go with their function, version
        # or alias.
        self.policies = FunctionPolicies(
            SqliteFunctionPolicyStore(database), self.catalog, self.alias_book, region, account
        )
        self.signals.function_changed.connect(self.policies.function_changed)
        self.signals.alias_changed.connect(self.policies.alias_changed)
        self.versions = VersionService(self.catalog)
        self.limiter = ConcurrencyLimiter(
            settings.concurrency_limit,
            unreserved_minimum=settings.unreserved_minimum,
            scaling_burst=settings.scaling_rate,
            scaling_window=settings.scaling_window,
        )
        self.environments = ProvisionedEnvironments(
            partial(self._make_provisioned, host),
            self.limiter,
            host.admission,
            on_idle=self.signals.capacity_freed.emit,
        )
        self.metrics = MetricsCollector(
            self.limiter, self.pool, provisioned_stats=self.environments.stats
        )
        self.invoke = InvokeService(
            self.catalog,
            self.pool,
            self.limiter,
            self.metrics,
            self.environments,
            self.signals,
            admission_wait=settings.admission_wait,
            recursion=self.recursion,
            payloads=host.payloads,
        )
        self.concurrency = ConcurrencyService(
            SqliteConcurrencyStore(database), self.catalog, self.limiter, self.signals
        )
        self.provisioned = ProvisionedConcurrencyService(
            SqliteProvisionedStore(database),
            self.catalog,
            self.alias_book,
            self.limiter,
            self.environments,
            self.signals,
        )
        self.event_configs = EventInvokeConfigService(
            SqliteEventInvokeConfigStore(database), self.catalog, self.alias_book
        )
        self.signals.function_changed.connect(self.provisioned.function_changed)
        self.signals.function_changed.connect(self.concurrency.function_changed)
        self.signals.function_changed.connect(self.event_configs.function_changed)
        self.signals.alias_changed.connect(self.provisioned.alias_changed)
        # Function URLs (docs/http.md): their rows go with their function.
        self.function_urls = FunctionUrlService(
            SqliteFunctionUrlStore(database),
            self.catalog,
            self.alias_book,
            UrlAddresses(settings.base_url),
            region,
        )
        self.signals.function_deleted.connect(self.function_urls.function_deleted)
        self.async_invoke = AsyncInvoker(
            AsyncQueueStore(data / "async.sqlite3"),
            self.invoke,
            self.functions,
            self.event_configs,
            delay_scale=settings.async_delay_scale,
            # SQS queues and SNS topics as destinations and dead-letter queues, event
            # buses as destinations.
            destinations=_router_destinations(queues, router),
        )
        # --iam enforce: destinations act with the function's role (services/destination_gate).
        self.async_invoke.destinations = gated(
            self.async_invoke.destinations, host.destination_gate, region
        )
        self.signals.capacity_freed.connect(self.async_invoke.capacity_changed)
        self.metrics.add_source(self.async_invoke.render_metrics)
        self.metrics.add_source(self.logs.render_metrics)
        self.metrics.add_source(self.recursion.render_metrics)
        self.metrics.add_source(partial(render_admission_metrics, host.admission))

        self.lambda_handlers: dict[str, Handler] = lambda_handlers(
            self.functions,
            self.invoke,
            self.async_invoke,
            self.layers,
            self.versions,
            self.concurrency,
            lambda_config_handlers(
                self.aliases, self.concurrency, self.provisioned, self.event_configs
            ),
        )
        # InvokeWithResponseStream (api/lambda_streaming_api.py).
        self.lambda_handlers.update(streaming_handlers(self.invoke))
        self.lambda_handlers.update(policy_handlers(self.policies))
        # A runtime's spawner starts when a function needs it next (wiring/warmup.py).
        self.lambda_handlers.update(function_url_handlers(self.function_urls))
        self.lambda_handlers.update(code_signing_handlers(self.code_signing))
        self.lambda_handlers = with_code_signing(self.code_signing, self.lambda_handlers)
        if kms is not None:
            # KMSKeyArn names a key KMS could grant (api/lambda_kms_key.py).
            self.lambda_handlers = with_kms_key_check(kms, self.lambda_handlers)
            # ... and can decrypt the variables when the function is invoked.
            self.invoke.kms_key_check = invoke_key_check(kms, account)
        self.lambda_handlers.update(recursion_handlers(self.recursion, self.runtime_management))
        self.lambda_handlers = warming_handlers(self.lambda_handlers, host.warm_runtime)
        self.logs_handlers: dict[str, Handler] = logs_handlers(self.logs)

        lifecycle = self.lifecycle
        warm_runtimes = partial(warm_existing, self.store.all_versions, host.warm_runtime)
        # Updates a previous run stored but did not apply are applied first.
        updates = self.functions.updates
        lifecycle.add("function updates", start=updates.recover, stop=updates.stop)
        lifecycle.add("runtimes", start=warm_runtimes)
        lifecycle.add("logs", start=self.logs.start, stop=self.logs.stop)
        lifecycle.add("pool", start=self.pool.start)
        lifecycle.add("provisioned", start=self.provisioned.start)
        lifecycle.add("async invocations", start=self.async_invoke.start, stop=self._stop_async)

        # Event source mappings: pollers of the region's SQS queues.
        self.event_sources: EventSourceMappingService | None = None
        if queues is not None:
            mapping_store = SqliteEventSourceMappingStore(database)
            self.event_sources = mappings = EventSourceMappingService(
                mapping_store,
                queues,
                InvokeServiceInvoker(self.invoke, self.functions),
                poll_gate=host.poll_gate,
            )
            self.lambda_handlers.update(event_source_handlers(mappings))
            self.lambda_handlers.update(with_mapping_tags(mappings, self.lambda_handlers))
            # A deleted function's mappings stay (as on AWS) but their pollers stop.
            self.signals.function_deleted.connect(mappings.function_deleted)

            async def stop_event_sources() -> None:
                await mappings.stop()  # lets batches being invoked finish (up to 5 s)
                mapping_store.close()

            lifecycle.add("event source mappings", start=mappings.start, stop=stop_event_sources)
        # Every other operation of the model answers (api/lambda_unsupported_api.py).
        self.lambda_handlers.update(unsupported_handlers(self.lambda_handlers))
        lifecycle.add("function policies", stop=self.policies.drain)
        lifecycle.add("stores", stop=self._close_stores)

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        await self.lifecycle.start()

    async def stop_environments(self) -> None:
        """Stop every execution environment: on-demand and provisioned. Asynchronous events
        and event source mappings stop being dispatched first: what is not done stays queued
        for the next start."""
        self.async_invoke.pause()
        stopping = [self.pool.stop_all(), self.provisioned.stop()]
        if self.event_sources is not None:
            # Pollers stop taking batches; a batch cut short returns to its queue after the
            # visibility timeout (at least once, as on AWS).
            stopping.append(self.event_sources.stop())
        await asyncio.gather(*stopping)

    async def stop(self) -> None:
        await self.lifecycle.stop()

    async def _stop_async(self) -> None:
        await self.async_invoke.stop()

    def _close_stores(self) -> None:
        self.store.close()
        self.layers.close()
        self.concurrency.close()
        self.alias_book.close()
        self.provisioned.close()
        self.event_configs.close()
        self.function_urls.close()
        self.policies.close()
        self.function_options.close()
        self.code_signing.close()

    # --- wiring -----------------------------------------------------------------------------

    def _function_changed(self, name: str) -> None:
        """A function's code or configuration changed, or it was deleted."""
        self.pool.retire_function(name)

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

        def trees() -> tuple[Path, Path | None]:
            return host.code.extracted(config.code_sha256), self.layers.layers_dir(config)

        async def plan(runtime_api: str, log_stream: str) -> LaunchPlan:
            if host.code.is_extracted(config.code_sha256) and self.layers.layers_dir_ready(config):
                task_root, opt_root = trees()
            else:
                # Made at upload, so missing only in a data directory from before that (or
                # removed meanwhile): unpacked now, off the event loop.
                task_root, opt_root = await asyncio.to_thread(trees)
            where = EnvironmentPaths.isolated if sandbox.isolated_fs else EnvironmentPaths.plain
            paths = where(task_root, host.sdk_for(config.runtime), opt_root)
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
                host.bytecode.ensure(paths.host_task_root, launch.interpreter)
                host.bytecode.ensure(paths.host_opt_root, launch.interpreter)
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
            host.sandbox_for(config.runtime),
            plan,
            NewlineTerminated(self.logs),  # stored as AWS stores them: each ends with "\n"
            died,
            network=settings.function_network,
            serve_lamina_api=serve_lamina_api,
            log_lines_per_second=settings.log_lines_per_second,
        )


def _router_destinations(
    queues: QueuePorts | None, router: RouterSinks | None
) -> dict[str, Destination] | None:
    """Destinations of asynchronous invocations beyond functions, by ARN service."""
    out: dict[str, Destination] = {}
    if queues is not None:
        out["sqs"] = QueueDestination(queues)
    if router is not None:

        def sinks() -> RouterSinks:
            return router

        out["sns"] = TopicDestination(sinks)
        out["events"] = EventBusDestination(sinks)
    return out or None
