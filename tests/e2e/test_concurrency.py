"""Concurrency through boto3 against a real server: reserved concurrency (golden comparisons
with AWS's recordings), the account pool, throttling with AWS's 429, the scaling rate,
asynchronous invocations waiting for capacity, and leases released however an invocation ends.

Timing is never asserted as a duration: the tests check counts, overlaps of the handlers'
own start/end timestamps, and poll for outcomes with generous deadlines.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import ACCOUNT, SIGNED, LaminaServer, create_python_function, unique

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from aws_recorded import expand, recorded  # noqa: E402

ARN_PREFIX = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"
ECHO = "def handler(event, context):\n    return event\n"
# Sleeps event["s"] seconds and returns when it ran (the handler's own clock).
SLEEPER = (
    "import time\n"
    "def handler(event, context):\n"
    "    start = time.time()\n"
    "    time.sleep(event.get('s', 0))\n"
    "    print('ran', event.get('token'), start, time.time())\n"
    "    return {'start': start, 'end': time.time()}\n"
)
THROTTLE_BODY_KEYS = {"Type", "message", "Reason"}


# --- helpers ---------------------------------------------------------------------------------


class Capture:
    """The raw HTTP responses botocore is about to parse (per thread)."""

    def __init__(self) -> None:
        self.local = threading.local()

    def __call__(self, response_dict: dict[str, Any], **_: Any) -> None:
        self.local.last = response_dict

    @property
    def last(self) -> dict[str, Any]:
        last: dict[str, Any] = self.local.last
        return last


def raw_client(server: LaminaServer, capture: Capture) -> Any:
    client = server.client(parameter_validation=False, max_pool_connections=50)
    client.meta.events.register("before-parse.lambda.*", capture)
    return client


@pytest.fixture(scope="module")
def capture() -> Capture:
    return Capture()


@pytest.fixture(scope="module")
def raw_lam(server: LaminaServer, capture: Capture) -> Any:
    return raw_client(server, capture)


@pytest.fixture
def echo(lam: Any) -> Iterator[str]:
    name = create_python_function(lam, ECHO, handler="lambda_function.handler")
    yield name
    lam.delete_function(FunctionName=name)


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as excinfo:
        call()
    response: dict[str, Any] = excinfo.value.response
    return response


def matches_recording(response: dict[str, Any], want: dict[str, Any]) -> None:
    """An error equals a recorded one: code, message, status and every modeled body member.

    ``retryAfterSeconds`` (botocore's name for the ``Retry-After`` header) included: neither
    AWS's recorded invoke throttles nor Lamina's have one."""
    assert response["Error"]["Code"] == want["Error"]["Code"]
    assert response["Error"]["Message"] == want["Error"]["Message"]
    assert (
        response["ResponseMetadata"]["HTTPStatusCode"]
        == (want["ResponseMetadata"]["HTTPStatusCode"])
    )
    skip = ("Error", "ResponseMetadata")
    members = {k: v for k, v in response.items() if k not in skip}
    assert members == {k: v for k, v in want.items() if k not in ("Error", "ResponseMetadata")}


def ok(response: dict[str, Any]) -> dict[str, Any]:
    """A boto3 success response as recorded (status only, no headers)."""
    out = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    out["ResponseMetadata"] = {
        "HTTPHeaders": {},
        "HTTPStatusCode": response["ResponseMetadata"]["HTTPStatusCode"],
    }
    return out


def invoke(client: Any, name: str, event: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """The decoded result of a successful invocation, or the error response of a failed one."""
    try:
        response = client.invoke(
            FunctionName=name, Payload=json.dumps(event or {}).encode(), **kwargs
        )
    except ClientError as exc:
        return exc.response
    payload = response["Payload"].read()
    response["Body"] = json.loads(payload) if payload else None
    return response


def is_throttle(response: dict[str, Any], reason: str) -> bool:
    return (
        response.get("Error", {}).get("Code") == "TooManyRequestsException"
        and response["ResponseMetadata"]["HTTPStatusCode"] == 429
        and response.get("Reason") == reason
    )


def burst(client: Any, name: str, count: int, event: dict[str, Any]) -> list[Any]:
    """``count`` synchronous invocations released at the same moment; every one returns."""
    barrier = threading.Barrier(count)

    def one(_: int) -> Any:
        barrier.wait()
        return invoke(client, name, event)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count), timeout=120))


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The most intervals running at one instant (ends before starts at equal times)."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    return peak


def eventually(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail("condition not reached in time")


def unreserved(client: Any) -> int:
    value: int = client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
    return value


# --- Put/Get/DeleteFunctionConcurrency: golden ------------------------------------------


def test_function_concurrency_crud(lam: Any, echo: str) -> None:
    """TestLambdaReservedConcurrency::test_function_concurrency."""
    rec = recorded("TestLambdaReservedConcurrency::test_function_concurrency")
    got = {
        "put_function_concurrency_with_reserved_0": ok(
            lam.put_function_concurrency(FunctionName=echo, ReservedConcurrentExecutions=0)
        ),
        "put_function_concurrency_with_reserved_1": ok(
            lam.put_function_concurrency(FunctionName=echo, ReservedConcurrentExecutions=1)
        ),
        "get_function_concurrency": ok(lam.get_function_concurrency(FunctionName=echo)),
        "delete_response": ok(lam.delete_function_concurrency(FunctionName=echo)),
        "get_function_concurrency_after_delete": ok(
            lam.get_function_concurrency(FunctionName=echo)
        ),
    }
    assert got == rec
    # The most a function may reserve leaves exactly the minimum unreserved.
    most = unreserved(lam) - 100
    put = lam.put_function_concurrency(FunctionName=echo, ReservedConcurrentExecutions=most)
    assert put["ReservedConcurrentExecutions"] == most
    assert unreserved(lam) == 100
    lam.delete_function_concurrency(FunctionName=echo)


def test_function_concurrency_update_shows_in_get_function(lam: Any, echo: str) -> None:
    """TestLambdaConcurrency::test_lambda_concurrency_update (the concurrency members)."""
    rec = recorded("TestLambdaConcurrency::test_lambda_concurrency_update", file="test_lambda")
    put = lam.put_function_concurrency(FunctionName=echo, ReservedConcurrentExecutions=3)
    assert ok(put) == rec["put_function_concurrency"]
    got = lam.get_function_concurrency(FunctionName=echo)
    assert ok(got) == rec["get_function_concurrency_updated"]
    info = lam.get_function(FunctionName=echo)
    assert info["Concurrency"] == rec["get_function_concurrency_info"]["Concurrency"]
    assert sorted(info) == sorted(rec["get_function_concurrency_info"])
    lam.delete_function_concurrency(FunctionName=echo)
    assert (
        ok(lam.get_function_concurrency(FunctionName=echo))
        == (rec["get_function_concurrency_deleted"])
    )
    assert "Concurrency" not in lam.get_function(FunctionName=echo)


def test_function_concurrency_exceptions(raw_lam: Any, lam: Any, echo: str) -> None:
    """TestLambdaReservedConcurrency::test_function_concurrency_exceptions."""
    rec = expand(
        recorded("TestLambdaReservedConcurrency::test_function_concurrency_exceptions"),
        {"111111111111": ACCOUNT},
    )
    for value, key in (
        (1, "put_function_concurrency_with_function_name_doesnotexist"),
        (0, "put_function_concurrency_with_function_name_doesnotexist_and_invalid_concurrency"),
    ):
        response = error_of(
            partial(
                raw_lam.put_function_concurrency,
                FunctionName="doesnotexist",
                ReservedConcurrentExecutions=value,
            )
        )
        matches_recording(response, rec[key])
    qualified = lam.get_function_configuration(FunctionName=echo, Qualifier="$LATEST")
    assert qualified["FunctionArn"].endswith(":$LATEST")
    response = error_of(
        lambda: raw_lam.put_function_concurrency(
            FunctionName=qualified["FunctionArn"], ReservedConcurrentExecutions=0
        )
    )
    matches_recording(response, rec["put_function_concurrency_with_qualified_arn"])
    # Qualifiers are refused alike by Get and Delete, and nothing changed.
    for call in (raw_lam.get_function_concurrency, raw_lam.delete_function_concurrency):
        response = error_of(partial(call, FunctionName=f"{echo}:1"))
        matches_recording(response, rec["put_function_concurrency_with_qualified_arn"])
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=echo)


def test_function_concurrency_limits(raw_lam: Any, capture: Capture, lam: Any, echo: str) -> None:
    """TestLambdaReservedConcurrency::test_function_concurrency_limits: the body has no Type."""
    rec = recorded("TestLambdaReservedConcurrency::test_function_concurrency_limits")
    limit = lam.get_account_settings()["AccountLimit"]["ConcurrentExecutions"]
    assert limit == 1000
    before = lam.get_account_settings()
    for value, key in (
        (limit + 1, "put_function_concurrency_account_limit_exceeded"),
        (limit, "put_function_concurrency_below_unreserved_min_value"),
    ):
        response = error_of(
            partial(
                raw_lam.put_function_concurrency,
                FunctionName=echo,
                ReservedConcurrentExecutions=value,
            )
        )
        matches_recording(response, expand(rec[key], {"<min_unreserved_concurrency>": "100"}))
        assert json.loads(capture.last["body"]) == {"message": response["message"]}
        assert capture.last["headers"]["x-amzn-errortype"] == "InvalidParameterValueException"
    after = lam.get_account_settings()
    assert after["AccountLimit"] == before["AccountLimit"]
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=echo)


def test_unknown_function_and_wrong_region(raw_lam: Any, echo: str) -> None:
    """TestLambdaFunction::test_ops_on_nonexisting_fn[get_function_concurrency] and
    test_get_function_wrong_region[get_function_concurrency]."""
    ghost = unique("ghost")
    response = error_of(lambda: raw_lam.get_function_concurrency(FunctionName=ghost))
    want = recorded(
        "TestLambdaFunction::test_ops_on_nonexisting_fn[get_function_concurrency]",
        "not_found_exception",
    )
    matches_recording(
        response, expand(want, {"111111111111": ACCOUNT, "<nonexisting-fn-name>": ghost})
    )
    # Unverified for Delete: the unqualified ARN, as Get's.
    response = error_of(lambda: raw_lam.delete_function_concurrency(FunctionName=ghost))
    assert response["Error"]["Message"] == f"Function not found: {ARN_PREFIX}{ghost}"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    wrong = f"arn:aws:lambda:eu-central-1:{ACCOUNT}:function:{echo}"
    response = error_of(lambda: raw_lam.get_function_concurrency(FunctionName=wrong))
    want = recorded(
        "TestLambdaFunction::test_get_function_wrong_region[get_function_concurrency]",
        "wrong_region_exception",
    )
    matches_recording(response, expand(want, {"<wrong-region>": "eu-central-1"}))


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        (
            {"ReservedConcurrentExecutions": -1},
            400,
            "ValidationException",
            "1 validation error detected: Value '-1' at 'reservedConcurrentExecutions' failed to "
            "satisfy constraint: Member must have value greater than or equal to 0",
        ),
        (
            {},
            400,
            "ValidationException",
            "1 validation error detected: Value null at 'reservedConcurrentExecutions' failed to "
            "satisfy constraint: Member must not be null",
        ),
        (
            {"ReservedConcurrentExecutions": "many"},
            400,
            "InvalidRequestContentException",
            None,
        ),
        (
            {"ReservedConcurrentExecutions": 1.5},
            400,
            "InvalidRequestContentException",
            None,
        ),
    ],
    ids=["negative", "missing", "string", "float"],
)
def test_bad_put_bodies(
    server: LaminaServer,
    lam: Any,
    echo: str,
    body: dict[str, Any],
    status: int,
    code: str,
    message: str | None,
) -> None:
    """What boto3 refuses client-side, sent raw: AWS's error, no 500, nothing stored."""
    lam.put_function_concurrency(FunctionName=echo, ReservedConcurrentExecutions=2)
    before = lam.get_account_settings()["AccountLimit"]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request(
        "PUT",
        f"/2017-10-31/functions/{echo}/concurrency",
        json.dumps(body),
        {"Content-Type": "application/json", **SIGNED},
    )
    response = conn.getresponse()
    got = json.loads(response.read())
    conn.close()
    assert response.status == status
    assert response.getheader("x-amzn-ErrorType") == code
    if message is not None:
        assert got == {"message": message}
    assert lam.get_function_concurrency(FunctionName=echo)["ReservedConcurrentExecutions"] == 2
    assert lam.get_account_settings()["AccountLimit"] == before
    lam.delete_function_concurrency(FunctionName=echo)


# --- GetAccountSettings ------------------------------------------------------------------------


def test_account_settings_figures(lam: Any) -> None:
    before = lam.get_account_settings()["AccountLimit"]
    assert before["ConcurrentExecutions"] == 1000
    base = before["UnreservedConcurrentExecutions"]
    a = create_python_function(lam, ECHO)
    b = create_python_function(lam, ECHO)
    lam.put_function_concurrency(FunctionName=a, ReservedConcurrentExecutions=7)
    lam.put_function_concurrency(FunctionName=b, ReservedConcurrentExecutions=5)
    assert unreserved(lam) == base - 12
    lam.put_function_concurrency(FunctionName=a, ReservedConcurrentExecutions=3)
    assert unreserved(lam) == base - 8
    lam.delete_function_concurrency(FunctionName=b)
    assert unreserved(lam) == base - 3
    # Deleting the function gives its reservation back; a new function of the same name
    # starts without one.
    lam.delete_function(FunctionName=a)
    assert unreserved(lam) == base
    create_python_function(lam, ECHO, name=a)
    assert sorted(lam.get_function_concurrency(FunctionName=a)) == ["ResponseMetadata"]
    assert unreserved(lam) == base
    lam.delete_function(FunctionName=a)
    lam.delete_function(FunctionName=b)


def test_reservations_survive_a_restart(own_server: Callable[..., LaminaServer]) -> None:
    srv = own_server()
    lam = srv.client()
    kept = create_python_function(lam, ECHO)
    gone = create_python_function(lam, ECHO)
    lam.put_function_concurrency(FunctionName=kept, ReservedConcurrentExecutions=0)
    lam.put_function_concurrency(FunctionName=gone, ReservedConcurrentExecutions=9)
    lam.delete_function(FunctionName=gone)
    assert srv.stop() == 0
    again = own_server(data=srv.data_dir)
    lam = again.client()
    assert lam.get_function_concurrency(FunctionName=kept)["ReservedConcurrentExecutions"] == 0
    assert lam.get_function(FunctionName=kept)["Concurrency"] == {"ReservedConcurrentExecutions": 0}
    assert unreserved(lam) == 1000
    assert is_throttle(invoke(lam, kept), "ReservedFunctionConcurrentInvocationLimitExceeded")


# --- throttling --------------------------------------------------------------------------------


def test_reserved_zero_throttles_every_sync_invocation(
    lam: Any, raw_lam: Any, capture: Capture, echo: str
) -> None:
    """TestLambdaConcurrency::test_reserved_concurrency (exc_no_cap_requestresponse)."""
    want = recorded("TestLambdaConcurrency::test_reserved_concurrency", file="test_lambda")
    lam.put_function_concurrency(FunctionName=echo, ReservedConcurrentExecutions=0)
    for _ in range(3):
        response = error_of(lambda: raw_lam.invoke(FunctionName=echo, Payload=b"{}"))
        matches_recording(response, want["exc_no_cap_requestresponse"])
        assert capture.last["status_code"] == 429
        assert capture.last["headers"]["x-amzn-errortype"] == "TooManyRequestsException"
        # As AWS: no Retry-After header on a throttle.
        assert "retry-after" not in capture.last["headers"]
        body = json.loads(capture.last["body"])
        assert body == {
            "Type": "User",
            "message": "Rate Exceeded.",
            "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
        }
    # An event is accepted (202); AWS drops it without retries (no destination here).
    accepted = lam.invoke(FunctionName=echo, InvocationType="Event", Payload=b"{}")
    assert accepted["StatusCode"] == 202
    lam.delete_function_concurrency(FunctionName=echo)
    assert invoke(lam, echo, {"a": 1})["Body"] == {"a": 1}


def test_burst_runs_exactly_the_reserved_number(lam: Any, server: LaminaServer) -> None:
    """Three times the reserved concurrency at once, with a slow handler: exactly the
    reserved number run (together), the rest get the reserved 429, and every call returns."""
    reserved = 3
    capture = Capture()
    client = raw_client(server, capture)
    name = create_python_function(lam, SLEEPER, Timeout=30)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=reserved)
    results = burst(client, name, 3 * reserved, {"s": 2})
    ran = [r for r in results if r.get("StatusCode") == 200]
    throttled = [
        r for r in results if is_throttle(r, "ReservedFunctionConcurrentInvocationLimitExceeded")
    ]
    assert len(ran) == reserved, results
    assert len(throttled) == 2 * reserved, results
    assert all("retry-after" not in r["ResponseMetadata"]["HTTPHeaders"] for r in throttled)
    assert max_overlap([(r["Body"]["start"], r["Body"]["end"]) for r in ran]) == reserved
    # Capacity is back: the next wave runs too.
    again = burst(client, name, reserved, {"s": 0})
    assert all(r.get("StatusCode") == 200 for r in again), again
    lam.delete_function(FunctionName=name)


