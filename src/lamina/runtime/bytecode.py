"""Compile a Python function's package and layers to bytecode once, in the background.

Inside an environment the package is read-only, so the interpreter cannot cache what it
compiles: without ``__pycache__`` in the package every cold start compiles every module it
imports again (on AWS too). The package tree and the merged layers tree never change once
unpacked (they are named by content), so Lamina compiles them once per interpreter,
off the request path, after the first environment of a function starts; later cold starts
import the ``.pyc`` files. ``unchecked-hash`` pycs are never compared with their source
(no ``stat`` per module): the trees are immutable. Tracebacks still name the source
(``/var/task/...``): the import system fixes ``co_filename`` up at load time.

Best effort: a package that does not compile (a syntax error) is imported as before and
reports its error as before.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger("lamina.bytecode")

COMPILE_TIMEOUT_SECONDS = 600


class BytecodeCompiler:
    def __init__(self) -> None:
        # (directory, interpreter) pairs compiled or being compiled.
        self._started: set[tuple[str, str]] = set()
        self._tasks: set[asyncio.Future[None]] = set()
        self._running: set[subprocess.Popen[bytes]] = set()
        self._closed = False
        self._nice = shutil.which("nice")

    def ensure(self, directory: Path | None, interpreter: str) -> None:
        """Compile ``directory`` for ``interpreter`` unless that was done (or started)."""
        if directory is None or self._closed:
            return
        key = (str(directory), interpreter)
        if key in self._started:
            return
        self._started.add(key)
        loop = asyncio.get_running_loop()
        task = loop.run_in_executor(None, self._compile, directory, interpreter)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _compile(self, directory: Path, interpreter: str) -> None:
        command = [
            interpreter,
            "-I",
            "-m",
            "compileall",
            "-q",
            "-j",
            "1",
            "--invalidation-mode",
            "unchecked-hash",
            str(directory),
        ]
        if self._nice:
            command = [self._nice, "-n", "10", *command]
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError as exc:
            log.debug("compiling %s with %s: %s", directory, interpreter, exc)
            return
        self._running.add(process)
        try:
            process.wait(timeout=COMPILE_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        finally:
            self._running.discard(process)

    def close(self) -> None:
        """Stop compiling (server shutdown): what is half done is simply not used."""
        self._closed = True
        for process in list(self._running):
            process.kill()

    async def drain(self) -> None:
        """Wait for the compilations in progress (tests, shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
