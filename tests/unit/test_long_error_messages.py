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
from lamina.domain.errors import InvalidParameterValueException, Spliced, ValidationException
from lamina.domain.names import LONG_VALUE_CHARS, constraint_error, validation_message
from lamina.domain.validation import validate_create_shapes


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


# --- a long value echoed without a copy (``names.LongValues``, ``errors.Spliced``) -----------

TOO_LONG = "Member must have length less than or equal to 256"


def _create_request(description: str, **more: Any) -> dict[str, Any]:
    return {
        "FunctionName": "fn",
        "Role": "arn:aws:iam::123456789012:role/r",
        "Runtime": "python3.12",
        "Handler": "h.h",
        "Code": {"ZipFile": b"zip"},
        "Description": description,
        **more,
    }


def _validation_error(request: dict[str, Any]) -> ValidationException:
    with pytest.raises(ValidationException) as raised:
        validate_create_shapes(request)
    return raised.value


def test_a_long_value_is_echoed_by_reference_in_the_same_message() -> None:
    value = "d" * LONG_VALUE_CHARS
    error = _validation_error(_create_request(value, Timeout=0, Handler="a b"))
    expected = validation_message(
        [
            constraint_error(
                "handler", "a b", "Member must satisfy regular expression pattern: [^\\s]+"
            ),
            constraint_error("description", value, TOO_LONG),
            constraint_error("timeout", 0, "Member must have value greater than or equal to 1"),
        ]
    )
    assert error.message_length == len(expected)
    assert any(part is value for part in error.body(spliced=True)["message"].parts)  # no copy
    status, headers, body = asyncio.run(error_response_off_loop(error))
    assert json.loads(_sent((status, headers, body))) == {"message": expected}
    assert error.message == expected  # joined when read whole, then kept
    assert error.message is error.message
    short = _validation_error(_create_request("s" * 300))
    assert short.message == validation_message(
        [constraint_error("description", "s" * 300, TOO_LONG)]
    )


def test_spliced_values_render_as_their_joined_string() -> None:
    spliced = Spliced(("1 error: Value '", 'é"\\\n' * PIECE_CHARS, "' at 'x'"))
    body = {"Type": "User", "message": spliced}
    assert b"".join(body_in_pieces(body)) == json.dumps({**body, "message": str(spliced)}).encode()
    assert len(spliced) == len(str(spliced))
    error = ValidationException(spliced)
    assert str(error) == error.message == str(spliced)
    error.message = "replaced"
    assert (error.message, error.message_length) == ("replaced", 8)
