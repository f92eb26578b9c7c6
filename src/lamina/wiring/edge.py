"""The edge: which services answer on the API port, with which codecs and access checks."""

from __future__ import annotations

from lamina.api.access import EdgeAccess
from lamina.api.app import EdgeApp
from lamina.api.endpoints import JsonService, RestJsonService, ServiceDirectory
from lamina.api.guard import HostAllowList
from lamina.api.internal import (
    AdvanceableClock,
    async_endpoint,
    clock_endpoint,
    health,
    metrics_endpoint,
)
from lamina.api.logs_api import internal_error as logs_internal_error
from lamina.api.logs_api import logs_codec
from lamina.api.model import lambda_model
from lamina.services.keys.key_book import StaticKeys
from lamina.services.keys.root_key import root_key
from lamina.services.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from lamina.wiring.host import HostParts, served_regions
from lamina.wiring.regions import Regions


def build_access(host: HostParts) -> EdgeAccess:
    """The edge's authentication: its key book starts with the account root's key and the
    environments' credentials; IAM users' keys and STS sessions are added to ``host.keys``
    as those services are wired (docs/security.md, "Signatures and keys")."""
    settings = host.settings
    host.credentials.account_id = settings.account_id
    root = root_key(
        host.data,
        settings.account_id,
        settings.root_access_key_id,
        settings.root_secret_access_key,
    )
    host.keys.add(StaticKeys([root]))
    host.keys.add(host.credentials)
    return EdgeAccess(
        HostAllowList(settings.host, settings.public_url),
        host.credentials,
        host.relayed,
        host.function_policy,
        settings.account_id,
        settings.region,
        keys=host.keys,
        mode=settings.auth_mode,
    )


def build_services(regions: Regions, access: EdgeAccess) -> ServiceDirectory:
    """Lambda (rest-json) and CloudWatch Logs (JSON 1.1), each request served by the region
    of its signature."""
    services = ServiceDirectory(
        RestJsonService(
            "lambda",
            "lambda",
            lambda_model(),
            regions.handlers(lambda region: region.lambda_handlers),
            check=access.check_lambda,
        )
    )
    services.add_json(
        JsonService(
            "logs",
            "logs",
            logs_codec(),
            regions.handlers(lambda region: region.logs_handlers),
            check=access.check_logs,
            internal_error=logs_internal_error,
        )
    )
    return services


def build_edge(
    host: HostParts,
    regions: Regions,
    services: ServiceDirectory,
    access: EdgeAccess,
    clock: AdvanceableClock | None = None,
) -> EdgeApp:
    """The edge app; ``clock``: the schedules' clock, served at ``/_lamina/clock``."""
    settings = host.settings
    default = regions.default
    internal = {
        "/_lamina/code/": host.links.serve,
        "/_lamina/health": health,
        "/_lamina/metrics": metrics_endpoint(default.metrics.render, METRICS_CONTENT_TYPE),
        "/_lamina/async": async_endpoint(default.async_invoke.snapshot),
    }
    if clock is not None:
        internal["/_lamina/clock"] = clock_endpoint(clock)
    return EdgeApp(
        services,
        internal=internal,
        access=access,
        account_id=settings.account_id,
        default_region=settings.region,
        regions=served_regions(),
    )
