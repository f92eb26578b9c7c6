"""Realistic inputs and outputs of every SQS operation, for the protocol codec tests.

Inputs use every kind of member SQS has: attribute maps, message attributes of all data
types (String, Number, Binary and custom types), system attributes, batch entries, tags,
lists of names. Outputs likewise (messages with attributes, batch results with failures).
"""

from __future__ import annotations

from typing import Any

from sqs_recorded import recorded_sqs

QUEUE_URL = "http://127.0.0.1:9000/000000000000/orders"
FIFO_URL = "http://127.0.0.1:9000/000000000000/orders.fifo"
QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:orders"
DLQ_ARN = "arn:aws:sqs:us-east-1:000000000000:orders-dlq"
RECEIPT = "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a+k1T0vY8Yq2g==&x<y>"
BODY = '{"order": 42, "note": "tab\\t & <angle> \\u00e9\u00e9 \U0001f600"}\r\nsecond line'
PNG = bytes(range(256))

MESSAGE_ATTRIBUTES: dict[str, Any] = {
    "Kind": {"DataType": "String", "StringValue": "created"},
    "Count": {"DataType": "Number", "StringValue": "12.5"},
    "Thumb": {"DataType": "Binary", "BinaryValue": PNG},
    "Trace": {"DataType": "String.trace", "StringValue": "a&b<c>"},
    "Blob": {"DataType": "Binary.png", "BinaryValue": b"\x00\xff\r\n"},
}
SYSTEM_ATTRIBUTES: dict[str, Any] = {
    "AWSTraceHeader": {
        "DataType": "String",
        "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
    }
}
QUEUE_ATTRIBUTES = {
    "DelaySeconds": "5",
    "VisibilityTimeout": "60",
    "MessageRetentionPeriod": "86400",
    "ReceiveMessageWaitTimeSeconds": "20",
    "RedrivePolicy": '{"deadLetterTargetArn":"' + DLQ_ARN + '","maxReceiveCount":"3"}',
    "Policy": '{"Version":"2012-10-17","Statement":[]}',
}
TAGS = {"team": "payments", "env": "prod & test"}

INPUTS: dict[str, dict[str, Any]] = {
    "AddPermission": {
        "QueueUrl": QUEUE_URL,
        "Label": "cross-account",
        "AWSAccountIds": ["111111111111", "222222222222"],
        "Actions": ["SendMessage", "ReceiveMessage"],
    },
    "CancelMessageMoveTask": {"TaskHandle": "eyJ0YXNrSWQiOiJkYzE2In0="},
    "ChangeMessageVisibility": {
        "QueueUrl": QUEUE_URL,
        "ReceiptHandle": RECEIPT,
        "VisibilityTimeout": 0,
    },
    "ChangeMessageVisibilityBatch": {
        "QueueUrl": QUEUE_URL,
        "Entries": [
            {"Id": "a-1", "ReceiptHandle": RECEIPT, "VisibilityTimeout": 120},
            {"Id": "b_2", "ReceiptHandle": "rh-2"},
        ],
    },
    "CreateQueue": {"QueueName": "orders", "Attributes": QUEUE_ATTRIBUTES, "tags": TAGS},
    "DeleteMessage": {"QueueUrl": QUEUE_URL, "ReceiptHandle": RECEIPT},
    "DeleteMessageBatch": {
        "QueueUrl": QUEUE_URL,
        "Entries": [{"Id": "1", "ReceiptHandle": RECEIPT}, {"Id": "2", "ReceiptHandle": "x"}],
    },
    "DeleteQueue": {"QueueUrl": QUEUE_URL},
    "GetQueueAttributes": {
        "QueueUrl": QUEUE_URL,
        "AttributeNames": ["All", "ApproximateNumberOfMessages", "QueueArn"],
    },
    "GetQueueUrl": {"QueueName": "orders", "QueueOwnerAWSAccountId": "000000000000"},
    "ListDeadLetterSourceQueues": {"QueueUrl": QUEUE_URL, "NextToken": "tok", "MaxResults": 10},
    "ListMessageMoveTasks": {"SourceArn": DLQ_ARN, "MaxResults": 5},
    "ListQueueTags": {"QueueUrl": QUEUE_URL},
    "ListQueues": {"QueueNamePrefix": "ord", "NextToken": "page-2", "MaxResults": 1000},
    "PurgeQueue": {"QueueUrl": QUEUE_URL},
    "ReceiveMessage": {
        "QueueUrl": FIFO_URL,
        "AttributeNames": ["All"],
        "MessageAttributeNames": ["Kind", "Trace.*"],
        "MaxNumberOfMessages": 10,
        "VisibilityTimeout": 45,
        "WaitTimeSeconds": 20,
        "ReceiveRequestAttemptId": "attempt-1",
    },
    "RemovePermission": {"QueueUrl": QUEUE_URL, "Label": "cross-account"},
    "SendMessage": {
        "QueueUrl": FIFO_URL,
        "MessageBody": BODY,
        "DelaySeconds": 0,
        "MessageAttributes": MESSAGE_ATTRIBUTES,
        "MessageSystemAttributes": SYSTEM_ATTRIBUTES,
        "MessageDeduplicationId": "dedup-1",
        "MessageGroupId": "group-A",
    },
    "SendMessageBatch": {
        "QueueUrl": QUEUE_URL,
        "Entries": [
            {
                "Id": "m1",
                "MessageBody": BODY,
                "DelaySeconds": 3,
                "MessageAttributes": MESSAGE_ATTRIBUTES,
                "MessageSystemAttributes": SYSTEM_ATTRIBUTES,
            },
            {
                "Id": "m2",
                "MessageBody": "plain",
                "MessageGroupId": "g",
                "MessageDeduplicationId": "d",
            },
        ],
    },
    "SetQueueAttributes": {"QueueUrl": QUEUE_URL, "Attributes": {"VisibilityTimeout": "10"}},
    "StartMessageMoveTask": {
        "SourceArn": DLQ_ARN,
        "DestinationArn": QUEUE_ARN,
        "MaxNumberOfMessagesPerSecond": 50,
    },
    "TagQueue": {"QueueUrl": QUEUE_URL, "Tags": TAGS},
    "UntagQueue": {"QueueUrl": QUEUE_URL, "TagKeys": ["team", "env"]},
}

