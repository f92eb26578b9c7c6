"""The built-in Python runtime's Runtime API connection made in advance (issue 11).

In an isolated environment the server hands the runtime one end of a Unix socket pair as
its first Runtime API connection (fd 3), cheaper per message than TCP on loopback. What a
function can do with it must not break Lamina, and a lost pair falls back to TCP.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from support import create_python_function

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="isolated environments need root")

PROBE = r"""
import os, socket

def handler(event, context):
    action = event.get("action")
    if action == "family":
        probe = socket.socket(fileno=os.dup(3))
        try:
            return {"family": int(probe.family), "inheritable": os.get_inheritable(3)}
        finally:
            probe.close()
    if action == "cut":
        # Shut the runtime's own connection down (as a buggy or hostile handler might).
        probe = socket.socket(fileno=os.dup(3))
        probe.shutdown(socket.SHUT_RDWR)
        probe.close()
        return {"cut": True}
    return {"pid": os.getpid(), "n": event.get("n")}
"""


def call(lam: Any, name: str, **event: Any) -> dict[str, Any]:
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())
    assert "FunctionError" not in response, response["Payload"].read()
    result: dict[str, Any] = json.loads(response["Payload"].read())
    return result


def test_the_runtime_talks_over_a_unix_socket_pair(lam: Any) -> None:
    import socket

    name = create_python_function(lam, PROBE)
    seen = call(lam, name, action="family")
    assert seen == {"family": int(socket.AF_UNIX), "inheritable": False}
    # Many invocations on the one connection, in order, in the same environment.
    pids = {call(lam, name, n=n)["pid"] for n in range(50)}
    assert len(pids) == 1


def test_a_cut_pair_falls_back_to_tcp_in_the_same_environment(lam: Any) -> None:
    name = create_python_function(lam, PROBE)
    pid = call(lam, name)["pid"]
    assert call(lam, name, action="cut") == {"cut": True}
    for n in range(5):
        assert call(lam, name, n=n) == {"pid": pid, "n": n}
