"""The invocation record, the retry schedule and destination checks (pure)."""

from __future__ import annotations

import pytest

from lamina.domain import destinations as d
from lamina.domain.errors import InvalidParameterValueException


def test_record_without_response_omits_the_response_members() -> None:
    record = d.invocation_record(
        request_id="r",
        function_arn="arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST",
        condition=d.ZERO_RESERVED_CONCURRENCY,
        invoke_count=0,
        request_payload=b"{}",
        response=None,
        timestamp=0.0,
    )
    assert record == {
        "version": "1.0",
        "timestamp": "1970-01-01T00:00:00.000Z",
        "requestContext": {
            "requestId": "r",
            "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST",
            "condition": "ZeroReservedConcurrency",
            "approximateInvokeCount": 0,
        },
        "requestPayload": {},
    }


def test_record_with_error_response_and_round_trip() -> None:
    response = d.Response("$LATEST", "Unhandled", b'{"errorMessage": "boom"}')
    assert d.Response.from_json(response.to_json()) == response
    record = d.invocation_record(
        request_id="r",
        function_arn="a",
        condition=d.RETRIES_EXHAUSTED,
        invoke_count=3,
        request_payload=b'{"a": 1}',
        response=response,
        timestamp=1.5,
    )
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["responsePayload"] == {"errorMessage": "boom"}
    attributes = d.dead_letter_attributes("r", response, d.RETRIES_EXHAUSTED)
    assert attributes["ErrorCode"] == {"DataType": "Number", "StringValue": "200"}
    assert attributes["ErrorMessage"]["StringValue"] == "boom"


def test_schedule() -> None:
    assert [d.function_error_delay(n) for n in (1, 2)] == [60.0, 120.0]
    assert [d.backoff(n) for n in (1, 2, 3, 10, 20)] == [1.0, 2.0, 4.0, 300.0, 300.0]


@pytest.mark.parametrize(
    ("success", "failure", "valid"),
    [
        ("arn:aws:sqs:us-east-1:000000000000:q", None, True),
        (None, "arn:aws:s3:::bucket", True),
        ("arn:aws:s3:::bucket", None, False),
        ("arn:aws:iam::000000000000:role/r", None, False),
        (None, "arn:aws:events:us-east-1:000000000000:event-bus/b", True),
    ],
)
def test_destination_services(success: str | None, failure: str | None, valid: bool) -> None:
    config = d.DestinationConfig(on_success=success, on_failure=failure)
    if valid:
        d.check_destination_services(config)
    else:
        with pytest.raises(InvalidParameterValueException):
            d.check_destination_services(config)
