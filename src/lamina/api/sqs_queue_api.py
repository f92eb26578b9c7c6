"""The edge's adapter of SQS's queue operations: wire dicts in and out, typed calls between.

``sqs_queue_handlers(service)`` maps each operation name to ``async (ctx, params) -> output``
where ``params``/``output`` are the operation's input/output shapes as botocore's SQS model
names them. Members AWS omits when empty (``QueueUrls``, ``Attributes``, ``Tags``,
``queueUrls``) are omitted here too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from lamina.domain.context import RequestContext
from lamina.domain.sqs import attributes as attrs
from lamina.domain.sqs import policy
from lamina.domain.sqs.errors import InvalidParameterValue, MissingParameter
from lamina.services.sqs.queues import Page
from lamina.services.sqs.service import SqsService

Handler = Callable[[RequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]

# AWS: a queue carries at most 50 tags.
MAX_TAGS = 50


def _required(params: dict[str, Any], member: str) -> Any:
    value = params.get(member)
    if value is None:
        raise MissingParameter(f"The request must contain the parameter {member}.")
    return value


def _page_output(page: Page, member: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if page.queues:
        out[member] = [queue.url for queue in page.queues]
    if page.next_token is not None:
        out["NextToken"] = page.next_token
    return out


def sqs_queue_handlers(service: SqsService) -> dict[str, Handler]:
    """The queue operations of SQS (both protocols share them)."""
    registry = service.queues

    async def create_queue(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = _required(params, "QueueName")
        tags = params.get("tags") or {}
        if len(tags) > MAX_TAGS:
            raise InvalidParameterValue(f"Too many tags added for queue {name}.")
        queue = await registry.create(ctx, name, params.get("Attributes"), tags)
        return {"QueueUrl": queue.url}

    async def get_queue_url(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = registry.by_name(
            ctx, _required(params, "QueueName"), params.get("QueueOwnerAWSAccountId")
        )
        return {"QueueUrl": queue.url}

    async def list_queues(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        page = registry.list(
            ctx, params.get("QueueNamePrefix"), params.get("MaxResults"), params.get("NextToken")
        )
        return _page_output(page, "QueueUrls")

    async def get_queue_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = registry.by_url(ctx, _required(params, "QueueUrl"))
        names: list[str] = list(params.get("AttributeNames") or [])
        attrs.check_names(names)
        counts = service.engine.counts(queue) if attrs.wants_counts(names) else None
        values = attrs.render(queue, names, counts)
        return {"Attributes": values} if values else {}

    async def set_queue_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = registry.by_url(ctx, _required(params, "QueueUrl"))
        await registry.set_attributes(queue, dict(_required(params, "Attributes")))
        return {}

    async def delete_queue(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = registry.by_url(ctx, _required(params, "QueueUrl"))
        await registry.delete(queue)
        return {}

    async def tag_queue(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = registry.by_url(ctx, _required(params, "QueueUrl"))
        added = params.get("Tags")
        if not added:
            raise MissingParameter("The request must contain the parameter Tags.")
        tags = {**queue.tags, **added}
        if len(tags) > MAX_TAGS:
            raise InvalidParameterValue(f"Too many tags added for queue {queue.name}.")
        await registry.replace_tags(queue, tags)
        return {}

    async def untag_queue(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = registry.by_url(ctx, _required(params, "QueueUrl"))
        removed = set(params.get("TagKeys") or [])
        if not removed:
            raise InvalidParameterValue("Tag keys must be between 1 and 128 characters in length.")
        await registry.replace_tags(
            queue, {key: value for key, value in queue.tags.items() if key not in removed}
        )
        return {}

    async def list_queue_tags(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = registry.by_url(ctx, _required(params, "QueueUrl"))
        return {"Tags": dict(queue.tags)} if queue.tags else {}

    async def add_permission(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = registry.by_url(ctx, _required(params, "QueueUrl"))
        text = policy.add_permission(
            queue.attributes.get("Policy"),
            queue.arn,
            _required(params, "Label"),
            list(_required(params, "AWSAccountIds")),
            list(_required(params, "Actions")),
        )
        await registry.replace_policy(queue, text)
        return {}

    async def remove_permission(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = registry.by_url(ctx, _required(params, "QueueUrl"))
        text = policy.remove_permission(
            queue.attributes.get("Policy"), queue.arn, _required(params, "Label")
        )
        await registry.replace_policy(queue, text)
        return {}

    async def list_dead_letter_source_queues(
        ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        queue = registry.by_url(ctx, _required(params, "QueueUrl"))
        page = registry.dead_letter_sources(
            queue, params.get("MaxResults"), params.get("NextToken")
        )
        out = _page_output(page, "queueUrls")
        # The member is required in the output shape: AWS sends it even when empty.
        out.setdefault("queueUrls", [])
        return out

    return {
        "CreateQueue": create_queue,
        "GetQueueUrl": get_queue_url,
        "ListQueues": list_queues,
        "GetQueueAttributes": get_queue_attributes,
        "SetQueueAttributes": set_queue_attributes,
        "DeleteQueue": delete_queue,
        "TagQueue": tag_queue,
        "UntagQueue": untag_queue,
        "ListQueueTags": list_queue_tags,
        "AddPermission": add_permission,
        "RemovePermission": remove_permission,
        "ListDeadLetterSourceQueues": list_dead_letter_source_queues,
    }
