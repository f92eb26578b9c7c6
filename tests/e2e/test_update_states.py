"""Asynchronous update states, golden-compared with AWS's recordings: an update answers
``LastUpdateStatus: InProgress`` and is applied after the answer (milliseconds by default;
``--function-update-seconds`` holds it as AWS's seconds do); meanwhile another update or a
PublishVersion gets AWS's 409 and invocations run the configuration from before the update;
a version published with the update is ``Pending`` until it is applied. The waiters work
throughout, and an update left in progress by a killed server is applied at the next start.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import ROLE, LaminaServer, make_zip, unique
from test_functions_api import Golden, assert_golden, b64_sha256, error_of

# test_functions_api puts tests/unit (aws_recorded) on sys.path.
from aws_recorded import recorded  # isort: skip

ECHO_V = "def handler(event, context):\n    return {{'version': '{v}'}}\n"
FAST_WAIT = {"Delay": 1, "MaxAttempts": 20}


def package(version: str) -> bytes:
    return make_zip({"handler.py": ECHO_V.format(v=version)})


def create(lam: Any, name: str, code: bytes, **kwargs: Any) -> dict[str, Any]:
    created: dict[str, Any] = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="handler.handler",
        Code={"ZipFile": code},
        **kwargs,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
    return created


def invoked_version(lam: Any, name: str) -> str:
    answer = lam.invoke(FunctionName=name, Payload=b"{}")
    assert "FunctionError" not in answer, answer
    version: str = json.loads(answer["Payload"].read())["version"]
    return version


def conflict(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as excinfo:
        call()
    return error_of(excinfo)


def test_updates_are_applied_within_milliseconds(lam: Any) -> None:
    """By default the state an update answers is gone by the next request: a client that
    updates, reads and updates again never meets the 409, and the waiters pass at once."""
    name = unique("fastupd")
    create(lam, name, package("one"))
    for i in range(10):
        answer = lam.update_function_configuration(FunctionName=name, Description=f"d{i}")
        assert answer["LastUpdateStatus"] == "InProgress"
        assert answer["LastUpdateStatusReasonCode"] == "Creating"
        got = lam.get_function_configuration(FunctionName=name)
        assert got["LastUpdateStatus"] == "Successful"
        assert "LastUpdateStatusReason" not in got
        assert got["RevisionId"] != answer["RevisionId"]
    lam.update_function_code(FunctionName=name, ZipFile=package("two"))
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
    assert invoked_version(lam, name) == "two"
    lam.delete_function(FunctionName=name)


@pytest.fixture
def slow_updates(own_server: Callable[..., LaminaServer]) -> LaminaServer:
    """A server whose updates stay in progress for 3 s, as AWS's take seconds."""
    return own_server("--function-update-seconds", "3")


