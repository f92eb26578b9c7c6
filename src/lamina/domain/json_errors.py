"""Why a payload is not JSON, worded as Lambda's parser (Jackson) words it. Pure.

Lambda answers an invalid Invoke payload with ``InvalidRequestContentException`` whose message
is ``Could not parse request body into json: Could not parse payload into json: `` followed by
Jackson's description and its location (recorded: TestLambdaErrors::
test_lambda_invoke_payload_encoding_error): ``Invalid UTF-8 start byte 0x87``, a newline, then
`` at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1,
column: 3]`` (on one line).

``describe`` scans the bytes as Jackson's UTF-8 parser does and reports the first error:
an unexpected character where a value, a field name, a colon or a comma must come, an
unrecognized token, invalid UTF-8, or the end of input inside a value. Columns count from 1;
as recorded, an unexpected character is placed at its own column and invalid UTF-8 one past
the bad byte. Callers parse with ``json`` first: this slower scan runs only for the message.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

SOURCE = "[Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled)"
VALUE_EXPECTED = (
    "expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
)
TOKEN_EXPECTED = (
    "was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
)
_WHITESPACE = b" \t\r\n"
# Longer payloads are not scanned (a token-dense megabyte takes a second of CPU): their
# message is Python's description at Jackson's location.
SCAN_LIMIT = 256 * 1024
_WHITESPACE_RUN = re.compile(rb"[ \t\r\n]*")
# The plain part of a string: anything but a quote, a backslash, a control or non-ASCII byte.
_PLAIN_RUN = re.compile(rb'[^"\\\x00-\x1f\x80-\xff]*')
_TOKEN_END = b' \t\r\n,]}:"[{'
_ESCAPES = b'"\\/bfnrtu'
# Each UTF-8 lead byte and how many continuation bytes follow it.
_UTF8_LEAD = [(0xC2, 0xDF, 1), (0xE0, 0xEF, 2), (0xF0, 0xF4, 3)]


@dataclass
class _Failure(Exception):
    message: str
    offset: int


def char_description(code: int) -> str:
    """Jackson's ``_getCharDesc``: ``(CTRL-CHAR, code 153)``, ``'x' (code 120)``."""
    char = chr(code)
    if unicodedata.category(char) == "Cc":
        return f"(CTRL-CHAR, code {code})"
    if code > 255:
        return f"'{char}' (code {code} / 0x{code:x})"
    return f"'{char}' (code {code})"


def describe(payload: bytes) -> str | None:
    """Jackson's message for the first error in ``payload`` with its location; None if the
    payload is one JSON value (surrounded by whitespace at most)."""
    if len(payload) > SCAN_LIMIT:
        return _described_by_python(payload)
    try:
        _Scanner(payload).document()
    except _Failure as failure:
        return f"{failure.message}\n at {SOURCE}; {_location(payload, failure.offset)}]"
    return None


def _described_by_python(payload: bytes) -> str | None:
    try:
        json.loads(payload, parse_constant=reject_non_numeric)
    except RecursionError:
        return f"Maximum nesting depth exceeded\n at {SOURCE}; line: 1, column: 1]"
    except UnicodeDecodeError as exc:
        byte = payload[exc.start]
        where = _location(payload, exc.start + 1)
        return f"Invalid UTF-8 start byte 0x{byte:x}\n at {SOURCE}; {where}]"
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            where = f"line: {exc.lineno}, column: {exc.colno}"
            return f"{exc.msg}\n at {SOURCE}; {where}]"
        return f"{exc}\n at {SOURCE}; line: 1, column: 1]"
    return None


def reject_non_numeric(token: str) -> object:
    """``json.loads``'s ``parse_constant``: NaN, Infinity and -Infinity are no JSON."""
    raise ValueError(f"non-standard token {token}")


def _non_numeric(token: bytes, offset: int) -> _Failure:
    """NaN and the infinities: JSON has none (Python's ``json`` takes them; Jackson not)."""
    return _Failure(
        f"Non-standard token '{token.decode()}': enable "
        "`JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow",
        offset,
    )


def _location(payload: bytes, offset: int) -> str:
    line_start = payload.rfind(b"\n", 0, offset) + 1
    line = payload.count(b"\n", 0, offset) + 1
    return f"line: {line}, column: {offset - line_start + 1}"


