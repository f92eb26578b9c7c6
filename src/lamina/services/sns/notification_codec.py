"""A notification's stored form (the body of its ``sns_messages`` row): compact JSON."""

from __future__ import annotations

import json

from lamina.services.sns.model import Notification
from lamina.services.topic_ports import TopicAttribute


def dumps(notification: Notification) -> str:
    return json.dumps(
        {
            "id": notification.message_id,
            "topic": notification.topic_arn,
            "message": notification.message,
            "structured": notification.structured,
            "subject": notification.subject,
            "attributes": {
                name: [a.data_type, a.value] for name, a in notification.attributes.items()
            },
            "timestamp": notification.timestamp,
            "group": notification.group_id,
            "dedup": notification.deduplication_id,
            "sequence": notification.sequence_number,
            "trace": notification.trace_header,
        },
        separators=(",", ":"),
    )


def loads(text: str) -> Notification:
    data = json.loads(text)
    return Notification(
        data["id"],
        data["topic"],
        data["message"],
        data["structured"],
        data["subject"],
        {name: TopicAttribute(kind, value) for name, (kind, value) in data["attributes"].items()},
        data["timestamp"],
        data["group"],
        data["dedup"],
        data["sequence"],
        data.get("trace"),  # absent from messages stored before it was kept
    )
