"""The rule index gives exactly what testing every rule gives: the 155 recorded pattern cases
one rule at a time and all together, plus indexed and unindexed rules side by side."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lamina.domain.event_pattern import compile_pattern
from lamina.services.events.arns import BusKey
from lamina.services.events.model import Rule
from lamina.services.events.rule_index import RuleIndex, index_values

CASES = json.loads(
    (
        Path(__file__).parents[1] / "fixtures/aws-recorded/events/event_pattern_cases.json"
    ).read_text()
)["cases"]
VALID = [case for case in CASES if case["expect"] != "error"]
BUS = BusKey("us-east-1", "111111111111", "default")


def _rule(name: str, pattern: Any, state: str = "ENABLED") -> Rule:
    text = pattern if isinstance(pattern, str) else json.dumps(pattern)
    return Rule(BUS, name, text, None, state, None, None, {}, compile_pattern(text))


@pytest.mark.parametrize("case", VALID, ids=[c["label"] for c in VALID])
def test_each_recorded_case_through_the_index(case: dict[str, Any]) -> None:
    index = RuleIndex()
    index.put(_rule("r", case["pattern"]))
    assert bool(index.matching(case["event"])) == (case["expect"] == "match")


def test_all_rules_together_match_as_a_full_scan() -> None:
    index = RuleIndex()
    rules = [_rule(f"r{i}", case["pattern"]) for i, case in enumerate(VALID)]
    for rule in rules:
        index.put(rule)
    for case in VALID:
        event = case["event"]
        expected = {r.name for r in rules if r.pattern is not None and r.pattern.matches(event)}
        assert {r.name for r in index.matching(event)} == expected


def test_index_keys() -> None:
    assert index_values('{"source": ["a", "b"], "detail": {"x": [1]}}') == (
        "source",
        frozenset({"a", "b"}),
    )
    # The field with fewer values wins.
    assert index_values('{"source": ["a", "b"], "detail-type": ["t"]}') == (
        "detail-type",
        frozenset({"t"}),
    )
    # A prefix, an $or branch without the field, or exists:false cannot be indexed.
    assert index_values('{"source": [{"prefix": "a"}]}') is None
    assert index_values('{"$or": [{"source": ["a"]}, {"detail-type": ["t"]}]}') is None
    assert index_values('{"source": [{"exists": false}]}') is None
    assert index_values('{"$or": [{"source": ["a"]}, {"source": ["b"], "x": [1]}]}') == (
        "source",
        frozenset({"a", "b"}),
    )


def test_disabled_replaced_and_removed_rules() -> None:
    index = RuleIndex()
    event = {"source": "a", "detail-type": "t", "detail": {}}
    index.put(_rule("r", {"source": ["a"]}))
    index.put(_rule("any", {"detail": {"x": [{"exists": False}]}}))
    assert {r.name for r in index.matching(event)} == {"r", "any"}
    index.put(_rule("r", {"source": ["b"]}))
    assert {r.name for r in index.matching(event)} == {"any"}
    index.put(_rule("r", {"source": ["a"]}, state="DISABLED"))
    index.remove("any")
    assert index.matching(event) == []
    assert len(index) == 0
