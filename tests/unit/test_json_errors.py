"""Invalid Invoke payloads are described as Lambda's parser (Jackson) describes them: the
recorded cases (TestLambdaErrors::test_lambda_invoke_payload_encoding_error, whose ids hold
the payloads) exactly, and the common mistakes by Jackson's wording."""

from __future__ import annotations

import codecs
import json
import re

import pytest
from aws_recorded import RECORDED

from lamina.domain import json_errors
from lamina.domain.errors import InvalidRequestContentException
from lamina.services.payload_check import check_payload

PREFIX = "Could not parse request body into json: Could not parse payload into json: "
AT = " at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); "


def recorded_cases() -> list[tuple[bytes, str]]:
    snapshot = json.loads((RECORDED / "test_lambda.snapshot.json").read_text())
    cases: list[tuple[bytes, str]] = []
    for test_id, entry in snapshot.items():
        found = re.search(
            r"test_lambda_invoke_payload_encoding_error\[(?:body|message)-(.*)\]$", test_id
        )
        if found:
            payload = codecs.escape_decode(found.group(1).encode("latin-1"))[0]
            (response,) = entry["recorded-content"].values()
            cases.append((payload, response["Error"]["Message"]))
    return cases


RECORDED_CASES = recorded_cases()


def test_both_recorded_cases_are_found() -> None:
    assert len(RECORDED_CASES) == 2


@pytest.mark.parametrize(("payload", "message"), RECORDED_CASES)
def test_recorded_messages_exactly(payload: bytes, message: str) -> None:
    with pytest.raises(InvalidRequestContentException) as excinfo:
        check_payload(payload)
    assert excinfo.value.args[0] == message
    assert excinfo.value.status == 400


@pytest.mark.parametrize(
    ("payload", "description", "where"),
    [
        (
            b"{not json",
            "Unexpected character ('n' (code 110)): was expecting double-quote to start field name",
            "line: 1, column: 2",
        ),
        (
            b'{"a" 1}',
            "Unexpected character ('1' (code 49)): was expecting a colon to separate field "
            "name and value",
            "line: 1, column: 6",
        ),
        (
            b'{"a": 1 "b": 2}',
            "Unexpected character ('\"' (code 34)): was expecting comma to separate Object entries",
            "line: 1, column: 9",
        ),
        (
            b"[1 2]",
            "Unexpected character ('2' (code 50)): was expecting comma to separate Array entries",
            "line: 1, column: 4",
        ),
        (
            b"hello",
            "Unrecognized token 'hello': " + json_errors.TOKEN_EXPECTED,
            "line: 1, column: 6",
        ),
        (
            b'{\n  "a": tru\n}',
            "Unrecognized token 'tru': " + json_errors.TOKEN_EXPECTED,
            "line: 2, column: 11",
        ),
        (b"{", "Unexpected end-of-input: expected close marker for Object", "line: 1, column: 2"),
        (
            b'"a\x01"',
            "Illegal unquoted character ((CTRL-CHAR, code 1)): has to be escaped using "
            "backslash to be included in string value",
            "line: 1, column: 4",
        ),
        (b'"\xc3("', "Invalid UTF-8 middle byte 0x28", "line: 1, column: 4"),
    ],
)
def test_common_mistakes(payload: bytes, description: str, where: str) -> None:
    assert json_errors.describe(payload) == f"{description}\n{AT}{where}]"


@pytest.mark.parametrize(
    "payload",
    [b'{"a": [1, -2.5e3, true, false, null, "\xc3\xa9\\n\\u00e9"]}', b" [ ] ", b'"x"', b"3"],
)
def test_json_is_accepted(payload: bytes) -> None:
    assert json_errors.describe(payload) is None
    assert check_payload(payload) == payload


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_numeric_numbers_are_refused(token: str) -> None:
    """Python's json takes them, JSON (and Lambda's parser) does not."""
    payload = f'{{"a": [{token}]}}'.encode()
    with pytest.raises(InvalidRequestContentException) as excinfo:
        check_payload(payload)
    assert excinfo.value.args[0] == (
        f"{PREFIX}Non-standard token '{token}': enable "
        "`JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow\n"
        f"{AT}line: 1, column: {8 + len(token)}]"
    )


def test_empty_payload_is_an_empty_object() -> None:
    assert check_payload(b"  ") == b"{}"


def test_deep_nesting_is_described_without_recursion() -> None:
    message = json_errors.describe(b"[" * 100_000)
    assert message is not None
    assert message.startswith("Unexpected end-of-input: expected close marker for Array\n")


def test_long_payloads_are_described_without_the_scan() -> None:
    payload = b"[" + b"1," * json_errors.SCAN_LIMIT + b"x]"
    message = json_errors.describe(payload)
    assert message is not None and message.startswith("Expecting value\n" + AT)
    with pytest.raises(InvalidRequestContentException) as excinfo:
        check_payload(payload)
    assert excinfo.value.args[0].startswith(PREFIX)
