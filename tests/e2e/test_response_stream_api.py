"""InvokeWithResponseStream end to end: a custom runtime streaming chunked responses
(with delays and error trailers) through the Runtime API to boto3's event-stream reader."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from support import ROLE, make_zip, unique

# A provided.al2023 runtime in Python speaking the Runtime API over a raw socket: it streams
# chunked responses (``Lambda-Runtime-Function-Response-Mode: streaming``) with pauses
# between chunks, error trailers, or a buffered answer, as the event asks.
STREAMING_BOOTSTRAP = r"""#!/usr/bin/env python3
import base64, json, os, socket, sys, time

host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
PREFIX = "/2018-06-01/runtime/invocation/"


def request(sock, head, body=b""):
    sock.sendall(head.encode() + body)


def read_response(reader):
    status = reader.readline()
    length = 0
    while True:
        line = reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
        if name.lower() == "lambda-runtime-aws-request-id":
            request_id = value.strip()
    body = reader.read(length)
    return status, locals().get("request_id"), body


def chunk(data):
    return b"%x\r\n%s\r\n" % (len(data), data)


while True:
    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = sock.makefile("rb")
    request(sock, f"GET {PREFIX}next HTTP/1.1\r\nHost: x\r\n\r\n")
    _, request_id, body = read_response(reader)
    event = json.loads(body)
    mode = event.get("mode", "stream")
    path = f"{PREFIX}{request_id}/response"
    if mode == "buffered":
        data = json.dumps({"buffered": True}).encode()
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(data)}\r\n\r\n"
        request(sock, head, data)
    else:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\n"
            "Lambda-Runtime-Function-Response-Mode: streaming\r\n"
            "Transfer-Encoding: chunked\r\nContent-Type: text/plain\r\n"
            "Trailer: Lambda-Runtime-Function-Error-Type, "
            "Lambda-Runtime-Function-Error-Body\r\n\r\n"
        )
        request(sock, head)
        if mode == "big":
            block = b"x" * 65536
            for _ in range(event["blocks"]):
                sock.sendall(chunk(block))
        else:
            for index in range(event.get("chunks", 3)):
                sock.sendall(chunk(f"chunk-{index};".encode()))
                time.sleep(event.get("pause", 0.3))
        if mode == "error":
            document = json.dumps(
                {"errorMessage": "broke mid-stream", "errorType": "Custom.Broken"}
            )
            trailer = base64.b64encode(document.encode()).decode()
            sock.sendall(
                b"0\r\nLambda-Runtime-Function-Error-Type: Custom.Broken\r\n"
                + f"Lambda-Runtime-Function-Error-Body: {trailer}\r\n\r\n".encode()
            )
        else:
            sock.sendall(b"0\r\n\r\n")
    read_response(reader)
    sock.close()
