"""SQS's query-protocol names, which its current (JSON) botocore model no longer carries.

Written from the last query-protocol SQS model (botocore 1.29.x, API 2012-11-05) and checked
against it by ``tests/unit/test_protocol_query.py``. ``MessageSystemAttributeNames`` came
after that model; its name follows the API reference (``MessageSystemAttributeName.N``).
"""

from __future__ import annotations

from lamina.api.protocols.query_names import QueryNames

SQS_XML_NAMESPACE = "http://queue.amazonaws.com/doc/2012-11-05/"

_ATTRIBUTES = {"Attributes": "Attribute"}
_MESSAGE_ATTRIBUTES = {
    "MessageAttributes": "MessageAttribute",
    "MessageSystemAttributes": "MessageSystemAttribute",
}
_ATTRIBUTE_LISTS = {"StringListValues": "StringListValue", "BinaryListValues": "BinaryListValue"}

SQS_QUERY_NAMES = QueryNames(
    shape_names={
        "QueueAttributeMap": "Attribute",
        "MessageSystemAttributeMap": "Attribute",
        "TagMap": "Tag",
    },
    members={
        "CreateQueueRequest": {**_ATTRIBUTES, "tags": "Tag"},
        "SetQueueAttributesRequest": _ATTRIBUTES,
        "GetQueueAttributesResult": _ATTRIBUTES,
        "ListQueueTagsResult": {"Tags": "Tag"},
        "Message": {**_ATTRIBUTES, "MessageAttributes": "MessageAttribute"},
        "SendMessageRequest": _MESSAGE_ATTRIBUTES,
        "SendMessageBatchRequestEntry": _MESSAGE_ATTRIBUTES,
        "MessageAttributeValue": _ATTRIBUTE_LISTS,
        "MessageSystemAttributeValue": _ATTRIBUTE_LISTS,
    },
    list_members={
        "AWSAccountIdList": "AWSAccountId",
        "ActionNameList": "ActionName",
        "AttributeNameList": "AttributeName",
        "MessageAttributeNameList": "MessageAttributeName",
        "MessageSystemAttributeList": "MessageSystemAttributeName",
        "TagKeyList": "TagKey",
        "QueueUrlList": "QueueUrl",
        "MessageList": "Message",
        "StringList": "StringListValue",
        "BinaryList": "BinaryListValue",
        "BatchResultErrorEntryList": "BatchResultErrorEntry",
        "SendMessageBatchRequestEntryList": "SendMessageBatchRequestEntry",
        "SendMessageBatchResultEntryList": "SendMessageBatchResultEntry",
        "DeleteMessageBatchRequestEntryList": "DeleteMessageBatchRequestEntry",
        "DeleteMessageBatchResultEntryList": "DeleteMessageBatchResultEntry",
        "ChangeMessageVisibilityBatchRequestEntryList": "ChangeMessageVisibilityBatchRequestEntry",
        "ChangeMessageVisibilityBatchResultEntryList": "ChangeMessageVisibilityBatchResultEntry",
        "ListMessageMoveTasksResultEntryList": "ListMessageMoveTasksResultEntry",
    },
    map_entries={
        "QueueAttributeMap": ("Name", "Value"),
        "MessageSystemAttributeMap": ("Name", "Value"),
        "MessageBodyAttributeMap": ("Name", "Value"),
        "MessageBodySystemAttributeMap": ("Name", "Value"),
        "TagMap": ("Key", "Value"),
    },
)
