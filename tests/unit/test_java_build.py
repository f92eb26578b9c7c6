"""The Java runtime's build cache (``runtime/java_build.py``): compiled once per JDK, complete
or absent, one build however many ask for it at once, and environments that wait for it
without blocking the event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest

from lamina.runtime import java_build
from lamina.runtime.java import RUNTIME_JAR, Jdk, installed_jdks
from lamina.runtime.java_build import JavaBuilds, JavaGate, gated
from lamina.runtime.sandbox import SandboxError, SandboxHandle, SandboxSpec


def host_jdk() -> Jdk:
    jdks = [jdk for jdk in installed_jdks() if jdk.major >= 17]
    if shutil.which("javac") is None or not jdks:
        pytest.skip("no JDK on this host (CI installs Debian's)")
    return jdks[0]


def test_concurrent_builds_compile_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jdk = host_jdk()
    builds = JavaBuilds(tmp_path / "cache")
    root = builds.root(jdk)
    compiled: list[Path] = []
    real_compile = java_build._compile_into

    def counting(jdk: Jdk, staging: Path) -> None:
        compiled.append(staging)
        real_compile(jdk, staging)

    monkeypatch.setattr(java_build, "_compile_into", counting)
    # Two builders of their own (as two servers would be) and one shared by two callers.
    other = JavaBuilds(tmp_path / "cache")
    barrier = threading.Barrier(2)

    def build_alone() -> None:
        barrier.wait()
        java_build.build(jdk, root)

    thread = threading.Thread(target=build_alone)
    thread.start()
    barrier.wait()
    monkeypatch.setattr(java_build, "jdk_for_runtime", lambda runtime: jdk)
    first = builds.ensure("java17")
    second = builds.ensure("java17")
    assert first is not None and second is not None
    assert first.result(timeout=300) == root
    assert second.result(timeout=300) == root
    thread.join()
    assert other.ensure("java17") is not None
    assert len(compiled) == 1
    with zipfile.ZipFile(root / RUNTIME_JAR) as jar:
        names = jar.namelist()
    assert "lamina/runtime/Bootstrap.class" in names
    assert "com/amazonaws/services/lambda/runtime/RequestHandler.class" in names
    assert (root / RUNTIME_JAR).stat().st_mode & 0o777 == 0o644
    assert [p.name for p in root.parent.iterdir() if p.name.startswith(".staging")] == []


def test_root_names_the_jdk_and_the_sources(tmp_path: Path) -> None:
    builds = JavaBuilds(tmp_path)
    a = builds.root(Jdk("/jdk/a", 17, "17.0.1"))
    assert a == builds.root(Jdk("/jdk/a", 17, "17.0.1"))
    assert a != builds.root(Jdk("/jdk/a", 17, "17.0.2"))
    assert a.name.startswith("17-") and a.parent == tmp_path


class FakeSandbox:
    name = "fake"
    isolated_fs = True

    def __init__(self) -> None:
        self.started: list[SandboxSpec] = []

    def runtime_api_address(self, network: str) -> str | None:
        return None

    async def start(self, spec: SandboxSpec) -> SandboxHandle:
        self.started.append(spec)
        handle: Any = object()
        return handle  # type: ignore[no-any-return]

    async def close(self) -> None:
        return None


class PendingBuilds(JavaBuilds):
    def __init__(self) -> None:
        super().__init__(Path("/nonexistent"))
        self.future: concurrent.futures.Future[Path] = concurrent.futures.Future()

    def ensure(self, runtime: str) -> concurrent.futures.Future[Path] | None:
        return self.future


SPEC = SandboxSpec(env_id="e", argv=["java"], env={}, cwd="/", memory_mb=128)


def test_gate_starts_once_built_and_the_loop_runs_meanwhile() -> None:
    inner, builds = FakeSandbox(), PendingBuilds()
    gate = gated(inner, builds, "java17")
    assert isinstance(gate, JavaGate) and gate.isolated_fs and gate.name == "fake"

    async def scenario() -> None:
        start = asyncio.ensure_future(gate.start(SPEC))
        for _ in range(5):
            await asyncio.sleep(0)  # the loop keeps running while the build goes on
        assert not start.done() and inner.started == []
        builds.future.set_result(Path("/built"))
        await asyncio.wait_for(start, 5)
        assert inner.started == [SPEC]

    asyncio.run(scenario())


def test_failed_build_is_a_sandbox_error() -> None:
    inner, builds = FakeSandbox(), PendingBuilds()
    builds.future.set_exception(RuntimeError("javac failed: boom"))
    with pytest.raises(SandboxError, match="could not be compiled: javac failed: boom"):
        asyncio.run(gated(inner, builds, "java11").start(SPEC))
    assert inner.started == []


def test_other_runtimes_are_not_gated() -> None:
    inner = FakeSandbox()
    assert gated(inner, PendingBuilds(), "python3.12") is inner
    assert gated(inner, PendingBuilds(), None) is inner