"""


@pytest.fixture(scope="module")
def streaming_function(lam: Any) -> str:
    name = unique("stream")
    lam.create_function(
        FunctionName=name,
        Runtime="provided.al2023",
        Role=ROLE,
        Handler="function.handler",
        Timeout=30,
        Code={"ZipFile": make_zip({"bootstrap": STREAMING_BOOTSTRAP}, modes={"bootstrap": 0o755})},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return name


def read_events(response: dict[str, Any]) -> list[tuple[float, dict[str, Any]]]:
    return [(time.perf_counter(), event) for event in response["EventStream"]]


def test_chunks_arrive_as_the_function_writes_them(lam: Any, streaming_function: str) -> None:
    started = time.perf_counter()
    response = lam.invoke_with_response_stream(
        FunctionName=streaming_function,
        Payload=json.dumps({"mode": "stream", "chunks": 3, "pause": 0.4}).encode(),
        LogType="Tail",
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert response["ResponseStreamContentType"] == "application/vnd.amazon.eventstream"
    events = read_events(response)
    chunks = [(at, e["PayloadChunk"]["Payload"]) for at, e in events if "PayloadChunk" in e]
    assert [payload for _, payload in chunks] == [b"chunk-0;", b"chunk-1;", b"chunk-2;"]
    complete = events[-1][1]["InvokeComplete"]
    assert "ErrorCode" not in complete
    log = base64.b64decode(complete["LogResult"]).decode()
    assert "REPORT RequestId" in log
    finished = events[-1][0]
    # The first chunk came while the function was still writing (it pauses 0.4 s after each).
    assert finished - chunks[0][0] > 0.9
    assert chunks[1][0] - chunks[0][0] > 0.25
    assert chunks[0][0] - started < 5


def test_error_trailer_ends_the_stream_with_the_error(lam: Any, streaming_function: str) -> None:
    response = lam.invoke_with_response_stream(
        FunctionName=streaming_function,
        Payload=json.dumps({"mode": "error", "chunks": 2, "pause": 0.01}).encode(),
    )
    events = [e for _, e in read_events(response)]
    payloads = [e["PayloadChunk"]["Payload"] for e in events if "PayloadChunk" in e]
    assert payloads == [b"chunk-0;", b"chunk-1;"]
    complete = events[-1]["InvokeComplete"]
    assert complete["ErrorCode"] == "Custom.Broken"
    assert complete["ErrorDetails"] == "broke mid-stream"
    # The environment is reused afterwards.
    again = lam.invoke_with_response_stream(
        FunctionName=streaming_function,
        Payload=json.dumps({"mode": "stream", "chunks": 1, "pause": 0}).encode(),
    )
    assert [e for _, e in read_events(again)][0]["PayloadChunk"]["Payload"] == b"chunk-0;"


def test_a_buffered_answer_is_one_chunk(lam: Any, streaming_function: str) -> None:
    response = lam.invoke_with_response_stream(
        FunctionName=streaming_function, Payload=json.dumps({"mode": "buffered"}).encode()
    )
    events = [e for _, e in read_events(response)]
    assert events[0]["PayloadChunk"]["Payload"] == b'{"buffered": true}'
    assert events[1] == {"InvokeComplete": {}}


def test_plain_invoke_collects_a_streamed_response(lam: Any, streaming_function: str) -> None:
    response = lam.invoke(
        FunctionName=streaming_function,
        Payload=json.dumps({"mode": "stream", "chunks": 3, "pause": 0}).encode(),
    )
    assert "FunctionError" not in response
    assert response["Payload"].read() == b"chunk-0;chunk-1;chunk-2;"


def test_large_stream_passes_through_bounded(lam: Any, streaming_function: str) -> None:
    response = lam.invoke_with_response_stream(
        FunctionName=streaming_function,
        Payload=json.dumps({"mode": "big", "blocks": 128}).encode(),  # 8 MiB
    )
    total = 0
    for event in response["EventStream"]:
        if "PayloadChunk" in event:
            total += len(event["PayloadChunk"]["Payload"])
        else:
            assert event["InvokeComplete"] == {}
    assert total == 128 * 65536


def test_bad_requests_get_aws_errors(lam: Any, streaming_function: str) -> None:
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke_with_response_stream(FunctionName=unique("missing"), Payload=b"{}")
    with pytest.raises(lam.exceptions.InvalidRequestContentException):
        lam.invoke_with_response_stream(FunctionName=streaming_function, Payload=b"{not json")
    with pytest.raises(lam.exceptions.ClientError) as raised:
        lam.invoke_with_response_stream(
            FunctionName=streaming_function, InvocationType="Event", Payload=b"{}"
        )
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert raised.value.response["Error"]["Message"] == (
        "1 validation error detected: Value 'Event' at 'invocationType' failed to satisfy "
        "constraint: Member must satisfy enum value set: [RequestResponse, DryRun]"
    )
    dry = lam.invoke_with_response_stream(
        FunctionName=streaming_function, InvocationType="DryRun", Payload=b"{}"
    )
    assert dry["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_beyond_20_mib_the_stream_ends_with_the_size_error(
    lam: Any, streaming_function: str
) -> None:
    response = lam.invoke_with_response_stream(
        FunctionName=streaming_function,
        Payload=json.dumps({"mode": "big", "blocks": 330}).encode(),  # 20.6 MiB
    )
    total = 0
    complete: dict[str, Any] = {}
    for event in response["EventStream"]:
        if "PayloadChunk" in event:
            total += len(event["PayloadChunk"]["Payload"])
        else:
            complete = event["InvokeComplete"]
    assert total <= 20 * 1024 * 1024
    assert complete["ErrorCode"] == "Function.ResponseSizeTooLarge"
    assert complete["ErrorDetails"] == (
        "Response payload size exceeded maximum allowed payload size (20971520 bytes)."
    )


def test_a_timeout_mid_stream_ends_it_with_the_timeout(lam: Any) -> None:
    name = unique("stream-timeout")
    lam.create_function(
        FunctionName=name,
        Runtime="provided.al2023",
        Role=ROLE,
        Handler="function.handler",
        Timeout=1,
        Code={"ZipFile": make_zip({"bootstrap": STREAMING_BOOTSTRAP}, modes={"bootstrap": 0o755})},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    response = lam.invoke_with_response_stream(
        FunctionName=name,
        Payload=json.dumps({"mode": "stream", "chunks": 5, "pause": 0.4}).encode(),
    )
    events = [e for _, e in read_events(response)]
    payloads = [e["PayloadChunk"]["Payload"] for e in events if "PayloadChunk" in e]
    assert payloads[0] == b"chunk-0;" and len(payloads) < 5
    complete = events[-1]["InvokeComplete"]
    assert complete["ErrorCode"] == "Sandbox.Timedout"
    assert complete["ErrorDetails"].endswith("Task timed out after 1.00 seconds")


def test_a_throttle_is_answered_before_any_streaming(lam: Any) -> None:
    name = unique("stream-throttled")
    lam.create_function(
        FunctionName=name,
        Runtime="provided.al2023",
        Role=ROLE,
        Handler="function.handler",
        Code={"ZipFile": make_zip({"bootstrap": STREAMING_BOOTSTRAP}, modes={"bootstrap": 0o755})},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(lam.exceptions.TooManyRequestsException) as raised:
        lam.invoke_with_response_stream(FunctionName=name, Payload=b"{}")
    assert raised.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
