"""The event-pattern language against AWS's recorded answers, plus the edges they miss.

Golden data (tests/fixtures/aws-recorded):
- events/event_pattern_cases.json: 155 patterns AWS answered with match / no match / error;
- events/test_events_patterns.snapshot.json: the same errors with AWS's full message
  (the JSON source location included) and four invalid-JSON patterns;
- sns/test_sns_filter_policy.snapshot.json: SNS filter-policy errors (the ``sns`` dialect).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from lamina.domain.event_pattern import EventPattern, InvalidEventPattern, compile_pattern

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "aws-recorded"
EVENTBRIDGE_PREFIX = "Event pattern is not valid. Reason: "
SNS_PREFIX = "FilterPolicy: "


def _cases() -> list[dict[str, Any]]:
    data = json.loads((RECORDED / "events" / "event_pattern_cases.json").read_text())
    cases: list[dict[str, Any]] = data["cases"]
    return cases


def _snapshot(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / name).read_text())
    return data


CASES = _cases()
CASES_BY_LABEL = {case["label"]: case for case in CASES}
PATTERN_SNAPSHOT = _snapshot("events/test_events_patterns.snapshot.json")


def matches(pattern: Any, event: dict[str, Any], dialect: str = "eventbridge") -> bool:
    return compile_pattern(
        pattern if isinstance(pattern, str) else json.dumps(pattern), dialect=dialect
    ).matches(event)


def error_of(pattern: Any, dialect: str = "eventbridge") -> InvalidEventPattern:
    text = pattern if isinstance(pattern, str) else json.dumps(pattern)
    with pytest.raises(InvalidEventPattern) as caught:
        compile_pattern(text, dialect=dialect)
    return caught.value


# --- the recorded conformance table ---------------------------------------------------


def test_the_table_holds_all_155_cases() -> None:
    assert len(CASES) == 155
    assert {c["expect"] for c in CASES} == {"match", "no-match", "error"}


@pytest.mark.parametrize("case", CASES, ids=[c["label"] for c in CASES])
def test_recorded_case(case: dict[str, Any]) -> None:
    text = json.dumps(case["pattern"])
    if case["expect"] == "error":
        error = error_of(text)
        assert EVENTBRIDGE_PREFIX + error.message == case["error"]["message"]
    else:
        assert compile_pattern(text).matches(case["event"]) is (case["expect"] == "match")


def _raw_error_ids() -> list[str]:
    return [
        tid.split("[", 1)[1][:-1]
        for tid in PATTERN_SNAPSHOT
        if tid.split("::")[-1].startswith("test_event_pattern[") and "EXC" in tid
    ]


def _without_source(message: str) -> str:
    """Placeholders (<region>...) replace values inside some recorded sources: compare the
    line and column only."""
    return re.sub(r'\(String\)".*?"; line', '(String)"…"; line', message, flags=re.S)


@pytest.mark.parametrize("label", _raw_error_ids())
def test_recorded_error_with_source_location(label: str) -> None:
    """The whole message, with the Jackson location AWS appends (once, or twice for errors
    inside a value list), for each of the 38 recorded errors."""
    record = next(v for k, v in PATTERN_SNAPSHOT.items() if k.endswith(f"[{label}]"))
    raw = record["recorded-content"][label]["exception_message"]["Error"]["MessageRaw"]
    got = EVENTBRIDGE_PREFIX + error_of(CASES_BY_LABEL[label]["pattern"]).raw_message
    if "<" in raw:
        assert _without_source(got) == _without_source(raw)
    else:
        assert got == raw


def _invalid_json_ids() -> list[str]:
    return [
        tid.split("[", 1)[1][:-1]
        for tid in PATTERN_SNAPSHOT
        if "test_invalid_json_event_pattern[" in tid
    ]


@pytest.mark.parametrize("source", _invalid_json_ids())
def test_recorded_invalid_json(source: str) -> None:
    record = next(v for k, v in PATTERN_SNAPSHOT.items() if k.endswith(f"[{source}]"))
    expected = record["recorded-content"]["invalid-pattern"]["Error"]["Message"]
    assert EVENTBRIDGE_PREFIX + error_of(source).raw_message == expected


def _sns_errors() -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            message = node.get("Message")
            if isinstance(message, str) and SNS_PREFIX in message and "[Source" in message:
                found.append(message.split(SNS_PREFIX, 1)[1])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(_snapshot("sns/test_sns_filter_policy.snapshot.json"))
    return sorted(set(found))


@pytest.mark.parametrize("reason", _sns_errors(), ids=lambda reason: reason.split("\n")[0])
def test_recorded_sns_filter_policy_error(reason: str) -> None:
    source = re.search(r'\(String\)"(.*)"; line', reason, flags=re.S)
    assert source is not None
    assert error_of(source.group(1), dialect="sns").raw_message == reason


# --- literals, structure, arrays ------------------------------------------------------


def test_literals_are_typed() -> None:
    assert not matches({"a": [1]}, {"a": True})
    assert not matches({"a": [True]}, {"a": 1})
    assert not matches({"a": ["1"]}, {"a": 1})
    assert not matches({"a": [None]}, {})
    assert matches({"a": [None]}, {"a": None})
    assert matches({"a": [3e2]}, {"a": 300})
    assert matches({"a": [0.1]}, {"a": 0.1000001})  # six decimals of precision


def test_large_numbers_compare_exactly_outside_the_numeric_range() -> None:
    assert matches({"account": [123456789012]}, {"account": 123456789012})
    assert not matches({"account": [123456789012]}, {"account": 123456789013})


def test_exact_ip_matches_the_same_address_written_differently() -> None:
    assert matches({"ip": ["2001:db8::1"]}, {"ip": "2001:0db8:0:0:0:0:0:1"})
    assert matches({"ip": ["10.0.0.1"]}, {"ip": "10.0.0.1"})
    assert not matches({"ip": ["10.0.0.1"]}, {"ip": "10.0.0.2"})


def test_nested_arrays_are_flattened() -> None:
    assert matches({"a": ["x"]}, {"a": [["y"], ["x"]]})
    assert matches({"a": {"b": [2]}}, {"a": [[{"b": 1}], [{"b": [2]}]]})
    assert not matches({"a": [{"exists": True}]}, {"a": [[], []]})


def test_fields_from_one_array_must_come_from_the_same_element() -> None:
    pattern = {"people": {"first": ["Anna"], "last": ["Jones"]}}
    smith_and_jones = {
        "people": [{"first": "Anna", "last": "Smith"}, {"first": "Peter", "last": "Jones"}]
    }
    anna_jones = {
        "people": [{"first": "Peter", "last": "Smith"}, {"first": "Anna", "last": "Jones"}]
    }
    assert not matches(pattern, smith_and_jones)
    assert matches(pattern, anna_jones)
    # Different arrays do not constrain each other.
    assert matches({"a": {"x": [1]}, "b": {"y": [2]}}, {"a": [{"x": 0}, {"x": 1}], "b": [{"y": 2}]})


def test_dotted_keys_equal_nesting() -> None:
    assert matches({"a.b": {"c": [1]}}, {"a": {"b.c": 1}})
    assert matches({"": {"b": [1]}}, {"": {"b": 1}})
    assert not matches({"": {"b": [1]}}, {"b": 1})


def test_huge_number_literals_do_not_break_compilation() -> None:
    digits = "9" * 5000
    assert not compile_pattern('{"a": [' + digits + "]}").matches({"a": 1})


def test_objects_are_not_values() -> None:
    assert not matches({"a": [{"exists": True}]}, {"a": {"b": 1}})
    assert matches({"a": [{"exists": False}]}, {"a": {"b": 1}})
    assert not matches({"a": [{"anything-but": "x"}]}, {"a": {"b": 1}})


def test_a_later_key_replaces_an_earlier_one() -> None:
    assert matches('{"a": ["x"], "a": ["y"]}', {"a": "y"})
    assert not matches('{"a": ["x"], "a": ["y"]}', {"a": "x"})


def test_or_combines_with_siblings_and_nests() -> None:
    pattern = {"source": ["s"], "$or": [{"a": [1]}, {"b": [2], "$or": [{"c": [3]}, {"d": [4]}]}]}
    assert matches(pattern, {"source": "s", "a": 1})
    assert matches(pattern, {"source": "s", "b": 2, "d": 4})
    assert not matches(pattern, {"source": "s", "b": 2})
    assert not matches(pattern, {"source": "t", "a": 1})


def test_or_expansion_is_bounded() -> None:
    alternatives = [{f"k{i}": [i]} for i in range(2)]
    pattern = {f"f{n}": {"$or": alternatives} for n in range(11)}  # 2**11 branches
    assert "$or combinations" in error_of(pattern).message


def test_patterns_given_as_objects_are_accepted() -> None:
    pattern = compile_pattern({"a": [{"prefix": "x"}]})
    assert isinstance(pattern, EventPattern)
    assert pattern.matches({"a": "xyz"})


def test_event_that_is_not_an_object_matches_only_absence() -> None:
    assert not compile_pattern({"a": ["x"]}).matches([])  # type: ignore[arg-type]
    assert compile_pattern({"a": [{"exists": False}]}).matches([])  # type: ignore[arg-type]


# --- operators ------------------------------------------------------------------------


def test_prefix_suffix_and_ignore_case_apply_to_strings_only() -> None:
    assert matches({"a": [{"prefix": "ab"}]}, {"a": "abc"})
    assert not matches({"a": [{"prefix": "1"}]}, {"a": 12})
    assert matches({"a": [{"suffix": {"equals-ignore-case": "BC"}}]}, {"a": "xbc"})
    assert matches({"a": [{"equals-ignore-case": "ÄBC"}]}, {"a": "äbc"})
    assert not matches({"a": [{"equals-ignore-case": "1"}]}, {"a": 1})


def test_wildcard_escapes_and_runs() -> None:
    assert matches({"a": [{"wildcard": "a\\*b"}]}, {"a": "a*b"})
    assert not matches({"a": [{"wildcard": "a\\*b"}]}, {"a": "axb"})
    assert matches({"a": [{"wildcard": "a\\\\b"}]}, {"a": "a\\b"})
    assert matches({"a": [{"wildcard": "*"}]}, {"a": ""})
    assert matches({"a": [{"wildcard": "ab*ab"}]}, {"a": "ab"}) is False
    assert matches({"a": [{"wildcard": "ab*ab"}]}, {"a": "abab"})
    assert matches({"a": [{"wildcard": "*é*"}]}, {"a": "café"})
    assert error_of({"a": [{"wildcard": "a\\xb"}]}).message == "Invalid escape character at pos 2"
    assert error_of({"a": [{"wildcard": "é**"}]}).message == (
        "Consecutive wildcard characters at pos 3"
    )  # UTF-8 bytes, after the opening quote


def test_wildcard_matching_does_not_backtrack() -> None:
    pattern = compile_pattern({"a": [{"wildcard": "*a*a*a*b"}]})
    started = time.perf_counter()
    assert not pattern.matches({"a": "a" * 200_000})
    assert time.perf_counter() - started < 0.5


def test_wildcard_complexity_limit() -> None:
    too_complex = (
        "Rule is too complex - try using fewer wildcard characters or fewer "
        "repeating character sequences after a wildcard character"
    )
    four_suffixes = [{"wildcard": f"*.{ext}"} for ext in ("bif", "tiff", "tif", "svs")]
    assert error_of({"key": four_suffixes}).message == too_complex
    assert error_of({"key": four_suffixes}).location == ""
    assert compile_pattern({"key": four_suffixes[:2]}).matches({"key": "x.tiff"})


def test_anything_but_matches_other_types_and_null() -> None:
    assert matches({"a": [{"anything-but": ["x"]}]}, {"a": 1})
    assert matches({"a": [{"anything-but": [1, 2]}]}, {"a": "1"})
    assert matches({"a": [{"anything-but": [1, 2]}]}, {"a": None})
    assert not matches({"a": [{"anything-but": [1, 2]}]}, {"a": 2.0})
    assert matches({"a": [{"anything-but": {"suffix": [".a", ".b"]}}]}, {"a": "x.c"})
    assert not matches({"a": [{"anything-but": {"equals-ignore-case": "X"}}]}, {"a": "x"})
    assert matches({"a": [{"anything-but": {"wildcard": "x*"}}]}, {"a": True})


def test_numeric_boundaries() -> None:
    def numeric(*terms: Any) -> dict[str, Any]:
        return {"n": [{"numeric": list(terms)}]}

    assert matches(numeric(">", 0, "<=", 5), {"n": 5})
    assert not matches(numeric(">", 0, "<=", 5), {"n": 0})
    assert not matches(numeric(">", 0, "<", 5), {"n": 5})
    assert matches(numeric(">=", 0, "<", 5), {"n": 0})
    assert matches(numeric("=", 301.8), {"n": 301.8})
    assert matches(numeric("<", -1.5), {"n": -2})
    assert matches(numeric("<=", 5e9), {"n": 5e9})
    assert not matches(numeric(">", 0), {"n": 5e9 + 1})  # beyond the comparable range
    assert not matches(numeric(">", 0), {"n": True})
    assert matches(numeric("=", 0.1), {"n": 0.1 + 0.2 - 0.2})  # no binary float error
    assert error_of(numeric(">", 5e9 + 1)).message == (
        "Value must be between -5.0E9 and 5.0E9, inclusive"
    )
    assert error_of(numeric(">=", 5, "<=", 5)).message == "Bottom must be less than top"
    assert error_of(numeric(">", 1, "<", 2, 3)).message == (
        "Too many terms in numeric range expression"
    )


def test_sns_numbers_use_its_narrower_range() -> None:
    assert error_of({"n": [{"numeric": [">", 2e9]}]}, dialect="sns").message == (
        "Value must be between -1.0E9 and 1.0E9, inclusive"
    )
    assert matches({"n": [{"numeric": [">", 1e9 - 1]}]}, {"n": 1e9}, dialect="sns")


def test_exists() -> None:
    assert matches({"a": [{"exists": True}]}, {"a": None})
    assert matches({"a": [{"exists": True}]}, {"a": [0]})
    assert not matches({"a": [{"exists": True}]}, {"a": []})
    assert matches({"a": {"b": [{"exists": False}]}}, {"a": "scalar"})
    assert not matches({"a": [{"exists": False}]}, {"a": None})


def test_cidr_ipv4_and_ipv6() -> None:
    assert matches({"ip": [{"cidr": "10.0.0.0/8"}]}, {"ip": "10.255.255.255"})
    assert not matches({"ip": [{"cidr": "10.0.0.0/8"}]}, {"ip": "11.0.0.0"})
    # AWS's range starts at the written address, not at the network address.
    assert not matches({"ip": [{"cidr": "10.0.0.5/24"}]}, {"ip": "10.0.0.4"})
    assert matches({"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "2001:db8:ffff:ffff::1"})
    assert not matches({"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "2001:db9::"})
    assert not matches({"ip": [{"cidr": "::/0"}]}, {"ip": "10.0.0.1"})  # families differ
    assert matches({"ip": [{"cidr": "10.0.0.0/8"}]}, {"ip": "::ffff:10.1.2.3"}) is False
    assert matches({"ip": [{"cidr": "10.0.0.0/8"}]}, {"ip": "::ffff:a01:203"})
    assert error_of({"ip": [{"cidr": "10.0.0.0/32"}]}).message == "IPv4 mask bits must be < 32"
    assert error_of({"ip": [{"cidr": "::/128"}]}).message == "IPv6 mask bits must be < 128"
    assert error_of({"ip": [{"cidr": "10.0.0.0/-1"}]}).message == (
        "Malformed CIDR, mask bits must not be negative"
    )
    assert error_of({"ip": [{"cidr": "300.0.0.0/8"}]}).message == ("Invalid IP address: 300.0.0.0")


# --- validation details ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ({}, "Empty objects are not allowed"),
        ({"a": [{}]}, "Match expression name not found"),
        ({"a": [{"prefix": "x", "suffix": "y"}]}, "Only one key allowed in match expression"),
        ({"a": [{"exists": "yes"}]}, "exists match pattern must be either true or false."),
        (
            {"a": [{"anything-but": []}]},
            "Inside anything but list, either all values are number "
            "or string, mixed type is not supported",
        ),
        ({"a": [{"anything-but": {"exists": True}}]}, "Unsupported anything-but pattern: exists"),
        ({"a": [{"prefix": {"exists": True}}]}, "Unsupported prefix pattern: exists"),
        ({"$or": [{"a": ["x"]}]}, "There must have at least 2 Objects in $or relationship."),
        ({"$or": [{"a": ["x"]}, "b"]}, "Only JSON object is allowed in array of $or relationship."),
        ({"$or": {"a": ["x"]}}, "It must be an Array followed with $or."),
        (
            {"$or": [{"a": ["x"]}, {"numeric": ["y"]}]},
            "numeric is Ruler reserved fieldName which cannot be used inside $or.",
        ),
        ({"a": [{"wildcard": "x"}]}, None),
    ],
)
def test_validation_messages(pattern: Any, message: str | None) -> None:
    if message is None:
        compile_pattern(pattern)
    else:
        assert error_of(pattern).message == message


def test_sns_has_no_wildcard_and_limits_keys_and_combinations() -> None:
    assert error_of({"a": [{"wildcard": "x*"}]}, dialect="sns").message == (
        "Unrecognized match type wildcard"
    )
    six_keys = {f"k{i}": ["v"] for i in range(6)}
    assert error_of(six_keys, dialect="sns").message == (
        "Filter policy can not have more than 5 keys"
    )
    many_values = {"a": list(range(13)), "b": list(range(12))}
    assert error_of(many_values, dialect="sns").message == "Filter policy is too complex"
    compile_pattern(six_keys, dialect="lambda")


def test_location_counts_lines_and_truncates_long_sources() -> None:
    error = error_of('{\n  "a": [\n    {"prefix": 1}]}')
    assert error.location.endswith("line: 3, column: 17]")
    long_pattern = json.dumps({"a": ["x" * 600], "b": 1})
    error = error_of(long_pattern)
    assert f'"[truncated {len(long_pattern) - 500} chars]; line: 1' in error.location


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "No content to map due to end-of-input"),
        ('{"a": ["x"]', "Unexpected end-of-input: expected close marker for Object"),
        (
            '{"a" ["x"]}',
            "Unexpected character ('[' (code 91)): was expecting a colon to separate "
            "field name and value",
        ),
        ('{"a": [01]}', "Invalid numeric value: Leading zeroes not allowed"),
        ('{"a": ["\\x"]}', "Unrecognized character escape 'x' (code 120)"),
    ],
)
def test_invalid_json_messages(source: str, message: str) -> None:
    assert error_of(source).message == message


def test_text_after_the_root_object_is_ignored() -> None:
    assert matches('{"a": ["x"]} trailing', {"a": "x"})


def test_unknown_dialect_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        compile_pattern({"a": ["x"]}, dialect="kinesis")