def test_account_limit_exhaustion(own_server: Callable[..., LaminaServer]) -> None:
    """A small account: the pool is shared by every function without a reservation."""
    srv = own_server("--concurrency-limit", "2")
    lam = srv.client(max_pool_connections=20)
    settings = lam.get_account_settings()["AccountLimit"]
    assert settings["ConcurrentExecutions"] == 2
    assert settings["UnreservedConcurrentExecutions"] == 2
    name = create_python_function(lam, SLEEPER, Timeout=30)
    other = create_python_function(lam, SLEEPER, Timeout=30)
    results = burst(lam, name, 4, {"s": 2})
    assert sum(r.get("StatusCode") == 200 for r in results) == 2, results
    assert sum(is_throttle(r, "ConcurrentInvocationLimitExceeded") for r in results) == 2
    # The pool is the account's: while one function holds it, the other is throttled too.
    with ThreadPoolExecutor(3) as pool:
        holders = [pool.submit(invoke, lam, name, {"s": 5}) for _ in range(2)]
        # Probe only once both holders run: a probe's own invocation taken first would
        # throttle a holder instead (a race of the test, not of the server).
        time.sleep(1.5)
        assert not any(h.done() for h in holders), [h.result() for h in holders if h.done()]
        eventually(lambda: is_throttle(invoke(lam, other), "ConcurrentInvocationLimitExceeded"))
        assert all(h.result(timeout=60)["StatusCode"] == 200 for h in holders)
    assert invoke(lam, other)["StatusCode"] == 200
    # At this size the unreserved minimum is the whole limit: nothing can be reserved.
    response = error_of(
        lambda: lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    )
    assert response["Error"]["Message"] == (
        "Specified ReservedConcurrentExecutions for function decreases account's "
        "UnreservedConcurrentExecution below its minimum value of [2]."
    )
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    assert unreserved(lam) == 2


