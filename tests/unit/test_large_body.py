"""A package upload's body, read and parsed without stalling the event loop
(``api.large_body``): the ``ZipFile`` string left out of ``json.loads`` and decoded in chunks,
and a large body's pieces joined where the copy lets the GIL go."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import random
import sys

import pytest

from lamina.api.large_body import (
    CHUNK_CHARS,
    DENSE_VALUES,
    LARGE_BODY_BYTES,
    PARSE_INLINE_BYTES,
    LargeBase64,
    join_off_loop,
    loads_leaving_blob,
    loads_sharing_the_gil,
)


def _upload(package: bytes, **members: object) -> bytes:
    document = {"FunctionName": "f", "Code": {"ZipFile": base64.b64encode(package).decode()}}
    document.update(members)
    return json.dumps(document).encode()


def test_a_large_upload_leaves_its_zip_file_undecoded_and_decodes_it_in_chunks() -> None:
    package = random.Random(1).randbytes(3 * CHUNK_CHARS + 7)  # several chunks and a tail
    body = _upload(package, Runtime="python3.12")
    assert len(body) > LARGE_BODY_BYTES
    document = loads_leaving_blob(body)
    blob = document["Code"]["ZipFile"]
    assert isinstance(blob, LargeBase64)
    assert document["Runtime"] == "python3.12"
    assert blob.to_bytes() == package


@pytest.mark.parametrize("tail", [0, 1, 2])  # no padding, "==" and "="
def test_every_padding_decodes_as_b64decode_does(tail: int) -> None:
    package = random.Random(tail).randbytes(LARGE_BODY_BYTES + tail)
    blob = loads_leaving_blob(_upload(package))["Code"]["ZipFile"]
    assert blob.to_bytes() == base64.b64decode(base64.b64encode(package), validate=True)


def test_a_small_body_is_parsed_plainly() -> None:
    body = _upload(b"PK tiny")
    document = loads_leaving_blob(body)
    assert not isinstance(document["Code"]["ZipFile"], LargeBase64)
    assert document == json.loads(body)


def test_a_zip_file_with_an_escape_is_decoded_as_json_loads_decodes_it() -> None:
    body = b'{"Code": {"ZipFile": "QUJD\\/' + b"A" * LARGE_BODY_BYTES + b'"}}'
    document = loads_leaving_blob(body)
    assert not isinstance(document["Code"]["ZipFile"], LargeBase64)
    assert document == json.loads(body)


def test_every_large_zip_file_member_is_left_undecoded() -> None:
    """The member twice (json keeps the last of a duplicate key), or in two places."""
    digits = b"A" * LARGE_BODY_BYTES
    body = b'{"ZipFile": "QUJD", "Code": {"ZipFile": "' + digits + b'"}, "ZipFile": "' + digits
    document = loads_leaving_blob(body + b'"}')
    assert isinstance(document["ZipFile"], LargeBase64)
    assert document["ZipFile"].to_bytes() == base64.b64decode(digits)
    assert document["Code"]["ZipFile"].to_bytes() == base64.b64decode(digits)


def test_other_long_strings_of_an_upload_are_decoded() -> None:
    description = "é\n" * LARGE_BODY_BYTES
    body = _upload(b"PK" * LARGE_BODY_BYTES, Description=description)
    document = loads_leaving_blob(body)
    assert isinstance(document["Code"]["ZipFile"], LargeBase64)
    assert document["Description"] == description


@pytest.mark.parametrize(
    "digits",
    [
        b"A" * (LARGE_BODY_BYTES + 1),  # not a multiple of 4
        b"A" * LARGE_BODY_BYTES + b"A===",  # too much padding
        b"A" * CHUNK_CHARS + b"A*AA" + b"A" * LARGE_BODY_BYTES,  # not a base64 digit
        b"A" * LARGE_BODY_BYTES + b"A=AA",  # padding inside
    ],
)
def test_what_b64decode_refuses_is_refused(digits: bytes) -> None:
    with pytest.raises(binascii.Error):
        base64.b64decode(digits, validate=True)
    blob = loads_leaving_blob(b'{"ZipFile": "' + digits + b'"}')["ZipFile"]
    with pytest.raises(ValueError):
        blob.to_bytes()


def test_a_large_body_is_joined_while_the_loop_keeps_turning() -> None:
    """64 MB of pieces: joined in a thread, where the copy (tens of milliseconds, most of
    it faulting fresh pages in) does not hold the GIL, so the loop goes on meanwhile."""
    pieces = [bytes([i % 256]) * (1 << 16) for i in range(1024)]

    async def joined_with_turns() -> tuple[bytes, int]:
        turns = 0
        joining = asyncio.ensure_future(join_off_loop(pieces, 1 << 26))
        while not joining.done():
            turns += 1
            await asyncio.sleep(0)
        return joining.result(), turns

    joined, turns = asyncio.run(joined_with_turns())
    assert joined == b"".join(pieces)
    assert turns > 50, turns


def test_a_small_body_is_joined_inline() -> None:
    async def join() -> bytes:
        return await join_off_loop([b"a", b"b"], 2)

    assert asyncio.run(join()) == b"ab"


DENSE = json.dumps({"logEvents": [{"timestamp": i, "message": "m"} for i in range(100_000)]})


def test_a_dense_body_is_parsed_as_json_loads_parses_it() -> None:
    body = DENSE.encode()
    assert len(body) > PARSE_INLINE_BYTES
    assert body.count(b",") + body.count(b":") >= DENSE_VALUES
    assert loads_sharing_the_gil(body) == json.loads(body)
    broken = body[:-2] + b",}"
    with pytest.raises(json.JSONDecodeError) as c_error:
        json.loads(broken)
    with pytest.raises(json.JSONDecodeError) as python_error:
        loads_sharing_the_gil(broken)
    assert str(python_error.value) == str(c_error.value)


def test_a_deep_dense_body_fails_as_too_deep() -> None:
    body = b"[" * 200_000 + b"0," * 5_000 + b"]" * 200_000
    with pytest.raises((RecursionError, ValueError)):
        loads_sharing_the_gil(body)


def test_a_dense_body_is_parsed_in_a_thread_while_the_loop_keeps_turning() -> None:
    """4 MB of log events: about 100 ms in the C decoder, which holds the GIL throughout (a
    loop waiting for it turned 11 to 40 times meanwhile); the Python decoder shares it (the
    loop turned 6,000 to 8,000 times)."""
    body = json.dumps([{"timestamp": i, "message": "m"} for i in range(150_000)]).encode()

    async def turns_while_parsing() -> int:
        turns = 0
        parsing = asyncio.ensure_future(asyncio.to_thread(loads_sharing_the_gil, body))
        while not parsing.done():
            turns += 1
            await asyncio.sleep(0)
        assert len(parsing.result()) == 150_000
        return turns

    previous = sys.getswitchinterval()
    sys.setswitchinterval(0.001)  # the server's
    try:
        turns = asyncio.run(turns_while_parsing())
    finally:
        sys.setswitchinterval(previous)
    assert turns > 1000, turns
