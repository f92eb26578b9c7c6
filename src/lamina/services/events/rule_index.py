"""Which rules of a bus an event matches, without running every rule's pattern.

Most rules pin ``source`` or ``detail-type`` to exact strings. A rule all of whose
branches (``$or`` alternatives) require exact strings of one of those fields is indexed
under each of those strings; an event then only meets the rules indexed under its own
``source`` and ``detail-type`` values, plus the rules that could not be indexed, and runs
those patterns in full. The result is the same as testing every rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from lamina.domain.event_pattern.compiler import Branch, PatternCompiler
from lamina.domain.event_pattern.dialects import DIALECTS
from lamina.domain.event_pattern.values import ExactStrings
from lamina.services.events.model import Rule

INDEXED_FIELDS: Final = ("source", "detail-type")


def index_values(pattern_text: str) -> tuple[str, frozenset[str]] | None:
    """(field, exact strings) a valid pattern requires of one indexed field in every
    branch, the field with the fewest values first; None if no field qualifies."""
    branches = PatternCompiler(pattern_text, DIALECTS["eventbridge"]).compile()
    best: tuple[str, frozenset[str]] | None = None
    for field in INDEXED_FIELDS:
        values = _exact_values(branches, field)
        if values is not None and (best is None or len(values) < len(best[1])):
            best = (field, values)
    return best


def _exact_values(branches: Iterable[Branch], field: str) -> frozenset[str] | None:
    found: set[str] = set()
    for branch in branches:
        spec = branch.get(field)
        if spec is None or spec.absent_ok or not spec.matchers:
            return None
        for matcher in spec.matchers:
            if not isinstance(matcher, ExactStrings) or matcher.addresses:
                return None
            found.update(matcher.values)
    return frozenset(found)


class RuleIndex:
    """The enabled, pattern-matching rules of one bus."""

    def __init__(self) -> None:
        self._indexed: dict[str, dict[str, dict[str, Rule]]] = {f: {} for f in INDEXED_FIELDS}
        self._unindexed: dict[str, Rule] = {}
        self._keys: dict[str, tuple[str, frozenset[str]] | None] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def put(self, rule: Rule) -> None:
        """Add or replace ``rule`` (a disabled rule or one without a pattern is removed)."""
        self.remove(rule.name)
        if not rule.enabled or rule.pattern is None or rule.event_pattern is None:
            return
        key = index_values(rule.event_pattern)
        self._keys[rule.name] = key
        if key is None:
            self._unindexed[rule.name] = rule
            return
        field, values = key
        for value in values:
            self._indexed[field].setdefault(value, {})[rule.name] = rule

    def remove(self, name: str) -> None:
        if name not in self._keys:
            return
        key = self._keys.pop(name)
        if key is None:
            self._unindexed.pop(name, None)
            return
        field, values = key
        table = self._indexed[field]
        for value in values:
            rules = table.get(value)
            if rules is not None:
                rules.pop(name, None)
                if not rules:
                    del table[value]

    def matching(self, event: Mapping[str, Any]) -> list[Rule]:
        """The rules whose pattern matches ``event``."""
        candidates: list[Rule] = []
        for field in INDEXED_FIELDS:
            value = event.get(field)
            if type(value) is str:
                rules = self._indexed[field].get(value)
                if rules:
                    candidates.extend(rules.values())
        if self._unindexed:
            candidates.extend(self._unindexed.values())
        matched: list[Rule] = []
        seen: set[str] = set()
        for rule in candidates:
            if rule.name in seen:
                continue
            seen.add(rule.name)
            pattern = rule.pattern
            if pattern is not None and pattern.matches(event):
                matched.append(rule)
        return matched
