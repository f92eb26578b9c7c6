"""The API port's lean path for small Invoke requests (``api/http_protocol.py``), over raw
sockets: what HTTP clients other than boto3 send must get the same answers as through ASGI,
in order, with the connection handled as HTTP/1.1 says."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from support import LaminaServer, create_python_function

AUTH = (
    "Authorization: AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/lambda/aws4_request, "
    "SignedHeaders=host, Signature=abc\r\n"
)
ECHO = "def handler(event, context):\n    return {'echo': event}\n"


@pytest.fixture(scope="module")
def echo(lam: Any) -> str:
    return create_python_function(lam, ECHO)


def _invoke(name: str, body: bytes, extra: str = "", version: str = "1.1") -> bytes:
    return (
        f"POST /2015-03-31/functions/{name}/invocations HTTP/{version}\r\n"
        f"Host: 127.0.0.1\r\n{AUTH}Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def _read_responses(sock: socket.socket, count: int) -> list[tuple[bytes, dict[str, str], bytes]]:
    """``count`` responses (status line, headers, body), read by their content-length."""
    buffer = b""
    out: list[tuple[bytes, dict[str, str], bytes]] = []
    while len(out) < count:
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {len(out)} responses"
            buffer += chunk
        head, buffer = buffer.split(b"\r\n\r\n", 1)
        status, *lines = head.split(b"\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers["content-length"])
        while len(buffer) < length:
            chunk = sock.recv(65536)
            assert chunk
            buffer += chunk
        out.append((status, headers, buffer[:length]))
        buffer = buffer[length:]
    return out


def _connect(server: LaminaServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=20)


def test_pipelined_invokes_are_answered_in_order(server: LaminaServer, echo: str) -> None:
    with _connect(server) as sock:
        sock.sendall(b"".join(_invoke(echo, json.dumps({"n": n}).encode()) for n in range(5)))
        answers = _read_responses(sock, 5)
    assert [json.loads(body)["echo"]["n"] for _, _, body in answers] == list(range(5))
    for status, headers, _ in answers:
        assert status == b"HTTP/1.1 200 OK"
        assert headers["x-amz-executed-version"] == "$LATEST"
        assert len(headers["x-amzn-requestid"]) == 36
    assert len({headers["x-amzn-requestid"] for _, headers, _ in answers}) == 5


def test_a_lean_invoke_then_another_operation_on_one_connection(
    server: LaminaServer, echo: str
) -> None:
    get = (f"GET /2015-03-31/functions/{echo} HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}\r\n").encode()
    with _connect(server) as sock:
        sock.sendall(_invoke(echo, b'{"a": 1}') + get + _invoke(echo, b'{"a": 2}'))
        first, second, third = _read_responses(sock, 3)
    assert json.loads(first[2]) == {"echo": {"a": 1}}
    assert json.loads(second[2])["Configuration"]["FunctionName"] == echo
    assert json.loads(third[2]) == {"echo": {"a": 2}}


def test_connection_close_is_honoured(server: LaminaServer, echo: str) -> None:
    with _connect(server) as sock:
        sock.sendall(_invoke(echo, b"{}", "Connection: close\r\n"))
        [(status, headers, body)] = _read_responses(sock, 1)
        assert status == b"HTTP/1.1 200 OK" and headers["connection"] == "close"
        assert sock.recv(1) == b""  # closed by the server


@pytest.mark.parametrize(
    "extra, version",
    [
        ("Expect: 100-continue\r\n", "1.1"),  # the ASGI path answers 100 Continue first
        ("", "1.0"),
    ],
)
def test_requests_off_the_lean_path_get_the_same_answer(
    server: LaminaServer, echo: str, extra: str, version: str
) -> None:
    with _connect(server) as sock:
        sock.sendall(_invoke(echo, b'{"k": "v"}', extra, version))
        data = b""
        while b'{"echo": {"k": "v"}}' not in data:
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
    assert b" 200 OK\r\n" in data and b"x-amz-executed-version: $latest" in data.lower()


def test_a_chunked_invoke_is_answered(server: LaminaServer, echo: str) -> None:
    body = b'{"chunked": true}'
    request = (
        f"POST /2015-03-31/functions/{echo}/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode() + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    with _connect(server) as sock:
        sock.sendall(request)
        [(status, _, answer)] = _read_responses(sock, 1)
    assert status == b"HTTP/1.1 200 OK" and json.loads(answer) == {"echo": {"chunked": True}}


def test_errors_on_the_lean_path_are_aws_errors(server: LaminaServer, echo: str) -> None:
    with _connect(server) as sock:
        sock.sendall(_invoke("no-such-function", b"{}") + _invoke(echo, b"{not json"))
        (missing, bad_json) = _read_responses(sock, 2)
    assert missing[0] == b"HTTP/1.1 404 Not Found"
    assert missing[1]["x-amzn-errortype"] == "ResourceNotFoundException"
    assert bad_json[0] == b"HTTP/1.1 400 Bad Request"
    assert bad_json[1]["x-amzn-errortype"] == "InvalidRequestContentException"


def test_an_unsigned_invoke_is_refused_on_the_lean_path(server: LaminaServer, echo: str) -> None:
    request = (
        f"POST /2015-03-31/functions/{echo}/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Length: 2\r\n\r\n{}"
    ).encode()
    with _connect(server) as sock:
        sock.sendall(request)
        [(status, headers, _)] = _read_responses(sock, 1)
    assert status == b"HTTP/1.1 403 Forbidden"
    assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


URL_ECHO = (
    "def handler(event, context):\n"
    "    return {'path': event['rawPath'], 'body': event.get('body')}\n"
)


def test_pipelined_function_url_requests_by_host_are_answered_in_order(
    server: LaminaServer, lam: Any
) -> None:
    name = create_python_function(lam, URL_ECHO)
    url = lam.create_function_url_config(FunctionName=name, AuthType="NONE")["FunctionUrl"]
    lam.add_permission(
        FunctionName=name,
        StatementId="public",
        Action="lambda:InvokeFunctionUrl",
        Principal="*",
        FunctionUrlAuthType="NONE",
    )
    host = url.split("//", 1)[1].rstrip("/")
    post = (
        f"POST /post HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain\r\n"
        "Content-Length: 2\r\n\r\nhi"
    )
    requests = [f"GET /get/{n} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode() for n in range(3)]
    requests.append(post.encode())
    with _connect(server) as sock:
        sock.sendall(b"".join(requests))
        answers = _read_responses(sock, 4)
    assert [json.loads(body)["path"] for _, _, body in answers] == [
        "/get/0",
        "/get/1",
        "/get/2",
        "/post",
    ]
    assert json.loads(answers[3][2])["body"] == "hi"
    assert all(status == b"HTTP/1.1 200 OK" for status, _, _ in answers)
