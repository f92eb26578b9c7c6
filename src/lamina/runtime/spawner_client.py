"""The server's side of a spawner process (``lamina/runtimes/spawner.py``).

One spawner per Python interpreter in use. The server asks it for prepared inits over a
SOCK_SEQPACKET socket (JSON messages, file descriptors by SCM_RIGHTS) and learns from it
when an init exits; the protocol is described in the spawner's docstring.

A spawner runs in a session of its own, away from the server's terminal, with its
output logged. One that leaves requests unanswered for ``SILENCE_LIMIT_SECONDS``
(stopped, deadlocked) is killed, with every environment it started, and the next request
starts a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
from typing import Any

from lamina.runtime import fd_ready
from lamina.runtime.ephemeral import TmpDisk
from lamina.runtime.launch import RUNTIMES_DIR
from lamina.runtime.sandbox import SandboxError

SPAWNER = RUNTIMES_DIR / "spawner.py"
MAX_MESSAGE = 65536
# A spawner with requests pending that says nothing for this long is hung. It answers in
# milliseconds, and a burst of requests keeps it talking (one answer each).
SILENCE_LIMIT_SECONDS = 3.0
WATCH_INTERVAL_SECONDS = 0.5
# Starting one (an interpreter that preloads the Python runtime) is slower, above all on
# a busy host: it has this long to say it serves.
STARTUP_LIMIT_SECONDS = 30.0

log = logging.getLogger("lamina.sandbox")


class SandboxUnavailable(SandboxError):
    """Isolation cannot be used on this host, or an environment could not be set up."""


async def receive(sock: socket.socket) -> tuple[dict[str, Any] | None, list[int]]:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[tuple[bytes, list[int]]] = loop.create_future()

    def readable() -> None:
        try:
            data, fds, _flags, _addr = socket.recv_fds(sock, MAX_MESSAGE, 8)
        except BlockingIOError:
            return
        except OSError as exc:
            loop.remove_reader(sock.fileno())
            if not future.done():
                future.set_exception(exc)
            return
        loop.remove_reader(sock.fileno())
        if not future.done():
            future.set_result((data, fds))

    loop.add_reader(sock.fileno(), readable)
    try:
        data, fds = await future
    finally:
        with contextlib.suppress(ValueError, OSError):
            loop.remove_reader(sock.fileno())
    return (json.loads(data) if data else None), fds


class Spawner:
    """One spawner process and the messages it sends back."""

    def __init__(self, interpreter: str, preload_python: bool) -> None:
        self.interpreter = interpreter
        self.preload_python = preload_python
        self._sock: socket.socket | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._pending: dict[int, asyncio.Future[tuple[int, socket.socket]]] = {}
        self._exits: dict[int, asyncio.Future[int]] = {}
        self._next_id = 0
        # Changes whenever the spawner process is lost: the inits it started went with it.
        self.generation = 0
        self._last_heard = 0.0
        self._watchdog: asyncio.TimerHandle | None = None
        self._output: asyncio.Task[None] | None = None
        self._serving: asyncio.Future[None] | None = None
        self._send_lock = asyncio.Lock()
        # Concurrent first requests must not start two spawner processes.
        self._start_lock = asyncio.Lock()

    async def start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv = [self.interpreter, "-I", "-S", str(SPAWNER), str(theirs.fileno())]
        if self.preload_python:
            argv.append("--preload-python")
        # Its own session, no terminal on any fd: nothing it forks can reach the server's.
        self._process = await asyncio.create_subprocess_exec(
            *argv,
            pass_fds=[theirs.fileno()],
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        self._output = asyncio.ensure_future(_log_output(self._process.pid, self._process.stderr))
        self._serving = asyncio.get_running_loop().create_future()
        self._serving.add_done_callback(lambda f: f.cancelled() or f.exception())
        theirs.close()
        ours.setblocking(False)
        self._sock = ours
        asyncio.get_running_loop().add_reader(ours.fileno(), self._on_message)

    def _on_message(self) -> None:
        assert self._sock is not None
        self._last_heard = asyncio.get_running_loop().time()
        while True:
            try:
                data, fds, _flags, _addr = socket.recv_fds(self._sock, MAX_MESSAGE, 8)
            except BlockingIOError:
                return
            except OSError:
                data, fds = b"", []
            if not data:
                for fd in fds:
                    os.close(fd)
                self._on_lost()
                return
            message = json.loads(data)
            op = message.get("op")
            future = self._pending.pop(message["id"], None) if "id" in message else None
            if op == "prepared" and len(fds) == 1:
                control = socket.socket(fileno=fds.pop())
                control.setblocking(False)
                if future is not None and not future.done():
                    future.set_result((int(message["pid"]), control))
                else:
                    control.close()
            elif op in ("failed", "prepared"):
                if future is not None and not future.done():
                    error = message.get("error", "the spawner sent no control socket")
                    future.set_exception(SandboxUnavailable(error))
            elif op == "serving":
                if self._serving is not None and not self._serving.done():
                    self._serving.set_result(None)
            elif op == "exit":
                ended = self.exit_future(int(message["pid"]))
                if not ended.done():
                    ended.set_result(int(message["returncode"]))
            for fd in fds:
                os.close(fd)

    def _on_lost(self, reason: str = "the spawner exited") -> None:
        self.generation += 1
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        if self._serving is not None and not self._serving.done():
            self._serving.set_exception(SandboxUnavailable(reason))
        for pending in self._pending.values():
            if not pending.done():
                pending.set_exception(SandboxUnavailable(reason))
        for ended in self._exits.values():
            if not ended.done():
                ended.set_result(-signal.SIGKILL)

    def exit_future(self, pid: int) -> asyncio.Future[int]:
        future = self._exits.get(pid)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._exits[pid] = future
        return future

    def forget(self, pid: int) -> None:
        """Stop tracking an init; one still running is forgotten once its exit arrives
        (callbacks added to its ``exit_future`` still run)."""
        future = self._exits.get(pid)
        if future is None or future.done():
            self._exits.pop(pid, None)
            return

        def drop(_: asyncio.Future[int]) -> None:
            if self._exits.get(pid) is future:
                del self._exits[pid]

        future.add_done_callback(drop)

    def _watch(self) -> None:
        if self._watchdog is None:
            loop = asyncio.get_running_loop()
            self._watchdog = loop.call_later(WATCH_INTERVAL_SECONDS, self._check_silence)

    def _check_silence(self) -> None:
        self._watchdog = None
        if not self._pending or self._sock is None:
            return
        silent = asyncio.get_running_loop().time() - self._last_heard
        if silent < SILENCE_LIMIT_SECONDS:
            self._watch()
            return
        self._replace(f"did not answer for {SILENCE_LIMIT_SECONDS:g} s")

    def _replace(self, what: str) -> None:
        """Kill a hung spawner (SIGKILL ends a stopped one too) and everything it started;
        the next request starts a new one."""
        process = self._process
        log.error(
            "the environment spawner (pid %s) %s: killed, with the environments it started; "
            "a new one starts with the next environment",
            process.pid if process is not None else None,
            what,
        )
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        self._on_lost(f"the environment spawner {what} and was replaced")

    async def ready(self) -> None:
        """Start the spawner process if none runs, and wait until it serves."""
        if self._sock is None:
            async with self._start_lock:
                if self._sock is None:
                    await self.start()
        assert self._serving is not None
        serving = self._serving
        if serving.done():
            return serving.result()
        try:
            await asyncio.wait_for(asyncio.shield(serving), STARTUP_LIMIT_SECONDS)
        except asyncio.TimeoutError:
            if self._serving is serving:
                self._replace(f"did not start within {STARTUP_LIMIT_SECONDS:g} s")
            raise SandboxUnavailable("the environment spawner did not start") from None

    async def _request(self, message: dict[str, Any]) -> tuple[int, socket.socket]:
        await self.ready()
        if self._sock is None:  # lost meanwhile
            raise SandboxUnavailable("the spawner exited")
        self._next_id += 1
        request_id = message["id"] = self._next_id
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[int, socket.socket]] = loop.create_future()
        if not self._pending:
            self._last_heard = loop.time()  # idle until now: silence counts from here
        self._pending[request_id] = future
        self._watch()
        try:
            await self._send(json.dumps(message).encode(), [])
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled() and future.exception() is None:
                future.result()[1].close()  # the init sees its control socket close: it ends
            raise
        finally:
            self._pending.pop(request_id, None)

    async def _send(self, data: bytes, fds: list[int]) -> None:
        """Send one message, waiting for room when a burst of spawns fills the socket.

        One sender at a time: a file descriptor has a single writer callback, so
        concurrent waiters would replace each other's and be left waiting forever."""
        async with self._send_lock:
            while True:
                assert self._sock is not None
                try:
                    if fds:
                        socket.send_fds(self._sock, [data], fds)
                    else:
                        self._sock.send(data)
                    return
                except BlockingIOError:
                    await fd_ready.writable(self._sock.fileno())

    async def prepare(
        self,
        network: str,
        root: str,
        ro_binds: list[list[str]],
        ports: list[int],
        tmp_disk: TmpDisk | None = None,
    ) -> tuple[int, socket.socket]:
        """An init in new namespaces, its root's shared part (and with ``tmp_disk`` its
        /tmp) mounted and its listeners open, waiting for a spec (see spawner.py); its pid
        and its control socket."""
        message: dict[str, Any] = {
            "op": "prepare",
            "network": network,
            "root": root,
            "ro_binds": ro_binds,
            "ports": ports,
        }
        if tmp_disk is not None:
            message["tmp_disk"] = tmp_disk
        return await self._request(message)

    async def close(self) -> None:
        """Closing the socket tells the spawner to kill and reap everything it started."""
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._process is not None and self._process.returncode is None:
            try:
                await asyncio.wait_for(self._process.wait(), 5)
            except asyncio.TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self._process.kill()
                await self._process.wait()
        if self._output is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._output, 1)


async def _log_output(pid: int, stream: asyncio.StreamReader | None) -> None:
    """Whatever a spawner writes (a traceback if it crashes) goes to the server's log."""
    if stream is None:
        return
    while True:
        chunk = await stream.read(MAX_MESSAGE)
        if not chunk:
            return
        for line in chunk.decode(errors="replace").splitlines():
            log.warning("spawner %d: %s", pid, line)


async def send_message(sock: socket.socket, message: dict[str, Any], fds: list[int]) -> None:
    data = json.dumps(message).encode()
    while True:
        try:
            socket.send_fds(sock, [data], fds)
            return
        except BlockingIOError:
            await fd_ready.writable(sock.fileno())
