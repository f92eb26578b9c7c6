"""Asynchronous invocation end to end (docs/async.md): the durable queue, retries and their
spacing, event age, destinations and dead letters, throttles, EventInvokeConfig (compared with
AWS's recordings), and a crash test: SIGKILL under load, restart, every 202 ran.

The server runs with ``--async-delay-scale 0.01``: AWS's 1 and 2 minute retry delays become
0.6 and 1.2 s, and MaximumEventAgeInSeconds=60 becomes 0.6 s.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import ACCOUNT, ROLE, Capture, LaminaServer, create_python_function, make_zip, unique

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from aws_recorded import expand, recorded  # noqa: E402

SCALE = 0.01
DESTINATIONS = "test_lambda_destinations"
ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"
SQS_ARN = f"arn:aws:sqs:us-east-1:{ACCOUNT}:dead-letters"

ECHO_CONTEXT = """
def handler(event, context):
    if event.get("raise_error"):
        raise Exception("Test exception (this is intentional)")
    return {"event": event, "context": {
        "invoked_function_arn": context.invoked_function_arn,
        "function_version": context.function_version,
        "function_name": context.function_name,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "client_context": context.client_context}}
"""
RECORDER = "import json\ndef handler(event, context):\n    print('RECORD ' + json.dumps(event))\n"
ALWAYS_FAILS = (
    "import time\n"
    "def handler(event, context):\n"
    "    print('ATTEMPT', event.get('message'), repr(time.time()))\n"
    "    raise Exception('intentional failure')\n"
)
SLEEPER = (
    "import time\n"
    "def handler(event, context):\n"
    "    start = time.time()\n"
    "    time.sleep(event.get('s', 0))\n"
    "    print('ran', event.get('token'), repr(start), repr(time.time()))\n"
    "    return event\n"
)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaServer]:
    server = LaminaServer(
        tmp_path_factory.mktemp("async") / "data",
        extra_args=["--async-delay-scale", str(SCALE)],
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def alam(srv: LaminaServer) -> Any:
    return srv.client()


@pytest.fixture(scope="module")
def raw(srv: LaminaServer) -> Any:
    return srv.client(parameter_validation=False)


@pytest.fixture(scope="module")
def recorder(alam: Any) -> str:
    return create_python_function(alam, RECORDER)


def eventually(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def log_lines(srv: LaminaServer, name: str, prefix: str) -> list[str]:
    try:
        events = srv.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{name}")
    except ClientError:
        return []
    return [e["message"] for e in events["events"] if e["message"].startswith(prefix)]


def records(srv: LaminaServer, name: str, count: int = 1, timeout: float = 60) -> list[Any]:
    def found() -> list[Any] | None:
        lines = log_lines(srv, name, "RECORD ")
        return (
            [json.loads(line[len("RECORD ") :]) for line in lines] if len(lines) >= count else None
        )

    result: list[Any] = eventually(found, timeout)
    return result


def record_for(srv: LaminaServer, recorder: str, request_id: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        for record in records(srv, recorder, 1):
            if record["requestContext"]["requestId"] == request_id:
                return record
        return None

    result: dict[str, Any] = eventually(found)
    return result


def queue_state(srv: LaminaServer, **query: str) -> dict[str, Any]:
    suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    with urllib.request.urlopen(f"{srv.endpoint}/_lamina/async{suffix}") as response:
        data: dict[str, Any] = json.loads(response.read())
    return data


def send(lam: Any, name: str, payload: Any, **kwargs: Any) -> str:
    response = lam.invoke(
        FunctionName=name, InvocationType="Event", Payload=json.dumps(payload).encode(), **kwargs
    )
    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    request_id: str = response["ResponseMetadata"]["RequestId"]
    return request_id


def check_timestamp(record: dict[str, Any]) -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record.pop("timestamp"))


def strip_stack(record: dict[str, Any]) -> None:
    """Stack traces name the recording's handler file and line: compare their shape."""
    payload = record.get("responsePayload")
    if isinstance(payload, dict) and "stackTrace" in payload:
        stack = payload.pop("stackTrace")
        assert isinstance(stack, list) and all(isinstance(line, str) for line in stack)


# --- destination records, compared with AWS's ---------------------------------------------


