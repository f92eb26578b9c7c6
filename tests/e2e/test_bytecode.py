"""A Python function's package is compiled to bytecode once, after its first environment
starts; later cold starts import the .pyc files (the package is read-only inside
environments, so the interpreter could not cache them itself)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

from support import ROLE, LaminaServer, make_zip, unique

HANDLER = """
import helper

def handler(event, context):
    if event.get("fail"):
        helper.explode()
    return helper.__cached__ is not None and __import__("os").path.exists(helper.__cached__)
"""

HELPER = """
def explode():
    raise ValueError("boom")
"""


def _pycs(server: LaminaServer, sha256_b64: str) -> list[Path]:
    tree = server.data_dir / "code" / base64.b64decode(sha256_b64).hex()
    return sorted(tree.glob("__pycache__/*.pyc"))


def test_package_is_compiled_once_and_later_cold_starts_use_it(
    lam: Any, server: LaminaServer
) -> None:
    name = unique()
    created = lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=ROLE,
        Handler="lambda_function.handler",
        Code={"ZipFile": make_zip({"lambda_function.py": HANDLER, "helper.py": HELPER})},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    first = lam.invoke(FunctionName=name, Payload=b"{}")
    assert json.loads(first["Payload"].read()) is False  # compiled in memory, no .pyc yet

    deadline = time.monotonic() + 30
    while len(_pycs(server, created["CodeSha256"])) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    names = [p.name for p in _pycs(server, created["CodeSha256"])]
    assert names == ["helper.cpython-311.pyc", "lambda_function.cpython-311.pyc"], names

    # A configuration change retires the environment: the next one is a cold start.
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"COLD": "1"}})
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    second = lam.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
    assert "Init Duration" in base64.b64decode(second["LogResult"]).decode()
    assert json.loads(second["Payload"].read()) is True  # imported from the .pyc

    # Tracebacks still name the source as the function sees it.
    failed = lam.invoke(FunctionName=name, Payload=json.dumps({"fail": True}).encode())
    error = json.loads(failed["Payload"].read())
    assert error["errorType"] == "ValueError"
    assert any("/var/task/helper.py" in frame for frame in error["stackTrace"]), error
