"""The event-pattern language of EventBridge rules, Lambda FilterCriteria and SNS filter
policies: one validator and one matcher.

    pattern = compile_pattern('{"source": ["aws.s3"], "detail": {"size": [{"numeric": [">", 0]}]}}')
    pattern.matches(event)          # event: a parsed JSON object

``compile_pattern`` validates the whole pattern the way AWS does (same checks, same order,
same messages: see ``InvalidEventPattern`` for what each service adds) and compiles it
once into field tests; ``EventPattern.matches`` then only walks the event paths the
pattern names. Language reference: exact values (typed), arrays (any element), nesting and
dotted keys, ``prefix``/``suffix`` (optionally ``equals-ignore-case``),
``equals-ignore-case``, ``wildcard``, ``anything-but`` (values, ``prefix``, ``suffix``,
``equals-ignore-case``, ``wildcard``), ``numeric``, ``exists``, ``cidr``, ``$or``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lamina.domain.event_pattern.compiler import Branch, FieldSpec, PatternCompiler
from lamina.domain.event_pattern.dialects import DIALECTS, Dialect
from lamina.domain.event_pattern.errors import InvalidEventPattern
from lamina.domain.event_pattern.matching import (
    PathIndex,
    any_branch_matches,
    collect_leaves,
    index_branches,
)
from lamina.domain.event_pattern.wildcard import (
    COMPLEXITY_LIMIT,
    TOO_COMPLEX,
    Wildcard,
    complexity,
)

__all__ = ["EventPattern", "InvalidEventPattern", "compile_pattern"]


class EventPattern:
    """A compiled pattern. Immutable; safe to share between threads and tasks."""

    def __init__(self, branches: list[Branch], dialect: Dialect) -> None:
        self._specs, self._branches = index_branches(branches)
        self._index = PathIndex([spec.path for spec in self._specs])
        self._numbers = dialect.numbers
        self.dialect = dialect.name

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Whether the event (a parsed JSON object) matches the pattern."""
        leaves, in_arrays = collect_leaves(event, self._index, self._numbers)
        return any_branch_matches(self._branches, self._specs, leaves, in_arrays)


def compile_pattern(text: str | Mapping[str, Any], *, dialect: str = "eventbridge") -> EventPattern:
    """Validate and compile a pattern given as JSON text (what the APIs receive) or as an
    already parsed object (serialised first, so error locations refer to that text).

    ``dialect`` is ``"eventbridge"``, ``"lambda"`` (FilterCriteria: the same language) or
    ``"sns"`` (filter-policy limits, no ``wildcard``). Raises InvalidEventPattern.
    """
    try:
        rules = DIALECTS[dialect]
    except KeyError:
        raise ValueError(f"unknown pattern dialect: {dialect}") from None
    source = text if isinstance(text, str) else json.dumps(text)
    branches = PatternCompiler(source, rules).compile()
    _check_wildcard_complexity(branches)
    _check_dialect_limits(branches, rules)
    return EventPattern(branches, rules)


def _check_wildcard_complexity(branches: list[Branch]) -> None:
    """AWS refuses a rule whose wildcards on one field could keep too many partial matches
    alive at once (reported without a source location)."""
    by_path: dict[str, dict[str, Wildcard]] = {}
    for branch in branches:
        for path, spec in branch.items():
            for wildcard in spec.wildcards:
                by_path.setdefault(path, {})[wildcard.source] = wildcard
    for wildcards in by_path.values():
        if complexity(list(wildcards.values())) > COMPLEXITY_LIMIT:
            raise InvalidEventPattern(TOO_COMPLEX)


def _check_dialect_limits(branches: list[Branch], rules: Dialect) -> None:
    """SNS's limits on filter policies: keys per branch, combinations of values in all."""
    combinations = 0
    for branch in branches:
        fields: list[FieldSpec] = list(branch.values())
        if rules.max_keys is not None and len(fields) > rules.max_keys:
            raise InvalidEventPattern(f"Filter policy can not have more than {rules.max_keys} keys")
        product = 1
        for spec in fields:
            product *= spec.size
        combinations += product
    if rules.max_combinations is not None and combinations > rules.max_combinations:
        raise InvalidEventPattern("Filter policy is too complex")