def test_success_record_matches_aws(srv: LaminaServer, alam: Any, recorder: str) -> None:
    test = "TestLambdaDestinationSqs::test_assess_lambda_destination_invocation[Success-payload0]"
    name = create_python_function(alam, ECHO_CONTEXT)
    put = alam.put_function_event_invoke_config(
        FunctionName=name,
        DestinationConfig={"OnSuccess": {"Destination": ARN + recorder}},
    )
    assert put["DestinationConfig"] == {
        "OnSuccess": {"Destination": ARN + recorder},
        "OnFailure": {},
    }
    request_id = send(alam, name, {})
    record = record_for(srv, recorder, request_id)
    check_timestamp(record)
    stream = record["responsePayload"]["context"]["log_stream_name"]
    want = expand(
        recorded(test, "receive_message_result", file=DESTINATIONS)["Messages"][0]["Body"],
        {
            "111111111111": ACCOUNT,
            "<resource:2>": name,
            "<uuid:1>": request_id,
            "<log-stream-name:1>": stream,
        },
    )
    want.pop("timestamp")
    assert record == want


def test_failure_record_without_retries_matches_aws(
    srv: LaminaServer, alam: Any, recorder: str
) -> None:
    test = "TestLambdaDestinationSqs::test_assess_lambda_destination_invocation[payload1]"
    name = create_python_function(alam, ECHO_CONTEXT)
    put = alam.put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": ARN + recorder}},
    )
    assert put["MaximumRetryAttempts"] == 0
    request_id = send(alam, name, {"raise_error": 1})
    record = record_for(srv, recorder, request_id)
    check_timestamp(record)
    strip_stack(record)
    want = expand(
        recorded(test, "receive_message_result", file=DESTINATIONS)["Messages"][0]["Body"],
        {"111111111111": ACCOUNT, "<resource:2>": name, "<uuid:1>": request_id},
    )
    want.pop("timestamp")
    strip_stack(want)
    assert record == want


def test_default_retries_count_and_spacing(srv: LaminaServer, alam: Any, recorder: str) -> None:
    """Two retries after a function error, about 1 and then 2 minutes apart (scaled), then
    the RetriesExhausted record (recorded: test_retries)."""
    name = create_python_function(alam, ALWAYS_FAILS)
    alam.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnFailure": {"Destination": ARN + recorder}}
    )
    request_id = send(alam, name, {"message": "retry-me"})
    record = record_for(srv, recorder, request_id)
    attempts = sorted(float(line.split()[2]) for line in log_lines(srv, name, "ATTEMPT"))
    assert len(attempts) == 3
    first, second = attempts[1] - attempts[0], attempts[2] - attempts[1]
    assert 60 * SCALE * 0.95 <= first < 60 * SCALE + 10, attempts
    assert 120 * SCALE * 0.95 <= second < 120 * SCALE + 10, attempts
    check_timestamp(record)
    strip_stack(record)
    want = expand(
        recorded("TestLambdaDestinationSqs::test_retries", file=DESTINATIONS)[
            "queue_destination_payload"
        ]["Messages"][0]["Body"],
        {"111111111111": ACCOUNT, "<resource:1>": name, "<uuid:1>": request_id},
    )
    want.pop("timestamp")
    strip_stack(want)
    want["requestPayload"] = {"message": "retry-me"}
    want["responsePayload"]["errorMessage"] = "intentional failure"
    assert record == want


def test_event_age_expiry(srv: LaminaServer, alam: Any, recorder: str) -> None:
    """MaximumEventAgeInSeconds=60 (0.6 s scaled) expires before the first retry is due:
    EventAgeExceeded after one attempt (recorded: test_maxeventage no_retry_failure_message)."""
    name = create_python_function(alam, ALWAYS_FAILS)
    alam.put_function_event_invoke_config(
        FunctionName=name,
        MaximumEventAgeInSeconds=60,
        DestinationConfig={"OnFailure": {"Destination": ARN + recorder}},
    )
    request_id = send(alam, name, {"message": "too-old"})
    record = record_for(srv, recorder, request_id)
    assert len(log_lines(srv, name, "ATTEMPT")) == 1
    check_timestamp(record)
    strip_stack(record)
    want = expand(
        recorded("TestLambdaDestinationSqs::test_maxeventage", file=DESTINATIONS)[
            "no_retry_failure_message"
        ]["Body"],
        {"111111111111": ACCOUNT, "<resource:1>": name, "<uuid:1>": request_id},
    )
    want.pop("timestamp")
    strip_stack(want)
    want["requestPayload"] = {"message": "too-old"}
    assert record == want


