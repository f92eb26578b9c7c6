"""Stop the server with SIGTERM/SIGINT and start a new one on the same data directory:
every function is still there, with identical configuration, tags and code, and invocable."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import ROLE, LaminaServer, make_zip

CODE = """
import os
def handler(event, context):
    return {
        "version": VERSION,
        "greeting": os.environ.get("GREETING"),
        "function_version": context.function_version,
        "event": event,
    }
"""
SLOW = "import time\ndef handler(event, context):\n    time.sleep(60)\n    return 'late'\n"


def package(version: str) -> bytes:
    return make_zip({"app.py": f"VERSION = {version!r}\n" + CODE})


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        data: bytes = response.read()
        return data


def invoke(client: Any, name: str, **kwargs: Any) -> Any:
    response = client.invoke(FunctionName=name, Payload=b'{"ping": 1}', **kwargs)
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response, response["Payload"].read()
    return json.loads(response["Payload"].read())


def snapshot(client: Any, names: list[str]) -> dict[str, Any]:
    """Everything the API shows about these functions (code as downloaded bytes)."""
    out: dict[str, Any] = {}
    for name in names:
        for qualifier in [v["Version"] for v in _versions(client, name)]:
            got = client.get_function(FunctionName=name, Qualifier=qualifier)
            got.pop("ResponseMetadata")
            got["Code"]["Location"] = fetch(got["Code"]["Location"])
            out[f"{name}:{qualifier}"] = got
        arn = out[f"{name}:$LATEST"]["Configuration"]["FunctionArn"].rsplit(":", 1)[0]
        out[f"{name}:tags"] = client.list_tags(Resource=arn)["Tags"]
    out["list"] = [
        f
        for page in client.get_paginator("list_functions").paginate(FunctionVersion="ALL")
        for f in page["Functions"]
    ]
    out["usage"] = client.get_account_settings()["AccountUsage"]
    return out


def _versions(client: Any, name: str) -> list[dict[str, Any]]:
    listed = [
        f
        for page in client.get_paginator("list_functions").paginate(FunctionVersion="ALL")
        for f in page["Functions"]
        if f["FunctionName"] == name
    ]
    return listed


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def servers() -> Iterator[list[LaminaServer]]:
    """Servers a test starts; any still running at the end are killed."""
    started: list[LaminaServer] = []
    yield started
    for srv in started:
        if srv.process is not None and srv.process.poll() is None:
            srv.process.kill()
            srv.process.wait(timeout=10)


def start(servers: list[LaminaServer], data_dir: Path) -> LaminaServer:
    srv = LaminaServer(data_dir)
    srv.start()
    servers.append(srv)
    return srv


def stop(srv: LaminaServer, sig: int, within: float = 10.0) -> None:
    """Signal the server; it must exit with status 0 within ``within`` seconds."""
    assert srv.process is not None
    srv.process.send_signal(sig)
    try:
        code = srv.process.wait(timeout=within)
    except subprocess.TimeoutExpired:
        srv.process.kill()
        srv.process.wait(timeout=10)
        pytest.fail(f"the server did not stop within {within}s of signal {sig}")
    log = srv.log_path.read_text()[-2000:] if srv.log_path else ""
    assert code == 0, (code, log)
    assert "Traceback" not in log, log


def test_state_survives_sigterm_restart(servers: list[LaminaServer], data_dir: Path) -> None:
    first = start(servers, data_dir)
    lam = first.client()
    common: dict[str, Any] = {"Runtime": "python3.12", "Role": ROLE, "Handler": "app.handler"}
    lam.create_function(
        FunctionName="configured",
        Code={"ZipFile": package("one")},
        Description="configured function",
        Timeout=7,
        MemorySize=256,
        EphemeralStorage={"Size": 1024},
        Environment={"Variables": {"GREETING": "hello"}},
        Tags={"team": "lamina", "env": "test"},
        LoggingConfig={"LogFormat": "JSON"},
        **common,
    )
    lam.create_function(
        FunctionName="published", Code={"ZipFile": package("v1")}, Publish=True, **common
    )
    lam.update_function_code(FunctionName="published", ZipFile=package("v2"))
    lam.create_function(FunctionName="retagged", Code={"ZipFile": package("one")}, **common)
    arn = lam.get_function(FunctionName="retagged")["Configuration"]["FunctionArn"]
    lam.tag_resource(Resource=arn, Tags={"a": "1", "b": "2"})
    lam.untag_resource(Resource=arn, TagKeys=["a"])
    lam.update_function_configuration(
        FunctionName="retagged", Environment={"Variables": {"GREETING": "updated"}}
    )
    lam.create_function(FunctionName="doomed", Code={"ZipFile": package("x")}, **common)
    lam.delete_function(FunctionName="doomed")
    names = ["configured", "published", "retagged"]
    for name in names:
        lam.get_waiter("function_updated_v2").wait(FunctionName=name)

    # Warm environments are running when the server is told to stop.
    assert invoke(lam, "configured")["greeting"] == "hello"
    assert invoke(lam, "published")["version"] == "v2"
    before = snapshot(lam, names)
    assert len(before["list"]) == 4  # three $LATEST and version 1 of "published"

    stop(first, signal.SIGTERM)

    second = start(servers, data_dir)
    lam = second.client()
    after = snapshot(lam, names)
    assert after == before
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName="doomed")

    assert invoke(lam, "configured") == {
        "version": "one",
        "greeting": "hello",
        "function_version": "$LATEST",
        "event": {"ping": 1},
    }
    assert invoke(lam, "published")["version"] == "v2"
    assert invoke(lam, "published", Qualifier="1")["version"] == "v1"
    assert invoke(lam, "retagged")["greeting"] == "updated"

    # The restarted server keeps working normally: updates and creates persist too.
    lam.update_function_configuration(FunctionName="configured", Description="after restart")
    lam.create_function(FunctionName="newcomer", Code={"ZipFile": package("new")}, **common)
    stop(second, signal.SIGINT)

    third = start(servers, data_dir)
    lam = third.client()
    assert lam.get_function(FunctionName="configured")["Configuration"]["Description"] == (
        "after restart"
    )
    assert invoke(lam, "newcomer")["version"] == "new"
    stop(third, signal.SIGTERM)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stops_promptly_during_an_invocation(
    servers: list[LaminaServer], data_dir: Path, sig: int
) -> None:
    """A signal while a function is running still stops the server cleanly and promptly (the
    environment is terminated, the pending request is answered or dropped)."""
    srv = start(servers, data_dir)
    lam = srv.client()
    lam.create_function(
        FunctionName="slow",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Timeout=120,
        Code={"ZipFile": make_zip({"app.py": SLOW})},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName="slow")
    errors: list[BaseException] = []

    def call() -> None:
        try:
            srv.client().invoke(FunctionName="slow", Payload=b"{}")
        except BaseException as exc:  # noqa: BLE001 - the connection may be cut; either is fine
            errors.append(exc)

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    # Wait until the invocation's environment is running under the server.
    deadline = time.monotonic() + 30
    environment: set[int] = set()
    while not environment and time.monotonic() < deadline:
        environment = descendants(srv)
        time.sleep(0.02)
    assert environment, "no environment process started"
    stop(srv, sig, within=5.0)
    caller.join(timeout=30)
    assert not caller.is_alive()
    # Nothing of the function is left running.
    assert not [pid for pid in environment if alive(pid)]

    again = start(servers, data_dir)
    assert again.client().get_function(FunctionName="slow")["Configuration"]["Timeout"] == 120
    stop(again, signal.SIGTERM)


def descendants(srv: LaminaServer) -> set[int]:
    """The pids of every process below the server."""
    assert srv.process is not None
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {srv.process.pid}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
