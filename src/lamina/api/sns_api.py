"""The edge's adapter of SNS (query protocol, XML answers): wire dicts in and out, typed
calls between. ``sns_handlers(service)`` maps each operation to ``async (ctx, params) ->
output`` with botocore's SNS member names; ``SnsQueryCodec`` words missing members as
SNS's validator does."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from lamina.api.protocols import QueryCodec
from lamina.domain.context import RequestContext
from lamina.domain.errors import AwsError
from lamina.services.sns import subscription_attributes as sub_attrs
from lamina.services.sns import topic_attributes as topic_attrs
from lamina.services.sns import topic_policy
from lamina.services.sns.endpoints import PHONE_NUMBER
from lamina.services.sns.errors import (
    BatchEntryIdsNotDistinct,
    BatchRequestTooLong,
    EmptyBatchRequest,
    InvalidBatchEntryId,
    ResourceNotFound,
    SnsError,
    TooManyEntriesInBatchRequest,
    ValidationError,
    invalid_parameter,
    missing_value,
)
from lamina.services.sns.message_rules import (
    MAX_MESSAGE_BYTES,
    MessageRequest,
    check_message,
    message_bytes,
    wire_attributes,
)
from lamina.services.sns.model import Subscription, Topic
from lamina.services.sns.service import SnsService

Handler = Callable[[RequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]

SNS_XML_NAMESPACE = "http://sns.amazonaws.com/doc/2010-03-31/"
MAX_BATCH_ENTRIES = 10
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]+")
MAX_BATCH_ID_CHARS = 80


class _MissingMember(Exception):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def _raise_missing(operation: str, parameter: str) -> AwsError:
    del operation
    raise _MissingMember(parameter)


def _validation_path(path: str, form: Mapping[str, list[str]]) -> str:
    """A query name (``MessageAttributes.entry.1.Value.DataType``) as SNS's validator
    names it (``messageAttributes.attr1.member.dataType``)."""
    parts = path.split(".")
    out: list[str] = []
    i = 0
    while i < len(parts):
        part = parts[i]
        if part == "member" and i + 1 < len(parts) and parts[i + 1].isdigit():
            out.append(f"{parts[i + 1]}.member")
            i += 2
        elif part == "entry" and i + 1 < len(parts) and parts[i + 1].isdigit():
            name_key = ".".join(parts[: i + 2] + ["Name"])
            name = (form.get(name_key) or [parts[i + 1]])[0]
            out.append(f"{name}.member")
            i += 3  # entry, n, Value
        else:
            out.append(part[:1].lower() + part[1:])
            i += 1
    return ".".join(out)


class SnsQueryCodec(QueryCodec):
    """The query codec with SNS's wording of missing members (``ValidationError``)."""

    def __init__(self, model: dict[str, Any]) -> None:
        super().__init__(model, xml_namespace=SNS_XML_NAMESPACE, missing_parameter=_raise_missing)

    def parse(self, operation: str, form: Mapping[str, list[str]]) -> dict[str, Any]:
        try:
            return super().parse(operation, form)
        except _MissingMember as missing:
            path = _validation_path(missing.path, form)
            raise ValidationError(
                f"1 validation error detected: Value null at '{path}' failed to satisfy "
                "constraint: Member must not be null"
            ) from None


def _tags(raw: list[dict[str, str]] | None) -> dict[str, str]:
    tags: dict[str, str] = {}
    for tag in raw or []:
        key = tag.get("Key", "")
        if key in tags:
            raise invalid_parameter("Duplicated keys are not allowed.")
        tags[key] = tag.get("Value", "")
    return tags


def _subscription_entry(subscription: Subscription) -> dict[str, str]:
    return {
        "SubscriptionArn": subscription.arn if subscription.confirmed else "PendingConfirmation",
        "Owner": subscription.owner,
        "Protocol": subscription.protocol,
        "Endpoint": subscription.endpoint,
        "TopicArn": subscription.topic_arn,
    }


# The longest X-Amzn-Trace-Id a published message keeps (services/recursion.py).
MAX_TRACE_HEADER = 2048


def _message_request(params: dict[str, Any], trace_header: str | None) -> MessageRequest:
    return MessageRequest(
        params.get("Message", ""),
        params.get("Subject"),
        params.get("MessageStructure"),
        wire_attributes(params.get("MessageAttributes")),
        params.get("MessageGroupId"),
        params.get("MessageDeduplicationId"),
        trace_header if trace_header and len(trace_header) <= MAX_TRACE_HEADER else None,
    )


