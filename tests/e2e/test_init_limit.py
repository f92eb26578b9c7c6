"""An on-demand init that outlives 10 seconds, as on AWS: the init phase ends with
``INIT_REPORT ... Phase: init Status: timeout``, the environment is reset, and the init
runs again inside the invocation, within the function's timeout, in the same log stream
(a suppressed init: its time is the invocation's Duration, there is no Init Duration). An
init longer than the timeout therefore never succeeds, however long the caller waits."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from support import LaminaServer, create_python_function

SLOW_INIT = """
import time
print("init begins")
time.sleep({seconds})

def handler(event, context):
    return {{"remaining_ms": context.get_remaining_time_in_millis()}}
"""


def streams(server: LaminaServer, function: str) -> list[list[str]]:
    logs = server.client("logs")
    group = f"/aws/lambda/{function}"
    found = sorted(
        logs.describe_log_streams(logGroupName=group)["logStreams"],
        key=lambda stream: stream["creationTime"],
    )
    return [
        [
            event["message"]
            for event in logs.get_log_events(
                logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=True
            )["events"]
        ]
        for stream in found
    ]


UUID_OR_TIME = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\S+Z(?= )"


def platform_lines(messages: list[str]) -> list[str]:
    """The platform's lines, their figures replaced by ``N``."""
    kept = [m for m in messages if m.split(" ", 1)[0] in {"INIT_REPORT", "START", "END", "REPORT"}]
    kept += [m for m in messages if "Task timed out" in m]
    return [re.sub(r"\d+(\.\d+)?", "N", re.sub(UUID_OR_TIME, "X", m)) for m in kept]


def test_an_init_over_10_s_runs_again_inside_the_invocation(lam: Any, server: LaminaServer) -> None:
    name = create_python_function(lam, SLOW_INIT.format(seconds=10.3), Timeout=14)
    started = time.monotonic()
    response = lam.invoke(FunctionName=name)
    elapsed = time.monotonic() - started
    assert "FunctionError" not in response
    body = json.loads(response["Payload"].read())
    # The second init's 10.3 s came out of the invocation's 14 s.
    assert 2_000 < body["remaining_ms"] < 4_000
    assert 20.2 <= elapsed < 26  # 10 s, then the 10.3 s init again
    (stream,) = streams(server, name)
    assert [m.split(" ", 1)[0] for m in stream if not m.startswith("INIT_REPORT Init")] == [
        "INIT_START",
        "init",  # the first init
        "init",  # the same again, inside the invocation
        "START",
        "END",
        "REPORT",
    ]
    assert re.fullmatch(
        r"INIT_REPORT Init Duration: 10\d\d\d\.\d\d ms\tPhase: init\tStatus: timeout\n", stream[2]
    )
    retry = stream[3:]
    report = next(m for m in retry if m.startswith("REPORT "))
    assert "Init Duration" not in report
    duration = float(re.search(r"\tDuration: ([\d.]+) ms", report).group(1))  # type: ignore[union-attr]
    assert 10_300 <= duration < 12_000
    # Warm now: the next invocation runs at once.
    started = time.monotonic()
    assert "FunctionError" not in lam.invoke(FunctionName=name)
    assert time.monotonic() - started < 2


def test_an_init_longer_than_the_timeout_never_succeeds(lam: Any, server: LaminaServer) -> None:
    name = create_python_function(lam, SLOW_INIT.format(seconds=60), Timeout=1)
    started = time.monotonic()
    response = lam.invoke(FunctionName=name)
    elapsed = time.monotonic() - started
    assert response["FunctionError"] == "Unhandled"
    request_id = response["ResponseMetadata"]["RequestId"]
    assert json.loads(response["Payload"].read()) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after 1.00 seconds",
    }
    assert 11 <= elapsed < 15
    (stream,) = streams(server, name)
    # AWS's lines, in AWS's order.
    assert platform_lines(stream) == [
        "INIT_REPORT Init Duration: N ms\tPhase: init\tStatus: timeout\n",
        "INIT_REPORT Init Duration: N ms\tPhase: invoke\tStatus: timeout\n",
        "START RequestId: X Version: $LATEST\n",
        "END RequestId: X\n",
        "REPORT RequestId: X\tDuration: N ms\tBilled Duration: N ms\tMemory Size: N MB\t"
        "Max Memory Used: N MB\tStatus: timeout\t\n",
        "X X Task timed out after N seconds\n",
    ]
    assert [m.split(" ", 1)[0] for m in stream] == [
        "INIT_START",
        "init",
        "INIT_REPORT",
        "init",
        "INIT_REPORT",
        "START",
        stream[6].split(" ", 1)[0],  # the timestamp of the "Task timed out" line
        "END",
        "REPORT",
    ]
