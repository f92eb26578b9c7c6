"""SQS's and SNS's operations as IAM sees them: queue operations act on the queue's ARN
(from ``QueueUrl``), batch operations need their single action (``SendMessageBatch`` is
``sqs:SendMessage``), topic operations act on the topic, subscription operations on the
subscription's topic.
"""

from __future__ import annotations

import re

from lamina.domain.iam_actions.rules import (
    Params,
    Rule,
    Scope,
    anywhere,
    arn_param,
    on,
    table,
    text,
)

# ``<scheme>://<host>/<account>/<queue name>``
_QUEUE_URL = re.compile(r"[a-z]+://[^/]+/(\d{12})/([^/?]+)/?")


def queue_arn_of_url(url: str, region: str) -> str | None:
    """The ARN of the queue at ``url`` (a Lamina or AWS queue URL), or None."""
    match = _QUEUE_URL.fullmatch(url)
    if match is None:
        return None
    host = url.split("/", 3)[2]
    parts = host.split(".")
    if len(parts) > 2 and parts[0] == "sqs" and re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", parts[1]):
        region = parts[1]
    return f"arn:aws:sqs:{region}:{match[1]}:{match[2]}"


def queue(params: Params, scope: Scope) -> str:
    url = text(params, "QueueUrl")
    return (queue_arn_of_url(url, scope.region) if url else None) or "*"


def named_queue(params: Params, scope: Scope) -> str:
    name = text(params, "QueueName")
    owner = text(params, "QueueOwnerAWSAccountId", scope.account)
    return f"arn:aws:sqs:{scope.region}:{owner}:{name}" if name else "*"


SQS: dict[str, Rule] = table(
    "sqs",
    {
        queue: (
            "AddPermission ChangeMessageVisibility DeleteMessage DeleteQueue GetQueueAttributes "
            "ListDeadLetterSourceQueues ListQueueTags PurgeQueue ReceiveMessage RemovePermission "
            "SendMessage SetQueueAttributes TagQueue UntagQueue"
        ),
        named_queue: "CreateQueue GetQueueUrl",
        anywhere: "ListQueues CancelMessageMoveTask",
        arn_param("SourceArn"): "ListMessageMoveTasks StartMessageMoveTask",
    },
    SendMessageBatch=on(queue, "sqs", "SendMessage"),
    DeleteMessageBatch=on(queue, "sqs", "DeleteMessage"),
    ChangeMessageVisibilityBatch=on(queue, "sqs", "ChangeMessageVisibility"),
)


def topic(params: Params, scope: Scope) -> str:
    return text(params, "TopicArn") or text(params, "TargetArn") or "*"


def named_topic(params: Params, scope: Scope) -> str:
    name = text(params, "Name")
    return f"arn:aws:sns:{scope.region}:{scope.account}:{name}" if name else "*"


def subscription_topic(params: Params, scope: Scope) -> str:
    """A subscription ARN is its topic's ARN and an id: the topic."""
    arn = text(params, "SubscriptionArn")
    return arn.rsplit(":", 1)[0] if arn.count(":") >= 6 else "*"


SNS: dict[str, Rule] = table(
    "sns",
    {
        topic: (
            "AddPermission ConfirmSubscription DeleteTopic GetTopicAttributes "
            "ListSubscriptionsByTopic Publish RemovePermission SetTopicAttributes Subscribe"
        ),
        named_topic: "CreateTopic",
        subscription_topic: "GetSubscriptionAttributes SetSubscriptionAttributes Unsubscribe",
        arn_param("ResourceArn"): (
            "GetDataProtectionPolicy ListTagsForResource PutDataProtectionPolicy TagResource "
            "UntagResource"
        ),
        arn_param("PlatformApplicationArn"): (
            "CreatePlatformEndpoint DeletePlatformApplication GetPlatformApplicationAttributes "
            "ListEndpointsByPlatformApplication SetPlatformApplicationAttributes"
        ),
        arn_param("EndpointArn"): "DeleteEndpoint GetEndpointAttributes SetEndpointAttributes",
        anywhere: (
            "CheckIfPhoneNumberIsOptedOut CreatePlatformApplication CreateSMSSandboxPhoneNumber "
            "DeleteSMSSandboxPhoneNumber GetSMSAttributes GetSMSSandboxAccountStatus "
            "ListOriginationNumbers ListPhoneNumbersOptedOut ListPlatformApplications "
            "ListSMSSandboxPhoneNumbers ListSubscriptions ListTopics OptInPhoneNumber "
            "SetSMSAttributes VerifySMSSandboxPhoneNumber"
        ),
    },
    PublishBatch=on(topic, "sns", "Publish"),
)
