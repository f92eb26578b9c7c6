"""CloudWatch Logs filter patterns, compiled to predicates over a log message.

Supported forms (case-sensitive, as in CloudWatch Logs):

- empty / blank pattern: every event matches;
- terms ``ERROR timeout``: every term must occur in the message; ``"two words"`` is one
  term (``\\"`` escapes a quote); ``?ERROR ?WARN``: at least one ``?`` term must occur;
  ``-DEBUG``: the term must not occur;
- a regular expression ``%time(d|out)%``;
- JSON patterns ``{ $.level = "ERROR" && ($.latency > 100 || $.user.id NOT EXISTS) }``
  with selectors ``$.a.b[0]``, ``= != < > <= >=``, ``*`` wildcards and ``%regex%`` in
  string values, ``IS TRUE|FALSE|NULL`` and ``NOT EXISTS``.

Space-delimited patterns (``[ip, user, ...]``) are not supported: they raise
``FilterPatternError`` like any malformed pattern.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

Predicate = Callable[[str], bool]
_Check = Callable[[Any], bool]


class FilterPatternError(ValueError):
    """The pattern is malformed or uses an unsupported form."""


def compile_filter_pattern(pattern: str | None) -> Predicate:
    text = (pattern or "").strip()
    if not text:
        return _match_all
    if text.startswith("{"):
        return _compile_json(text)
    if text.startswith("["):
        raise FilterPatternError("Space-delimited filter patterns are not supported.")
    if len(text) >= 2 and text.startswith("%") and text.endswith("%"):
        regex = _regex(text[1:-1])
        return lambda message: regex.search(message) is not None
    return _compile_terms(text)


def required_terms(pattern: str | None) -> list[str]:
    """Substrings every matching message contains (lets a store pre-filter in SQL)."""
    text = (pattern or "").strip()
    if not text or text[0] in "{[" or (len(text) >= 2 and text[0] == text[-1] == "%"):
        return []
    return [term for kind, term in _split_terms(text) if kind == ""]


def _match_all(message: str) -> bool:
    return True


def _regex(source: str) -> re.Pattern[str]:
    try:
        return re.compile(source)
    except re.error as exc:
        raise FilterPatternError(f"Invalid regular expression: {exc}") from exc


# --- term patterns --------------------------------------------------------------------


def _split_terms(text: str) -> list[tuple[str, str]]:
    """``[(kind, term)]`` with kind ``""`` (required), ``"?"`` (any of) or ``"-"`` (excluded)."""
    terms: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        kind = ""
        if text[i] in "?-" and i + 1 < n and not text[i + 1].isspace():
            kind, i = text[i], i + 1
        if text[i] == '"':
            chars: list[str] = []
            i += 1
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(text[i])
                i += 1
            if i >= n:
                raise FilterPatternError("Unterminated quoted term in filter pattern.")
            i += 1
            term = "".join(chars)
        else:
            start = i
            while i < n and not text[i].isspace():
                i += 1
            term = text[start:i]
        if term:
            terms.append((kind, term))
    return terms


def _compile_terms(text: str) -> Predicate:
    terms = _split_terms(text)
    required = [t for k, t in terms if k == ""]
    any_of = [t for k, t in terms if k == "?"]
    excluded = [t for k, t in terms if k == "-"]

    def match(message: str) -> bool:
        if any(t not in message for t in required):
            return False
        if any_of and not any(t in message for t in any_of):
            return False
        return not any(t in message for t in excluded)

    return match


# --- JSON patterns --------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<op>&&|\|\||!=|<=|>=|=|<|>|\(|\)|\{|\})
    | (?P<selector>\$(?:\.[^\s.\[\](){}=!<>&|]+|\[\d+\])*)
    | (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<regex>%(?:[^%\\]|\\.)*%)
    | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![^\s(){}=!<>&|]))
    | (?P<word>[^\s(){}=!<>&|"]+)
    )""",
    re.VERBOSE,
)
_MISSING = object()


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.lastgroup is None:
            raise FilterPatternError(f"Invalid filter pattern near {text[pos : pos + 20]!r}.")
        tokens.append((m.lastgroup, m.group(m.lastgroup)))
        pos = m.end()
    return tokens


