"""What each subscriber receives: the JSON envelope (SQS, HTTP/S), the Lambda event and the
HTTP subscription confirmation, with AWS's member names and order.

Signatures: Lamina does not sign messages. ``Signature`` is a well-formed but clearly fake
value (base64 of 256 bytes spelling ``LAMINA-UNSIGNED``) and ``SigningCertURL`` names a
certificate Lamina does not serve, so a subscriber that verifies signatures refuses them
(docs/sns.md).
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import quote

from lamina.services.queue_ports import MessageAttribute
from lamina.services.sns.model import Notification
from lamina.services.topic_ports import TopicAttribute

SIGNATURE_VERSION = "1"
FAKE_SIGNATURE = base64.b64encode(b"LAMINA-UNSIGNED-" * 16).decode()


def timestamp(now: float | None = None) -> str:
    """AWS's notification timestamp: UTC with milliseconds (``2026-12-07T01:29:14.123Z``)."""
    now = time.time() if now is None else now
    millis = int(now * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{millis:03d}Z"


class Urls:
    """The URLs a notification carries, on Lamina's own endpoint."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        # SubscribeURL and UnsubscribeURL: AWS's query strings on Lamina's unsigned
        # internal endpoint (api/sns_api.py ``sns_links``).
        self.links = f"{self.base_url}/_lamina/sns/"
        self.signing_cert = f"{self.base_url}/SimpleNotificationService-lamina-unsigned.pem"

    def unsubscribe(self, subscription_arn: str) -> str:
        return f"{self.links}?Action=Unsubscribe&SubscriptionArn={subscription_arn}"

    def subscribe(self, topic_arn: str, token: str) -> str:
        return (
            f"{self.links}?Action=ConfirmSubscription&TopicArn={quote(topic_arn, safe=':')}"
            f"&Token={token}"
        )


def _attributes(attributes: dict[str, TopicAttribute]) -> dict[str, dict[str, str]]:
    return {
        name: {"Type": attribute.data_type, "Value": attribute.value}
        for name, attribute in attributes.items()
    }


def envelope(
    notification: Notification, subscription_arn: str, protocol: str, urls: Urls
) -> dict[str, Any]:
    """The JSON envelope SQS (not raw) and HTTP/S subscribers receive."""
    out: dict[str, Any] = {"Type": "Notification", "MessageId": notification.message_id}
    if notification.sequence_number is not None:
        out["SequenceNumber"] = notification.sequence_number
    out["TopicArn"] = notification.topic_arn
    if notification.subject is not None:
        out["Subject"] = notification.subject
    out["Message"] = notification.message_for(protocol)
    out["Timestamp"] = notification.timestamp
    out["SignatureVersion"] = SIGNATURE_VERSION
    out["Signature"] = FAKE_SIGNATURE
    out["SigningCertURL"] = urls.signing_cert
    out["UnsubscribeURL"] = urls.unsubscribe(subscription_arn)
    if notification.attributes:
        out["MessageAttributes"] = _attributes(notification.attributes)
    return out


def render_envelope(envelope_value: dict[str, Any]) -> str:
    """An envelope as AWS writes it: one member a line, ``"Name" : value``, two spaces of
    indent, message attributes one a line in compact JSON."""
    lines = []
    for name, value in envelope_value.items():
        if name == "MessageAttributes":
            inner = ",\n".join(
                f"    {json.dumps(key)} : {json.dumps(attr, separators=(',', ':'))}"
                for key, attr in value.items()
            )
            lines.append(f'  "MessageAttributes" : {{\n{inner}\n  }}')
        else:
            lines.append(f"  {json.dumps(name)} : {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(lines) + "\n}"


def lambda_event(notification: Notification, subscription_arn: str, urls: Urls) -> dict[str, Any]:
    """The event a subscribed function receives (``Subject`` null when absent)."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": notification.message_id,
                    "TopicArn": notification.topic_arn,
                    "Subject": notification.subject,
                    "Message": notification.message_for("lambda"),
                    "Timestamp": notification.timestamp,
                    "SignatureVersion": SIGNATURE_VERSION,
                    "Signature": FAKE_SIGNATURE,
                    "SigningCertUrl": urls.signing_cert,
                    "UnsubscribeUrl": urls.unsubscribe(subscription_arn),
                    "MessageAttributes": _attributes(notification.attributes),
                },
            }
        ]
    }


def confirmation(
    topic_arn: str, token: str, message_id: str, urls: Urls, now: float | None = None
) -> dict[str, Any]:
    """The SubscriptionConfirmation an HTTP/S endpoint receives when it is subscribed."""
    return {
        "Type": "SubscriptionConfirmation",
        "MessageId": message_id,
        "Token": token,
        "TopicArn": topic_arn,
        "Message": (
            f"You have chosen to subscribe to the topic {topic_arn}.\n"
            "To confirm the subscription, visit the SubscribeURL included in this message."
        ),
        "SubscribeURL": urls.subscribe(topic_arn, token),
        "Timestamp": timestamp(now),
        "SignatureVersion": SIGNATURE_VERSION,
        "Signature": FAKE_SIGNATURE,
        "SigningCertURL": urls.signing_cert,
    }


def sqs_attributes(attributes: dict[str, TopicAttribute]) -> dict[str, MessageAttribute]:
    """A raw delivery's message attributes as SQS message attributes."""
    out: dict[str, MessageAttribute] = {}
    for name, attribute in attributes.items():
        if attribute.data_type.startswith("Binary"):
            out[name] = MessageAttribute(
                attribute.data_type, binary_value=base64.b64decode(attribute.value)
            )
        else:
            out[name] = MessageAttribute(attribute.data_type, string_value=attribute.value)
    return out