def sns_handlers(service: SnsService) -> dict[str, Handler]:
    registry = service.registry
    publisher = service.publisher

    def tagged_topic(arn: str | None) -> Topic:
        try:
            return registry.topic(arn, "ResourceArn")
        except SnsError as exc:
            if exc.status == 404:
                raise ResourceNotFound("Resource does not exist") from None
            raise

    async def create_topic(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        topic = await registry.create_topic(
            ctx,
            params.get("Name", ""),
            dict(params.get("Attributes") or {}),
            _tags(params.get("Tags")),
        )
        if params.get("DataProtectionPolicy"):
            await registry.set_data_protection_policy(topic, params["DataProtectionPolicy"])
        return {"TopicArn": topic.arn}

    async def list_topics(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arns, token = registry.list_topics(ctx, params.get("NextToken"))
        out: dict[str, Any] = {"Topics": [{"TopicArn": arn} for arn in arns]}
        if token is not None:
            out["NextToken"] = token
        return out

    async def get_topic_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"Attributes": topic_attrs.render(registry.topic(params.get("TopicArn")))}

    async def set_topic_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        topic = registry.topic(params.get("TopicArn"))
        await registry.set_topic_attribute(
            topic, params.get("AttributeName", ""), params.get("AttributeValue") or ""
        )
        return {}

    async def delete_topic(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await registry.delete_topic(params.get("TopicArn"))
        return {}

    async def subscribe(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        subscription = await registry.subscribe(
            ctx,
            params.get("TopicArn"),
            params.get("Protocol"),
            params.get("Endpoint"),
            dict(params.get("Attributes") or {}),
        )
        if subscription.confirmed or params.get("ReturnSubscriptionArn"):
            return {"SubscriptionArn": subscription.arn}
        return {"SubscriptionArn": "pending confirmation"}

    async def confirm_subscription(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = await registry.confirm(ctx, params.get("TopicArn"), params.get("Token", ""))
        return {"SubscriptionArn": arn}

    async def unsubscribe(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await registry.unsubscribe(params.get("SubscriptionArn"))
        return {}

    async def list_subscriptions(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        found, token = registry.list_subscriptions(ctx, params.get("NextToken"))
        out: dict[str, Any] = {"Subscriptions": [_subscription_entry(s) for s in found]}
        if token is not None:
            out["NextToken"] = token
        return out

    async def list_subscriptions_by_topic(
        ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        topic = registry.topic(params.get("TopicArn"))
        found, token = registry.list_by_topic(topic, params.get("NextToken"))
        out: dict[str, Any] = {"Subscriptions": [_subscription_entry(s) for s in found]}
        if token is not None:
            out["NextToken"] = token
        return out

    async def get_subscription_attributes(
        ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        subscription = registry.subscription(params.get("SubscriptionArn"))
        topic = registry.topic_or_none(subscription.topic_arn)
        topic_policy_text = topic.attributes.get("DeliveryPolicy") if topic else None
        return {"Attributes": sub_attrs.render(subscription, topic_policy_text)}

    async def set_subscription_attributes(
        ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        subscription = registry.subscription(params.get("SubscriptionArn"))
        await registry.set_subscription_attribute(
            subscription, params.get("AttributeName", ""), params.get("AttributeValue") or ""
        )
        return {}

    async def publish(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        request = _message_request(params, ctx.trace_header)
        phone = params.get("PhoneNumber")
        if phone is not None and not (params.get("TopicArn") or params.get("TargetArn")):
            # SMS is accepted and not sent (Lamina has no SMS gateway).
            if not PHONE_NUMBER.fullmatch(phone):
                raise invalid_parameter(f"PhoneNumber Reason: {phone} is not valid to publish to")
            check_message(request, fifo=False, content_dedup=False)
            return {"MessageId": str(uuid.uuid4())}
        if params.get("TopicArn") is not None:
            topic = publisher.publish_topic(ctx, params["TopicArn"], "TopicArn")
        elif params.get("TargetArn") is not None:
            topic = publisher.publish_topic(ctx, params["TargetArn"], "TargetArn")
        else:
            raise missing_value("TopicArn or TargetArn")
        publisher.check(topic, request)
        published = (await publisher.publish(topic, [request]))[0]
        out = {"MessageId": published.message_id}
        if published.sequence_number is not None:
            out["SequenceNumber"] = published.sequence_number
        return out

    async def publish_batch(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        topic = publisher.publish_topic(ctx, params.get("TopicArn"), "TopicArn")
        entries: list[dict[str, Any]] = list(params.get("PublishBatchRequestEntries") or [])
        if not entries:
            raise EmptyBatchRequest("The batch request doesn't contain any entries.")
        if len(entries) > MAX_BATCH_ENTRIES:
            raise TooManyEntriesInBatchRequest(
                "The batch request contains more entries than permissible."
            )
        ids: set[str] = set()
        for entry in entries:
            entry_id = str(entry.get("Id", ""))
            if len(entry_id) > MAX_BATCH_ID_CHARS:
                raise InvalidBatchEntryId(
                    f"The Id of a batch entry in the batch request is too long: {entry_id}"
                )
            if not _BATCH_ID.fullmatch(entry_id):
                raise InvalidBatchEntryId(
                    "The Id of a batch entry in the batch request contains an impermissible "
                    f"character: {entry_id}"
                )
            if entry_id in ids:
                raise BatchEntryIdsNotDistinct(
                    "Two or more batch entries in the request have the same Id."
                )
            ids.add(entry_id)
        requests = [_message_request(entry, ctx.trace_header) for entry in entries]
        if sum(message_bytes(request) for request in requests) > MAX_MESSAGE_BYTES:
            raise BatchRequestTooLong(
                "The length of all the messages put together is more than the limit."
            )
        for request in requests:
            publisher.check(topic, request)
        results = await publisher.publish(topic, requests)
        successful = []
        for entry, result in zip(entries, results, strict=True):
            item = {"Id": entry["Id"], "MessageId": result.message_id}
            if result.sequence_number is not None:
                item["SequenceNumber"] = result.sequence_number
            successful.append(item)
        return {"Successful": successful, "Failed": []}

    async def add_permission(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        topic = registry.topic(params.get("TopicArn"))
        policy = topic_policy.add_permission(
            topic.attributes.get("Policy"),
            topic.arn,
            topic.account_id,
            params.get("Label", ""),
            list(params.get("AWSAccountId") or []),
            list(params.get("ActionName") or []),
        )
        await registry.set_topic_attribute(topic, "Policy", policy)
        return {}

    async def remove_permission(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        topic = registry.topic(params.get("TopicArn"))
        policy = topic_policy.remove_permission(
            topic.attributes.get("Policy"), topic.arn, topic.account_id, params.get("Label", "")
        )
        await registry.set_topic_attribute(topic, "Policy", policy)
        return {}

    async def put_data_protection_policy(
        ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        topic = registry.topic(params.get("ResourceArn"), "ResourceArn")
        await registry.set_data_protection_policy(topic, params.get("DataProtectionPolicy", ""))
        return {}

    async def get_data_protection_policy(
        ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        topic = registry.topic(params.get("ResourceArn"), "ResourceArn")
        policy = topic.attributes.get(topic_attrs.DATA_PROTECTION_POLICY)
        return {"DataProtectionPolicy": policy} if policy else {}

    async def tag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        topic = tagged_topic(params.get("ResourceArn"))
        await registry.replace_tags(topic, {**topic.tags, **_tags(params.get("Tags"))})
        return {}

    async def untag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        topic = tagged_topic(params.get("ResourceArn"))
        removed = set(params.get("TagKeys") or [])
        await registry.replace_tags(
            topic, {k: v for k, v in topic.tags.items() if k not in removed}
        )
        return {}

    async def list_tags_for_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        topic = tagged_topic(params.get("ResourceArn"))
        return {"Tags": [{"Key": k, "Value": v} for k, v in topic.tags.items()]}

    return {
        "CreateTopic": create_topic,
        "ListTopics": list_topics,
        "GetTopicAttributes": get_topic_attributes,
        "SetTopicAttributes": set_topic_attributes,
        "DeleteTopic": delete_topic,
        "Subscribe": subscribe,
        "ConfirmSubscription": confirm_subscription,
        "Unsubscribe": unsubscribe,
        "ListSubscriptions": list_subscriptions,
        "ListSubscriptionsByTopic": list_subscriptions_by_topic,
        "GetSubscriptionAttributes": get_subscription_attributes,
        "SetSubscriptionAttributes": set_subscription_attributes,
        "Publish": publish,
        "PublishBatch": publish_batch,
        "AddPermission": add_permission,
        "RemovePermission": remove_permission,
        "PutDataProtectionPolicy": put_data_protection_policy,
        "GetDataProtectionPolicy": get_data_protection_policy,
        "TagResource": tag_resource,
        "UntagResource": untag_resource,
        "ListTagsForResource": list_tags_for_resource,
    }
