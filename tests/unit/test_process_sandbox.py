"""The plain process sandbox (``runtime.sandbox``): started off the event loop, its output on
the handle's pipe, its exit awaited without a thread (a pidfd, else polling)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from typing import Any

import pytest

from lamina.runtime.sandbox import ProcessHandle, ProcessSandbox, SandboxSpec


def _spec(code: str) -> SandboxSpec:
    return SandboxSpec(
        env_id="e1",
        argv=[sys.executable, "-c", code],
        env={"PATH": os.environ.get("PATH", "")},
        cwd="/",
        memory_mb=128,
    )


def _output(handle: ProcessHandle) -> bytes:
    os.set_blocking(handle.log_fd, True)
    chunks = []
    while chunk := os.read(handle.log_fd, 4096):
        chunks.append(chunk)
    os.close(handle.log_fd)
    return b"".join(chunks)


def test_a_process_starts_off_the_loop_and_its_exit_status_is_awaited() -> None:
    spawned_on: list[threading.Thread] = []
    real_popen = subprocess.Popen

    def recording_popen(*args: Any, **kwargs: Any) -> Any:
        spawned_on.append(threading.current_thread())
        return real_popen(*args, **kwargs)

    async def run() -> tuple[int, ProcessHandle]:
        code = "import sys; print('out', flush=True); print('err', file=sys.stderr); sys.exit(3)"
        handle = await ProcessSandbox().start(_spec(code))
        return await handle.wait(), handle

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(subprocess, "Popen", recording_popen)
        code, handle = asyncio.run(run())
    assert code == 3
    assert spawned_on and spawned_on[0] is not threading.main_thread()
    assert _output(handle).split() == [b"out", b"err"]
    assert os.getsid(0) != handle.pid  # its own session: its whole tree can be signalled


def test_a_killed_process_reports_its_signal_to_every_waiter() -> None:
    async def run() -> list[int]:
        handle = await ProcessSandbox().start(_spec("import time; time.sleep(60)"))
        waiters = [asyncio.ensure_future(handle.wait()) for _ in range(3)]
        await asyncio.sleep(0.05)
        handle.kill()
        codes = list(await asyncio.gather(*waiters))
        codes.append(await handle.wait())  # and again, once it is over
        os.close(handle.log_fd)
        return codes

    assert asyncio.run(run()) == [-signal.SIGKILL] * 4


def test_without_pidfds_the_exit_is_polled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "pidfd_open", raising=False)

    async def run() -> int:
        handle = await ProcessSandbox().start(_spec("import time; time.sleep(0.1)"))
        code = await handle.wait()
        os.close(handle.log_fd)
        return code

    assert asyncio.run(run()) == 0


def test_a_program_that_cannot_start_leaves_no_descriptor_open() -> None:
    before = set(os.listdir("/proc/self/fd"))
    spec = _spec("")
    spec.argv[0] = "/nonexistent/python"

    async def run() -> None:
        await ProcessSandbox().start(spec)

    with pytest.raises(FileNotFoundError):
        asyncio.run(run())
    assert set(os.listdir("/proc/self/fd")) <= before