_BATCH_FAILED = [
    {
        "Id": "b_2",
        "SenderFault": True,
        "Code": "ReceiptHandleIsInvalid",
        "Message": "The input receipt handle is invalid & <bad>.",
    }
]
_MESSAGE = {
    "MessageId": "5fea7756-0ea4-451a-a703-a558b933e274",
    "ReceiptHandle": RECEIPT,
    "MD5OfBody": "fafb00f5732ab283681e124bf8747ed1",
    "Body": BODY,
    "Attributes": {
        "SenderId": "000000000000",
        "SentTimestamp": "1700000000000",
        "ApproximateReceiveCount": "1",
        "ApproximateFirstReceiveTimestamp": "1700000000123",
        "MessageGroupId": "group-A",
        "SequenceNumber": "18849496460467696128",
    },
    "MD5OfMessageAttributes": "3ae8f24a165a8cedc005670c81a27295",
    "MessageAttributes": {
        "Kind": {"DataType": "String", "StringValue": "created"},
        "Thumb": {"DataType": "Binary", "BinaryValue": PNG},
        "Trace": {"DataType": "String.trace", "StringValue": "a&b<c>"},
    },
}

OUTPUTS: dict[str, dict[str, Any]] = {
    "CancelMessageMoveTask": {"ApproximateNumberOfMessagesMoved": 2**40},
    "ChangeMessageVisibilityBatch": {"Successful": [{"Id": "a-1"}], "Failed": _BATCH_FAILED},
    "CreateQueue": {"QueueUrl": QUEUE_URL},
    "DeleteMessageBatch": {"Successful": [{"Id": "1"}, {"Id": "2"}], "Failed": []},
    "GetQueueAttributes": {
        "Attributes": {**QUEUE_ATTRIBUTES, "QueueArn": QUEUE_ARN, "FifoQueue": "false"}
    },
    "GetQueueUrl": {"QueueUrl": QUEUE_URL},
    "ListDeadLetterSourceQueues": {"queueUrls": [QUEUE_URL, FIFO_URL], "NextToken": "n"},
    "ListMessageMoveTasks": {
        "Results": [
            {
                "TaskHandle": "eyJ0YXNrSWQiOiJkYzE2In0=",
                "Status": "RUNNING",
                "SourceArn": DLQ_ARN,
                "DestinationArn": QUEUE_ARN,
                "MaxNumberOfMessagesPerSecond": 50,
                "ApproximateNumberOfMessagesMoved": 3,
                "ApproximateNumberOfMessagesToMove": 10,
                "StartedTimestamp": 1700000000000,
            },
            {"Status": "FAILED", "SourceArn": DLQ_ARN, "FailureReason": "AccessDenied"},
        ]
    },
    "ListQueueTags": {"Tags": TAGS},
    "ListQueues": {"QueueUrls": [QUEUE_URL], "NextToken": "page-3"},
    "ReceiveMessage": {"Messages": [_MESSAGE, {**_MESSAGE, "MessageId": "second"}]},
    "SendMessage": {
        "MD5OfMessageBody": "fafb00f5732ab283681e124bf8747ed1",
        "MD5OfMessageAttributes": "3ae8f24a165a8cedc005670c81a27295",
        "MD5OfMessageSystemAttributes": "5ae4d5d7636402d80f4eb6d213245a88",
        "MessageId": "5fea7756-0ea4-451a-a703-a558b933e274",
        "SequenceNumber": "18849496460467696128",
    },
    "SendMessageBatch": {
        "Successful": [
            {"Id": "m1", "MessageId": "id-1", "MD5OfMessageBody": "x", "SequenceNumber": "1"}
        ],
        "Failed": [{"Id": "m2", "SenderFault": False, "Code": "InternalError"}],
    },
    "StartMessageMoveTask": {"TaskHandle": "eyJ0YXNrSWQiOiJkYzE2In0="},
}


def recorded_sqs_error(test: str, key: str) -> tuple[dict[str, Any], int]:
    """The ``Error`` and HTTP status AWS answered in SQS test ``test`` (the id's last part,
    e.g. ``test_send_empty_message[sqs_query]``) under ``key``."""
    response = recorded_sqs(test, key)
    return response["Error"], response["ResponseMetadata"]["HTTPStatusCode"]