def test_reserved_function_is_guaranteed_its_share(
    own_server: Callable[..., LaminaServer],
) -> None:
    """limit 3, minimum 1: a reservation of 1 leaves 2 for everyone else, and the reserved
    function still runs while they are exhausted."""
    srv = own_server("--concurrency-limit", "3", "--unreserved-minimum", "1")
    lam = srv.client(max_pool_connections=20)
    shared = create_python_function(lam, SLEEPER, Timeout=30)
    mine = create_python_function(lam, SLEEPER, Timeout=30)
    lam.put_function_concurrency(FunctionName=mine, ReservedConcurrentExecutions=1)
    assert unreserved(lam) == 2
    response = error_of(
        lambda: lam.put_function_concurrency(FunctionName=mine, ReservedConcurrentExecutions=3)
    )
    assert response["Error"]["Message"].endswith("below its minimum value of [1].")
    with ThreadPoolExecutor(4) as pool:
        holders = [pool.submit(invoke, lam, shared, {"s": 3}) for _ in range(2)]
        eventually(lambda: is_throttle(invoke(lam, shared), "ConcurrentInvocationLimitExceeded"))
        assert invoke(lam, mine)["StatusCode"] == 200
        assert all(h.result(timeout=60)["StatusCode"] == 200 for h in holders)


