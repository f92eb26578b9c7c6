"""Node.js ``awslambda.streamifyResponse`` handlers streamed as they write (both runtime
interface client generations), read with boto3's InvokeWithResponseStream."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from support import ROLE, make_zip, unique

STREAMING_HANDLER = """
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const handler = awslambda.streamifyResponse(async (event, stream, context) => {
  stream.setContentType('text/plain');
  if (event.http) {
    stream = awslambda.HttpResponseStream.from(stream, {
      statusCode: 201, headers: { 'x-streamed': 'yes' }, cookies: ['a=1'],
    });
  }
  for (let i = 0; i < (event.chunks ?? 3); i++) {
    stream.write(`part-${i};`);
    await pause(event.pause ?? 300);
  }
  if (event.fail) throw new Error('failed mid-stream');
  stream.end();
});
"""

THROWS_FIRST = """
export const handler = awslambda.streamifyResponse(async () => {
  throw new TypeError('before any write');
});
"""


def create(lam: Any, code: str, runtime: str) -> str:
    name = unique("nstream")
    lam.create_function(
        FunctionName=name,
        Runtime=runtime,
        Role=ROLE,
        Handler="index.handler",
        MemorySize=1024,
        Timeout=30,
        Code={"ZipFile": make_zip({"index.mjs": code})},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return name


def events_of(lam: Any, name: str, payload: dict[str, Any]) -> list[tuple[float, Any]]:
    response = lam.invoke_with_response_stream(
        FunctionName=name, Payload=json.dumps(payload).encode()
    )
    return [(time.perf_counter(), event) for event in response["EventStream"]]


@pytest.mark.parametrize("runtime", ["nodejs20.x", "nodejs24.x"])
def test_streamify_response_streams_each_write(lam: Any, runtime: str) -> None:
    name = create(lam, STREAMING_HANDLER, runtime)
    events = events_of(lam, name, {"chunks": 3, "pause": 400})
    chunks = [(at, e["PayloadChunk"]["Payload"]) for at, e in events if "PayloadChunk" in e]
    assert b"".join(payload for _, payload in chunks) == b"part-0;part-1;part-2;"
    assert len(chunks) == 3
    assert chunks[2][0] - chunks[0][0] > 0.6  # the first came long before the last
    assert events[-1][1] == {"InvokeComplete": {}}

    # An error after the first writes ends the stream with it (trailers).
    failed = events_of(lam, name, {"chunks": 1, "pause": 0, "fail": True})
    assert failed[0][1]["PayloadChunk"]["Payload"] == b"part-0;"
    complete = failed[-1][1]["InvokeComplete"]
    assert complete["ErrorCode"] == "Error"
    assert complete["ErrorDetails"] == "failed mid-stream"


def test_http_response_stream_writes_the_prelude(lam: Any) -> None:
    name = create(lam, STREAMING_HANDLER, "nodejs20.x")
    events = events_of(lam, name, {"http": True, "chunks": 1, "pause": 0})
    body = b"".join(e["PayloadChunk"]["Payload"] for _, e in events if "PayloadChunk" in e)
    prelude, _, rest = body.partition(b"\0" * 8)
    assert json.loads(prelude) == {
        "statusCode": 201,
        "headers": {"x-streamed": "yes"},
        "cookies": ["a=1"],
    }
    assert rest == b"part-0;"


def test_error_before_any_write_is_a_plain_function_error(lam: Any) -> None:
    name = create(lam, THROWS_FIRST, "nodejs20.x")
    events = [e for _, e in events_of(lam, name, {})]
    assert events == [
        {"InvokeComplete": {"ErrorCode": "TypeError", "ErrorDetails": "before any write"}}
    ]
    plain = lam.invoke(FunctionName=name, Payload=b"{}")
    assert plain["FunctionError"] == "Unhandled"
    assert json.loads(plain["Payload"].read())["errorType"] == "TypeError"
