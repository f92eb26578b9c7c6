"""RESPONSE_STREAM function URLs read with a plain HTTP client: chunked, arriving as the
function writes them, head from the Node.js HTTP prelude or the runtime's content type."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from support import ROLE, make_zip, unique

STREAMING_HANDLER = """
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const handler = awslambda.streamifyResponse(async (event, stream) => {
  const asked = JSON.parse(event.body || '{}');
  if (asked.http) {
    stream = awslambda.HttpResponseStream.from(stream, {
      statusCode: 207, headers: { 'content-type': 'text/event-stream', 'x-mode': 'prelude' },
      cookies: ['session=1; Path=/'],
    });
  } else {
    stream.setContentType('text/plain');
  }
  for (let i = 0; i < 3; i++) {
    stream.write(`data: ${i}\\n\\n`);
    await pause(asked.pause ?? 300);
  }
  stream.end();
});
"""

BUFFERED_PYTHON = (
    "def handler(event, context):\n"
    "    return {'statusCode': 202, 'headers': {'x-kind': 'buffered'}, 'body': 'whole'}\n"
)


def url_of(lam: Any, name: str) -> str:
    created = lam.create_function_url_config(
        FunctionName=name, AuthType="NONE", InvokeMode="RESPONSE_STREAM"
    )
    lam.add_permission(
        FunctionName=name,
        StatementId="public-url",
        Action="lambda:InvokeFunctionUrl",
        Principal="*",
        FunctionUrlAuthType="NONE",
    )
    return str(created["FunctionUrl"])


def post(
    url: str, body: dict[str, Any]
) -> tuple[http.client.HTTPResponse, list[tuple[float, bytes]]]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=60)
    connection.request(
        "POST",
        "/",
        body=json.dumps(body),
        headers={"Host": parts.netloc, "Content-Type": "application/json"},
    )
    response = connection.getresponse()
    pieces: list[tuple[float, bytes]] = []
    while True:
        piece = response.read1(65536)
        if not piece:
            break
        pieces.append((time.perf_counter(), piece))
    connection.close()
    return response, pieces


@pytest.fixture(scope="module")
def node_url(lam: Any) -> str:
    name = unique("urlstream")
    lam.create_function(
        FunctionName=name,
        Runtime="nodejs20.x",
        Role=ROLE,
        Handler="index.handler",
        MemorySize=1024,
        Code={"ZipFile": make_zip({"index.mjs": STREAMING_HANDLER})},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return url_of(lam, name)


def test_chunks_arrive_as_written(node_url: str) -> None:
    response, pieces = post(node_url, {"pause": 400})
    assert response.status == 200
    assert response.getheader("transfer-encoding") == "chunked"
    assert response.getheader("content-type") == "text/plain"
    assert response.getheader("x-amzn-requestid")
    assert b"".join(piece for _, piece in pieces) == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"
    assert len(pieces) == 3
    assert pieces[-1][0] - pieces[0][0] > 0.6


def test_http_prelude_sets_status_headers_and_cookies(node_url: str) -> None:
    response, pieces = post(node_url, {"http": True, "pause": 0})
    assert response.status == 207
    assert response.getheader("content-type") == "text/event-stream"
    assert response.getheader("x-mode") == "prelude"
    assert response.getheader("set-cookie") == "session=1; Path=/"
    assert b"".join(piece for _, piece in pieces) == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"


def test_a_buffered_function_behind_a_streaming_url(lam: Any) -> None:
    name = unique("urlbuf")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=ROLE,
        Handler="lambda_function.handler",
        Code={"ZipFile": make_zip({"lambda_function.py": BUFFERED_PYTHON})},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    response, pieces = post(url_of(lam, name), {})
    assert response.status == 202
    assert response.getheader("x-kind") == "buffered"
    assert b"".join(piece for _, piece in pieces) == b"whole"
