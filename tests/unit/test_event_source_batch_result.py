"""ReportBatchItemFailures: AWS's rules for partial success and whole-batch failure."""

from __future__ import annotations

import json

import pytest

from lamina.services.event_sources.batch_result import item_failures, judge_batch

IDS = {"a", "b", "c"}


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"null",
        b"{}",
        b'{"batchItemFailures": null}',
        b'{"batchItemFailures": []}',
        b'"done"',  # valid JSON that is not an object: nothing names a failure
    ],
    ids=["empty", "null", "empty-object", "null-list", "empty-list", "string"],
)
def test_complete_success(payload: bytes) -> None:
    verdict = judge_batch(IDS, payload, None, report_item_failures=True)
    assert verdict.all_succeeded


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b'{"batchItemFailures": {"itemIdentifier": "a"}}',
        b'{"batchItemFailures": [{"foo": "notvalid"}]}',  # recorded: wrong key
        b'{"batchItemFailures": [{"itemIdentifier": ""}]}',
        b'{"batchItemFailures": [{"itemIdentifier": null}]}',
        b'{"batchItemFailures": [{"itemIdentifier": "zzz"}]}',
        b'{"batchItemFailures": ["a"]}',
        b'{"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": 7}]}',
    ],
    ids=[
        "invalid-json",
        "not-a-list",
        "wrong-key",
        "empty-id",
        "null-id",
        "unknown-id",
        "bare-id",
        "one-bad-entry",
    ],
)
def test_whole_batch_fails(payload: bytes) -> None:
    verdict = judge_batch(IDS, payload, None, report_item_failures=True)
    assert verdict.whole_batch_failed
    assert verdict.failed == IDS


def test_named_items_fail_the_rest_succeed() -> None:
    payload = json.dumps(
        {
            "batchItemFailures": [
                {"itemIdentifier": "b"},
                {"itemIdentifier": "c"},
                {"itemIdentifier": "b"},
            ]
        }
    ).encode()
    verdict = judge_batch(IDS, payload, None, report_item_failures=True)
    assert not verdict.whole_batch_failed
    assert verdict.failed == {"b", "c"}


def test_function_error_fails_everything_with_or_without_reporting() -> None:
    body = b'{"batchItemFailures": []}'
    for report in (True, False):
        verdict = judge_batch(IDS, body, "Unhandled", report_item_failures=report)
        assert verdict.whole_batch_failed and verdict.failed == IDS


def test_without_reporting_a_response_is_ignored() -> None:
    body = b'{"batchItemFailures": [{"itemIdentifier": "a"}]}'
    assert judge_batch(IDS, body, None, report_item_failures=False).all_succeeded


def test_item_failures_whitespace_is_empty() -> None:
    assert item_failures(b"  \n", IDS) == frozenset()