@pytest.mark.parametrize(
    ("recorded_test", "operation"),
    [
        ("test_lambda_concurrent_code_updates", "code"),
        ("test_lambda_concurrent_config_updates", "config"),
    ],
)
def test_a_second_update_during_an_update_is_refused(
    slow_updates: LaminaServer, recorded_test: str, operation: str
) -> None:
    rec = recorded(f"TestLambdaFunction::{recorded_test}")
    lam = slow_updates.client()
    name = unique("conflict")
    one, two, three = package("one"), package("two"), package("three")
    golden = Golden({name: "<function-name:1>"}, [one, two, three])

    def update(code: bytes, description: str) -> Any:
        if operation == "code":
            return lam.update_function_code(FunctionName=name, ZipFile=code)
        return lam.update_function_configuration(FunctionName=name, Description=description)

    create(lam, name, one)
    update(two, "first")
    refused = conflict(lambda: update(three, "second"))
    assert_golden(golden(refused), rec["update-during-in-progress-update-exc"])
    # PublishVersion waits for the update too.
    assert_golden(
        golden(conflict(lambda: lam.publish_version(FunctionName=name))),
        rec["update-during-in-progress-update-exc"],
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
    after = lam.get_function_configuration(FunctionName=name)
    assert after["LastUpdateStatus"] == "Successful"
    # The refused update changed nothing; the first one is applied.
    assert after["CodeSha256"] == b64_sha256(two if operation == "code" else one)
    assert after["Description"] == ("first" if operation == "config" else "")
    update(three, "second")
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
    assert lam.publish_version(FunctionName=name)["Version"] == "1"


def test_invocations_during_an_update_run_the_previous_code(slow_updates: LaminaServer) -> None:
    """Even from a new environment: the package before the update stays until it is
    applied."""
    lam = slow_updates.client()
    name = unique("during")
    create(lam, name, package("old"))
    answer = lam.update_function_code(FunctionName=name, ZipFile=package("new"))
    assert answer["LastUpdateStatus"] == "InProgress"
    assert invoked_version(lam, name) == "old"
    assert lam.get_function(FunctionName=name)["Configuration"]["LastUpdateStatus"] == (
        "InProgress"
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
    assert invoked_version(lam, name) == "new"


def test_version_published_with_an_update_is_pending_then_active(
    slow_updates: LaminaServer,
) -> None:
    """TestLambdaVersions::test_publish_with_update: the answer and the version are Pending,
    $LATEST InProgress; then Active / Successful."""
    rec = recorded("TestLambdaVersions::test_publish_with_update")
    lam = slow_updates.client()
    name = unique("pubupd")
    first, second = make_zip({"index.py": ECHO_V.format(v="1")}), package("2")
    golden = Golden({name: "<function-name:1>"}, [first, second])
    created = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="index.handler",
        Code={"ZipFile": first},
    )
    assert_golden(golden(created), rec["create_response"])
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
    assert_golden(golden(lam.get_function(FunctionName=name)), rec["get_function_result"])
    published = lam.update_function_code(FunctionName=name, ZipFile=second, Publish=True)
    assert_golden(golden(published), rec["update_function_code_result"])
    version = lam.get_function(FunctionName=name, Qualifier="1")
    assert_golden(golden(version), rec["get_function_version_result"])
    latest = lam.get_function(FunctionName=name, Qualifier="$LATEST")
    assert_golden(golden(latest), rec["get_function_latest_result"])
    # A Pending version cannot be invoked yet, as on AWS ($LATEST still runs its old code).
    refused = conflict(lambda: lam.invoke(FunctionName=name, Qualifier="1"))
    assert refused["Error"]["Message"] == (
        "The operation cannot be performed at this time. The function is currently in the "
        "following state: Pending"
    )

    lam.get_waiter("published_version_active").wait(
        FunctionName=name, Qualifier="1", WaiterConfig=FAST_WAIT
    )
    active = lam.get_function_configuration(FunctionName=name, Qualifier="1")
    assert (active["State"], active["LastUpdateStatus"]) == ("Active", "Successful")
    assert "StateReason" not in active
    assert active["RevisionId"] == published["RevisionId"]
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
    assert lam.invoke(FunctionName=name, Qualifier="1")["StatusCode"] == 200


def test_an_update_left_in_progress_is_applied_at_the_next_start(
    own_server: Callable[..., LaminaServer], tmp_path: Path
) -> None:
    data = tmp_path / "kept"
    first = own_server("--function-update-seconds", "600", data=data)
    lam = first.client()
    name = unique("killed")
    create(lam, name, package("one"))
    published = lam.update_function_code(FunctionName=name, ZipFile=package("two"), Publish=True)
    assert published["State"] == "Pending"
    assert first.process is not None
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=10)

    second = own_server(data=data)
    lam = second.client()
    latest = lam.get_function_configuration(FunctionName=name)
    assert latest["LastUpdateStatus"] == "Successful"
    assert latest["CodeSha256"] == b64_sha256(package("two"))
    version = lam.get_function_configuration(FunctionName=name, Qualifier="1")
    assert (version["State"], version["LastUpdateStatus"]) == ("Active", "Successful")
    assert invoked_version(lam, name) == "two"
    lam.update_function_configuration(FunctionName=name, Description="after restart")
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
