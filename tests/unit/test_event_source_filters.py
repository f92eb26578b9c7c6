"""FilterCriteria on SQS records: the recorded filter cases (lambda/test_lambda_integration_sqs
``test_sqs_event_filter[...]``), Lambda's body-format rules, and unmatched messages deleted."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from aws_recorded import recorded
from event_source_fakes import FakeInvoker, FakeQueueSource
from test_event_source_poller import mapping

from lamina.domain.errors import InvalidParameterValueException
from lamina.services.event_sources.filters import compile_filters
from lamina.services.event_sources.sqs_poller import MappingPoller
from lamina.services.event_sources.sqs_records import filter_view

FILE = "test_lambda_integration_sqs"

# (test id, filter, a body that matches, a body that does not): the recorded cases' inputs.
CASES: list[tuple[str, dict[str, Any], Any, Any]] = [
    (
        "single",
        {"body": {"my-key": ["my-value"]}},
        {"my-key": "my-value"},
        {"my-key": "other-value"},
    ),
    (
        "or",
        {"body": {"my-key": ["my-value-one", "my-value-two"]}},
        {"my-key": "my-value-two"},
        {"my-key": "other-value"},
    ),
    (
        "and",
        {"body": {"my-key-one": ["other-filter", "my-value-one"], "my-key-two": ["my-value-two"]}},
        {"my-key-one": "my-value-one", "my-key-two": "my-value-two"},
        {"my-key-one": "other-value-", "my-key-two": "my-value-two"},
    ),
    (
        "exists",
        {"body": {"my-key": [{"exists": True}]}},
        {"my-key": "any-value-one"},
        {"other-key": "any-value-two"},
    ),
    (
        "numeric-bigger",
        {"body": {"my-number": [{"numeric": [">", 100]}]}},
        {"my-number": 101},
        {"my-number": 100},
    ),
    (
        "numeric-smaller",
        {"body": {"my-number": [{"numeric": ["<", 100]}]}},
        {"my-number": 99},
        {"my-number": 100},
    ),
    (
        "numeric-range",
        {"body": {"my-number": [{"numeric": [">=", 100, "<", 200]}]}},
        {"my-number": 100},
        {"my-number": 200},
    ),
    (
        "prefix",
        {"body": {"my-key": [{"prefix": "yes"}]}},
        {"my-key": "yes-value"},
        {"my-key": "no-value"},
    ),
    (
        "valid-json-filter",
        {"body": {"my-key": ["my-value"]}},
        {"my-key": "my-value"},
        "plain-string",
    ),
]


def _body(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@pytest.mark.parametrize(("case", "pattern", "matching", "other"), CASES, ids=[c[0] for c in CASES])
def test_recorded_filter_cases(
    case: str, pattern: dict[str, Any], matching: Any, other: Any
) -> None:
    want = recorded(f"test_sqs_event_filter[{case}]", "invocation_events", file=FILE)
    queues, invoker = FakeQueueSource(), FakeInvoker()
    queue = queues.create("q")
    queues.send(queue, _body(matching))
    queues.send(queue, _body(other))

    async def main() -> None:
        m = mapping(queue, filter_patterns=(json.dumps(pattern),))
        poller = MappingPoller(
            m, queues, invoker, compile_filters(m.filter_patterns), long_poll=0.2
        )
        poller.start()
        deadline = time.monotonic() + 5
        while queues.queues[queue].messages and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await poller.stop()
        assert poller.filtered_messages == 1

    asyncio.run(main())
    assert queues.queues[queue].messages == []  # the unmatched message is deleted too
    assert len(invoker.events) == len(want) == 1
    records = invoker.events[0]["Records"]
    assert len(records) == len(want[0]["Records"]) == 1
    assert json.loads(records[0]["body"]) == want[0]["Records"][0]["body"] == matching


def test_plain_string_filter_on_plain_and_json_bodies() -> None:
    check = compile_filters(['{"body": ["plain-string"]}'])
    assert check.matches(filter_view({"body": "plain-string"}))
    assert not check.matches(filter_view({"body": '{"valid-json-key": "plain-string"}'}))


def test_metadata_filters_and_or_of_several_patterns() -> None:
    check = compile_filters(
        ['{"attributes": {"ApproximateReceiveCount": ["1"]}}', '{"body": {"k": [1]}}']
    )
    assert check.matches(filter_view({"attributes": {"ApproximateReceiveCount": "1"}, "body": "x"}))
    assert check.matches(filter_view({"attributes": {}, "body": '{"k": 1}'}))
    assert not check.matches(filter_view({"attributes": {}, "body": '{"k": 2}'}))
    assert compile_filters([]).matches({"body": "anything"})


@pytest.mark.parametrize(
    "pattern", ["", "null", "[]", '"s"', "{", '{"body": "x"}', '{"a": {"prefix": 1}}']
)
def test_invalid_patterns_answer_lambdas_message(pattern: str) -> None:
    with pytest.raises(InvalidParameterValueException) as caught:
        compile_filters([pattern])
    assert caught.value.message == "Invalid filter pattern definition."
