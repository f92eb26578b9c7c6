"""Isolation, proven from inside functions that try to break out (issue 3).

Every test runs real functions in the default (isolated) server and checks both what
the function saw and that the server and other functions kept serving.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from support import LaminaServer, create_python_function

from lamina.runtime import ephemeral
from lamina.runtime.sandbox_users import FIRST_UID

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="isolation needs root")

PROBE = r"""
import errno, json, os, socket, sys, threading, time

def attempt(fn):
    try:
        return {"ok": True, "value": fn()}
    except BaseException as exc:
        return {"ok": False, "error": type(exc).__name__, "errno": getattr(exc, "errno", None)}

def handler(event, context):
    action = event["action"]
    if action == "read":
        return attempt(lambda: os.listdir(event["path"]))
    if action == "read_file":
        return attempt(lambda: open(event["path"], "rb").read(100).decode("latin-1"))
    if action == "write":
        def write():
            with open(event["path"], "w") as fh:
                fh.write("x")
            return event["path"]
        return attempt(write)
    if action == "whoami":
        return {"uid": os.getuid(), "gid": os.getgid(), "pid": os.getpid(),
                "procs": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
                "hostname": socket.gethostname(), "cwd": os.getcwd(),
                "task_root": os.environ["LAMBDA_TASK_ROOT"],
                "runtime_api": os.environ["AWS_LAMBDA_RUNTIME_API"],
                "setuid0": attempt(lambda: os.setuid(0))}
    if action == "signal":
        return attempt(lambda: os.kill(event["pid"], 0))
    if action == "connect":
        def connect():
            with socket.create_connection((event["host"], event["port"]), timeout=1):
                return "connected"
        return attempt(connect)
    if action == "fill_tmp":
        def fill():
            block = b"\0" * (1024 * 1024)
            written = 0
            with open("/tmp/fill", "wb") as fh:
                for _ in range(event["mb"]):
                    fh.write(block)
                    fh.flush()
                    written += 1
            return written
        result = attempt(fill)
        try:
            os.unlink("/tmp/fill")
        except OSError:
            pass
        return result
    if action == "allocate":
        blob = bytearray(event["mb"] * 1024 * 1024)
        for i in range(0, len(blob), 4096):
            blob[i] = 1
        return len(blob)
    if action == "fork_bomb":
        children = 0
        error = None
        pids = []
        try:
            for _ in range(5000):
                pid = os.fork()
                if pid == 0:
                    time.sleep(30)
                    os._exit(0)
                pids.append(pid)
                children += 1
        except OSError as exc:
            error = errno.errorcode.get(exc.errno, str(exc.errno))
        for pid in pids:
            os.kill(pid, 9)
        for pid in pids:
            os.waitpid(pid, 0)
        return {"children": children, "error": error}
    if action == "statvfs":
        st = os.statvfs(event["path"])
        return {"total_mb": st.f_blocks * st.f_frsize // 2**20,
                "free_mb": st.f_bavail * st.f_frsize // 2**20}
    if action == "cpu":
        start_wall, start_cpu = time.monotonic(), time.process_time()
        while time.monotonic() - start_wall < event["seconds"]:
            pass
        return (time.process_time() - start_cpu) / (time.monotonic() - start_wall)
    if action == "background":
        global COUNTER
        if "COUNTER" not in globals():
            COUNTER = [0]
            def spin():
                while True:
                    COUNTER[0] += 1
                    time.sleep(0.01)
            threading.Thread(target=spin, daemon=True).start()
            time.sleep(0.1)
        return COUNTER[0]
    raise ValueError(action)
"""


def call(lam: Any, name: str, **event: Any) -> Any:
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode(), LogType="Tail")
    body = response["Payload"].read()
    if response.get("FunctionError"):
        return {"function_error": json.loads(body), "log": response.get("LogResult")}
    return json.loads(body)


@pytest.fixture(scope="module")
def isolated(tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = LaminaServer(tmp_path_factory.mktemp("iso") / "data")
    server.start()
    log = server.log_path.read_text() if server.log_path else ""
    assert "no isolation" not in log, log
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lam(isolated: LaminaServer) -> Any:
    return isolated.client()


@pytest.fixture(scope="module")
def probe(lam: Any) -> str:
    return create_python_function(lam, PROBE, Timeout=30, MemorySize=128)


def test_identity_and_view_of_processes(lam: Any, probe: str, isolated: LaminaServer) -> None:
    seen = call(lam, probe, action="whoami")
    assert seen["uid"] == seen["gid"] >= FIRST_UID
    # Its own pid namespace: a tiny init (pid 1) and the runtime.
    assert seen["procs"] == [1, seen["pid"]]
    assert seen["task_root"] == "/var/task" and seen["cwd"] == "/var/task"
    assert seen["runtime_api"] == "169.254.100.1:9001"  # AWS's address
    assert seen["setuid0"]["ok"] is False
    assert isolated.process is not None
    host = call(lam, probe, action="signal", pid=isolated.process.pid)
    assert host == {"ok": False, "error": "ProcessLookupError", "errno": 3}


def test_data_directory_and_other_code_are_invisible(
    lam: Any, probe: str, isolated: LaminaServer
) -> None:
    other = create_python_function(lam, "SECRET = 'other function code'\ndef handler(e, c): pass\n")
    code_dir = isolated.data_dir / "code"
    assert any(code_dir.iterdir())
    for path in (str(isolated.data_dir), str(code_dir)):
        result = call(lam, probe, action="read", path=path)
        assert result["ok"] is False, (path, result)
    # Only the interpreter is mounted from the host's home: none of its files.
    home = call(lam, probe, action="read", path="/root")
    assert home["ok"] is False or set(home["value"]) <= {".pyenv"}, home
    for secret in ("/root/.bashrc", "/root/.gitconfig", "/etc/shadow"):
        assert call(lam, probe, action="read_file", path=secret)["ok"] is False, secret
    other_sha = lam.get_function(FunctionName=other)["Configuration"]["CodeSha256"]
    assert other_sha
    for entry in code_dir.iterdir():
        result = call(lam, probe, action="read_file", path=str(entry / "lambda_function.py"))
        assert result["ok"] is False


def test_only_tmp_is_writable(lam: Any, probe: str) -> None:
    for path in ("/var/task/new.py", "/x", "/opt/x", "/etc/x", "/usr/x"):
        result = call(lam, probe, action="write", path=path)
        assert result["ok"] is False and result["errno"] in (13, 30), (path, result)
    assert call(lam, probe, action="write", path="/tmp/ok")["ok"] is True


def test_tmp_in_memory_is_limited_to_ephemeral_storage(tmp_path: Path) -> None:
    # With --tmp-storage memory /tmp is a tmpfs: its pages count against the memory limit
    # (docs/isolation.md), so the function gets more memory than /tmp to show the limit.
    server = LaminaServer(tmp_path / "data", extra_args=["--tmp-storage", "memory"])
    server.start()
    try:
        log = server.log_path.read_text() if server.log_path else ""
        assert "/tmp in memory" in log, log
        lam = server.client()
        name = create_python_function(
            lam, PROBE, Timeout=30, MemorySize=1024, EphemeralStorage={"Size": 512}
        )
        result = call(lam, name, action="fill_tmp", mb=700)
        assert result["ok"] is False and result["errno"] == 28  # ENOSPC
        assert call(lam, name, action="fill_tmp", mb=100) == {"ok": True, "value": 100}
    finally:
        server.stop()


def test_tmp_on_disk_as_on_aws(tmp_path: Path) -> None:
    """With --tmp-storage disk, /tmp is a file system of EphemeralStorage on disk: a 128 MB
    function fills most of a 512 MB /tmp, the file system ends at its size, and nothing
    (loop devices, image files) is left once the server stops."""
    server = LaminaServer(tmp_path / "data", extra_args=["--tmp-storage", "disk"])
    images = str(tmp_path / "data" / "sandbox" / "ephemeral")
    server.start()
    try:
        log = server.log_path.read_text() if server.log_path else ""
        unavailable = ephemeral.probe()
        if unavailable is not None:  # a host without loop devices or mkfs.ext4
            assert "/tmp in memory" in log and "not disk: " in log, log
            return
        assert "/tmp on disk" in log, log
        lam = server.client()
        name = create_python_function(
            lam, PROBE, Timeout=60, MemorySize=128, EphemeralStorage={"Size": 512}
        )
        assert call(lam, name, action="fill_tmp", mb=450) == {"ok": True, "value": 450}
        result = call(lam, name, action="fill_tmp", mb=700)
        assert result["ok"] is False and result["errno"] == 28  # ENOSPC
        assert 512 <= call(lam, name, action="statvfs", path="/tmp")["total_mb"] <= 560
        big = create_python_function(
            lam, PROBE, Timeout=60, MemorySize=128, EphemeralStorage={"Size": 1024}
        )
        assert 1024 <= call(lam, big, action="statvfs", path="/tmp")["total_mb"] <= 1100
        assert any(images in backing for backing in loop_backing_files())
    finally:
        assert server.stop() == 0
    deadline = time.monotonic() + 5  # loop devices detach as their last mount goes
    while any(images in b for b in loop_backing_files()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [b for b in loop_backing_files() if images in b] == []


def test_memory_limit_kills_only_that_environment(lam: Any, probe: str) -> None:
    name = create_python_function(lam, PROBE, Timeout=30, MemorySize=128)
    assert call(lam, name, action="allocate", mb=40) == 40 * 1024 * 1024
    with ThreadPoolExecutor(2) as pool:
        oom = pool.submit(call, lam, name, action="allocate", mb=400)
        other = pool.submit(call, lam, probe, action="whoami")
        result, bystander = oom.result(), other.result()
    error = result["function_error"]
    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"].endswith("Error: Runtime exited with error: signal: killed")
    import base64

    log = base64.b64decode(result["log"]).decode()
    assert "Error Type: Runtime.OutOfMemory" in log
    assert bystander["uid"] >= FIRST_UID
    assert call(lam, name, action="allocate", mb=10) == 10 * 1024 * 1024


def test_max_memory_used_is_the_real_peak(lam: Any) -> None:
    import base64
    import re

    name = create_python_function(lam, PROBE, Timeout=30, MemorySize=512)
    response = lam.invoke(
        FunctionName=name,
        Payload=json.dumps({"action": "allocate", "mb": 200}).encode(),
        LogType="Tail",
    )
    log = base64.b64decode(response["LogResult"]).decode()
    used = int(re.search(r"Max Memory Used: (\d+) MB", log).group(1))  # type: ignore[union-attr]
    assert 200 <= used <= 300


def test_fork_bomb_is_contained(lam: Any, probe: str) -> None:
    name = create_python_function(lam, PROBE, Timeout=60, MemorySize=2048)
    result = call(lam, name, action="fork_bomb")
    assert result["error"] == "EAGAIN"
    assert result["children"] < 1100
    assert call(lam, probe, action="whoami")["uid"] >= FIRST_UID


def test_cpu_is_proportional_to_memory(lam: Any) -> None:
    small = create_python_function(lam, PROBE, Timeout=30, MemorySize=128)
    share = call(lam, small, action="cpu", seconds=1.0)
    assert 0.03 < share < 0.12  # 128 / 1769 = 0.072 of a CPU


def test_runtime_api_of_another_environment_is_unreachable(lam: Any, probe: str) -> None:
    # The host's loopback (where a plain-process Runtime API would listen) is not this
    # environment's: only its own Runtime API and Lamina's API are reachable.
    assert call(lam, probe, action="connect", host="127.0.0.1", port=9001)["ok"] is True
    for port in (22, 5432, 8080, 9002):
        assert call(lam, probe, action="connect", host="127.0.0.1", port=port)["ok"] is False


def test_idle_environment_is_frozen(lam: Any) -> None:
    name = create_python_function(lam, PROBE, Timeout=30)
    first = call(lam, name, action="background")
    time.sleep(0.5)
    second = call(lam, name, action="background")
    # 0.5 s idle would be ~50 ticks if the thread ran; frozen, it only ran while invoked.
    assert second - first < 15, (first, second)


def test_boto3_inside_an_isolated_function_reaches_lamina(lam: Any, probe: str) -> None:
    name = create_python_function(
        lam,
        "import boto3\n"
        "def handler(e, c):\n"
        "    return boto3.client('lambda').get_function(FunctionName=e['name'])"
        "['Configuration']['FunctionName']\n",
        Timeout=30,
    )
    response = lam.invoke(FunctionName=name, Payload=json.dumps({"name": probe}).encode())
    assert "FunctionError" not in response, response["Payload"].read()
    assert json.loads(response["Payload"].read()) == probe


def test_stop_leaves_no_processes_cgroups_or_mounts(tmp_path: Path) -> None:
    server = LaminaServer(tmp_path / "data")
    server.start()
    lam = server.client()
    name = create_python_function(lam, PROBE, Timeout=30)
    seen = call(lam, name, action="whoami")
    assert seen["uid"] >= FIRST_UID
    assert server.process is not None
    below = descendants(server.process.pid)
    assert below, "the spawner and the environment run below the server"
    assert server.stop() == 0
    assert [pid for pid in below if Path(f"/proc/{pid}").exists()] == []
    groups = [
        path
        for root in Path("/sys/fs/cgroup").iterdir()
        if root.is_dir()
        for path in root.rglob(f"lamina-port-{server.port}")
    ]
    assert groups == []
    with open("/proc/self/mountinfo") as fh:
        assert str(tmp_path) not in fh.read()


def loop_backing_files() -> list[str]:
    found = []
    for backing in Path("/sys/block").glob("loop*/loop/backing_file"):
        with contextlib.suppress(OSError):  # detached meanwhile
            found.append(backing.read_text().strip())
    return found


def descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def test_plain_process_fallback(tmp_path: Path) -> None:
    server = LaminaServer(tmp_path / "data", extra_args=["--isolation", "process"])
    server.start()
    try:
        lam = server.client()
        name = create_python_function(lam, PROBE, Timeout=30)
        seen = call(lam, name, action="whoami")
        assert seen["uid"] == os.getuid()
        assert seen["task_root"] != "/var/task"
        assert server.log_path is not None
        assert "sandbox: process" in server.log_path.read_text()
    finally:
        server.stop()


def test_update_lets_in_flight_invocations_finish(lam: Any) -> None:
    code = "import time\ndef handler(e, c):\n    time.sleep(e.get('sleep', 0))\n    return '{v}'\n"
    name = create_python_function(lam, code.format(v="old"), Timeout=30)
    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(call, lam, name, sleep=1.5)
        time.sleep(0.5)
        lam.update_function_configuration(
            FunctionName=name, Environment={"Variables": {"CHANGED": "1"}}
        )
        lam.get_waiter("function_updated_v2").wait(FunctionName=name)
        from support import make_zip

        lam.update_function_code(
            FunctionName=name, ZipFile=make_zip({"lambda_function.py": code.format(v="new")})
        )
        lam.get_waiter("function_updated_v2").wait(FunctionName=name)
        assert call(lam, name) == "new"
        assert in_flight.result() == "old"


def test_delete_stops_the_environments(lam: Any, isolated: LaminaServer) -> None:
    name = create_python_function(lam, PROBE, Timeout=30)
    assert call(lam, name, action="whoami")["uid"] >= FIRST_UID
    assert isolated.process is not None
    before = descendants(isolated.process.pid)
    lam.delete_function(FunctionName=name)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        after = descendants(isolated.process.pid)
        if len(after) < len(before):
            break
        time.sleep(0.05)
    assert len(after) < len(before)


def test_a_burst_of_new_environments_all_start(isolated: LaminaServer) -> None:
    burst = 80
    lam = isolated.client(max_pool_connections=burst)
    name = create_python_function(
        lam,
        "import time, uuid\nENV = uuid.uuid4().hex\n"
        "def handler(e, c):\n    time.sleep(1.0)\n    return ENV\n",
        Timeout=60,
    )
    with ThreadPoolExecutor(burst) as pool:
        results = list(pool.map(lambda _: call(lam, name), range(burst)))
    errors = [r for r in results if isinstance(r, dict)]
    assert errors == []
    assert len(set(results)) == burst  # one environment each: they overlapped


@pytest.mark.parametrize("version", ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"])
def test_the_runtime_process_is_a_clean_fork(isolated: LaminaServer, version: str) -> None:
    """The runtime is forked from the preloaded spawner's init (which skips the
    interpreter's after-fork work, differently for each version): threads can import (the
    import lock is free), `random` is seeded per environment, the main thread is main."""
    lam = isolated.client(max_pool_connections=4)
    name = create_python_function(
        lam,
        "import random, threading, time\n"
        "SEED = random.random()\n"
        "imported = []\n"
        "def load():\n"
        "    import decimal, fractions\n"
        "    imported.append(str(decimal.Decimal('1.5') + 1) + str(fractions.Fraction(1, 2)))\n"
        "worker = threading.Thread(target=load)\n"
        "worker.start()\n"
        "worker.join(10)\n"
        "def handler(e, c):\n"
        "    time.sleep(0.5)\n"
        "    return {'seed': SEED, 'imported': str(imported),\n"
        "            'main': threading.current_thread() is threading.main_thread()}\n",
        runtime=f"python{version}",
        Timeout=30,
    )
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda _: call(lam, name), range(2))
    assert first["imported"] == second["imported"] == "['2.51/2']"
    assert first["main"] and second["main"]
    assert first["seed"] != second["seed"]


def test_every_runtime_of_a_burst_runs_inside_its_own_cgroup(isolated: LaminaServer) -> None:
    """More environments at once than are prepared ahead: those started on demand too have
    their runtime process (not just their init) inside their own limited cgroup."""
    burst = 12
    lam = isolated.client(max_pool_connections=burst)
    name = create_python_function(
        lam,
        "import time\n"
        "def handler(e, c):\n"
        "    time.sleep(1.0)\n"
        "    lines = open('/proc/self/cgroup').read().splitlines()\n"
        "    groups = dict(line.split(':', 2)[1:] for line in lines)\n"
        "    return {k: v for k, v in groups.items() if k in ('memory', 'pids', 'freezer')}\n",
        Timeout=30,
    )
    with ThreadPoolExecutor(burst) as pool:
        results = list(pool.map(lambda _: call(lam, name), range(burst)))
    names = [{path.rsplit("/", 1)[-1] for path in groups.values()} for groups in results]
    assert all(len(found) == 1 for found in names), results  # one group in every hierarchy
    own = [found.pop() for found in names]
    assert len(set(own)) == burst, own
    assert all(group.startswith("env-") for group in own), own
