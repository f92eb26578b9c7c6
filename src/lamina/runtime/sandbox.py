"""Sandbox backends: where an environment's runtime process runs.

The seam is ``Sandbox.start(spec) -> SandboxHandle``. This module has the plain
process backend (a separate OS process in its own session, so the whole tree can be
signalled). The hardened backend (namespaces + cgroups) plugs in behind the same
interface.

A plain process is started by ``subprocess.Popen`` in a thread (a ``vfork``: a fraction of a
millisecond), not by the event loop's own spawn, a ``fork`` on the loop that copies the
server's page tables (5 to 15 ms, longer on a busy host) while every invocation waits. Its
exit is awaited through a pidfd (Linux 5.3+; elsewhere polled), without a thread per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
from dataclasses import dataclass
from typing import Protocol

from lamina.runtime import fd_ready

# A start (an environment set up until its runtime is released) that takes longer has
# failed: well under on-demand init's 10 s, and every start takes milliseconds normally.
START_DEADLINE_SECONDS = 5.0
# How often a plain process's exit is polled where the kernel has no pidfds.
EXIT_POLL_SECONDS = 0.05


class SandboxError(Exception):
    """An environment could not be set up (reported to the caller as ``Sandbox.Failure``)."""


@dataclass(frozen=True)
class SandboxSpec:
    env_id: str
    argv: list[str]
    env: dict[str, str]
    cwd: str
    memory_mb: int
    # Host directories: the unpacked package and the merged layers (if any).
    task_dir: str = ""
    opt_dir: str | None = None
    sdk_dir: str | None = None
    ephemeral_mb: int = 512
    network: str = "none"


class SandboxHandle(Protocol):
    pid: int
    # Read end of the pipe carrying the runtime's stdout and stderr.
    log_fd: int
    # Listening sockets created inside the environment's network namespace, if it has
    # one: "runtime_api" (the Runtime API at 127.0.0.1:9001) and "lamina_api".
    listeners: dict[str, socket.socket]
    # The environment's own uid (no other live environment has it), or None when
    # environments do not get distinct uids (plain processes run as the server's user).
    uid: int | None

    async def wait(self) -> int: ...

    def kill(self) -> None: ...

    def terminate(self) -> None: ...

    def max_memory_mb(self) -> int: ...

    def oom_killed(self) -> bool: ...

    def init_done(self) -> None:
        """The runtime finished its init (its first ``/next``): apply the steady-state limits."""
        ...

    def cpu_boost(self) -> float | None:
        """An invocation is delivered: give it its boosted CPU (``cpu_policy.py``,
        ``boost``). Returns the seconds after which ``cpu_settle`` is due if it still runs,
        or None when nothing will change. Cheap, never raises."""
        ...

    def cpu_settle(self) -> None:
        """The invocation outlived its boost window: its CPU share applies. Never raises."""
        ...

    def freeze(self) -> None: ...

    def thaw(self) -> None: ...

    def close(self) -> None: ...


class Sandbox(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def isolated_fs(self) -> bool:
        """Whether code sees /var/task and /opt (a private mount namespace), or host paths."""
        ...

    def runtime_api_address(self, network: str) -> str | None:
        """The fixed in-environment Runtime API address, or None: Lamina picks one."""
        ...

    async def start(self, spec: SandboxSpec) -> SandboxHandle: ...

    async def close(self) -> None: ...


class ProcessHandle:
    def __init__(self, process: subprocess.Popen[bytes], log_fd: int) -> None:
        self.process = process
        self.pid = process.pid
        self.log_fd = log_fd
        self.listeners: dict[str, socket.socket] = {}
        self.uid: int | None = None
        self._status_fd: int | None = None
        self._exit: asyncio.Future[int] | None = None

    async def wait(self) -> int:
        if self._exit is None:
            self._exit = asyncio.ensure_future(_exit_status(self.process))
        return await asyncio.shield(self._exit)

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

    def oom_killed(self) -> bool:
        return False

    def init_done(self) -> None:
        """Plain processes have no limits to apply."""

    def cpu_boost(self) -> float | None:
        """Plain processes have no CPU share."""
        return None

    def cpu_settle(self) -> None:
        """Plain processes have no CPU share."""

    def freeze(self) -> None:
        """Plain processes are not frozen between invocations."""

    def thaw(self) -> None:
        """Nothing to thaw."""

    def close(self) -> None:
        if self._status_fd is not None:
            os.close(self._status_fd)
            self._status_fd = None


class ProcessSandbox:
    """No isolation: the runtime is an ordinary child process of the server."""

    name = "process"
    isolated_fs = False

    def runtime_api_address(self, network: str) -> str | None:
        return None

    async def close(self) -> None:
        """Nothing to release."""

    async def start(self, spec: SandboxSpec) -> ProcessHandle:
        read_fd, write_fd = os.pipe()
        try:
            process = await asyncio.to_thread(
                subprocess.Popen,
                spec.argv,
                stdin=subprocess.DEVNULL,
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


async def _exit_status(process: subprocess.Popen[bytes]) -> int:
    """A child's exit status (negative: the signal that ended it), awaited through a pidfd,
    else polled every ``EXIT_POLL_SECONDS``."""
    try:
        pidfd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):  # no pidfds here, or the child is reaped already
        while (code := process.poll()) is None:
            await asyncio.sleep(EXIT_POLL_SECONDS)
        return code
    try:
        await fd_ready.readable(pidfd)  # a pidfd is readable once its process has exited
    finally:
        os.close(pidfd)
    return process.wait()
