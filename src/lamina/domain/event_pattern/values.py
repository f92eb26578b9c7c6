"""Tests on one event value (a leaf of the event): the operators of the pattern language.

An event leaf is a JSON scalar (string, number, boolean or null) together with its
comparable number (``numbers.NumberScale``) when it is a number in range. Each matcher is
built once at compile time (sets, folded strings, parsed wildcards and ranges) and then
only compares.

Type rules (AWS's): ``prefix``/``suffix``/``equals-ignore-case``/``wildcard``/``cidr``
test strings only; ``numeric`` tests JSON numbers only (never numeric strings, never
booleans); exact values are typed (``"300"`` is not ``300``, ``true`` is not ``1``);
``anything-but`` matches every value outside its set, values of other types included,
``null`` included.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from lamina.domain.event_pattern.ip_address import (
    Address,
    AddressRange,
    address_if_possible,
)
from lamina.domain.event_pattern.wildcard import Wildcard


@dataclass(slots=True)
class Leaf:
    """One value of the event at some path; ``arrays`` says which element of which event
    array it sits in (``(array id, index)`` pairs, outermost first)."""

    value: Any
    number: int | None
    arrays: tuple[tuple[int, int], ...]


class ValueMatcher(Protocol):
    def matches(self, leaf: Leaf) -> bool: ...


def fold_case(text: str) -> str:
    """The case-insensitive form used by ``equals-ignore-case`` and its relatives."""
    return text.lower()


@dataclass(frozen=True, slots=True)
class ExactStrings:
    """Exact string values (one set lookup), plus any IP addresses among them, which also
    match the same address written differently."""

    values: frozenset[str]
    addresses: frozenset[Address]

    def matches(self, leaf: Leaf) -> bool:
        value = leaf.value
        if type(value) is not str:
            return False
        if value in self.values:
            return True
        return bool(self.addresses) and address_if_possible(value) in self.addresses


@dataclass(frozen=True, slots=True)
class ExactNumber:
    """A number literal: equal by comparable value; a number out of the comparable range
    matches an equal event number only."""

    number: int | None
    literal: int | float

    def matches(self, leaf: Leaf) -> bool:
        if self.number is not None:
            return leaf.number == self.number
        value = leaf.value
        return type(value) in (int, float) and value == self.literal


@dataclass(frozen=True, slots=True)
class ExactLiteral:
    """``true``, ``false`` or ``null``."""

    literal: bool | None

    def matches(self, leaf: Leaf) -> bool:
        return leaf.value is self.literal


@dataclass(frozen=True, slots=True)
class Exists:
    """``{"exists": true}``: any value at all (``null`` included)."""

    def matches(self, leaf: Leaf) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class Prefix:
    prefix: str
    ignore_case: bool = False

    def matches(self, leaf: Leaf) -> bool:
        value = leaf.value
        if type(value) is not str:
            return False
        return (fold_case(value) if self.ignore_case else value).startswith(self.prefix)


@dataclass(frozen=True, slots=True)
class Suffix:
    suffix: str
    ignore_case: bool = False

    def matches(self, leaf: Leaf) -> bool:
        value = leaf.value
        if type(value) is not str:
            return False
        return (fold_case(value) if self.ignore_case else value).endswith(self.suffix)


@dataclass(frozen=True, slots=True)
class EqualsIgnoreCase:
    folded: str

    def matches(self, leaf: Leaf) -> bool:
        value = leaf.value
        return type(value) is str and fold_case(value) == self.folded


@dataclass(frozen=True, slots=True)
class WildcardMatch:
    wildcard: Wildcard

    def matches(self, leaf: Leaf) -> bool:
        value = leaf.value
        return type(value) is str and self.wildcard.matches(value)


@dataclass(frozen=True, slots=True)
class NumericRange:
    """``numeric``: bounds in comparable units; None means unbounded on that side."""

    low: int | None
    low_open: bool
    high: int | None
    high_open: bool

    def matches(self, leaf: Leaf) -> bool:
        number = leaf.number
        if number is None:
            return False
        low, high = self.low, self.high
        if low is not None and (number <= low if self.low_open else number < low):
            return False
        return not (high is not None and (number >= high if self.high_open else number > high))


@dataclass(frozen=True, slots=True)
class Cidr:
    block: AddressRange

    def matches(self, leaf: Leaf) -> bool:
        value = leaf.value
        if type(value) is not str:
            return False
        address = address_if_possible(value)
        return address is not None and self.block.contains(address)


@dataclass(frozen=True, slots=True)
class AnythingBut:
    """``anything-but`` a set of strings or numbers: any value but those (any type)."""

    strings: frozenset[str]
    numbers: frozenset[int]

    def matches(self, leaf: Leaf) -> bool:
        value = leaf.value
        if type(value) is str:
            return value not in self.strings
        return leaf.number is None or leaf.number not in self.numbers


@dataclass(frozen=True, slots=True)
class AnythingButStrings:
    """``anything-but`` of ``prefix``/``suffix``/``equals-ignore-case``/``wildcard``:
    every non-string value matches; a string matches if none of the inner tests does."""

    excluded: tuple[ValueMatcher, ...]

    def matches(self, leaf: Leaf) -> bool:
        if type(leaf.value) is not str:
            return True
        return not any(matcher.matches(leaf) for matcher in self.excluded)


def exact_strings(values: Iterable[str]) -> ExactStrings:
    """One matcher for a field's exact string values."""
    texts = frozenset(values)
    addresses = frozenset(a for a in map(address_if_possible, texts) if a is not None)
    return ExactStrings(texts, addresses)
