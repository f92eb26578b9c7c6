"""The built-in Python runtime's HTTP response reader (``lamina_runtime_http``), fed from a fake
``recv``: responses split anywhere, pipelined in one buffer, chunked, cut by a closed connection."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

RUNTIME_DIR = Path(__file__).resolve().parents[2] / "src" / "lamina" / "runtimes" / "python"


def load(name: str) -> ModuleType:
    """A runtime module by path (the runtime directory never goes on ``sys.path``)."""
    spec = importlib.util.spec_from_file_location(f"{name}_probe", RUNTIME_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


http = load("lamina_runtime_http")

ACK = (
    b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n"
    b'{"status":"OK"}'
)
EVENT = (
    b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r1\r\nLambda-Runtime-Deadline-Ms: 42\r\n"
    b"Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:000000000000:function:F\r\n"
    b"Content-Type: application/json\r\nContent-Length: 12\r\n\r\n"
    b'{"a": "b\r\n"}'
)
CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nLambda-Runtime-Aws-Request-Id: r2\r\n\r\n"
    b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n"
)


class FakeRecv:
    """``recv`` handing out the given pieces in order, then ``b""`` (the peer closed)."""

    def __init__(self, pieces: Iterable[bytes]) -> None:
        self.pieces = [piece for piece in pieces if piece]
        self.calls = 0

    def __call__(self, size: int) -> bytes:
        self.calls += 1
        if not self.pieces:
            return b""
        piece = self.pieces.pop(0)
        if len(piece) > size:
            piece, rest = piece[:size], piece[size:]
            self.pieces.insert(0, rest)
        return piece


def read_all(pieces: Iterable[bytes], count: int) -> list[Any]:
    reader = http.ResponseReader(FakeRecv(pieces))
    return [reader.read_response() for _ in range(count)]


def test_event_headers_body_and_keep_alive() -> None:
    ((status, headers, body, keep_alive),) = read_all([EVENT], 1)
    assert (status, body, keep_alive) == (200, b'{"a": "b\r\n"}', True)
    assert headers == {
        "lambda-runtime-aws-request-id": "r1",
        "lambda-runtime-deadline-ms": "42",
        "lambda-runtime-invoked-function-arn": ("arn:aws:lambda:us-east-1:000000000000:function:F"),
        "content-type": "application/json",
        "content-length": "12",
    }


@pytest.mark.parametrize("wire", [ACK + EVENT, EVENT + CHUNKED + ACK], ids=["ack-event", "mixed"])
def test_split_anywhere_gives_the_same_responses(wire: bytes) -> None:
    count = 2 if wire.startswith(ACK) else 3
    whole = read_all([wire], count)
    for cut in range(1, len(wire)):
        assert read_all([wire[:cut], wire[cut:]], count) == whole, cut
    assert read_all([wire[i : i + 1] for i in range(len(wire))], count) == whole


def test_pipelined_responses_in_one_buffer_cost_one_recv() -> None:
    recv = FakeRecv([ACK + EVENT])
    reader = http.ResponseReader(recv)
    assert reader.read_response()[0] == 202
    assert reader.buffered == len(EVENT)
    assert reader.read_response()[2] == b'{"a": "b\r\n"}'
    assert (recv.calls, reader.buffered) == (1, 0)


def test_a_repeated_response_is_recognised_and_its_headers_are_fresh() -> None:
    reader = http.ResponseReader(FakeRecv([ACK + ACK, ACK]))
    first, second, third = (reader.read_response() for _ in range(3))
    assert (
        first
        == second
        == third
        == (
            202,
            {"content-type": "application/json", "content-length": "15"},
            b'{"status":"OK"}',
            True,
        )
    )
    second[1]["mutated"] = "yes"
    assert "mutated" not in reader._repeat_response[1]


def test_chunked_body_with_extensions_and_trailers() -> None:
    ((status, headers, body, keep_alive),) = read_all([CHUNKED], 1)
    assert (status, body, keep_alive) == (200, b"hello world", True)
    assert headers["lambda-runtime-aws-request-id"] == "r2"


def test_chunked_body_ended_by_the_connection_after_the_last_chunk() -> None:
    ((_, _, body, _),) = read_all([CHUNKED[: CHUNKED.index(b"Trailer")]], 1)
    assert body == b"hello world"


def test_interim_responses_are_skipped() -> None:
    continue_ = b"HTTP/1.1 100 Continue\r\n\r\n"
    assert read_all([continue_ + EVENT], 1) == read_all([EVENT], 1)
    assert read_all([continue_, EVENT], 1) == read_all([EVENT], 1)


def test_body_until_close_and_keep_alive_rules() -> None:
    ((status, _, body, keep_alive),) = read_all(
        [b"HTTP/1.0 200 OK\r\nX: y\r\n\r\nuntil", b" close"], 1
    )
    assert (status, body, keep_alive) == (200, b"until close", False)
    close = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    assert read_all([close], 1)[0][3] is False
    old_keep = b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n"
    assert read_all([old_keep], 1)[0][3] is True
    no_content = b"HTTP/1.1 204 No Content\r\n\r\n"
    assert read_all([no_content + ACK], 2)[0] == (204, {}, b"", True)


def test_bare_newlines_and_header_white_space() -> None:
    wire = b"HTTP/1.1 200 OK\nLambda-Runtime-Aws-Request-Id:  r3 \r\nContent-Length: 2\n\nok"
    ((status, headers, body, _),) = read_all([wire], 1)
    assert (status, headers["lambda-runtime-aws-request-id"], body) == (200, "r3", b"ok")
    # A head ended by a bare empty line is not extended to a later CRLF CRLF in the body.
    wire = b"HTTP/1.1 200 OK\nContent-Length: 8\n\nab\r\n\r\ncd"
    assert read_all([wire], 1)[0][2] == b"ab\r\n\r\ncd"


def test_large_body_is_read_in_pieces() -> None:
    body = bytes(range(256)) * 2000  # beyond one recv
    wire = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body + ACK
    status, _, got, _ = read_all([wire], 1)[0]
    assert (status, got) == (200, body)
    assert read_all([wire], 2)[1][0] == 202


@pytest.mark.parametrize(
    ("pieces", "error", "message"),
    [
        ([], http.NoResponse, "without response"),
        ([b"HTTP/1.1 200 OK\r\nContent-"], ConnectionError, "inside the response headers"),
        ([EVENT[:-3]], ConnectionError, "inside the response body"),
        ([CHUNKED[: CHUNKED.index(b" world") - 2]], ConnectionError, "inside a chunked"),
        ([CHUNKED[: CHUNKED.index(b"hello") + 2]], ConnectionError, "inside the response body"),
        ([b"HTTP/1.1 100 Continue\r\n\r\n"], http.NoResponse, "without response"),
        ([b"garbage\r\n\r\n"], ConnectionError, "Bad status line"),
    ],
    ids=["nothing", "head", "body", "chunk-size", "chunk", "after-interim", "status-line"],
)
def test_connection_closed_or_bad_response(
    pieces: list[bytes], error: type[Exception], message: str
) -> None:
    reader = http.ResponseReader(FakeRecv(pieces))
    with pytest.raises(error, match=message) as raised:
        reader.read_response()
    if error is ConnectionError:
        assert not isinstance(raised.value, http.NoResponse)


def test_a_head_without_end_is_bounded() -> None:
    endless = (b"X-Filler: " + b"x" * 1000 + b"\r\n" for _ in range(2000))
    reader = http.ResponseReader(FakeRecv([b"HTTP/1.1 200 OK\r\n", *endless]))
    with pytest.raises(ConnectionError, match="too large"):
        reader.read_response()
