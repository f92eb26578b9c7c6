"""Environment lifecycle against a dedicated server: keep-alive expiry and clean shutdown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import LaminaServer, create_python_function

PID_HANDLER = (
    "import os\ndef handler(e, c):\n    print('pid line', os.getpid())\n    return os.getpid()\n"
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().split()[2] != "Z"


@pytest.fixture()
def short_lived(tmp_path: Path) -> Iterator[LaminaServer]:
    # Plain processes: these tests follow runtime processes by their host pids.
    server = LaminaServer(
        tmp_path / "data", idle_timeout=1.0, extra_args=["--isolation", "process"]
    )
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.stop()


def test_idle_environment_stops_after_keep_alive(short_lived: LaminaServer) -> None:
    lam = short_lived.client()
    name = create_python_function(lam, PID_HANDLER)
    pid = json.loads(lam.invoke(FunctionName=name)["Payload"].read())
    assert alive(pid)
    # Still warm while used within the keep-alive.
    assert json.loads(lam.invoke(FunctionName=name)["Payload"].read()) == pid
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid)
    fresh = json.loads(lam.invoke(FunctionName=name)["Payload"].read())
    assert fresh != pid


def test_server_stop_leaves_no_runtime_processes(short_lived: LaminaServer) -> None:
    lam = short_lived.client()
    name = create_python_function(
        lam,
        "import os, time\n"
        "def handler(e, c):\n"
        "    time.sleep(e.get('s', 0))\n"
        "    return os.getpid()\n",
        Timeout=30,
    )
    pids = {json.loads(lam.invoke(FunctionName=name)["Payload"].read())}
    assert all(alive(p) for p in pids)
    started = time.monotonic()
    assert short_lived.stop() == 0
    assert time.monotonic() - started < 10
    assert not any(alive(p) for p in pids)


def test_lamina_logs_command_prints_the_function_log(short_lived: LaminaServer) -> None:
    lam = short_lived.client()
    name = create_python_function(lam, PID_HANDLER)
    lam.invoke(FunctionName=name)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lamina.cli.main",
            "logs",
            name,
            "--endpoint-url",
            short_lived.endpoint,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"},
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "START RequestId:" in out and "pid line" in out and "REPORT RequestId:" in out


def test_lamina_logs_follow_streams_new_lines(short_lived: LaminaServer) -> None:
    lam = short_lived.client()
    name = create_python_function(lam, PID_HANDLER)
    lam.invoke(FunctionName=name)
    follower = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lamina.cli.main",
            "logs",
            name,
            "--follow",
            "--endpoint-url",
            short_lived.endpoint,
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"},
    )
    try:
        time.sleep(1.0)
        response: Any = lam.invoke(FunctionName=name)
        second_pid = json.loads(response["Payload"].read())
        lines: list[str] = []
        deadline = time.monotonic() + 15
        assert follower.stdout is not None
        while time.monotonic() < deadline:
            line = follower.stdout.readline()
            lines.append(line)
            started = sum("START RequestId:" in x for x in lines)
            if f"pid line {second_pid}" in line and started >= 2:
                break
        assert sum("START RequestId:" in x for x in lines) >= 2
    finally:
        follower.terminate()
        follower.wait(10)