def test_zero_reserved_concurrency_goes_straight_to_failure(
    srv: LaminaServer, alam: Any, recorder: str
) -> None:
    """Recorded: TestLambdaConcurrency::test_reserved_concurrency (msg)."""
    name = create_python_function(alam, SLEEPER)
    alam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    alam.put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": ARN + recorder}},
    )
    request_id = send(alam, name, {})
    record = record_for(srv, recorder, request_id)
    check_timestamp(record)
    want = expand(
        recorded("TestLambdaConcurrency::test_reserved_concurrency", "msg", file="test_lambda")[
            "Body"
        ],
        {"111111111111": ACCOUNT, "<function-name:1>": name, "<uuid:2>": request_id},
    )
    want.pop("timestamp")
    assert record == want
    assert log_lines(srv, name, "ran") == []


def receive_one(sqs: Any, url: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = sqs.receive_message(
            QueueUrl=url, WaitTimeSeconds=5, MessageAttributeNames=["All"], AttributeNames=["All"]
        ).get("Messages", [])
        if got:
            message: dict[str, Any] = got[0]
            return message
    raise AssertionError(f"nothing arrived in {url}")


def test_dead_letter_queue_receives_the_event_with_aws_attributes(
    srv: LaminaServer, alam: Any
) -> None:
    """An SQS dead-letter queue gets the original event as the body and AWS's RequestID /
    ErrorCode / ErrorMessage attributes (recorded: test_dead_letter_queue)."""
    sqs = srv.client("sqs")
    url = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    name = create_python_function(
        alam, ECHO_CONTEXT, DeadLetterConfig={"TargetArn": arn}, Timeout=30
    )
    alam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    request_id = send(alam, name, {"raise_error": 1})
    message = receive_one(sqs, url)
    want = expand(
        recorded("TestLambdaDLQ::test_dead_letter_queue", "receive_result", file=DESTINATIONS)[
            "Messages"
        ][0],
        {"<request-id:1>": request_id},
    )
    assert json.loads(message["Body"]) == want["Body"]
    assert message["MD5OfBody"] == want["MD5OfBody"]
    assert message["MessageAttributes"] == want["MessageAttributes"]
    figures = queue_state(srv, function=name)["functions"][name]
    assert figures["dropped"] == 1 and figures["received"] == 1
    assert figures.get("retained", 0) == 0


def test_queue_destinations_receive_the_invocation_records(srv: LaminaServer, alam: Any) -> None:
    """OnSuccess and OnFailure SQS destinations get AWS's invocation record as the body
    (recorded: TestLambdaDestinationSqs)."""
    sqs = srv.client("sqs")
    urls = {
        kind: sqs.create_queue(QueueName=f"{kind}-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        for kind in ("ok", "failed")
    }
    arns = {
        kind: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        for kind, url in urls.items()
    }
    name = create_python_function(alam, ECHO_CONTEXT)
    alam.put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=0,
        DestinationConfig={
            "OnSuccess": {"Destination": arns["ok"]},
            "OnFailure": {"Destination": arns["failed"]},
        },
    )
    succeeded = send(alam, name, {})
    failed = send(alam, name, {"raise_error": 1})
    for kind, request_id, test in (
        ("ok", succeeded, "test_assess_lambda_destination_invocation[Success-payload0]"),
        ("failed", failed, "test_assess_lambda_destination_invocation[payload1]"),
    ):
        record = json.loads(receive_one(sqs, urls[kind])["Body"])
        check_timestamp(record)
        strip_stack(record)
        payload = record["responsePayload"]
        stream = payload["context"]["log_stream_name"] if "context" in payload else ""
        want = expand(
            recorded(
                f"TestLambdaDestinationSqs::{test}", "receive_message_result", file=DESTINATIONS
            )["Messages"][0]["Body"],
            {
                "111111111111": ACCOUNT,
                "<resource:2>": name,
                "<uuid:1>": request_id,
                "<log-stream-name:1>": stream,
            },
        )
        want.pop("timestamp")
        strip_stack(want)
        assert record == want


def test_missing_dead_letter_queue_is_a_counted_delivery_failure(
    srv: LaminaServer, alam: Any
) -> None:
    """A dead-letter queue that does not exist: the delivery fails, is counted and retried
    (kept, never dropped silently)."""
    name = create_python_function(
        alam, ECHO_CONTEXT, DeadLetterConfig={"TargetArn": SQS_ARN}, Timeout=30
    )
    alam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    send(alam, name, {"raise_error": 1})

    def failing() -> bool:
        figures = queue_state(srv, function=name)["functions"].get(name, {})
        return figures.get("deadLetterErrors", 0) >= 1 and figures.get("deliveries", 0) == 1

    eventually(failing)


def test_failing_destination_is_retried_and_counted(srv: LaminaServer, alam: Any) -> None:
    """The destination function is deleted after the config was accepted: the delivery keeps
    failing, is counted (DestinationDeliveryFailures) and stays queued, never dropped."""
    target = create_python_function(alam, RECORDER)
    name = create_python_function(alam, SLEEPER)
    alam.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": ARN + target}}
    )
    alam.delete_function(FunctionName=target)
    send(alam, name, {"token": "x"})

    def failing() -> bool:
        figures = queue_state(srv, function=name)["functions"].get(name, {})
        return figures.get("destinationDeliveryFailures", 0) >= 2 and (
            figures.get("deliveries", 0) == 1
        )

    eventually(failing)
    metrics = urllib.request.urlopen(f"{srv.endpoint}/_lamina/metrics").read().decode()
    assert f'lamina_lambda_destination_delivery_failures_total{{function="{name}"}}' in metrics
    assert f'lamina_lambda_async_events_received_total{{function="{name}"}} 1' in metrics