def _compile_json(text: str) -> Predicate:
    parser = _JsonParser(_tokenize(text))
    parser.expect("{")
    check = parser.expression()
    parser.expect("}")
    if parser.peek() is not None:
        raise FilterPatternError("Unexpected text after the closing brace of the filter pattern.")

    def match(message: str) -> bool:
        try:
            document = json.loads(message)
        except (ValueError, RecursionError):
            return False
        return isinstance(document, dict | list) and check(document)

    return match


def _select(document: Any, path: list[str | int]) -> Any:
    node = document
    for step in path:
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return _MISSING
            node = node[step]
        else:
            if not isinstance(node, dict) or step not in node:
                return _MISSING
            node = node[step]
    return node


def _parse_selector(text: str) -> list[str | int]:
    return [
        int(index) if index else name
        for name, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", text[1:])
    ]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


class _JsonParser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self._tokens = tokens
        self._pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self._tokens[self._pos] if self._pos < len(self._tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise FilterPatternError("Unexpected end of filter pattern.")
        self._pos += 1
        return token

    def expect(self, op: str) -> None:
        if self.take() != ("op", op):
            raise FilterPatternError(f"Expected {op!r} in filter pattern.")

    def expression(self) -> _Check:
        parts = [self.conjunction()]
        while self.peek() == ("op", "||"):
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda doc: any(p(doc) for p in parts))

    def conjunction(self) -> _Check:
        parts = [self.primary()]
        while self.peek() == ("op", "&&"):
            self.take()
            parts.append(self.primary())
        return parts[0] if len(parts) == 1 else (lambda doc: all(p(doc) for p in parts))

    def primary(self) -> _Check:
        kind, value = self.take()
        if (kind, value) == ("op", "("):
            inner = self.expression()
            self.expect(")")
            return inner
        if kind != "selector":
            raise FilterPatternError(f"Expected a $ selector, found {value!r}.")
        path = _parse_selector(value)

        def field(doc: Any) -> Any:
            return _select(doc, path)

        kind, word = self.take()
        if kind == "word" and word.upper() in ("IS", "NOT"):
            return self._keyword_check(word.upper(), field)
        if kind != "op" or word not in _NUMERIC:
            raise FilterPatternError(f"Expected a comparison operator, found {word!r}.")
        return self._comparison(word, field)

    def _keyword_check(self, keyword: str, field: Callable[[Any], Any]) -> _Check:
        _, what = self.take()
        what = what.upper()
        if keyword == "NOT" and what == "EXISTS":
            return lambda doc: field(doc) is _MISSING
        expected = {"TRUE": True, "FALSE": False, "NULL": None}
        if keyword == "IS" and what in expected:
            target = expected[what]
            return lambda doc: field(doc) is target
        raise FilterPatternError(f"Unsupported keyword {keyword} {what}.")

    def _comparison(self, op: str, field: Callable[[Any], Any]) -> _Check:
        kind, raw = self.take()
        if kind == "number":
            number = float(raw)
            compare = _NUMERIC[op]
            return lambda doc: _is_number(v := field(doc)) and compare(float(v), number)
        if op not in ("=", "!="):
            raise FilterPatternError(f"Operator {op} needs a numeric value.")
        if kind == "regex":
            regex = _regex(raw[1:-1])
        elif kind in ("string", "word"):
            literal = _unquote(raw) if kind == "string" else raw
            regex = re.compile(".*".join(re.escape(part) for part in literal.split("*")))
        else:
            raise FilterPatternError(f"Expected a value after {op}, found {raw!r}.")
        expect_match = op == "="

        def check(doc: Any) -> bool:
            value = field(doc)
            if value is _MISSING or isinstance(value, dict | list):
                return False
            text = _as_text(value)
            matched = regex.search(text) if kind == "regex" else regex.fullmatch(text)
            return (matched is not None) == expect_match

        return check


def _unquote(raw: str) -> str:
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise FilterPatternError(f"Invalid quoted string {raw}.") from exc
    return str(value)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)