def test_scaling_rate(own_server: Callable[..., LaminaServer]) -> None:
    """2 new environments per 60 s: a third new one is refused for scaling, warm ones are
    reused freely; with a reservation the reserved variant of the Reason."""
    srv = own_server("--scaling-rate", "2", "--scaling-window", "60")
    lam = srv.client(max_pool_connections=20)
    name = create_python_function(lam, SLEEPER, Timeout=30)
    results = burst(lam, name, 4, {"s": 2})
    assert sum(r.get("StatusCode") == 200 for r in results) == 2, results
    throttled = [r for r in results if is_throttle(r, "FunctionInvocationRateLimitExceeded")]
    assert len(throttled) == 2, results
    # No Retry-After header, as on AWS (the wait for the next token is Lamina's own).
    assert all("retry-after" not in r["ResponseMetadata"]["HTTPHeaders"] for r in throttled)
    # The two environments it has are reused without limit.
    for _ in range(3):
        again = burst(lam, name, 2, {"s": 0.2})
        assert all(r.get("StatusCode") == 200 for r in again), again
    reserved = create_python_function(lam, SLEEPER, Timeout=30)
    lam.put_function_concurrency(FunctionName=reserved, ReservedConcurrentExecutions=10)
    results = burst(lam, reserved, 3, {"s": 2})
    assert sum(r.get("StatusCode") == 200 for r in results) == 2, results
    assert sum(is_throttle(r, "ReservedFunctionInvocationRateLimitExceeded") for r in results) == 1