def test_throttled_events_are_held_then_delivered(srv: LaminaServer, alam: Any) -> None:
    """Reserved concurrency 1 and a busy function: events wait (held) and all run, one at
    a time."""
    name = create_python_function(alam, SLEEPER, Timeout=30)
    alam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    tokens = [unique("t") for _ in range(4)]
    holder = threading.Thread(
        target=lambda: alam.invoke(FunctionName=name, Payload=b'{"s": 1.5, "token": "sync"}')
    )
    holder.start()
    time.sleep(0.5)
    for token in tokens:
        send(alam, name, {"s": 0.2, "token": token})
    holder.join()

    def ran() -> dict[str, tuple[float, float]] | None:
        found = {
            parts[1]: (float(parts[2]), float(parts[3]))
            for parts in (line.split() for line in log_lines(srv, name, "ran "))
        }
        return found if all(t in found for t in tokens) else None

    spans = sorted(eventually(ran).values())
    assert all(b[0] >= a[1] - 0.01 for a, b in zip(spans, spans[1:], strict=False)), spans
    throttles = urllib.request.urlopen(f"{srv.endpoint}/_lamina/metrics").read().decode()
    assert f'lamina_lambda_throttles_total{{function="{name}"' in throttles


def test_invoke_async_operation(srv: LaminaServer, alam: Any) -> None:
    name = create_python_function(alam, SLEEPER)
    response = alam.invoke_async(FunctionName=name, InvokeArgs=b'{"token": "legacy"}')
    assert response["Status"] == 202
    eventually(lambda: log_lines(srv, name, "ran legacy"))


# --- EventInvokeConfig: AWS's recordings --------------------------------------------------


