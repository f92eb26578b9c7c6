"""The first invoke after a server start does not wait for its runtime's spawner: the
spawner of a Python version other than the server's starts when a function on it is
created, and at start when such a function exists; and a package compiled once is not
compiled again after a restart."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support import LaminaServer, create_python_function

from lamina.runtime.launch import find_python

ISOLATED = os.geteuid() == 0 and os.path.exists("/proc/self/ns/mnt")
HANDLER = "def handler(event, context):\n    return {'ok': True}\n"


def _other_python_runtime() -> tuple[str, str] | None:
    """A ``python3.X`` runtime whose interpreter is installed and is not the server's."""
    own = f"{sys.version_info.major}.{sys.version_info.minor}"
    for minor in range(9, 15):
        version = f"3.{minor}"
        found = find_python(version) if version != own else None
        if found:
            return f"python{version}", found
    return None


OTHER = _other_python_runtime()
pytestmark = [
    pytest.mark.skipif(not ISOLATED, reason="needs root and namespaces (isolation)"),
    pytest.mark.skipif(OTHER is None, reason="needs a second Python 3 interpreter"),
]


def spawners_of(srv: LaminaServer) -> set[str]:
    """The interpreters of the server's spawner processes."""
    assert srv.process is not None
    found: set[str] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == srv.process.pid and len(argv) > 3 and argv[3].endswith(b"/spawner.py"):
            found.add(argv[0].decode())
    return found


def wait_for_spawner(srv: LaminaServer, interpreter: str) -> None:
    deadline = time.monotonic() + 20
    while interpreter not in spawners_of(srv):
        assert time.monotonic() < deadline, spawners_of(srv)
        time.sleep(0.05)


def test_a_runtimes_spawner_starts_before_its_first_invoke(
    own_server: Callable[..., LaminaServer], tmp_path: Path
) -> None:
    assert OTHER is not None
    runtime, interpreter = OTHER
    data = tmp_path / "data"
    srv = own_server(data=data)
    assert interpreter not in spawners_of(srv)  # nothing uses it yet
    lam = srv.client()
    name = create_python_function(lam, HANDLER, runtime=runtime)
    wait_for_spawner(srv, interpreter)  # started by the creation, not by an invoke
    assert json.loads(lam.invoke(FunctionName=name)["Payload"].read()) == {"ok": True}
    srv.stop()

    again = own_server(data=data)
    wait_for_spawner(again, interpreter)  # at start: a function on that runtime exists
    answer = again.client().invoke(FunctionName=name)
    assert json.loads(answer["Payload"].read()) == {"ok": True}
