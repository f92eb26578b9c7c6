"""Patterns of policy elements: ``*``/``?`` wildcards and policy variables, compiled once.

A pattern is parsed into tokens (literal text, the two wildcards, variable references) and,
when it holds no variable, compiled to one regular expression at once; a pattern with
variables is compiled per set of resolved values (remembered, so a role's usual callers cost
a dictionary look-up). Variable values are always literal: ``${aws:username}`` resolving to
``a*b`` matches the text ``a*b`` only (IAM User Guide, reference_policies_variables).

Three ways to match (``Mode``):

- ``action``: ``*`` and ``?`` anywhere, case-insensitive (reference_policies_elements_action);
- ``text``: ``StringLike``: ``*`` and ``?`` anywhere, case-sensitive;
- ``arn``: ``Resource`` and ``ArnLike``: the six ``:``-separated segments are matched one by
  one (a wildcard never crosses a ``:`` in the first five), the last, the resource part, may
  hold ``:`` and ``/`` and ``*`` crosses both; case-sensitive
  (reference_policies_elements_resource).
  A pattern of fewer than six segments only matches values of fewer than six segments, as
  plain text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Mode = Literal["action", "text", "arn"]
Values = Mapping[str, Sequence[str]]


class Unresolved(Exception):
    """A policy variable has no value in the request and no default: the element (and so the
    statement) does not apply."""


@dataclass(frozen=True, slots=True)
class Variable:
    """``${name}`` or ``${name, 'default'}``; ``name`` lower-cased (key names ignore case)."""

    name: str
    default: str | None = None


class Wildcard(str):
    """``*`` or ``?`` written in the pattern (not produced by a variable)."""


STAR = Wildcard("*")
QMARK = Wildcard("?")
Token = str | Wildcard | Variable

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"\s*([^,\s][^,]*?)\s*,\s*'([^']*)'\s*", re.DOTALL)
_LITERALS = {"*": "*", "?": "?", "$": "$"}


def tokenize(text: str, *, variables: bool) -> tuple[Token, ...]:
    """The tokens of a pattern. ``variables``: whether ``${...}`` is a variable (policies of
    version 2012-10-17) or plain text (2008-10-17)."""
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        found = _VARIABLE.search(text, position) if variables else None
        end = found.start() if found else len(text)
        _literal_tokens(text[position:end], tokens)
        if found is None:
            break
        inner = found.group(1)
        if inner in _LITERALS:
            tokens.append(_LITERALS[inner])
        else:
            with_default = _DEFAULT.fullmatch(inner)
            if with_default:
                tokens.append(Variable(with_default.group(1).lower(), with_default.group(2)))
            else:
                tokens.append(Variable(inner.strip().lower()))
        position = found.end()
    return tuple(tokens)


def _literal_tokens(text: str, tokens: list[Token]) -> None:
    run: list[str] = []
    for char in text:
        if char in "*?":
            if run:
                tokens.append("".join(run))
                run = []
            tokens.append(STAR if char == "*" else QMARK)
        else:
            run.append(char)
    if run:
        tokens.append("".join(run))


def has_variables(tokens: Sequence[Token]) -> bool:
    return any(isinstance(token, Variable) for token in tokens)


def resolve(tokens: Sequence[Token], values: Values) -> tuple[Token, ...]:
    """The tokens with each variable replaced by its (literal) value."""
    return tuple(
        _variable_value(token, values) if isinstance(token, Variable) else token for token in tokens
    )


def _variable_value(variable: Variable, values: Values) -> str:
    given = values.get(variable.name)
    if given:
        return str(given[0])
    if variable.default is not None:
        return variable.default
    raise Unresolved(variable.name)


def as_text(tokens: Sequence[Token], values: Values) -> str:
    """A pattern read as plain text (``StringEquals``), its variables resolved."""
    resolved = resolve(tokens, values) if has_variables(tokens) else tokens
    return "".join(str(token) for token in resolved)


def regex_source(tokens: Sequence[Token], mode: Mode) -> str:
    """The regular expression (for ``fullmatch``) of resolved tokens."""
    if mode == "arn":
        return _arn_source(tokens)
    return "".join(_text_part(token) for token in tokens)


def _text_part(token: Token) -> str:
    if token is STAR:
        return ".*"
    if token is QMARK:
        return "."
    return re.escape(str(token))


def _arn_source(tokens: Sequence[Token]) -> str:
    separators = sum(str(token).count(":") for token in tokens if not isinstance(token, Wildcard))
    if separators < 5:
        # Fewer than six segments: plain text, and only against values of fewer segments.
        return r"(?=[^:]*(?::[^:]*){0,4}\Z)" + "".join(_text_part(t) for t in tokens)
    out: list[str] = []
    segment = 0
    for token in tokens:
        if isinstance(token, Wildcard):
            inside = segment < 5
            out.append(("[^:]" if inside else ".") + ("*" if token is STAR else ""))
            continue
        for char in str(token):
            if char == ":" and segment < 5:
                segment += 1
            out.append(re.escape(char))
    return "".join(out)


@lru_cache(maxsize=8192)
def compiled(source: str, ignore_case: bool) -> re.Pattern[str]:
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(source, flags)


class Pattern:
    """One pattern of an element, ready to match values."""

    __slots__ = ("text", "tokens", "mode", "match_all", "_static")

    def __init__(self, text: str, mode: Mode, *, variables: bool) -> None:
        self.text = text
        self.mode = mode
        self.tokens = tokenize(text, variables=variables)
        self.match_all = self.tokens == (STAR,)
        self._static: re.Pattern[str] | None = None
        if not has_variables(self.tokens):
            self._static = compiled(regex_source(self.tokens, mode), mode == "action")

    @property
    def static(self) -> re.Pattern[str] | None:
        """The compiled pattern when it holds no variable."""
        return self._static

    def regex(self, values: Values) -> re.Pattern[str]:
        """The compiled pattern for these variable values (raises ``Unresolved``)."""
        if self._static is not None:
            return self._static
        source = regex_source(resolve(self.tokens, values), self.mode)
        return compiled(source, self.mode == "action")

    def matches(self, value: str, values: Values) -> bool:
        return self.match_all or self.regex(values).fullmatch(value) is not None


class PatternSet:
    """The patterns of one element (``Action``, ``NotResource``...): any may match. Static
    patterns are folded into one alternation, compiled once."""

    __slots__ = ("patterns", "match_all", "_static", "_dynamic")

    def __init__(self, texts: Sequence[str], mode: Mode, *, variables: bool) -> None:
        self.patterns = tuple(Pattern(text, mode, variables=variables) for text in texts)
        self.match_all = any(p.match_all for p in self.patterns)
        static = [p for p in self.patterns if p.static is not None]
        self._dynamic = tuple(p for p in self.patterns if p.static is None)
        self._static: re.Pattern[str] | None = None
        if static:
            source = "|".join(f"(?:{regex_source(p.tokens, mode)})" for p in static)
            self._static = compiled(source, mode == "action")

    def matches(self, value: str, values: Values) -> bool:
        """Whether any pattern matches (raises ``Unresolved`` for a variable without value)."""
        if self.match_all:
            return True
        if self._static is not None and self._static.fullmatch(value) is not None:
            return True
        return any(p.matches(value, values) for p in self._dynamic)
