"""``--iam audit|enforce``: the edge's authorizer, built over IAM's identity policies, the
services' resource policies and the regions' functions (docs/security.md "Permissions")."""

from __future__ import annotations

from functools import partial

from lamina.api.access import EdgeAccess
from lamina.api.authorization import Authorizer
from lamina.api.execution_role_checks import ExecutionRoles, FunctionRoles
from lamina.domain.errors import AwsError
from lamina.domain.iam_actions import SERVICES, operations
from lamina.domain.models import LATEST
from lamina.domain.names import function_locator
from lamina.services.events.service import EventsService
from lamina.services.iam.service import IamService
from lamina.services.sns.service import SnsService
from lamina.services.sqs.service import SqsService
from lamina.wiring.host import HostParts
from lamina.wiring.regions import Regions
from lamina.wiring.resource_policies import ServicePermits, ServicePolicies
from lamina.wiring.scheduler import Scheduler

SCHEDULER_PRINCIPAL = "scheduler.amazonaws.com"


def function_roles(regions: Regions) -> FunctionRoles:
    """(region, FunctionName) -> the function's execution role ARN, None if none."""

    def role_of(region_name: str, function: str) -> str | None:
        try:
            name, _, region, _ = function_locator(function)
        except ValueError:
            return None
        region = region or region_name
        regional = next((r for r in regions.all() if r.region == region), None)
        if regional is None:
            return None
        try:
            config = regional.catalog.config(name, LATEST)
        except AwsError:
            return None
        return config.role if config is not None else None

    return role_of


def install_authorizer(
    mode: str,
    host: HostParts,
    access: EdgeAccess,
    iam: IamService,
    regions: Regions,
    queues: SqsService,
    topics: SnsService | None = None,
    events: EventsService | None = None,
    scheduler: Scheduler | None = None,
) -> Authorizer | None:
    """Under ``audit`` or ``enforce``, the authorizer the edge's access checks call (None
    and nothing installed under ``off``)."""
    if mode == "off":
        return None
    for service in SERVICES:
        operations(service)  # the tables read from botocore's models: now, not on a request
    resources = ServicePolicies(regions, queues, topics, events, iam)
    roles = ExecutionRoles(iam, iam.identity_policies, resources, function_roles(regions))
    authorizer = Authorizer(mode, iam.identity_policies, resources, roles)
    access.authorizer = authorizer
    if mode == "enforce":
        # SQS mappings poll only while their functions' roles may.
        host.poll_gate.check = lambda mapping: roles.poller_blocked(
            mapping.region, mapping.function_name, mapping.event_source_arn
        )
        # EventBridge and SNS deliver only where the target's own policy lets them.
        permits = ServicePermits(resources)
        if events is not None:
            events.engine.sinks.permits = permits
        if topics is not None:
            topics.deliverer.permits = permits
        # Destinations and dead-letter queues act with the function's role.
        host.destination_gate.check = roles.function_role_denial
        if scheduler is not None:
            # Schedules act on their targets with their own roles.
            scheduler.service.delivery.targets.role_check = partial(
                roles.service_role_denial, SCHEDULER_PRINCIPAL
            )
    return authorizer
