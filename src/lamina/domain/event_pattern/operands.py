"""Reading the operands of the pattern operators, with AWS's checks and messages.

``OperandReader`` holds the token stream of one pattern and reads what follows an
operator name: ``numeric`` ranges, ``anything-but`` in all its forms, string operands and
wildcards. Each check happens at the token where AWS makes it, so the error message and
its source location are AWS's (errors inside a value list carry the location twice, as
AWS's engine reports them).
"""

from __future__ import annotations

from lamina.domain.event_pattern.dialects import Dialect
from lamina.domain.event_pattern.errors import InvalidEventPattern
from lamina.domain.event_pattern.json_reader import NUMBERS, JsonReader, Token
from lamina.domain.event_pattern.values import (
    AnythingBut,
    AnythingButStrings,
    EqualsIgnoreCase,
    NumericRange,
    Prefix,
    Suffix,
    ValueMatcher,
    WildcardMatch,
    fold_case,
)
from lamina.domain.event_pattern.wildcard import Wildcard, WildcardSyntaxError, parse_wildcard


class OperandReader:
    """The token stream of one pattern, and the readers of operator operands."""

    def __init__(self, text: str, dialect: Dialect) -> None:
        self._reader = JsonReader(text)
        self._dialect = dialect

    def _fail(self, message: str) -> InvalidEventPattern:
        return self._reader.error(message)

    def _next(self) -> Token:
        token = self._reader.next_token()
        if token is None:  # unreachable for well-formed input: containers close first
            raise self._fail("Unexpected end-of-input")
        return token

    def _string_operand(self, kind: str) -> str:
        token = self._next()
        if token is not Token.STRING:
            raise self._fail(f"{kind} match pattern must be a string")
        return self._reader.text(token)

    def _end_of_expression(self) -> None:
        if self._next() is not Token.END_OBJECT:
            raise self._fail("Only one key allowed in match expression")

    def _wildcard(self, text: str) -> Wildcard:
        try:
            return parse_wildcard(text)
        except WildcardSyntaxError as exc:
            raise self._fail(str(exc)) from None

    # --- numeric ------------------------------------------------------------------------

    def _numeric(self) -> NumericRange:
        if self._next() is not Token.START_ARRAY:
            raise self._fail("Value of numeric must be an array.")
        matcher = self._numeric_terms()
        if self._next() is not Token.END_OBJECT:
            raise self._fail("Too many elements in numeric expression")
        return matcher

    def _number_operand(self, label: str) -> str:
        token = self._next()
        if token not in NUMBERS:
            raise self._fail(f"Value of {label} must be numeric")
        return self._reader.text(token)

    def _numeric_terms(self) -> NumericRange:
        reader = self._reader
        token = self._next()
        if token is not Token.STRING:
            raise self._fail(f"Invalid member in numeric match: {reader.text(token)}")
        operator = reader.text(token)
        if operator not in ("=", ">=", ">", "<=", "<"):
            self._next()
            raise self._fail(f"Unrecognized numeric range operator: {operator}")
        value = self._number_operand("equals" if operator == "=" else operator)
        if operator in (">=", ">"):
            token = self._next()
            if token is not Token.END_ARRAY:
                return self._numeric_range(token, value, low_open=operator == ">")
            return self._range(value, operator == ">", None, False)
        if self._next() is not Token.END_ARRAY:
            raise self._fail("Too many elements in numeric expression")
        if operator == "=":
            return self._range(value, False, value, False, equal=True)
        return self._range(None, False, value, operator == "<")

    def _numeric_range(self, token: Token, low: str, *, low_open: bool) -> NumericRange:
        reader = self._reader
        if token is not Token.STRING:
            raise self._fail(f"Bad value in numeric range: {reader.text(token)}")
        operator = reader.text(token)
        if operator not in ("<", "<="):
            raise self._fail(f"Bad numeric range operator: {operator}")
        high = self._number_operand(operator)
        if self._next() is not Token.END_ARRAY:
            raise self._fail("Too many terms in numeric range expression")
        return self._range(low, low_open, high, operator == "<")

    def _range(
        self,
        low: str | None,
        low_open: bool,
        high: str | None,
        high_open: bool,
        *,
        equal: bool = False,
    ) -> NumericRange:
        numbers = self._dialect.numbers
        try:
            low_value = numbers.from_text(low) if low is not None else None
            high_value = numbers.from_text(high) if high is not None else None
        except ValueError as exc:
            raise self._fail(str(exc)) from None
        if (
            not equal
            and low_value is not None
            and high_value is not None
            and low_value >= high_value
        ):
            raise self._fail("Bottom must be less than top")
        return NumericRange(low_value, low_open, high_value, high_open)

    # --- anything-but -------------------------------------------------------------------

    def _anything_but(self, wildcards: list[Wildcard]) -> ValueMatcher:
        reader = self._reader
        form: str | None = None
        token = self._next()
        if token is Token.START_OBJECT:
            if self._next() is not Token.FIELD_NAME:
                raise self._fail("Anything-But expression name not found")
            form = reader.current_name
            if form not in self._dialect.anything_but_forms:
                raise self._fail(f"Unsupported anything-but pattern: {form}")
            token = self._next()
            if self._dialect.single_anything_but_prefix and token is not Token.STRING:
                raise self._fail("prefix match pattern must be a string")
        if token not in (Token.START_ARRAY, Token.STRING, *NUMBERS):
            raise self._fail(
                "Value of anything-but must be an array or single string/number value."
            )
        if form is None:
            matcher: ValueMatcher = (
                self._anything_but_list()
                if token is Token.START_ARRAY
                else self._anything_but_single(token)
            )
        else:
            matcher = self._anything_but_strings(form, token, wildcards)
        if self._next() is not Token.END_OBJECT:
            raise self._fail("Too many elements in numeric expression")
        if form is not None and self._next() is not Token.END_OBJECT:
            raise self._fail("Too many elements in numeric expression")
        return matcher

    def _in_list(self, error: InvalidEventPattern) -> InvalidEventPattern:
        """An error raised while reading a value list: AWS reports its location twice."""
        return InvalidEventPattern(error.message, error.location + self._reader.location())

    def _anything_but_list(self) -> AnythingBut:
        reader = self._reader
        strings: set[str] = set()
        numbers: set[int] = set()
        while (token := self._next()) is not Token.END_ARRAY:
            if token is Token.STRING:
                strings.add(reader.text(token))
            elif token in NUMBERS:
                try:
                    numbers.add(self._dialect.numbers.from_text(reader.text(token)))
                except ValueError as exc:
                    raise self._fail(str(exc)) from None
            else:
                raise self._in_list(
                    self._fail("Inside anything but list, start|null|boolean is not supported.")
                )
        if bool(strings) == bool(numbers):
            raise self._fail(
                "Inside anything but list, either all values are number or "
                "string, mixed type is not supported"
            )
        return AnythingBut(frozenset(strings), frozenset(numbers))

    def _anything_but_single(self, token: Token) -> AnythingBut:
        text = self._reader.text(token)
        if token is Token.STRING:
            return AnythingBut(frozenset([text]), frozenset())
        try:
            return AnythingBut(frozenset(), frozenset([self._dialect.numbers.from_text(text)]))
        except ValueError as exc:  # AWS reports this one without a source location
            raise InvalidEventPattern(str(exc)) from None

    def _anything_but_strings(
        self, form: str, token: Token, wildcards: list[Wildcard]
    ) -> AnythingButStrings:
        if form == "equals-ignore-case":
            type_error = (
                "Inside anything-but/equals-ignore-case list, "
                "number|start|null|boolean is not supported."
            )
        elif form == "wildcard":
            type_error = "wildcard match pattern must be a string"
        else:
            type_error = "prefix/suffix match pattern must be a string"
        texts: list[str] = []
        if token is Token.START_ARRAY:
            while (token := self._next()) is not Token.END_ARRAY:
                if token is not Token.STRING:
                    raise self._in_list(self._fail(type_error))
                texts.append(self._anything_but_text(form, in_list=True))
        elif token is Token.STRING:
            texts.append(self._anything_but_text(form, in_list=False))
        else:
            raise self._fail(type_error)
        excluded: list[ValueMatcher] = []
        for text in texts:
            if form == "equals-ignore-case":
                excluded.append(EqualsIgnoreCase(fold_case(text)))
            elif form == "prefix":
                excluded.append(Prefix(text))
            elif form == "suffix":
                excluded.append(Suffix(text))
            else:
                wildcard = self._wildcard(text)
                wildcards.append(wildcard)
                excluded.append(WildcardMatch(wildcard))
        return AnythingButStrings(tuple(excluded))

    def _anything_but_text(self, form: str, *, in_list: bool) -> str:
        text = self._reader.text(Token.STRING)
        if form in ("prefix", "suffix") and not text:
            error = self._fail("Null prefix/suffix not allowed")
            raise self._in_list(error) if in_list else error
        return text
