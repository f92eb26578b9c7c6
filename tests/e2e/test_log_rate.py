"""A function's output is read at a bounded rate of lines (``--log-lines-per-second``): a
flood of output waits on its pipe instead of taking the server's event loop, and an init
that recurses without end while printing each level times out as on AWS (recorded in
``tests/fixtures/aws-recorded/lambda/test_lambda.snapshot.json``) instead of filling its
memory in seconds."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support import LaminaServer, create_python_function

RECORDED = Path(__file__).parent.parent / "fixtures/aws-recorded/lambda/test_lambda.snapshot.json"
SEGFAULT_CASE = (
    "tests/aws/services/lambda_/test_lambda.py::TestLambdaErrors::test_lambda_runtime_exit_segfault"
)

# At import (the init phase): a recursion limit that is never reached before the memory is
# full, and a line printed at every level.
RECURSING_INIT = """
import sys
sys.setrecursionlimit(1_000_000)

def descend(depth):
    print(f"In recursion {depth}")
    descend(depth + 1)

descend(1)

def handler(event, context):
    return "never reached"
"""

FLOOD = """
def handler(event, context):
    for number in range(event["lines"]):
        print(f"line {number}")
    return event["lines"]
"""


def streams(server: LaminaServer, function: str) -> list[list[str]]:
    """Every log stream of the function (oldest first), each as its messages."""
    logs = server.client("logs")
    group = f"/aws/lambda/{function}"
    found = logs.describe_log_streams(logGroupName=group)["logStreams"]
    found.sort(key=lambda stream: stream["creationTime"])
    return [stream_messages(logs, group, stream["logStreamName"]) for stream in found]


def stream_messages(logs: Any, group: str, stream: str) -> list[str]:
    messages: list[str] = []
    token: str | None = None
    while True:
        page = logs.get_log_events(
            logGroupName=group,
            logStreamName=stream,
            startFromHead=True,
            **({"nextToken": token} if token else {}),
        )
        messages += [event["message"] for event in page["events"]]
        if not page["events"] or page["nextForwardToken"] == token:
            return messages
        token = page["nextForwardToken"]


def test_unbounded_recursion_in_init_times_out_as_on_aws(lam: Any, server: LaminaServer) -> None:
    recorded = json.loads(RECORDED.read_text())[SEGFAULT_CASE]["recorded-content"]
    expected = recorded["invocation_error"]
    name = create_python_function(
        lam, RECURSING_INIT, runtime="python3.12", MemorySize=128, Timeout=30
    )
    started = time.monotonic()
    response = lam.invoke(FunctionName=name)
    elapsed = time.monotonic() - started
    body = json.loads(response["Payload"].read())
    body["errorMessage"] = re.sub(r"[0-9a-f-]{36}", "<uuid>", body["errorMessage"])
    assert response["FunctionError"] == expected["FunctionError"]
    assert (response["StatusCode"], body) == (expected["StatusCode"], expected["Payload"])
    # The init's own 10 s, then its retry inside the invocation for its 30 s timeout
    # (tests/e2e/test_init_limit.py).
    assert 40 <= elapsed < 55
    (stream,) = streams(server, name)
    (reset,) = [n for n, m in enumerate(stream) if "\tPhase: init\tStatus: timeout\n" in m]
    printed = 0
    for init in (stream[:reset], stream[reset:]):  # the init, then its retry in the invocation
        levels = [m for m in init if m.startswith("In recursion ")]
        # Read at the default rate (10,000 lines a second, one second's worth saved): far
        # fewer than the ~900,000 levels that fill 128 MB, and none lost.
        assert levels == [f"In recursion {n}\n" for n in range(1, len(levels) + 1)]
        printed += len(levels)
    # On top of the rate: each environment's saved second, what its pipe held at the end
    # (~3,300 lines) and its last read's overdraft (up to 64 KB, ~3,300 lines).
    assert 250_000 <= printed <= 10_000 * (elapsed + 2) + 20_000


LINES = 30_000


def flood(server: LaminaServer) -> float:
    """Seconds an invocation printing ``LINES`` lines took; checks that none was lost."""
    lam = server.client()
    name = create_python_function(lam, FLOOD, MemorySize=1769, Timeout=30)
    started = time.monotonic()
    response = lam.invoke(FunctionName=name, Payload=json.dumps({"lines": LINES}))
    elapsed = time.monotonic() - started
    assert json.loads(response["Payload"].read()) == LINES
    (stream,) = streams(server, name)
    lines = [m for m in stream if m.startswith("line ")]
    assert lines == [f"line {n}\n" for n in range(LINES)]
    return elapsed


def test_a_flood_of_output_waits_for_its_rate(own_server: Callable[..., LaminaServer]) -> None:
    # 5,000 lines saved, then 5,000 a second; the invocation ends once the rest fits in
    # its pipe (64 KB, ~5,800 of these lines): after about (30,000 - 5,800 - 5,000) / 5,000
    # = 3.8 s.
    assert flood(own_server("--log-lines-per-second", "5000")) >= 2.5


def test_no_bound_when_zero(own_server: Callable[..., LaminaServer]) -> None:
    assert flood(own_server("--log-lines-per-second", "0")) < 2.5  # about 0.1 s


PRINT_FOREVER = """
def handler(event, context):
    number = 0
    while True:
        print(f"tick {number}")
        number += 1
"""


def test_output_until_a_timeout_is_logged_before_the_timeout_lines(
    lam: Any, server: LaminaServer
) -> None:
    # The runtime prints until it is killed (waiting on its full pipe, over the rate): its
    # last lines, written as the kill lands, still come before the timeout's, as on AWS.
    name = create_python_function(lam, PRINT_FOREVER, MemorySize=1769, Timeout=1)
    for _ in range(3):
        response = lam.invoke(FunctionName=name)
        assert json.loads(response["Payload"].read())["errorType"] == "Sandbox.Timedout"
    for stream in streams(server, name):
        ticks = [n for n, m in enumerate(stream) if m.startswith("tick ")]
        (timed_out,) = [n for n, m in enumerate(stream) if "Task timed out after" in m]
        assert ticks and ticks[-1] < timed_out
        assert [m.split(" ", 1)[0] for m in stream[timed_out + 1 :]] == ["END", "REPORT"]
