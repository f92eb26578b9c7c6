"""A streaming JSON reader that reports errors where, and as, AWS's pattern engine does.

AWS validates patterns while streaming through the JSON text (Jackson's parser), so the
order of checks and the position in each error message follow the token stream. This
reader reproduces what the validator sees:

- after a field name, the start of its value is already consumed (a whole number or
  literal; the opening quote of a string; the bracket of an array or object);
- a string's content is consumed when its text is asked for (or when the next token is);
- ``location()`` renders Jackson's ``\\n at [Source: (String)"..."; line: L, column: C]``.

Only the root value is read: text after the root object is ignored, as AWS ignores it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from lamina.domain.event_pattern.errors import InvalidEventPattern

SNIPPET_LIMIT: Final = 500
# Deepest nesting read (Jackson's own limit is 1000; this keeps the recursive compiler far
# from Python's recursion limit, and no real pattern comes near it).
MAX_NESTING: Final = 400
_EXPECTED_VALUE: Final = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
_WHITESPACE: Final = frozenset(" \t\r\n")
_ESCAPES: Final = {
    '"': '"',
    "\\": "\\",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}


class Token(Enum):
    START_OBJECT = "{"
    END_OBJECT = "}"
    START_ARRAY = "["
    END_ARRAY = "]"
    FIELD_NAME = "field"
    STRING = "string"
    NUMBER_INT = "int"
    NUMBER_FLOAT = "float"
    TRUE = "true"
    FALSE = "false"
    NULL = "null"


NUMBERS: Final = frozenset({Token.NUMBER_INT, Token.NUMBER_FLOAT})
SCALARS: Final = frozenset(
    {Token.STRING, Token.NUMBER_INT, Token.NUMBER_FLOAT, Token.TRUE, Token.FALSE, Token.NULL}
)


def char_description(ch: str) -> str:
    """How Jackson names an unexpected character: ``'x' (code 120)``."""
    code = ord(ch)
    if code < 32:
        return f"(CTRL-CHAR, code {code})"
    if code > 255:
        return f"'{ch}' (code {code} / 0x{code:x})"
    return f"'{ch}' (code {code})"


def _is_identifier_part(ch: str) -> bool:
    return ch.isalnum() or ch in "_$"


@dataclass
class _Frame:
    is_object: bool
    entries: int = 0


class JsonReader:
    """Pull tokens from a JSON text, with Jackson's positions and error messages."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._pos = 0
        self._stack: list[_Frame] = []
        self._pending: Token | None = None
        self._string_open = False  # a string token whose content is not consumed yet
        self._text_value = ""
        self._done = False
        self.current_name = ""

    # --- errors -------------------------------------------------------------------------

    def location(self) -> str:
        """Jackson's source location suffix for the current position."""
        text = self._text
        line = text.count("\n", 0, self._pos) + 1
        line_start = text.rfind("\n", 0, self._pos) + 1
        column = len(text[line_start : self._pos].encode("utf-16-le")) // 2 + 1
        if len(text) > SNIPPET_LIMIT:
            source = f'"{text[:SNIPPET_LIMIT]}"[truncated {len(text) - SNIPPET_LIMIT} chars]'
        else:
            source = f'"{text}"'
        return f"\n at [Source: (String){source}; line: {line}, column: {column}]"

    def error(self, message: str) -> InvalidEventPattern:
        """An error at the current position (the caller raises it)."""
        return InvalidEventPattern(message, self.location())

    def _unexpected(self, ch: str, expectation: str) -> InvalidEventPattern:
        return self.error(f"Unexpected character ({char_description(ch)}): {expectation}")

    # --- tokens -------------------------------------------------------------------------

    def next_token(self) -> Token | None:
        """The next token, or None once the root value is complete."""
        if self._pending is not None:
            token, self._pending = self._pending, None
            self._string_open = token is Token.STRING
            return self._entered(token)
        if self._string_open:
            self._read_string_content()
        if self._done:
            return None
        if not self._stack:
            ch = self._skip_whitespace("root")
            return self._entered(self._open_value(ch))
        frame = self._stack[-1]
        entries = frame.entries
        ch = self._skip_whitespace("object" if frame.is_object else "array")
        if frame.is_object:
            return self._next_in_object(frame, ch, entries)
        if ch == "]":
            self._pos += 1
            return self._closed(Token.END_ARRAY)
        if entries:
            if ch != ",":
                self._pos += 1
                raise self._unexpected(ch, "was expecting comma to separate Array entries")
            self._pos += 1
            ch = self._skip_whitespace("array")
        frame.entries = entries + 1
        return self._entered(self._open_value(ch))

    def _open_value(self, ch: str) -> Token:
        token = self._value_start(ch)
        self._string_open = token is Token.STRING
        return token

    def _next_in_object(self, frame: _Frame, ch: str, entries: int) -> Token:
        if ch == "}":
            self._pos += 1
            return self._closed(Token.END_OBJECT)
        if entries:
            if ch != ",":
                self._pos += 1
                raise self._unexpected(ch, "was expecting comma to separate Object entries")
            self._pos += 1
            ch = self._skip_whitespace("object")
        if ch != '"':  # AWS reports this one before the character
            raise self._unexpected(ch, "was expecting double-quote to start field name")
        self._pos += 1
        self._read_string_content()
        self.current_name = self._text_value
        ch = self._skip_whitespace("object")
        self._pos += 1
        if ch != ":":
            raise self._unexpected(ch, "was expecting a colon to separate field name and value")
        ch = self._skip_whitespace("object")
        frame.entries = entries + 1
        self._pending = self._value_start(ch)
        return Token.FIELD_NAME

    def _entered(self, token: Token) -> Token:
        if token in (Token.START_OBJECT, Token.START_ARRAY) and len(self._stack) >= MAX_NESTING:
            raise self.error(
                f"Document nesting depth ({len(self._stack) + 1}) exceeds the maximum allowed "
                f"({MAX_NESTING}, from `StreamReadConstraints.getMaxNestingDepth()`)"
            )
        if token is Token.START_OBJECT:
            self._stack.append(_Frame(is_object=True))
        elif token is Token.START_ARRAY:
            self._stack.append(_Frame(is_object=False))
        elif not self._stack:
            self._done = True
        return token

    def _closed(self, token: Token) -> Token:
        self._stack.pop()
        if not self._stack:
            self._done = True
        return token

    def text(self, token: Token) -> str:
        """The text of the current token (Jackson's ``getText``): consumes a string."""
        if token is Token.STRING:
            if self._string_open:
                self._read_string_content()
            return self._text_value
        if token is Token.FIELD_NAME:
            return self.current_name
        if token in (Token.NUMBER_INT, Token.NUMBER_FLOAT):
            return self._text_value
        return str(token.value)

    # --- lexing -------------------------------------------------------------------------

    def _skip_whitespace(self, context: str) -> str:
        text, pos = self._text, self._pos
        while pos < len(text) and text[pos] in _WHITESPACE:
            pos += 1
        self._pos = pos
        if pos >= len(text):
            if context == "root":
                raise self.error("No content to map due to end-of-input")
            kind = "Object" if context == "object" else "Array"
            raise self.error(f"Unexpected end-of-input: expected close marker for {kind}")
        return text[pos]

    def _value_start(self, ch: str) -> Token:
        """Consume the start of a value: a whole number or literal, a string's quote."""
        self._pos += 1
        if ch == '"':
            return Token.STRING
        if ch == "{":
            return Token.START_OBJECT
        if ch == "[":
            return Token.START_ARRAY
        if ch == "-" or ch.isdigit():
            self._pos -= 1
            return self._read_number()
        for literal, token in (("true", Token.TRUE), ("false", Token.FALSE), ("null", Token.NULL)):
            if ch == literal[0]:
                self._pos -= 1
                return self._read_literal(literal, token)
        if _is_identifier_part(ch):
            self._pos -= 1
            raise self._invalid_token(self._pos)
        raise self._unexpected(ch, "expected a valid value " + _EXPECTED_VALUE)

    def _invalid_token(self, start: int) -> InvalidEventPattern:
        text, pos = self._text, self._pos
        while pos < len(text) and _is_identifier_part(text[pos]) and pos - start < 256:
            pos += 1
        self._pos = pos
        return self.error(
            f"Unrecognized token '{text[start:pos]}': was expecting {_EXPECTED_VALUE}"
        )

    def _read_literal(self, literal: str, token: Token) -> Token:
        start = self._pos
        end = start + len(literal)
        if self._text[start:end] != literal or (
            end < len(self._text) and _is_identifier_part(self._text[end])
        ):
            raise self._invalid_token(start)
        self._pos = end
        self._text_value = literal
        return token

    def _read_number(self) -> Token:
        text, start = self._text, self._pos
        pos = start
        if text[pos] == "-":
            pos += 1
            if pos >= len(text) or not text[pos].isdigit():
                self._pos = pos + 1
                found = text[pos] if pos < len(text) else " "
                raise self.error(
                    f"Unexpected character ({char_description(found)}) in numeric value: "
                    "expected digit (0-9) to follow minus sign, for valid numeric value"
                )
        digits = pos
        while pos < len(text) and text[pos].isdigit():
            pos += 1
        if text[digits] == "0" and pos - digits > 1:
            self._pos = pos
            raise self.error("Invalid numeric value: Leading zeroes not allowed")
        token = Token.NUMBER_INT
        if pos < len(text) and text[pos] == ".":
            pos += 1
            fraction = pos
            while pos < len(text) and text[pos].isdigit():
                pos += 1
            if pos == fraction:
                self._pos = pos + 1
                raise self._numeric_error(pos, "Decimal point not followed by a digit")
            token = Token.NUMBER_FLOAT
        if pos < len(text) and text[pos] in "eE":
            pos += 1
            if pos < len(text) and text[pos] in "+-":
                pos += 1
            exponent = pos
            while pos < len(text) and text[pos].isdigit():
                pos += 1
            if pos == exponent:
                self._pos = pos + 1
                raise self._numeric_error(pos, "Exponent indicator not followed by a digit")
            token = Token.NUMBER_FLOAT
        self._pos = pos
        self._text_value = text[start:pos]
        return token

    def _numeric_error(self, pos: int, reason: str) -> InvalidEventPattern:
        found = self._text[pos] if pos < len(self._text) else " "
        return self.error(
            f"Unexpected character ({char_description(found)}) in numeric value: {reason}"
        )

    def _read_string_content(self) -> None:
        """Consume a string's content and closing quote (the opening one is consumed)."""
        self._string_open = False
        text, pos = self._text, self._pos
        end = text.find('"', pos)
        chunk = text[pos:end] if end >= 0 else ""
        if end >= 0 and "\\" not in chunk and all(c >= " " for c in chunk):
            self._text_value = chunk
            self._pos = end + 1
            return
        parts: list[str] = []
        while True:
            if pos >= len(text):
                self._pos = pos
                raise self.error(
                    "Unexpected end-of-input: was expecting closing quote for a string value"
                )
            ch = text[pos]
            pos += 1
            if ch == '"':
                break
            if ch == "\\":
                pos = self._read_escape(pos, parts)
                continue
            if ch < " ":
                self._pos = pos
                raise self.error(
                    f"Illegal unquoted character ({char_description(ch)}): has to be escaped "
                    "using backslash to be included in string value"
                )
            parts.append(ch)
        self._pos = pos
        self._text_value = _join_surrogates("".join(parts))

    def _read_escape(self, pos: int, parts: list[str]) -> int:
        text = self._text
        if pos >= len(text):
            self._pos = pos
            raise self.error("Unexpected end-of-input in character escape sequence")
        ch = text[pos]
        pos += 1
        if ch in _ESCAPES:
            parts.append(_ESCAPES[ch])
            return pos
        if ch == "u":
            digits = text[pos : pos + 4]
            for index, digit in enumerate(digits):
                if digit not in "0123456789abcdefABCDEF":
                    self._pos = pos + index + 1
                    raise self.error(
                        f"Unexpected character ({char_description(digit)}): expected a "
                        "hex-digit for character escape sequence"
                    )
            if len(digits) < 4:
                self._pos = len(text)
                raise self.error("Unexpected end-of-input in character escape sequence")
            parts.append(chr(int(digits, 16)))
            return pos + 4
        self._pos = pos
        raise self.error(f"Unrecognized character escape {char_description(ch)}")


def _join_surrogates(value: str) -> str:
    """Combine UTF-16 surrogate pairs written as two ``\\u`` escapes into one character."""
    if not any("\ud800" <= c <= "\udfff" for c in value):
        return value
    return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
