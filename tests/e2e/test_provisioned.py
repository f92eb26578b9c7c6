"""Provisioned concurrency through boto3 against a real server.

Golden comparisons with AWS's recordings (TestLambdaProvisionedConcurrency in test_lambda_api,
the provisioned tests of TestLambdaConcurrency in test_lambda); IN_PROGRESS -> READY (or
FAILED when init fails); environments initialised ahead (no Init Duration, the provisioned
initialisation type); spill-over to on-demand environments; no reaping for idleness; stopping
on delete; re-provisioning after a restart; the limits against reserved concurrency and the
account pool.

Timing is never asserted as a duration: tests poll for states with generous deadlines and
count which environment kind served each invocation.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import ACCOUNT, LaminaServer, create_python_function, unique

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from aws_recorded import expand, recorded  # noqa: E402

ARN_PREFIX = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"
# Reports how its environment was initialised, after sleeping event["s"] seconds.
PROBE = (
    "import os, time\n"
    "INIT_TYPE = os.environ.get('AWS_LAMBDA_INITIALIZATION_TYPE')\n"
    "def handler(event, context):\n"
    "    time.sleep(event.get('s', 0))\n"
    "    return {'type': INIT_TYPE, 'pid': os.getpid()}\n"
)
BROKEN = "raise RuntimeError('init fails')\ndef handler(event, context):\n    return 1\n"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000")
PROVISIONED = "provisioned-concurrency"


# --- helpers ---------------------------------------------------------------------------------


def subs(name: str, **more: str) -> dict[str, str]:
    return {"<function-name:1>": name, "111111111111": ACCOUNT, **more}


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as excinfo:
        call()
    response: dict[str, Any] = excinfo.value.response
    return response


def same_error(response: dict[str, Any], want: dict[str, Any]) -> None:
    """An error equals a recorded one: code, message, status and every modeled member
    (``retryAfterSeconds``, the ``Retry-After`` header, included: AWS's throttles and
    Lamina's have none)."""
    assert response["Error"]["Code"] == want["Error"]["Code"]
    assert response["Error"]["Message"] == want["Error"]["Message"]
    status = response["ResponseMetadata"]["HTTPStatusCode"]
    assert status == want["ResponseMetadata"]["HTTPStatusCode"]
    skip = ("Error", "ResponseMetadata")
    assert {k: v for k, v in response.items() if k not in skip} == {
        k: v for k, v in want.items() if k not in skip
    }


def ok(response: dict[str, Any]) -> dict[str, Any]:
    """A boto3 success response as recorded: status only, ``LastModified`` as ``date``."""
    out = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    if "LastModified" in out:
        assert TIMESTAMP.fullmatch(out["LastModified"]), out["LastModified"]
        out["LastModified"] = "date"
    out["ResponseMetadata"] = {
        "HTTPHeaders": {},
        "HTTPStatusCode": response["ResponseMetadata"]["HTTPStatusCode"],
    }
    return out


def wait_until_settled(
    lam: Any, name: str, qualifier: str, timeout: float = 90.0
) -> dict[str, Any]:
    """Poll GetProvisionedConcurrencyConfig until it leaves IN_PROGRESS (as a waiter would:
    a fixed delay between attempts, a bounded number of attempts)."""
    delay = 0.2
    for _ in range(int(timeout / delay)):
        response: dict[str, Any] = lam.get_provisioned_concurrency_config(
            FunctionName=name, Qualifier=qualifier
        )
        if response["Status"] != "IN_PROGRESS":
            return response
        time.sleep(delay)
    pytest.fail(f"{name}:{qualifier} still IN_PROGRESS after {timeout} s")


def invoke(lam: Any, name: str, event: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode(), **kwargs)
    response["Body"] = json.loads(response["Payload"].read())
    return response


def report_line(response: dict[str, Any]) -> str:
    tail = base64.b64decode(response["LogResult"]).decode()
    lines = [line for line in tail.splitlines() if line.startswith("REPORT ")]
    assert len(lines) == 1, tail
    return lines[0]


def eventually(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail("condition not reached in time")


def descendants(srv: LaminaServer) -> set[int]:
    """The pids of every live process below the server."""
    assert srv.process is not None
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {srv.process.pid}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def is_code_worker(pid: int) -> bool:
    """The server's short-lived helpers for code (bytecode compilation, unpacking and
    removing trees) run as its children too; they are no environment."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(b"compileall" in arg or b"unpack_worker" in arg for arg in argv) or (
        len(argv) > 1 and argv[0].endswith(b"rm")
    )


def environment_processes(srv: LaminaServer) -> dict[int, set[int]]:
    """The execution environments running below the server: each runtime with its
    ``lamina-init`` (Linux sandbox; keyed by the init's pid) or alone (plain processes; keyed
    by its own pid). Prepared inits without a runtime are no environment."""
    assert srv.process is not None
    below = descendants(srv)
    found: dict[int, set[int]] = {}
    for pid in below:
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            parent_comm = Path(f"/proc/{parent}/comm").read_text().strip()
        except (OSError, ValueError):
            continue
        if comm in ("lamina-init", "lamina-spawner") or is_code_worker(pid):
            continue
        if parent_comm == "lamina-init":
            found.setdefault(parent, {parent}).add(pid)
        elif parent == srv.process.pid:
            found[pid] = {pid}
    return found


def alive(pids: set[int]) -> set[int]:
    out = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.add(pid)
    return out


@pytest.fixture
def probe(lam: Any) -> Iterator[str]:
    name = create_python_function(lam, PROBE, Timeout=30)
    yield name
    lam.delete_function(FunctionName=name)


# --- golden: the exceptions and the lifecycle ------------------------------------------------


def test_provisioned_concurrency_exceptions(lam: Any, probe: str) -> None:
    """TestLambdaProvisionedConcurrency::test_provisioned_concurrency_exceptions."""
    rec = recorded("TestLambdaProvisionedConcurrency::test_provisioned_concurrency_exceptions")
    want = expand(rec, subs(probe))
    version = lam.publish_version(FunctionName=probe)["Version"]
    assert version == "1"
    get = lam.get_provisioned_concurrency_config
    delete = lam.delete_provisioned_concurrency_config
    put = lam.put_provisioned_concurrency_config
    cases: dict[str, Callable[[], Any]] = {
        "get_provisioned_config_doesnotexist": lambda: get(FunctionName=probe, Qualifier="1"),
        "get_provisioned_functionname_doesnotexist": lambda: get(
            FunctionName="doesnotexist", Qualifier="noalias"
        ),
        "get_provisioned_qualifier_doesnotexist": lambda: get(
            FunctionName=probe, Qualifier="noalias"
        ),
        "get_provisioned_version_doesnotexist": lambda: get(FunctionName=probe, Qualifier="10"),
        "get_provisioned_latest": lambda: get(FunctionName=probe, Qualifier="$LATEST"),
        "list_provisioned_functionname_doesnotexist": lambda: (
            lam.list_provisioned_concurrency_configs(FunctionName="doesnotexist")
        ),
        "delete_provisioned_functionname_doesnotexist": lambda: delete(
            FunctionName="doesnotexist", Qualifier="1"
        ),
        "delete_provisioned_qualifier_doesnotexist": lambda: delete(
            FunctionName=probe, Qualifier="noalias"
        ),
        "delete_provisioned_version_doesnotexist": lambda: delete(
            FunctionName=probe, Qualifier="10"
        ),
        "delete_provisioned_latest": lambda: delete(FunctionName=probe, Qualifier="$LATEST"),
        "put_provisioned_functionname_doesnotexist_alias": lambda: put(
            FunctionName="doesnotexist", Qualifier="noalias", ProvisionedConcurrentExecutions=1
        ),
        "put_provisioned_functionname_doesnotexist_version": lambda: put(
            FunctionName="doesnotexist", Qualifier="1", ProvisionedConcurrentExecutions=1
        ),
        "put_provisioned_qualifier_doesnotexist": lambda: put(
            FunctionName=probe, Qualifier="doesnotexist", ProvisionedConcurrentExecutions=1
        ),
        "put_provisioned_version_doesnotexist": lambda: put(
            FunctionName=probe, Qualifier="10", ProvisionedConcurrentExecutions=1
        ),
        "put_provisioned_latest": lambda: put(
            FunctionName=probe, Qualifier="$LATEST", ProvisionedConcurrentExecutions=1
        ),
    }
    for key, call in cases.items():
        same_error(error_of(call), want[key])
    assert (
        ok(lam.list_provisioned_concurrency_configs(FunctionName=probe))
        == (want["list_provisioned_noconfigs"])
    )
    assert (
        ok(delete(FunctionName=probe, Qualifier="1"))
        == want["delete_provisioned_config_doesnotexist"]
    )


def test_put_zero_is_a_validation_error(server: LaminaServer, lam: Any, probe: str) -> None:
    """put_provisioned_invalid_param_0 (boto3 refuses 0 client-side: validation off)."""
    want = recorded(
        "TestLambdaProvisionedConcurrency::test_provisioned_concurrency_exceptions",
        "put_provisioned_invalid_param_0",
    )
    version = lam.publish_version(FunctionName=probe)["Version"]
    raw = server.client(parameter_validation=False)
    response = error_of(
        lambda: raw.put_provisioned_concurrency_config(
            FunctionName=probe, Qualifier=version, ProvisionedConcurrentExecutions=0
        )
    )
    same_error(response, want)
    assert (
        lam.list_provisioned_concurrency_configs(FunctionName=probe)[
            "ProvisionedConcurrencyConfigs"
        ]
        == []
    )


def test_provisioned_lifecycle(lam: Any, probe: str) -> None:
    """TestLambdaProvisionedConcurrency::test_lambda_provisioned_lifecycle."""
    alias = unique("alias")
    rec = recorded("TestLambdaProvisionedConcurrency::test_lambda_provisioned_lifecycle")
    want = expand(rec, subs(probe, **{"<alias-name>": alias}))
    version = lam.publish_version(FunctionName=probe)["Version"]
    lam.create_alias(FunctionName=probe, Name=alias, FunctionVersion=version)
    put = lam.put_provisioned_concurrency_config
    got = ok(put(FunctionName=probe, Qualifier=version, ProvisionedConcurrentExecutions=1))
    assert got == want["put_provisioned_on_version"]
    same_error(
        error_of(
            lambda: put(FunctionName=probe, Qualifier=alias, ProvisionedConcurrentExecutions=1)
        ),
        want["put_provisioned_on_alias_versionconflict"],
    )
    got = ok(lam.delete_provisioned_concurrency_config(FunctionName=probe, Qualifier=version))
    assert got == want["delete_provisioned_version"]
    same_error(
        error_of(
            lambda: lam.get_provisioned_concurrency_config(FunctionName=probe, Qualifier=version)
        ),
        want["get_provisioned_version_postdelete"],
    )
    got = ok(put(FunctionName=probe, Qualifier=alias, ProvisionedConcurrentExecutions=1))
    assert got == want["put_provisioned_on_alias"]
    same_error(
        error_of(
            lambda: put(FunctionName=probe, Qualifier=version, ProvisionedConcurrentExecutions=1)
        ),
        want["put_provisioned_on_version_conflict"],
    )
    assert ok(lam.delete_alias(FunctionName=probe, Name=alias)) == want["delete_alias_result"]
    same_error(
        error_of(
            lambda: lam.get_provisioned_concurrency_config(FunctionName=probe, Qualifier=alias)
        ),
        want["get_provisioned_alias_postaliasdelete"],
    )
    got = ok(lam.list_provisioned_concurrency_configs(FunctionName=probe))
    assert got == want["list_response_postdeletes"]


# --- IN_PROGRESS -> READY, initialised ahead ------------------------------------------------


def test_ready_and_first_invocation_is_warm(lam: Any, probe: str) -> None:
    """TestLambdaConcurrency::test_reserved_provisioned_overlap's put and waits (2 environments);
    then the first invocation: the provisioned initialisation type, no Init Duration."""
    rec = recorded("TestLambdaConcurrency::test_reserved_provisioned_overlap", file="test_lambda")
    version = lam.publish_version(FunctionName=probe)["Version"]
    put = lam.put_provisioned_concurrency_config(
        FunctionName=probe, Qualifier=version, ProvisionedConcurrentExecutions=2
    )
    assert ok(put) == rec["put_provisioned_5"]
    settled = wait_until_settled(lam, probe, version)
    assert ok(settled) == rec["get_provisioned_postwait"]
    assert settled["LastModified"] == put["LastModified"]
    listed = lam.list_provisioned_concurrency_configs(FunctionName=probe)
    assert listed["ProvisionedConcurrencyConfigs"] == [
        {
            "FunctionArn": f"{ARN_PREFIX}{probe}:{version}",
            **{k: v for k, v in settled.items() if k != "ResponseMetadata"},
        }
    ]
    first = invoke(lam, probe, Qualifier=version, LogType="Tail")
    assert first["Body"]["type"] == PROVISIONED
    assert "Init Duration" not in report_line(first)
    # $LATEST is not provisioned: on-demand, a cold start.
    latest = invoke(lam, probe, LogType="Tail")
    assert latest["Body"]["type"] == "on-demand"
    assert "Init Duration" in report_line(latest)


def test_spill_over_to_on_demand(lam: Any, probe: str) -> None:
    """N=2 provisioned, N+2 concurrent slow invocations: all succeed, exactly 2 ran on the
    provisioned environments, the others spilled over to on-demand ones."""
    version = lam.publish_version(FunctionName=probe)["Version"]
    lam.put_provisioned_concurrency_config(
        FunctionName=probe, Qualifier=version, ProvisionedConcurrentExecutions=2
    )
    assert wait_until_settled(lam, probe, version)["Status"] == "READY"
    count = 4
    barrier = threading.Barrier(count)

    def one(_: int) -> Any:
        barrier.wait()
        return invoke(lam, probe, {"s": 3}, Qualifier=version)

    with ThreadPoolExecutor(count) as pool:
        results = list(pool.map(one, range(count), timeout=120))
    assert all(r["StatusCode"] == 200 and "FunctionError" not in r for r in results)
    kinds = sorted(r["Body"]["type"] for r in results)
    assert kinds == ["on-demand", "on-demand", PROVISIONED, PROVISIONED]
    # Both provisioned environments are idle again and serve the next invocations.
    again = [invoke(lam, probe, Qualifier=version)["Body"]["type"] for _ in range(3)]
    assert again == [PROVISIONED] * 3


def test_alias_moves_its_environments(lam: Any, probe: str) -> None:
    """Provisioned on an alias: invocations of the alias and of its version use them; moving
    the alias moves them (TestLambdaConcurrency::
    test_lambda_provisioned_concurrency_moves_with_alias)."""
    rec = recorded(
        "TestLambdaConcurrency::test_lambda_provisioned_concurrency_moves_with_alias",
        file="test_lambda",
    )
    alias = unique("alias")
    first = lam.publish_version(FunctionName=probe)["Version"]
    lam.create_alias(FunctionName=probe, Name=alias, FunctionVersion=first)
    lam.put_provisioned_concurrency_config(
        FunctionName=probe, Qualifier=alias, ProvisionedConcurrentExecutions=1
    )
    assert wait_until_settled(lam, probe, alias)["Status"] == "READY"
    assert invoke(lam, probe, Qualifier=alias)["Body"]["type"] == PROVISIONED
    assert invoke(lam, probe, Qualifier=first)["Body"]["type"] == PROVISIONED
    lam.update_function_configuration(FunctionName=probe, Timeout=10)
    lam.get_waiter("function_updated_v2").wait(FunctionName=probe)
    second = lam.publish_version(FunctionName=probe)["Version"]
    lam.update_alias(FunctionName=probe, Name=alias, FunctionVersion=second)
    moved = lam.get_provisioned_concurrency_config(FunctionName=probe, Qualifier=alias)
    # While the new version's environments initialise the old one's still count (recorded
    # IN_PROGRESS with 1 allocated); they may already be ready here.
    if moved["Status"] == "IN_PROGRESS":
        assert ok(moved) == rec["get_provisioned_config_after_alias_move"]
    assert wait_until_settled(lam, probe, alias)["Status"] == "READY"
    assert invoke(lam, probe, Qualifier=first)["Body"]["type"] == "on-demand"
    assert invoke(lam, probe, Qualifier=second)["Body"]["type"] == PROVISIONED
    assert invoke(lam, probe, Qualifier=alias)["Body"]["type"] == PROVISIONED
    same_error(
        error_of(
            lambda: lam.get_provisioned_concurrency_config(FunctionName=probe, Qualifier=second)
        ),
        expand(rec["provisioned_concurrency_notfound"]),
    )


def test_init_failure(lam: Any) -> None:
    """TestLambdaConcurrency::test_provisioned_concurrency_init_failure."""
    rec = recorded(
        "TestLambdaConcurrency::test_provisioned_concurrency_init_failure", file="test_lambda"
    )
    name = create_python_function(lam, BROKEN)
    try:
        version = lam.publish_version(FunctionName=name)["Version"]
        put = lam.put_provisioned_concurrency_config(
            FunctionName=name, Qualifier=version, ProvisionedConcurrentExecutions=1
        )
        assert ok(put) == rec["put_provisioned"]
        assert ok(wait_until_settled(lam, name, version)) == rec["get_provisioned_postwait"]
        # Invocations still run (on demand) and report the init error.
        response = lam.invoke(FunctionName=name, Qualifier=version)
        assert response["FunctionError"] == "Unhandled"
        # A new Put tries again (and fails again).
        lam.put_provisioned_concurrency_config(
            FunctionName=name, Qualifier=version, ProvisionedConcurrentExecutions=1
        )
        assert (
            wait_until_settled(lam, name, version)["StatusReason"] == "FUNCTION_ERROR_INIT_FAILURE"
        )
    finally:
        lam.delete_function(FunctionName=name)


# --- environments: not reaped, stopped on delete, back after a restart ----------------------


def test_not_reaped_and_stopped_on_delete(own_server: Callable[..., LaminaServer]) -> None:
    """A short keep-alive reaps the on-demand environment, never the provisioned ones; deleting
    the configuration stops them (their runtimes and ``lamina-init`` processes end)."""
    srv = own_server(idle_timeout=0.5)
    lam = srv.client()
    name = create_python_function(lam, PROBE, Timeout=30)
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier=version, ProvisionedConcurrentExecutions=2
    )
    assert wait_until_settled(lam, name, version)["Status"] == "READY"
    provisioned = environment_processes(srv)
    assert len(provisioned) == 2
    processes = set().union(*provisioned.values())
    # An on-demand environment of $LATEST: reaped after the keep-alive.
    assert invoke(lam, name)["Body"]["type"] == "on-demand"
    assert len(environment_processes(srv)) == 3
    eventually(lambda: environment_processes(srv) == provisioned)
    time.sleep(2)
    assert environment_processes(srv) == provisioned
    available = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier=version)[
        "AvailableProvisionedConcurrentExecutions"
    ]
    assert available == 2
    assert invoke(lam, name, Qualifier=version)["Body"]["type"] == PROVISIONED
    lam.delete_provisioned_concurrency_config(FunctionName=name, Qualifier=version)
    eventually(lambda: not alive(processes))
    assert environment_processes(srv) == {}
    assert invoke(lam, name, Qualifier=version)["Body"]["type"] == "on-demand"


def test_dead_environment_is_replaced(own_server: Callable[..., LaminaServer]) -> None:
    """A provisioned environment whose runtime dies is replaced by a new provisioned one."""
    srv = own_server()
    lam = srv.client()
    name = create_python_function(
        lam, PROBE + "def crash(event, context):\n    os._exit(3)\n", Timeout=30
    )
    lam.update_function_configuration(FunctionName=name, Handler="lambda_function.crash")
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    crashing = lam.publish_version(FunctionName=name)["Version"]
    lam.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier=crashing, ProvisionedConcurrentExecutions=1
    )
    assert wait_until_settled(lam, name, crashing)["Status"] == "READY"
    before = environment_processes(srv)
    assert len(before) == 1
    response = lam.invoke(FunctionName=name, Qualifier=crashing)
    assert response["FunctionError"] == "Unhandled"
    # A fresh provisioned environment takes its place.
    eventually(
        lambda: len(environment_processes(srv)) == 1 and environment_processes(srv) != before
    )
    assert wait_until_settled(lam, name, crashing)["Status"] == "READY"


def test_deleting_the_function_stops_them(own_server: Callable[..., LaminaServer]) -> None:
    srv = own_server()
    lam = srv.client()
    name = create_python_function(lam, PROBE, Timeout=30)
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier=version, ProvisionedConcurrentExecutions=1
    )
    assert wait_until_settled(lam, name, version)["Status"] == "READY"
    environments = environment_processes(srv)
    assert len(environments) == 1
    before = lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
    lam.delete_function(FunctionName=name)
    eventually(lambda: not alive(set().union(*environments.values())))
    assert environment_processes(srv) == {}
    after = lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
    assert after == before + 1


def test_restart_provisions_again(own_server: Callable[..., LaminaServer], tmp_path: Path) -> None:
    data = tmp_path / "kept"
    srv = own_server(data=data)
    lam = srv.client()
    name = create_python_function(lam, PROBE, Timeout=30)
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier=version, ProvisionedConcurrentExecutions=1
    )
    before = wait_until_settled(lam, name, version)
    old = environment_processes(srv)
    assert len(old) == 1
    assert srv.stop() == 0
    assert not alive(set().union(*old.values()))

    again = own_server(data=data)
    lam = again.client()
    after = wait_until_settled(lam, name, version)
    assert after["Status"] == "READY"
    assert after["LastModified"] == before["LastModified"]
    assert len(environment_processes(again)) == 1
    first = invoke(lam, name, Qualifier=version, LogType="Tail")
    assert first["Body"]["type"] == PROVISIONED
    assert "Init Duration" not in report_line(first)
    settings = lam.get_account_settings()["AccountLimit"]
    assert settings["UnreservedConcurrentExecutions"] == settings["ConcurrentExecutions"] - 1


# --- limits -----------------------------------------------------------------------------------


def test_limits_against_the_account(lam: Any, probe: str) -> None:
    """TestLambdaProvisionedConcurrency::test_provisioned_concurrency_limits, and what
    GetAccountSettings reports: provisioned concurrency of a function without a reservation
    comes out of the unreserved pool."""
    rec = recorded("TestLambdaProvisionedConcurrency::test_provisioned_concurrency_limits")
    version = lam.publish_version(FunctionName=probe)["Version"]
    settings = lam.get_account_settings()["AccountLimit"]
    unreserved = settings["UnreservedConcurrentExecutions"]
    placeholders = {
        "<unreserved_concurrency>": str(unreserved),
        "<min_unreserved_concurrency>": "100",
    }
    put = lam.put_provisioned_concurrency_config
    same_error(
        error_of(
            lambda: put(
                FunctionName=probe,
                Qualifier=version,
                ProvisionedConcurrentExecutions=unreserved + 1,
            )
        ),
        expand(rec["put_provisioned_concurrency_account_limit_exceeded"], placeholders),
    )
    same_error(
        error_of(
            lambda: put(
                FunctionName=probe,
                Qualifier=version,
                ProvisionedConcurrentExecutions=unreserved - 99,
            )
        ),
        expand(rec["put_provisioned_concurrency_below_unreserved_min_value"], placeholders),
    )
    assert (
        lam.list_provisioned_concurrency_configs(FunctionName=probe)[
            "ProvisionedConcurrencyConfigs"
        ]
        == []
    )
    put(FunctionName=probe, Qualifier=version, ProvisionedConcurrentExecutions=1)
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == (
        unreserved - 1
    )
    # GetFunctionConcurrency reports reservations only.
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=probe)
    lam.delete_provisioned_concurrency_config(FunctionName=probe, Qualifier=version)
    assert (
        lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == unreserved
    )


def test_limits_against_reserved_concurrency(lam: Any, probe: str) -> None:
    """TestLambdaConcurrency::test_reserved_provisioned_overlap: provisioned concurrency lives
    inside the reservation; when it takes all of it, $LATEST is throttled while the
    provisioned version runs."""
    rec = recorded("TestLambdaConcurrency::test_reserved_provisioned_overlap", file="test_lambda")
    first = lam.publish_version(FunctionName=probe)["Version"]
    lam.put_function_concurrency(FunctionName=probe, ReservedConcurrentExecutions=2)
    lam.put_provisioned_concurrency_config(
        FunctionName=probe, Qualifier=first, ProvisionedConcurrentExecutions=2
    )
    assert wait_until_settled(lam, probe, first)["Status"] == "READY"
    same_error(
        error_of(
            lambda: lam.put_function_concurrency(FunctionName=probe, ReservedConcurrentExecutions=1)
        ),
        rec["reserved_lower_than_provisioned_exc"],
    )
    assert ok(lam.get_function_concurrency(FunctionName=probe)) == rec["get_concurrency"]
    same_error(
        error_of(lambda: lam.invoke(FunctionName=probe, Payload=b"{}")),
        rec["reserved_equals_provisioned_latest_invoke_exc"],
    )
    assert invoke(lam, probe, Qualifier=first)["Body"]["type"] == PROVISIONED
    lam.update_function_configuration(FunctionName=probe, Timeout=15)
    lam.get_waiter("function_updated_v2").wait(FunctionName=probe)
    second = lam.publish_version(FunctionName=probe)["Version"]
    same_error(
        error_of(
            lambda: lam.put_provisioned_concurrency_config(
                FunctionName=probe, Qualifier=second, ProvisionedConcurrentExecutions=1
            )
        ),
        rec["reserved_equals_provisioned_another_provisioned_exc"],
    )
    same_error(
        error_of(
            lambda: lam.put_provisioned_concurrency_config(
                FunctionName=probe, Qualifier=first, ProvisionedConcurrentExecutions=3
            )
        ),
        rec["reserved_equals_provisioned_increase_provisioned_exc"],
    )
    # Nothing changed.
    assert (
        lam.get_provisioned_concurrency_config(FunctionName=probe, Qualifier=first)[
            "RequestedProvisionedConcurrentExecutions"
        ]
        == 2
    )
    lam.delete_function_concurrency(FunctionName=probe)


# --- bad input ----------------------------------------------------------------------------------


def test_bad_input(server: LaminaServer, lam: Any, probe: str) -> None:
    version = lam.publish_version(FunctionName=probe)["Version"]
    raw = server.client(parameter_validation=False)

    def validation(call: Callable[[], Any], message: str) -> None:
        response = error_of(call)
        assert response["Error"]["Code"] == "ValidationException", response
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert response["Error"]["Message"] == message

    member = "provisionedConcurrentExecutions"
    validation(
        lambda: raw.put_provisioned_concurrency_config(
            FunctionName=probe, Qualifier=version, ProvisionedConcurrentExecutions=-3
        ),
        f"1 validation error detected: Value '-3' at '{member}' failed to satisfy constraint:"
        " Member must have value greater than or equal to 1",
    )
    validation(
        lambda: raw.put_provisioned_concurrency_config(FunctionName=probe, Qualifier=version),
        f"1 validation error detected: Value null at '{member}' failed to satisfy constraint:"
        " Member must not be null",
    )
    validation(
        lambda: raw.put_provisioned_concurrency_config(
            FunctionName=probe, Qualifier="bad.q", ProvisionedConcurrentExecutions=0
        ),
        "2 validation errors detected: Value 'bad.q' at 'qualifier' failed to satisfy"
        " constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+); "
        f"Value '0' at '{member}' failed to satisfy constraint: Member must have value greater"
        " than or equal to 1",
    )
    for max_items in (0, 51):
        response = error_of(
            lambda max_items=max_items: raw.list_provisioned_concurrency_configs(  # type: ignore[misc]
                FunctionName=probe, MaxItems=max_items
            )
        )
        assert response["Error"]["Code"] == "ValidationException"
    # A qualifier in the name counts as the Qualifier.
    response = error_of(
        lambda: lam.get_provisioned_concurrency_config(
            FunctionName=f"{probe}:{version}", Qualifier="2"
        )
    )
    assert response["Error"]["Code"] == "InvalidParameterValueException"
    assert (
        lam.list_provisioned_concurrency_configs(FunctionName=probe)[
            "ProvisionedConcurrencyConfigs"
        ]
        == []
    )
