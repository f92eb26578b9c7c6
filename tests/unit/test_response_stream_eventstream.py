"""The event-stream encoder, decoded by botocore's own parser with Lambda's model."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import botocore.session
from botocore.eventstream import EventStream, EventStreamBuffer

from lamina.api import eventstream


def lambda_stream_shape() -> Any:
    model = botocore.session.get_session().get_service_model("lambda")
    output = model.operation_model("InvokeWithResponseStream").output_shape
    return output.members["EventStream"]


def parse(data: bytes) -> list[dict[str, Any]]:
    """What boto3's ``response["EventStream"]`` yields for these bytes."""
    from botocore.parsers import EventStreamJSONParser

    class Raw:
        def __init__(self, body: bytes) -> None:
            self.body = body

        def stream(self) -> Any:
            yield self.body

    stream = EventStream(Raw(data), lambda_stream_shape(), EventStreamJSONParser(), "x")
    return list(stream)


def test_payload_chunks_and_invoke_complete_parse_as_boto3_reads_them() -> None:
    data = b"".join(
        [
            *eventstream.payload_chunks(b"hello "),
            *eventstream.payload_chunks(b"\x00\xffbinary"),
            eventstream.invoke_complete("Custom.Error", "it broke", "bG9n"),
        ]
    )
    assert parse(data) == [
        {"PayloadChunk": {"Payload": b"hello "}},
        {"PayloadChunk": {"Payload": b"\x00\xffbinary"}},
        {
            "InvokeComplete": {
                "ErrorCode": "Custom.Error",
                "ErrorDetails": "it broke",
                "LogResult": "bG9n",
            }
        },
    ]


def test_a_successful_invoke_complete_has_no_members() -> None:
    assert parse(eventstream.invoke_complete(None, None, None)) == [{"InvokeComplete": {}}]


def test_frames_carry_aws_headers_and_valid_crcs() -> None:
    message = eventstream.payload_chunks(b"abc")[0]
    total, headers_length, prelude_crc = struct.unpack(">III", message[:12])
    assert total == len(message)
    assert prelude_crc == zlib.crc32(message[:8])
    assert struct.unpack(">I", message[-4:])[0] == zlib.crc32(message[:-4])
    buffer = EventStreamBuffer()
    buffer.add_data(message)
    decoded = next(iter(buffer))
    assert decoded.headers == {
        ":event-type": "PayloadChunk",
        ":content-type": "application/octet-stream",
        ":message-type": "event",
    }
    assert decoded.payload == b"abc"
    assert headers_length == len(message) - 16 - 3


def test_a_chunk_beyond_a_message_limit_is_split() -> None:
    big = b"z" * (eventstream.MAX_PAYLOAD_BYTES + 10)
    messages = eventstream.payload_chunks(big)
    assert len(messages) == 2
    events = parse(b"".join(messages))
    assert b"".join(e["PayloadChunk"]["Payload"] for e in events) == big


def test_an_empty_chunk_makes_no_event() -> None:
    assert eventstream.payload_chunks(b"") == []
