"""Sandbox backends: where an environment's runtime process runs.

The seam is ``Sandbox.start(spec) -> SandboxHandle``. This module has the plain
process backend (a separate OS process in its own session, so the whole tree can be
signalled). The hardened backend (namespaces + cgroups) plugs in behind the same
interface.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SandboxSpec:
    argv: list[str]
    env: dict[str, str]
    cwd: str
    memory_mb: int


class SandboxHandle(Protocol):
    pid: int
    # Read end of the pipe carrying the runtime's stdout and stderr.
    log_fd: int

    async def wait(self) -> int: ...

    def kill(self) -> None: ...

    def terminate(self) -> None: ...

    def max_memory_mb(self) -> int: ...

    def close(self) -> None: ...


class Sandbox(Protocol):
    name: str

    async def start(self, spec: SandboxSpec) -> SandboxHandle: ...


class ProcessHandle:
    def __init__(self, process: asyncio.subprocess.Process, log_fd: int) -> None:
        self.process = process
        self.pid = process.pid
        self.log_fd = log_fd
        self._status_fd: int | None = None

    async def wait(self) -> int:
        return await self.process.wait()

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def kill(self) -> None:
        self._signal_group(signal.SIGKILL)

    def terminate(self) -> None:
        self._signal_group(signal.SIGTERM)

    def max_memory_mb(self) -> int:
        """Peak resident memory of the runtime process (VmHWM), in MB.

        Read on every invocation for the REPORT line, so the status file stays open.
        """
        try:
            if self._status_fd is None:
                self._status_fd = os.open(f"/proc/{self.pid}/status", os.O_RDONLY)
            status = os.pread(self._status_fd, 4096, 0)
        except OSError:
            return 0
        start = status.find(b"VmHWM:")
        if start < 0:
            return 0
        kilobytes = int(status[start + 6 : status.index(b"kB", start)])
        return max(1, -(-kilobytes // 1024))

    def close(self) -> None:
        if self._status_fd is not None:
            os.close(self._status_fd)
            self._status_fd = None


class ProcessSandbox:
    """No isolation: the runtime is an ordinary child process of the server."""

    name = "process"

    async def start(self, spec: SandboxSpec) -> ProcessHandle:
        read_fd, write_fd = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                *spec.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=write_fd,
                stderr=write_fd,
                env=spec.env,
                cwd=spec.cwd,
                start_new_session=True,
                close_fds=True,
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        os.set_blocking(read_fd, False)
        return ProcessHandle(process, read_fd)