def normalised(response: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    if "LastModified" in out:
        out["LastModified"] = "datetime"
    for config in out.get("FunctionEventInvokeConfigs", []):
        config["LastModified"] = "datetime"
    out["status"] = response["ResponseMetadata"]["HTTPStatusCode"]
    return out


def want_of(test: str, key: str, subs: dict[str, str]) -> dict[str, Any]:
    want = expand(recorded(test, key), {"111111111111": ACCOUNT, **subs})
    status = want.pop("ResponseMetadata")["HTTPStatusCode"]
    return {**want, "status": status}


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as excinfo:
        call()
    response = excinfo.value.response
    out = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    out["status"] = response["ResponseMetadata"]["HTTPStatusCode"]
    return out


def test_event_invoke_config_lifecycle(alam: Any) -> None:
    test = "TestLambdaEventInvokeConfig::test_lambda_eventinvokeconfig_lifecycle"
    name = create_python_function(alam, SLEEPER)
    subs = {"<function-name:1>": name}

    def check(key: str, response: dict[str, Any]) -> None:
        assert normalised(response) == want_of(test, key, subs), key

    check(
        "put_invokeconfig_retries_0",
        alam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0),
    )
    check(
        "put_invokeconfig_eventage_60",
        alam.put_function_event_invoke_config(FunctionName=name, MaximumEventAgeInSeconds=60),
    )
    check(
        "update_invokeconfig_eventage_nochange",
        alam.update_function_event_invoke_config(FunctionName=name, MaximumEventAgeInSeconds=60),
    )
    check(
        "update_invokeconfig_retries",
        alam.update_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1),
    )
    check("get_invokeconfig", alam.get_function_event_invoke_config(FunctionName=name))
    check(
        "get_invokeconfig_latest",
        alam.get_function_event_invoke_config(FunctionName=name, Qualifier="$LATEST"),
    )
    check("list_single_invokeconfig", alam.list_function_event_invoke_configs(FunctionName=name))
    version = alam.publish_version(FunctionName=name)["Version"]
    got = error_of(
        lambda: alam.get_function_event_invoke_config(FunctionName=name, Qualifier=version)
    )
    assert got == want_of(test, "get_invokeconfig_postpublish", subs)
    check(
        "put_published_invokeconfig",
        alam.put_function_event_invoke_config(
            FunctionName=name, Qualifier=version, MaximumEventAgeInSeconds=120
        ),
    )
    check(
        "get_published_invokeconfig",
        alam.get_function_event_invoke_config(FunctionName=name, Qualifier=version),
    )
    single = alam.list_function_event_invoke_configs(FunctionName=name, MaxItems=1)
    assert len(single["FunctionEventInvokeConfigs"]) == 1
    rest = alam.list_function_event_invoke_configs(
        FunctionName=name, Marker=single["NextMarker"], MaxItems=1
    )
    assert len(rest["FunctionEventInvokeConfigs"]) == 1 and "NextMarker" not in rest
    alam.delete_function_event_invoke_config(FunctionName=name)
    check(
        "list_paging_nolimit_postdelete", alam.list_function_event_invoke_configs(FunctionName=name)
    )
    # Removed with the function: a new function of the same name has none.
    alam.delete_function(FunctionName=name)
    create_python_function(alam, SLEEPER, name=name)
    assert (
        alam.list_function_event_invoke_configs(FunctionName=name)["FunctionEventInvokeConfigs"]
        == []
    )