# --- asynchronous invocations -------------------------------------------------------------------


def test_events_wait_for_capacity_then_run(lam: Any, server: LaminaServer) -> None:
    """Reserved 1 and busy: events are accepted (202), wait, and all run, one at a time."""
    name = create_python_function(lam, SLEEPER, Timeout=30)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    logs = server.client("logs")

    def hold() -> Any:
        # The probes below may take the one slot first: then this is throttled; ask again.
        while True:
            held = invoke(lam, name, {"s": 1.5, "token": "sync"})
            if not is_throttle(held, "ReservedFunctionConcurrentInvocationLimitExceeded"):
                return held

    with ThreadPoolExecutor(1) as pool:
        holder = pool.submit(hold)
        eventually(
            lambda: is_throttle(
                invoke(lam, name), "ReservedFunctionConcurrentInvocationLimitExceeded"
            )
        )
        tokens = [unique("event") for _ in range(3)]
        for token in tokens:
            response = lam.invoke(
                FunctionName=name,
                InvocationType="Event",
                Payload=json.dumps({"s": 0.3, "token": token}).encode(),
            )
            assert response["StatusCode"] == 202
        assert holder.result(timeout=60)["StatusCode"] == 200

    ran: dict[str, tuple[float, float]] = {}

    def all_ran() -> bool:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except ClientError:
            return False
        for event in events:
            parts = event["message"].split()
            if len(parts) == 4 and parts[0] == "ran":
                ran[parts[1]] = (float(parts[2]), float(parts[3]))
        return all(token in ran for token in tokens)

    eventually(all_ran, timeout=60)
    # Reserved 1 held for the events too: never two at once.
    assert max_overlap(list(ran.values())) == 1
    lam.delete_function(FunctionName=name)