class _Scanner:
    """A JSON scanner over bytes that fails the way Jackson does (iterative: any depth)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    # --- helpers ----------------------------------------------------------------------------

    def _skip_whitespace(self) -> int | None:
        data = self.data
        match = _WHITESPACE_RUN.match(data, self.pos)
        self.pos = match.end() if match else self.pos
        return data[self.pos] if self.pos < len(data) else None

    def _unexpected(self, byte: int, expected: str) -> _Failure:
        return _Failure(f"Unexpected character ({char_description(byte)}): {expected}", self.pos)

    def _end_of_input(self, inside: str) -> _Failure:
        return _Failure(f"Unexpected end-of-input: expected close marker for {inside}", self.pos)

    def _utf8(self) -> None:
        """Consume one multi-byte UTF-8 character at ``pos`` (its lead byte is >= 0x80)."""
        lead = self.data[self.pos]
        for low, high, follow in _UTF8_LEAD:
            if low <= lead <= high:
                for i in range(1, follow + 1):
                    at = self.pos + i
                    if at >= len(self.data):
                        raise _Failure("Unexpected end-of-input in a multi-byte character", at)
                    if not 0x80 <= self.data[at] <= 0xBF:
                        raise _Failure(f"Invalid UTF-8 middle byte 0x{self.data[at]:x}", at + 1)
                self.pos += follow + 1
                return
        raise _Failure(f"Invalid UTF-8 start byte 0x{lead:x}", self.pos + 1)

    # --- grammar ----------------------------------------------------------------------------

    def document(self) -> None:
        if self._skip_whitespace() is None:
            return  # empty: Lamina invokes with {} (checked by the caller)
        self._value()
        byte = self._skip_whitespace()
        if byte is not None:
            raise self._unexpected(byte, "expected end-of-input")

    def _value(self) -> None:
        # ``stack`` holds "{" / "[" of the containers open around the current position.
        stack: list[int] = []
        expect_value = True
        while True:
            byte = self._skip_whitespace()
            if expect_value:
                if byte is None:
                    raise self._eof(stack)
                if byte in b"{[":
                    self.pos += 1
                    stack.append(byte)
                    closer = self._skip_whitespace()
                    if closer == (ord("}") if byte == ord("{") else ord("]")):
                        self.pos += 1
                        stack.pop()
                        expect_value = False
                    elif byte == ord("{"):
                        self._field_name()
                    continue
                if byte == ord("]") and stack and stack[-1] == ord("["):
                    raise self._unexpected(byte, VALUE_EXPECTED)
                self._scalar(byte)
                expect_value = False
                if not stack:
                    return
                continue
            if not stack:
                return
            container = stack[-1]
            closer = ord("}") if container == ord("{") else ord("]")
            kind = "Object" if container == ord("{") else "Array"
            if byte is None:
                raise self._eof(stack)
            if byte == closer:
                self.pos += 1
                stack.pop()
                if not stack:
                    return
                continue
            if byte != ord(","):
                raise self._unexpected(byte, f"was expecting comma to separate {kind} entries")
            self.pos += 1
            if container == ord("{"):
                self._field_name()
            expect_value = True

    def _eof(self, stack: list[int]) -> _Failure:
        if not stack:
            return _Failure("No content to map due to end-of-input", self.pos)
        return self._end_of_input("Object" if stack[-1] == ord("{") else "Array")

    def _field_name(self) -> None:
        """A field name and its colon (the value follows)."""
        byte = self._skip_whitespace()
        if byte is None:
            raise self._end_of_input("Object")
        if byte != ord('"'):
            raise self._unexpected(byte, "was expecting double-quote to start field name")
        self._string()
        byte = self._skip_whitespace()
        if byte is None:
            raise self._end_of_input("Object")
        if byte != ord(":"):
            raise self._unexpected(byte, "was expecting a colon to separate field name and value")
        self.pos += 1

    def _scalar(self, byte: int) -> None:
        if byte == ord('"'):
            self._string()
        elif byte in b"-0123456789":
            self._number()
        elif byte < 0x80 and (chr(byte).isalpha() or byte in b"$_"):
            # A word (Jackson's ``isJavaIdentifierStart``): true, false, null or a bad token.
            self._keyword()
        elif byte >= 0x80 and not 0x80 <= byte <= 0x9F:
            # A letter of another script: Jackson reads it as the start of a bad token.
            self._keyword()
        else:
            raise self._unexpected(byte, VALUE_EXPECTED)

    def _keyword(self) -> None:
        start = self.pos
        data = self.data
        while self.pos < len(data) and data[self.pos] not in _TOKEN_END:
            if data[self.pos] >= 0x80:
                self._utf8()
            else:
                self.pos += 1
        token = data[start : self.pos]
        if token in (b"NaN", b"Infinity"):
            raise _non_numeric(token, self.pos)
        if token not in (b"true", b"false", b"null"):
            text = token.decode("utf-8", "replace")
            raise _Failure(f"Unrecognized token '{text}': {TOKEN_EXPECTED}", self.pos)

    def _number(self) -> None:
        data = self.data
        start = self.pos
        if data.startswith(b"-Infinity", start):
            raise _non_numeric(b"-Infinity", start + len(b"-Infinity"))
        while self.pos < len(data) and data[self.pos] in b"+-0123456789.eE":
            self.pos += 1
        text = data[start : self.pos].decode()
        try:
            float(text)
        except ValueError:
            raise _Failure(f"Invalid numeric value: '{text}'", self.pos) from None

    def _string(self) -> None:
        data = self.data
        self.pos += 1  # the opening quote
        while True:
            if self.pos >= len(data):
                raise _Failure(
                    "Unexpected end-of-input: was expecting closing quote for a string value",
                    self.pos,
                )
            match = _PLAIN_RUN.match(data, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos >= len(data):
                continue
            byte = data[self.pos]
            if byte == ord('"'):
                self.pos += 1
                return
            if byte == ord("\\"):
                escaped = data[self.pos + 1] if self.pos + 1 < len(data) else None
                if escaped is None or escaped not in _ESCAPES:
                    shown = char_description(escaped) if escaped is not None else "EOF"
                    raise _Failure(f"Unrecognized character escape {shown}", self.pos + 2)
                self.pos += 2
            elif byte < 0x20:
                raise _Failure(
                    f"Illegal unquoted character ({char_description(byte)}): has to be escaped "
                    "using backslash to be included in string value",
                    self.pos + 1,
                )
            elif byte >= 0x80:
                self._utf8()
            else:
                self.pos += 1