def test_event_invoke_config_exceptions(alam: Any, raw: Any) -> None:
    test = "TestLambdaEventInvokeConfig::test_lambda_eventinvokeconfig_exceptions"
    name, other = unique("fn-eventinvoke"), unique("fn-eventinvoke-2")
    create_python_function(alam, SLEEPER, name=name)
    create_python_function(alam, SLEEPER, name=other)
    fn_arn, fn_arn_2 = ARN + name, ARN + other
    version = raw.publish_version(FunctionName=name)["Version"]
    alias = raw.create_alias(FunctionName=name, Name="eventinvokealias", FunctionVersion=version)
    subs = {"<function-name:1>": name, "<resource:5>": other}
    fake = ARN + "doesnotexist"
    put = raw.put_function_event_invoke_config

    def expect_error(key: str, call: Callable[[], Any]) -> None:
        got, want = error_of(call), want_of(test, key, subs)
        if want["Error"]["Code"] == "ValidationException":
            got = {k: got[k] for k in ("Error", "status")}
        assert got == want, key

    def expect(key: str, response: dict[str, Any]) -> None:
        assert normalised(response) == want_of(test, key, subs), key

    expect_error(
        "put_functionname_name_notfound",
        lambda: put(FunctionName="doesnotexist", MaximumRetryAttempts=1),
    )
    expect_error(
        "put_functionname_arn_notfound", lambda: put(FunctionName=fake, MaximumRetryAttempts=1)
    )
    expect_error("put_functionname_nootherargs", lambda: put(FunctionName="doesnotexist"))
    expect_error(
        "put_destination_lambda_doesntexist",
        lambda: put(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": fake}}),
    )
    expect_error(
        "put_destination_recursive",
        lambda: put(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": fn_arn}}),
    )
    expect(
        "put_destination_other_lambda",
        put(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": fn_arn_2}}),
    )
    expect_error(
        "put_destination_invalid_service_arn",
        lambda: put(
            FunctionName=name,
            DestinationConfig={"OnSuccess": {"Destination": fn_arn.replace(":lambda:", ":iam:")}},
        ),
    )
    expect(
        "put_destination_success_no_destination_arn",
        put(FunctionName=name, DestinationConfig={"OnSuccess": {}}),
    )
    expect(
        "put_destination_failure_no_destination_arn",
        put(FunctionName=name, DestinationConfig={"OnFailure": {}}),
    )
    expect_error(
        "put_destination_invalid_arn_pattern",
        lambda: put(
            FunctionName=name,
            DestinationConfig={
                "OnFailure": {"Destination": fn_arn.replace(":lambda:", ":_-/!lambda:")}
            },
        ),
    )
    expect("put_destination_latest", put(FunctionName=name, MaximumRetryAttempts=1))
    expect(
        "put_destination_latest_explicit_qualifier",
        put(FunctionName=name, Qualifier="$LATEST", MaximumRetryAttempts=1),
    )
    expect(
        "put_destination_version", put(FunctionName=name, Qualifier=version, MaximumRetryAttempts=1)
    )
    expect(
        "put_alias_functionname_qualifier",
        put(FunctionName=name, Qualifier="eventinvokealias", MaximumRetryAttempts=1),
    )
    expect_error(
        "put_alias_doesnotexist",
        lambda: put(
            FunctionName=name, Qualifier="eventinvokealiasdoesnotexist", MaximumRetryAttempts=1
        ),
    )
    expect("put_alias_qualifiedarn", put(FunctionName=alias["AliasArn"], MaximumRetryAttempts=1))
    expect(
        "put_alias_qualifiedarn_qualifier",
        put(FunctionName=alias["AliasArn"], Qualifier="eventinvokealias", MaximumRetryAttempts=1),
    )
    expect_error(
        "put_alias_qualifiedarn_qualifierconflict",
        lambda: put(
            FunctionName=alias["AliasArn"],
            Qualifier="eventinvokealiasdoesnotexist",
            MaximumRetryAttempts=1,
        ),
    )
    expect(
        "put_alias_shorthand", put(FunctionName=f"{name}:eventinvokealias", MaximumRetryAttempts=1)
    )
    expect(
        "put_alias_shorthand_qualifier",
        put(
            FunctionName=f"{name}:eventinvokealias",
            Qualifier="eventinvokealias",
            MaximumRetryAttempts=1,
        ),
    )
    expect_error(
        "put_alias_shorthand_qualifierconflict",
        lambda: put(
            FunctionName=f"{name}:eventinvokealias",
            Qualifier="eventinvokealiasdoesnotexist",
            MaximumRetryAttempts=1,
        ),
    )
    expect("put_version_shorthand", put(FunctionName=f"{name}:{version}", MaximumRetryAttempts=1))
    expect(
        "put_shorthand_qualifier_match",
        put(FunctionName=f"{name}:$LATEST", Qualifier="$LATEST", MaximumRetryAttempts=1),
    )
    expect_error(
        "put_shorthand_qualifier_mismatch_1",
        lambda: put(FunctionName=f"{name}:{version}", Qualifier="$LATEST", MaximumRetryAttempts=1),
    )
    expect_error(
        "put_shorthand_qualifier_mismatch_2",
        lambda: put(FunctionName=f"{name}:$LATEST", Qualifier=version, MaximumRetryAttempts=1),
    )
    expect_error(
        "put_shorthand_qualifier_mismatch_3",
        lambda: put(
            FunctionName=f"{name}:{version}", Qualifier="eventinvokealias", MaximumRetryAttempts=1
        ),
    )
    expect(
        "put_maxevent_maxvalue_result",
        put(FunctionName=name, MaximumRetryAttempts=2, MaximumEventAgeInSeconds=21600),
    )
    expect(
        "put_pre_overwrite",
        put(FunctionName=name, MaximumRetryAttempts=2, MaximumEventAgeInSeconds=60),
    )
    expect("put_post_overwrite", put(FunctionName=name, MaximumRetryAttempts=0))
    expect("second_overwrite_existing_response", put(FunctionName=name, MaximumRetryAttempts=0))
    expect("get_post_overwrite", raw.get_function_event_invoke_config(FunctionName=name))
    expect(
        "pre_update_response",
        put(FunctionName=name, MaximumRetryAttempts=2, MaximumEventAgeInSeconds=60),
    )
    update = raw.update_function_event_invoke_config
    expect("update_response", update(FunctionName=name, MaximumRetryAttempts=0))
    expect("update_response_existing", update(FunctionName=name, MaximumRetryAttempts=0))
    listing = normalised(raw.list_function_event_invoke_configs(FunctionName=name))
    assert listing == want_of(test, "list_configs", subs)
    paged = raw.list_function_event_invoke_configs(FunctionName=name, MaxItems=2)
    assert len(paged["FunctionEventInvokeConfigs"]) == 2 and paged["NextMarker"]
    delete = raw.delete_function_event_invoke_config
    expect("delete_latest", delete(FunctionName=name, Qualifier="$LATEST"))
    expect("delete_version", delete(FunctionName=name, Qualifier=version))
    expect("delete_alias", delete(FunctionName=name, Qualifier="eventinvokealias"))
    expect("list_configs_postdelete", raw.list_function_event_invoke_configs(FunctionName=name))
    expect_error("delete_function_not_found", lambda: delete(FunctionName=name))
    expect_error("delete_function_doesnotexist", lambda: delete(FunctionName="doesnotexist"))
    expect_error(
        "list_function_doesnotexist",
        lambda: raw.list_function_event_invoke_configs(FunctionName="doesnotexist"),
    )
    get = raw.get_function_event_invoke_config
    expect_error("get_function_doesnotexist", lambda: get(FunctionName="doesnotexist"))
    expect_error(
        "get_qualifier_doesnotexist", lambda: get(FunctionName=name, Qualifier="doesnotexist")
    )
    expect_error(
        "update_eventinvokeconfig_function_doesnotexist",
        lambda: update(FunctionName="doesnotexist", MaximumRetryAttempts=0),
    )
    expect_error("get_eventinvokeconfig_doesnotexist", lambda: get(FunctionName=alias["AliasArn"]))
    expect_error(
        "update_eventinvokeconfig_config_doesnotexist_with_qualifier",
        lambda: update(FunctionName=alias["AliasArn"], MaximumRetryAttempts=0),
    )
    expect_error(
        "update_eventinvokeconfig_config_doesnotexist_without_qualifier",
        lambda: update(FunctionName=fn_arn, MaximumRetryAttempts=0),
    )
    # test_ops_on_nonexisting_version / _fn
    got = error_of(lambda: get(FunctionName=name, Qualifier="1221"))
    want = expand(
        recorded(
            "TestLambdaFunction::test_ops_on_nonexisting_version[get_function_event_invoke_config]",
            "version_not_found_exception",
        ),
        {"111111111111": ACCOUNT, "<fn-name>": name},
    )
    assert got["Error"] == want["Error"] and got["status"] == 404


# --- bad input: exact errors, nothing changes ---------------------------------------------


def validation(member: str, value: Any, text: str) -> str:
    return (
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: {text}"
    )


BAD_INPUT = [
    (
        {"MaximumRetryAttempts": 3},
        400,
        "ValidationException",
        validation("maximumRetryAttempts", 3, "Member must have value less than or equal to 2"),
    ),
    (
        {"MaximumRetryAttempts": -1},
        400,
        "ValidationException",
        validation("maximumRetryAttempts", -1, "Member must have value greater than or equal to 0"),
    ),
    (
        {"MaximumEventAgeInSeconds": 59},
        400,
        "ValidationException",
        validation(
            "maximumEventAgeInSeconds", 59, "Member must have value greater than or equal to 60"
        ),
    ),
    (
        {"MaximumEventAgeInSeconds": 21601},
        400,
        "ValidationException",
        validation(
            "maximumEventAgeInSeconds", 21601, "Member must have value less than or equal to 21600"
        ),
    ),
    (
        {
            "DestinationConfig": {
                "OnSuccess": {
                    "Destination": "arn:aws:lambda:us-east-1:" + ACCOUNT + ":function:" + "a" * 340
                }
            }
        },
        400,
        "ValidationException",
        validation(
            "destinationConfig.onSuccess.destination",
            "arn:aws:lambda:us-east-1:" + ACCOUNT + ":function:" + "a" * 340,
            "Member must have length less than or equal to 350",
        ),
    ),
    (
        {
            "DestinationConfig": {
                "OnFailure": {"Destination": "arn:aws:iam::" + ACCOUNT + ":role/x"}
            }
        },
        400,
        "InvalidParameterValueException",
        "The provided destination config DestinationConfig(onSuccess=null, "
        "onFailure=OnFailure(destination=arn:aws:iam::" + ACCOUNT + ":role/x)) is invalid.",
    ),
    (
        {"DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:s3:::bucket"}}},
        400,
        "InvalidParameterValueException",
        "The provided destination config DestinationConfig(onSuccess=OnSuccess(destination="
        "arn:aws:s3:::bucket), onFailure=null) is invalid.",
    ),
    (
        {"DestinationConfig": {"OnSuccess": {"Destination": ARN + "nope:1"}}},
        400,
        "InvalidParameterValueException",
        f"The destination ARN {ARN}nope:1 is invalid.",
    ),
    (
        {},
        400,
        "InvalidParameterValueException",
        "You must specify at least one of error handling or destination setting.",
    ),
]


@pytest.mark.parametrize(("args", "status", "code", "message"), BAD_INPUT)
@pytest.mark.parametrize("operation", ["put", "update"])
def test_bad_event_invoke_config_rejected_exactly(
    srv: LaminaServer,
    alam: Any,
    args: dict[str, Any],
    status: int,
    code: str,
    message: str,
    operation: str,
) -> None:
    name = create_python_function(alam, SLEEPER)
    before = alam.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=1, MaximumEventAgeInSeconds=300
    )
    capture = Capture()
    client = srv.client(parameter_validation=False)
    client.meta.events.register("before-parse.lambda.*", capture)
    call = (
        client.put_function_event_invoke_config
        if operation == "put"
        else client.update_function_event_invoke_config
    )
    with pytest.raises(ClientError) as excinfo:
        call(FunctionName=name, **args)
    response = excinfo.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert response["Error"]["Code"] == code
    assert capture.last["headers"]["x-amzn-errortype"] == code
    body = json.loads(capture.last["body"])
    if code == "ValidationException":
        assert body == {"message": message}
    else:
        assert body == {"Type": "User", "message": message}
    after = alam.get_function_event_invoke_config(FunctionName=name)
    assert after["LastModified"] == before["LastModified"]
    assert after["MaximumRetryAttempts"] == 1 and after["MaximumEventAgeInSeconds"] == 300
    listing = alam.list_function_event_invoke_configs(FunctionName=name)
    assert len(listing["FunctionEventInvokeConfigs"]) == 1


