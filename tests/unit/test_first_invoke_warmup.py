"""What the first invoke after a server start no longer waits for: a runtime's spawner is
started when a function naming it is created or configured (and at start for the runtimes
in use), and the bytecode compiler runs after the cold start that asked for it, once per
tree and interpreter, even across restarts."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest

from lamina.domain.context import RequestContext
from lamina.domain.models import FunctionConfig
from lamina.runtime import bytecode
from lamina.runtime.bytecode import BytecodeCompiler
from lamina.wiring.warmup import warm_existing, warming_handlers

# --- runtimes warmed ahead ----------------------------------------------------------------


def run(call: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        return await call

    return asyncio.run(main())


def _handlers(calls: list[str]) -> dict[str, Any]:
    async def create(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        calls.append("create")
        if params.get("fail"):
            raise ValueError("refused")
        return {"Runtime": params.get("Runtime"), "FunctionName": "f"}

    async def invoke(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        calls.append("invoke")
        return {}

    return {"CreateFunction": create, "UpdateFunctionConfiguration": create, "Invoke": invoke}


def test_a_runtime_named_by_create_or_update_is_warmed_before_it_is_handled() -> None:
    calls: list[str] = []
    handlers = warming_handlers(_handlers(calls), lambda runtime: calls.append(f"warm {runtime}"))
    ctx: Any = None

    out = run(handlers["CreateFunction"](ctx, {"Runtime": "python3.12"}))
    assert out == {"Runtime": "python3.12", "FunctionName": "f"}  # the answer is unchanged
    run(handlers["UpdateFunctionConfiguration"](ctx, {"Runtime": "python3.13"}))
    run(handlers["UpdateFunctionConfiguration"](ctx, {"MemorySize": 256}))
    run(handlers["Invoke"](ctx, {"Runtime": "python3.12"}))
    assert calls == ["warm python3.12", "create", "warm python3.13", "create", "create", "invoke"]


def test_only_aws_runtime_names_are_warmed_and_errors_pass_through() -> None:
    calls: list[str] = []
    handlers = warming_handlers(_handlers(calls), lambda runtime: calls.append(f"warm {runtime}"))
    ctx: Any = None
    for bogus in ("python3.99999", "../python", 12):
        run(handlers["CreateFunction"](ctx, {"Runtime": bogus}))
    with pytest.raises(ValueError, match="refused"):
        run(handlers["CreateFunction"](ctx, {"Runtime": "python3.11", "fail": True}))
    assert calls == ["create", "create", "create", "warm python3.11", "create"]


def _config(runtime: str | None) -> Any:
    return type("Config", (), {"runtime": runtime})()  # only ``runtime`` is read


def test_the_runtimes_in_use_are_warmed_once_each() -> None:
    warmed: list[str | None] = []
    configs: list[FunctionConfig] = [
        _config(r) for r in ("python3.12", None, "python3.11", "python3.12")
    ]
    asyncio.run(warm_existing(lambda: configs, warmed.append))
    assert warmed == ["python3.11", "python3.12"]


# --- bytecode compiled after the cold start, once ------------------------------------------


class RecordingCompiler(BytecodeCompiler):
    """A compiler whose compilations are recorded, not run."""

    def __init__(self, scratch: Path, delay: float) -> None:
        super().__init__(scratch, threading.Lock(), "test-compile", delay=delay)
        self.compiled: list[tuple[Path, str]] = []

    def _compile(self, directory: Path, interpreter: str) -> None:
        self.compiled.append((directory, interpreter))


def test_compilation_starts_after_the_delay_once_per_tree(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()

    async def main() -> RecordingCompiler:
        compiler = RecordingCompiler(tmp_path, delay=0.05)
        compiler.ensure(tree, "/usr/bin/python3")
        compiler.ensure(tree, "/usr/bin/python3")
        await asyncio.sleep(0.01)
        assert compiler.compiled == []  # the cold start that asked runs alone
        await asyncio.sleep(0.1)
        await compiler.drain()
        return compiler

    assert asyncio.run(main()).compiled == [(tree, "/usr/bin/python3")]


def test_drain_starts_what_waits_and_close_drops_it(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()

    async def main() -> tuple[RecordingCompiler, RecordingCompiler]:
        drained = RecordingCompiler(tmp_path, delay=60)
        drained.ensure(tree, "/usr/bin/python3")
        await drained.drain()
        closed = RecordingCompiler(tmp_path, delay=0.01)
        closed.ensure(tree, "/usr/bin/python3")
        closed.close()
        await asyncio.sleep(0.05)
        return drained, closed

    drained, closed = asyncio.run(main())
    assert drained.compiled == [(tree, "/usr/bin/python3")]
    assert closed.compiled == []


def test_a_tree_marked_compiled_is_not_compiled_again(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "__pycache__").mkdir(parents=True)
    interpreter = "/usr/bin/python3"
    (tree / "__pycache__" / bytecode._marker_name(interpreter)).touch()
    compiler = BytecodeCompiler(tmp_path / "scratch", threading.Lock(), "test-compile")

    def no_output(scratch: Path) -> Path:
        raise AssertionError("compiled again")

    compiler._jail.output_dir = no_output  # type: ignore[method-assign,assignment]
    compiler._compile(tree, interpreter)  # returns at once: the marker is there


def test_the_marker_is_never_written_through_a_link(tmp_path: Path) -> None:
    tree, outside = tmp_path / "tree", tmp_path / "outside"
    (tree / "__pycache__").mkdir(parents=True)
    marker = tree / "__pycache__" / bytecode._marker_name("/usr/bin/python3")
    os.symlink(outside, marker)
    bytecode._create_marker(marker)
    assert not outside.exists()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(marker)
    bytecode._create_marker(marker)
    assert marker.is_file() and not marker.is_symlink()
