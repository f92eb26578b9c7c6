"""Validate a pattern and compile it into branches of field tests, as AWS's engine does.

The pattern is read as a token stream (``json_reader``) and every check happens at the
token where AWS makes it, with AWS's message, so the first error reported and its source
location are AWS's. The result is a list of *branches* (the pattern in disjunctive form:
each ``$or`` multiplies the branches built so far by its alternatives); a branch maps a
dotted field path (``detail.state``; dotted pattern keys and nesting are the same thing)
to one ``FieldSpec``. A later key for the same path in the same branch replaces the earlier
one, as AWS does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from lamina.domain.event_pattern.dialects import MAX_BRANCHES, TOO_MANY_BRANCHES
from lamina.domain.event_pattern.errors import InvalidEventPattern
from lamina.domain.event_pattern.ip_address import AddressError, parse_cidr
from lamina.domain.event_pattern.json_reader import NUMBERS, Token
from lamina.domain.event_pattern.operands import OperandReader
from lamina.domain.event_pattern.values import (
    Cidr,
    EqualsIgnoreCase,
    ExactLiteral,
    ExactNumber,
    Exists,
    Prefix,
    Suffix,
    ValueMatcher,
    WildcardMatch,
    exact_strings,
    fold_case,
)
from lamina.domain.event_pattern.wildcard import Wildcard

OR_KEY: Final = "$or"
# Names that may not be field names inside a $or (AWS's reserved words).
RESERVED_IN_OR: Final = frozenset(
    {
        "exactly",
        "equals-ignore-case",
        "prefix",
        "suffix",
        "anything-but",
        "exists",
        "wildcard",
        "numeric",
        "cidr",
        "=",
        "<",
        "<=",
        ">",
        ">=",
        "regex",
        "not-wildcard",
        "not-equals-ignore-case",
        "date-after",
        "date-on-or-after",
        "date-before",
        "date-on-or-before",
        "in-date-range",
        "ip-address-in-range",
        "ip-address-not-in-range",
    }
)
_LITERALS: Final = {Token.TRUE: True, Token.FALSE: False, Token.NULL: None}


@dataclass(frozen=True)
class FieldSpec:
    """What one field must satisfy: any of ``matchers`` on one of its values, or (when
    ``absent_ok``, from ``{"exists": false}``) the field being absent."""

    path: str
    matchers: tuple[ValueMatcher, ...]
    absent_ok: bool
    wildcards: tuple[Wildcard, ...]  # for the complexity check
    size: int  # how many values the pattern lists (SNS counts combinations with it)


Branch = dict[str, FieldSpec]


class _FieldBuilder:
    """Collects the values of one field's value list."""

    def __init__(self) -> None:
        self.strings: list[str] = []
        self.matchers: list[ValueMatcher] = []
        self.absent_ok = False
        self.wildcards: list[Wildcard] = []
        self.count = 0

    def add(self, matcher: ValueMatcher) -> None:
        self.matchers.append(matcher)
        self.count += 1

    def build(self, path: str) -> FieldSpec:
        matchers = list(self.matchers)
        if self.strings:
            matchers.insert(0, exact_strings(self.strings))
        return FieldSpec(path, tuple(matchers), self.absent_ok, tuple(self.wildcards), self.count)