def test_bad_list_max_items(srv: LaminaServer, alam: Any, raw: Any) -> None:
    name = create_python_function(alam, SLEEPER)
    for value, text in ((0, "greater than or equal to 1"), (51, "less than or equal to 50")):
        got = error_of(
            lambda v=value: raw.list_function_event_invoke_configs(  # type: ignore[misc]
                FunctionName=name, MaxItems=v
            )
        )
        assert got["status"] == 400
        assert got["Error"] == {
            "Code": "ValidationException",
            "Message": validation("maxItems", value, f"Member must have value {text}"),
        }


# --- crash: SIGKILL under load, restart, every 202 ran ------------------------------------

APPENDER = (
    "import os\n"
    "def handler(event, context):\n"
    "    with open(os.environ['OUT_FILE'], 'a') as out:\n"
    "        out.write(event['id'] + '\\n')\n"
)


def test_sigkill_under_load_loses_no_accepted_event(tmp_path: Path) -> None:
    out = tmp_path / "ran.txt"
    out.touch()
    server = LaminaServer(
        tmp_path / "data", extra_args=["--isolation", "process", "--async-delay-scale", str(SCALE)]
    )
    server.start()
    lam = server.client()
    name = unique("crash")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="handler.handler",
        Code={"ZipFile": make_zip({"handler.py": APPENDER})},
        Environment={"Variables": {"OUT_FILE": str(out)}},
    )
    lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1)
    acked: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def producer() -> None:
        client = server.client()
        while not stop.is_set():
            event_id = unique("e")
            try:
                response = client.invoke(
                    FunctionName=name,
                    InvocationType="Event",
                    Payload=json.dumps({"id": event_id}).encode(),
                )
            except Exception:  # noqa: BLE001 - the server is gone
                return
            if response["StatusCode"] == 202:
                with lock:
                    acked.append(event_id)

    threads = [threading.Thread(target=producer) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(random.uniform(1.0, 3.0))
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait()
    stop.set()
    for thread in threads:
        thread.join()
    # Processes of the killed server's functions (plain processes) may still run briefly.
    assert len(acked) > 20, len(acked)
    server.start()
    try:
        want = set(acked)

        def all_ran() -> bool:
            return want <= set(out.read_text().split())

        eventually(all_ran, timeout=120)
        lines = out.read_text().split()
        duplicates = len(lines) - len(set(lines))
        # Counters restart with the server: none if nothing was left to run.
        state = queue_state(server, function=name)["functions"].get(name, {})
        print(
            f"\ncrash test: {len(acked)} events acknowledged, all ran; {duplicates} duplicates;"
            f" server counted {state.get('redelivered', 0)} redelivered"
        )
        assert lam.get_function_event_invoke_config(FunctionName=name)["MaximumRetryAttempts"] == 1
    finally:
        server.stop()
