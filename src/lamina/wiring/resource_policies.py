"""The resource-based policies the authorizer weighs (``api.authorization``), read from the
services that keep them: a function's (or version's, alias's) policy (AddPermission), a
layer version's (AddLayerVersionPermission), a queue's ``Policy`` attribute, a topic's
``Policy`` attribute, an event bus's policy (PutPermission) and a role's trust policy (for
``sts:AssumeRole``). Lookups read memory (a layer version's policy: its store, as the layer
API does); parsed documents are remembered by their text.

``ServicePermits`` answers whether a service principal (``events.amazonaws.com``) may deliver
to a function, queue or topic on behalf of a source (a rule): the target's own policy must
allow it (``--iam enforce``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from lamina.domain.errors import AwsError
from lamina.domain.iam_actions import arn_account
from lamina.domain.iam_policy import AccessRequest, evaluate
from lamina.domain.layers import LayerName
from lamina.domain.models import LATEST
from lamina.domain.policies import POLICY_VERSION
from lamina.services.events.arns import BusKey
from lamina.services.events.service import EventsService
from lamina.services.iam.service import IamService
from lamina.services.sns.service import SnsService
from lamina.services.sqs.service import SqsService
from lamina.wiring.regions import Regions

# ``lookup``'s answer for a resource that does not exist.
MISSING: Mapping[str, Any] = {}


@lru_cache(maxsize=1024)
def _parsed(document: str) -> Mapping[str, Any] | None:
    try:
        parsed = json.loads(document)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


class ServicePolicies:
    """``ResourcePolicies`` over Lamina's services."""

    def __init__(
        self,
        regions: Regions,
        queues: SqsService,
        topics: SnsService | None = None,
        events: EventsService | None = None,
        iam: IamService | None = None,
    ) -> None:
        self.regions = regions
        self.queues = queues
        self.topics = topics
        self.events = events
        self.iam = iam

    def policy_of(self, resource: str) -> Mapping[str, Any] | None:
        policy = self.lookup(resource)
        return None if policy is MISSING else policy

    def lookup(self, resource: str) -> Mapping[str, Any] | None:
        """The resource's policy, None without one, ``MISSING`` when Lamina has no such
        resource (or it is of a kind without policies)."""
        parts = resource.split(":", 5)
        if len(parts) != 6:
            return MISSING
        service, region, account, rest = parts[2], parts[3], parts[4], parts[5]
        if service == "lambda" and rest.startswith("function:"):
            return self._function(region, rest)
        if service == "lambda" and rest.startswith("layer:"):
            return self._layer_version(region, account, rest)
        if service == "sqs":
            queue = self.queues.queues.by_arn(resource)
            return _parsed(queue.attributes.get("Policy", "")) if queue is not None else MISSING
        if service == "sns" and self.topics is not None:
            topic = self.topics.registry.topic_or_none(resource)
            return _parsed(topic.attributes.get("Policy", "")) if topic is not None else MISSING
        if service == "iam" and rest.startswith("role/") and self.iam is not None:
            # A role's trust policy is its resource policy (sts:AssumeRole).
            role = self.iam.role(resource)
            return _parsed(role.trust_policy) if role is not None else MISSING
        if service == "events" and rest.startswith("event-bus/") and self.events is not None:
            bus = self.events.registry.buses.get(BusKey(region, account, rest[10:]))
            return bus.policy if bus is not None else MISSING
        return MISSING

    def _function(self, region_name: str, rest: str) -> Mapping[str, Any] | None:
        """``function:<name>[:<qualifier>]``: that function's (version's, alias's) policy."""
        _, name, *qualifier = rest.split(":")
        region = next((r for r in self.regions.all() if r.region == region_name), None)
        if region is None or region.catalog.config(name, LATEST) is None:
            return MISSING
        try:
            policy = region.policies.get_policy(name, qualifier[0] if qualifier else None)
        except AwsError:
            return None
        return {"Version": POLICY_VERSION, "Statement": list(policy.statements)}

    def _layer_version(self, region_name: str, account: str, rest: str) -> Mapping[str, Any] | None:
        """``layer:<name>:<version>``: that layer version's policy (AddLayerVersionPermission)."""
        _, name, *version = rest.split(":")
        region = next((r for r in self.regions.all() if r.region == region_name), None)
        if region is None or len(version) != 1 or not version[0].isdigit():
            return None
        try:
            policy = region.layers.get_policy(
                LayerName(name, region_name, account), int(version[0])
            )
        except AwsError:
            return None
        return {"Version": POLICY_VERSION, "Statement": list(policy.statements)}


class ServicePermits:
    """Whether a service principal may act on a target for a source (``TargetPermits``)."""

    def __init__(self, policies: ServicePolicies) -> None:
        self.policies = policies

    def __call__(self, service_principal: str, source_arn: str, action: str, target: str) -> bool:
        policy = self.policies.lookup(target)
        if policy is MISSING:
            return True  # the delivery itself reports the missing target
        if policy is None:
            return False
        keys = {"aws:SourceArn": source_arn}
        source_account = arn_account(source_arn)
        if source_account is not None:
            keys["aws:SourceAccount"] = source_account
        request = AccessRequest(
            None, action, target, arn_account(target), keys, service_principal=service_principal
        )
        return evaluate(request, [], policy).allowed
