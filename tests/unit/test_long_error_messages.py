"""An error whose message echoes a long value of the request (a validation message) is
rendered in a thread, a piece at a time, and sent as it comes (``wire.error_response_off_loop``):
the same bytes as ``json.dumps``, while the event loop goes on."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from loop_pauses import longest_pause_while

from lamina.api.endpoints import StreamingBody
from lamina.api.protocols.rest_json import PIECE_CHARS, body_in_pieces
from lamina.api.wire import LARGE_MESSAGE_CHARS, error_response, error_response_off_loop
from lamina.domain.errors import InvalidParameterValueException, ValidationException
from lamina.domain.names import constraint_error, validation_message


@pytest.mark.parametrize(
    "body",
    [
        {"message": "x" * (3 * PIECE_CHARS + 5)},
        {"Type": "User", "message": 'é"\\\n\x00😀\ud83d' * PIECE_CHARS, "Extra": 3},
        {"message": None, "n": [1, "a"]},
        {},
    ],
)
def test_the_pieces_make_what_json_dumps_makes(body: dict[str, Any]) -> None:
    assert b"".join(body_in_pieces(body)) == json.dumps(body).encode()


def _sent(response: tuple[int, list[tuple[bytes, bytes]], bytes]) -> bytes:
    body = response[2]
    assert isinstance(body, StreamingBody)

    async def collect() -> bytes:
        return b"".join([piece async for piece in body.pieces()])

    return asyncio.run(collect())


def test_a_long_message_is_sent_in_pieces_with_its_length() -> None:
    too_long = "Member must have length less than or equal to 256"
    echoed = constraint_error("description", "d" * LARGE_MESSAGE_CHARS, too_long)
    error = ValidationException(validation_message([echoed]))
    status, headers, body = asyncio.run(error_response_off_loop(error))
    plain = error_response(error)
    assert status == plain[0] == 400
    assert dict(headers)[b"content-length"] == str(len(plain[2])).encode()
    assert [h for h in headers if h[0] != b"content-length"] == plain[1]
    assert _sent((status, headers, body)) == plain[2]


def test_a_short_message_is_rendered_as_before() -> None:
    error = InvalidParameterValueException("short")
    assert asyncio.run(error_response_off_loop(error)) == error_response(error)


def test_the_loop_keeps_turning_while_60_mb_of_message_are_rendered() -> None:
    error = ValidationException("v" * 60_000_000)

    _, longest = longest_pause_while(lambda: error_response_off_loop(error))
    assert longest < 0.05, longest  # json.dumps of it inline: 0.2 s