# --- leases are released however an invocation ends ---------------------------------------------

FAILING = (
    "import os, time\n"
    "def handler(event, context):\n"
    "    mode = event.get('mode')\n"
    "    if mode == 'raise':\n"
    "        raise ValueError('boom')\n"
    "    if mode == 'timeout':\n"
    "        time.sleep(30)\n"
    "    if mode == 'crash':\n"
    "        os._exit(3)\n"
    "    if mode == 'slow':\n"
    "        time.sleep(1)\n"
    "    return 'fine'\n"
)


def test_leases_released_after_errors_timeouts_crashes(lam: Any, server: LaminaServer) -> None:
    """Reserved 1: a leaked lease would throttle the next invocation forever."""
    name = create_python_function(lam, FAILING, Timeout=1)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    for mode in ("raise", "timeout", "crash", "raise"):
        response = invoke(lam, name, {"mode": mode})
        assert response["StatusCode"] == 200, response
        assert response["FunctionError"] == "Unhandled"
        assert invoke(lam, name)["Body"] == "fine"
    # A caller that goes away mid-invocation: the invocation ends, and so does its lease.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request(
        "POST", f"/2015-03-31/functions/{name}/invocations", json.dumps({"mode": "slow"}), SIGNED
    )
    time.sleep(0.2)
    conn.close()
    eventually(lambda: invoke(lam, name).get("Body") == "fine")
    lam.delete_function(FunctionName=name)
