"""The server's side of a spawner process (``lamina/runtimes/spawner.py``).

One spawner per Python interpreter in use. The server asks it for prepared inits over a
SOCK_SEQPACKET socket (JSON messages, file descriptors by SCM_RIGHTS) and learns from it
when an init exits; the protocol is described in the spawner's docstring.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
from typing import Any

from lamina.runtime.launch import RUNTIMES_DIR
from lamina.runtime.sandbox import SandboxError

SPAWNER = RUNTIMES_DIR / "spawner.py"
MAX_MESSAGE = 65536


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
        self._send_lock = asyncio.Lock()
        # Concurrent first requests must not start two spawner processes.
        self._start_lock = asyncio.Lock()

    async def start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv = [self.interpreter, "-I", "-S", str(SPAWNER), str(theirs.fileno())]
        if self.preload_python:
            argv.append("--preload-python")
        self._process = await asyncio.create_subprocess_exec(
            *argv, pass_fds=[theirs.fileno()], stdin=asyncio.subprocess.DEVNULL
        )
        theirs.close()
        ours.setblocking(False)
        self._sock = ours
        asyncio.get_running_loop().add_reader(ours.fileno(), self._on_message)

    def _on_message(self) -> None:
        assert self._sock is not None
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
            elif op == "exit":
                self.exit_future(int(message["pid"])).set_result(int(message["returncode"]))
            for fd in fds:
                os.close(fd)

    def _on_lost(self) -> None:
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        for pending in self._pending.values():
            if not pending.done():
                pending.set_exception(SandboxUnavailable("the spawner exited"))
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
        self._exits.pop(pid, None)

    async def _request(self, message: dict[str, Any]) -> tuple[int, socket.socket]:
        if self._sock is None:
            async with self._start_lock:
                if self._sock is None:
                    await self.start()
        assert self._sock is not None
        self._next_id += 1
        message["id"] = self._next_id
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[int, socket.socket]] = loop.create_future()
        self._pending[self._next_id] = future
        await self._send(json.dumps(message).encode(), [])
        return await future

    async def _send(self, data: bytes, fds: list[int]) -> None:
        """Send one message, waiting for room when a burst of spawns fills the socket.

        One sender at a time: a file descriptor has a single writer callback, so
        concurrent waiters would replace each other's and be left waiting forever."""
        loop = asyncio.get_running_loop()
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
                    await _writable(loop, self._sock.fileno())

    async def prepare(
        self, network: str, root: str, ro_binds: list[list[str]], ports: list[int]
    ) -> tuple[int, socket.socket]:
        """An init in new namespaces, its root's shared part mounted and its listeners
        open, waiting for a spec (see spawner.py); its pid and its control socket."""
        message = {
            "op": "prepare",
            "network": network,
            "root": root,
            "ro_binds": ro_binds,
            "ports": ports,
        }
        return await self._request(message)

    async def close(self) -> None:
        """Closing the socket tells the spawner to kill and reap everything it started."""
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        if self._process is not None and self._process.returncode is None:
            try:
                await asyncio.wait_for(self._process.wait(), 5)
            except asyncio.TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self._process.kill()
                await self._process.wait()


async def send_message(sock: socket.socket, message: dict[str, Any], fds: list[int]) -> None:
    data = json.dumps(message).encode()
    loop = asyncio.get_running_loop()
    while True:
        try:
            socket.send_fds(sock, [data], fds)
            return
        except BlockingIOError:
            await _writable(loop, sock.fileno())


async def _writable(loop: asyncio.AbstractEventLoop, fileno: int) -> None:
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_writer(fileno, wake)
    try:
        await ready
    finally:
        loop.remove_writer(fileno)
