"""The isolated sandbox's side of what a function sees: the wrapper in front of a runtime's
command, the interpreter at /var/lang, and the image files AWS's runtimes have."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lamina.runtime import linux_sandbox
from lamina.runtime.sandbox import SandboxSpec
from lamina.runtimes import lamina_sandbox_fs, spawner

BOOTSTRAP = "/var/runtime/lamina/python/bootstrap.py"


def spec(argv: list[str], env: dict[str, str] | None = None) -> SandboxSpec:
    return SandboxSpec(env_id="e", argv=argv, env=env or {}, cwd="/var/task", memory_mb=128)


def test_runtime_argv_drops_only_the_wrapper() -> None:
    python = ["/usr/bin/python3.12", "-I", "-S", BOOTSTRAP]
    wrapped = spec(["/var/task/wrap", *python], {"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/wrap"})
    assert linux_sandbox._runtime_argv(wrapped) == python
    plain = spec(python, {"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/wrap"})
    assert linux_sandbox._runtime_argv(plain) == python  # argv[0] is not the wrapper


def test_a_wrapped_python_runtime_execs_from_its_interpreters_spawner() -> None:
    sandbox = linux_sandbox.LinuxSandbox(None, Path("/nonexistent"), [])
    python = [sys.executable, "-I", "-S", BOOTSTRAP]
    forked, mode = sandbox._spawner_for(spec(python))
    assert (forked.interpreter, mode) == (sys.executable, "python")
    env = {"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/wrap"}
    wrapped, mode = sandbox._spawner_for(spec(["/var/task/wrap", *python], env))
    assert (wrapped, mode) == (forked, "exec")


def test_interpreter_at_var_lang() -> None:
    real = os.path.realpath(sys.executable)
    name = os.path.basename(real)
    assert linux_sandbox._lang_python(sys.executable) == f"/var/lang/bin/{name}"
    assert linux_sandbox._installation_prefix(sys.executable) == os.path.dirname(
        os.path.dirname(real)
    )
    assert linux_sandbox._lang_python("/usr/bin/node") is None


def test_spawner_names_its_installation_var_lang() -> None:
    prefix = os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))
    entries = [f"{prefix}/lib/python3.X", "/elsewhere", prefix + "x/lib"]
    renamed = spawner.lang_sys_path(entries)  # type: ignore[no-untyped-call]
    assert renamed == ["/var/lang/lib/python3.X", "/elsewhere", prefix + "x/lib"]
    major, minor = sys.version_info[:2]
    assert spawner.LANG_PYTHON[0] == f"/var/lang/bin/python{major}.{minor}"


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_image_scripts_are_valid_shell() -> None:
    bootstrap = lamina_sandbox_fs.BOOTSTRAP % {"version": "3.12"}
    assert "/var/lang/bin/python3.12 -I -S \\\n" in bootstrap
    for script in (lamina_sandbox_fs.ENTRYPOINT, bootstrap):
        assert subprocess.run(["bash", "-n"], input=script.encode()).returncode == 0
    # The entry point refuses anything but one argument, as AWS's does.
    ran = subprocess.run(["sh", "-c", lamina_sandbox_fs.ENTRYPOINT, "sh"], capture_output=True)
    assert ran.returncode == 142