class PatternCompiler(OperandReader):
    """Compiles one pattern text; ``compile()`` returns its branches or raises
    InvalidEventPattern."""

    def compile(self) -> list[Branch]:
        if self._reader.next_token() is not Token.START_OBJECT:
            raise self._fail("Filter is not an object")
        branches: list[Branch] = []
        self._object(branches, [], inside_or=False)
        return branches

    # --- structure ----------------------------------------------------------------------

    def _object(self, branches: list[Branch], path: list[str], *, inside_or: bool) -> None:
        fields_present = False
        while self._next() is not Token.END_OBJECT:
            fields_present = True
            name = self._reader.current_name
            if name == OR_KEY:
                self._or(branches, path)
                continue
            if inside_or and name in RESERVED_IN_OR:
                raise self._fail(
                    f"{name} is Ruler reserved fieldName which cannot be used inside $or."
                )
            token = self._next()
            if token is Token.START_OBJECT:
                path.append(name)
                self._object(branches, path, inside_or=inside_or)
                path.pop()
            elif token is Token.START_ARRAY:
                self._field(branches, ".".join([*path, name]))
            else:
                raise self._fail(f'"{name}" must be an object or an array')
        if not fields_present:
            raise self._fail("Empty objects are not allowed")

    def _or(self, branches: list[Branch], path: list[str]) -> None:
        before = [dict(branch) for branch in branches]
        branches.clear()
        if self._next() is not Token.START_ARRAY:
            raise self._fail("It must be an Array followed with $or.")
        alternatives = 0
        while (token := self._next()) is not Token.END_ARRAY:
            alternatives += 1
            if token is not Token.START_OBJECT:
                raise self._fail("Only JSON object is allowed in array of $or relationship.")
            forked = [dict(branch) for branch in before] or [{}]
            self._object(forked, path, inside_or=True)
            branches.extend(forked)
            if len(branches) > MAX_BRANCHES:
                raise InvalidEventPattern(TOO_MANY_BRANCHES)
        if alternatives < 2:
            raise self._fail("There must have at least 2 Objects in $or relationship.")

    def _field(self, branches: list[Branch], path: str) -> None:
        builder = _FieldBuilder()
        reader = self._reader
        while (token := self._next()) is not Token.END_ARRAY:
            if token is Token.START_OBJECT:
                self._operator(builder)
            elif token is Token.STRING:
                builder.strings.append(reader.text(token))
                builder.count += 1
            elif token in NUMBERS:
                builder.add(self._exact_number(reader.text(token)))
            elif token in _LITERALS:
                builder.add(ExactLiteral(_LITERALS[token]))
            else:
                raise self._fail("Match value must be String, number, true, false, or null")
        if builder.count == 0:
            raise self._fail("Empty arrays are not allowed")
        spec = builder.build(path)
        if not branches:
            branches.append({})
        for branch in branches:
            branch[path] = spec

    def _exact_number(self, text: str) -> ExactNumber:
        literal: int | float
        try:
            literal = float(text) if any(c in text for c in ".eE") else int(text)
        except ValueError:  # more digits than Python converts to int: compare as a float
            literal = float(text)
        try:
            return ExactNumber(self._dialect.numbers.from_text(text), literal)
        except ValueError:
            return ExactNumber(None, literal)

    # --- operators ----------------------------------------------------------------------

    def _operator(self, builder: _FieldBuilder) -> None:
        if self._next() is not Token.FIELD_NAME:
            raise self._fail("Match expression name not found")
        name = self._reader.current_name
        if name == "exactly":
            builder.add(exact_strings([self._string_operand("exact")]))
            self._end_of_expression()
        elif name in ("prefix", "suffix"):
            builder.add(self._affix(name))
        elif name == "numeric":
            builder.add(self._numeric())
        elif name == "anything-but":
            builder.add(self._anything_but(builder.wildcards))
        elif name == "exists":
            self._exists(builder)
        elif name == "cidr":
            builder.add(self._cidr())
        elif name == "equals-ignore-case":
            builder.add(EqualsIgnoreCase(fold_case(self._string_operand(name))))
            self._end_of_expression()
        elif name == "wildcard" and self._dialect.wildcard:
            wildcard = self._wildcard(self._string_operand(name))
            builder.wildcards.append(wildcard)
            builder.add(WildcardMatch(wildcard))
            self._end_of_expression()
        else:
            raise self._fail(f"Unrecognized match type {name}")

    def _affix(self, kind: str) -> ValueMatcher:
        token = self._next()
        if token is Token.START_OBJECT:
            if self._next() is not Token.FIELD_NAME:
                raise self._fail(f"{kind.capitalize()} expression name not found")
            inner = self._reader.current_name
            if inner != "equals-ignore-case":
                raise self._fail(f"Unsupported {kind} pattern: {inner}")
            text = fold_case(self._string_operand("equals-ignore-case"))
            self._end_of_expression()
            self._end_of_expression()
            return Prefix(text, ignore_case=True) if kind == "prefix" else Suffix(text, True)
        if token is not Token.STRING:
            raise self._fail(f"{kind} match pattern must be a string")
        text = self._reader.text(token)
        self._end_of_expression()
        return Prefix(text) if kind == "prefix" else Suffix(text)

    def _exists(self, builder: _FieldBuilder) -> None:
        token = self._next()
        if token not in (Token.TRUE, Token.FALSE):
            raise self._fail("exists match pattern must be either true or false.")
        self._end_of_expression()
        if token is Token.TRUE:
            builder.add(Exists())
        else:
            builder.absent_ok = True
            builder.count += 1

    def _cidr(self) -> Cidr:
        token = self._next()
        if token is not Token.STRING:
            raise self._fail("prefix match pattern must be a string")
        try:
            block = parse_cidr(self._reader.text(token))
        except AddressError as exc:
            raise InvalidEventPattern(str(exc)) from None
        self._end_of_expression()
        return Cidr(block)
