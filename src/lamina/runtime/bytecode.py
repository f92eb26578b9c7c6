"""Compile a Python function's package and layers to bytecode once, in the background.

Inside an environment the package is read-only, so the interpreter cannot cache what it
compiles: without ``__pycache__`` in the package every cold start compiles every module it
imports again (on AWS too). The package tree and the merged layers tree never change once
unpacked (they are named by content), so Lamina compiles them once per interpreter,
off the request path, ``COMPILE_DELAY_SECONDS`` after the first environment of a function
is planned (so the compiler never competes with that cold start for the CPU); later cold
starts import the ``.pyc`` files. A tree compiled for an interpreter is marked so
(``__pycache__/.lamina-compiled-<interpreter hash>``) and not compiled again after a server
restart. ``unchecked-hash`` pycs are never compared with their source
(no ``stat`` per module): the trees are immutable. Tracebacks still name the source
(``/var/task/...``): the import system fixes ``co_filename`` up at load time.

The compiler is confined (``compile_jail``: a cgroup, a deadline, the unprivileged user) and
writes into a directory of its own; the ``.pyc`` files are moved into the tree afterwards,
under the tree lock and only if the tree is still the one compiled (not removed or
replaced meanwhile), so a deleted package is never brought back half-made.

Best effort: a package that does not compile (a syntax error, a bomb that exhausts the
compiler's memory or time) is imported from source as before; the failure is logged once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import shutil
import subprocess
import threading
from contextlib import AbstractContextManager
from pathlib import Path

from lamina.runtime.compile_jail import CompileJail, CompileResult

log = logging.getLogger("lamina.bytecode")

# How long after a tree is first asked for its compilation starts: the cold start that asked
# (one to a few tens of milliseconds) runs first, alone.
COMPILE_DELAY_SECONDS = 1.0
MARKER_PREFIX = ".lamina-compiled-"


class BytecodeCompiler:
    def __init__(
        self,
        scratch: Path,
        tree_lock: AbstractContextManager[object],
        cgroup_name: str,
        delay: float = COMPILE_DELAY_SECONDS,
    ) -> None:
        """``scratch``: where compilers write (on the trees' file system); ``tree_lock``: held
        while trees are created or removed (``CodeStore.lock``); ``delay``: seconds between
        a tree's first ``ensure`` and its compilation."""
        self._scratch = scratch
        self._tree_lock = tree_lock
        self._jail = CompileJail(cgroup_name)
        self._delay = delay
        # (directory, interpreter, tree identity) compiled or being compiled.
        self._started: set[tuple[str, str, tuple[int, int]]] = set()
        # Compilations waiting for their delay, by key (at most one per key of _started).
        self._delayed: dict[tuple[str, str, tuple[int, int]], asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Future[None]] = set()
        self._running: set[subprocess.Popen[bytes]] = set()
        self._running_lock = threading.Lock()
        self._closed = False

    def ensure(self, directory: Path | None, interpreter: str) -> None:
        """Compile ``directory`` for ``interpreter`` (after the delay, in a worker thread)
        unless that was done, started or scheduled. Never blocks the event loop for more
        than a ``stat``."""
        if directory is None or self._closed:
            return
        identity = _identity_or_none(directory)
        if identity is None:
            return
        # A tree unpacked again (deleted, then uploaded again) is compiled again.
        key = (str(directory), interpreter, identity)
        if key in self._started:
            return
        self._started.add(key)
        loop = asyncio.get_running_loop()
        self._delayed[key] = loop.call_later(self._delay, self._begin, key)

    def _begin(self, key: tuple[str, str, tuple[int, int]]) -> None:
        self._delayed.pop(key, None)
        if self._closed:
            return
        directory, interpreter, _ = key
        loop = asyncio.get_running_loop()
        task = loop.run_in_executor(None, self._compile, Path(directory), interpreter)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _compile(self, directory: Path, interpreter: str) -> None:
        marker = directory / "__pycache__" / _marker_name(interpreter)
        try:
            identity = _identity(directory)
            if marker.is_file():
                return  # compiled for this interpreter before the server restarted
            output = self._jail.output_dir(self._scratch)
        except OSError as exc:
            log.debug("not compiling %s: %s", directory, exc)
            return
        try:
            try:
                result = self._jail.compile(interpreter, directory, output, self._track)
            except OSError as exc:
                result = CompileResult(False, str(exc))
            if not result.ok and not self._closed:
                _log_failure(directory, interpreter, result)
            # compileall stops at nothing: what compiled before a failure is kept.
            self._install(directory, identity, output, marker if result.ok else None)
        finally:
            shutil.rmtree(output, ignore_errors=True)

    def _track(self, process: subprocess.Popen[bytes]) -> None:
        with self._running_lock:
            self._running = {p for p in self._running if p.poll() is None}
            self._running.add(process)
            if self._closed:
                process.kill()

    def _install(
        self, directory: Path, identity: tuple[int, int], output: Path, marker: Path | None
    ) -> None:
        """Move the compiled files into ``directory``'s ``__pycache__`` directories; then,
        when the whole tree compiled, create ``marker``."""
        mirror = output / str(directory).lstrip("/")
        if not mirror.is_dir():
            return
        top = os.path.realpath(directory)
        with self._tree_lock:
            if self._closed or _identity_or_none(directory) != identity:
                return  # removed (or replaced) while compiling
            self._move_compiled(directory, top, mirror)
            if marker is not None and os.path.realpath(marker.parent) == os.path.join(
                top, "__pycache__"
            ):
                _create_marker(marker)

    @staticmethod
    def _move_compiled(directory: Path, top: str, mirror: Path) -> None:
        """Move the ``.pyc`` files of ``mirror`` into the plain directories of the tree."""
        for current, _, files in os.walk(mirror):
            relative = os.path.relpath(current, mirror)
            source_dir = os.path.normpath(os.path.join(directory, relative))
            if os.path.realpath(source_dir) != os.path.normpath(os.path.join(top, relative)):
                continue  # not a plain directory of the tree
            cache = Path(source_dir) / "__pycache__"
            for name in files:
                compiled = Path(current) / name
                if not name.endswith(".pyc") or not compiled.is_file() or compiled.is_symlink():
                    continue
                with contextlib.suppress(OSError):
                    cache.mkdir(mode=0o755, exist_ok=True)
                    shutil.move(str(compiled), str(cache / name))
                    os.chmod(cache / name, 0o644)

    def close(self) -> None:
        """Stop compiling (server shutdown): what is half done is simply not used."""
        self._closed = True
        for handle in self._delayed.values():
            handle.cancel()
        self._delayed.clear()
        with self._running_lock:
            for process in list(self._running):
                with contextlib.suppress(OSError):
                    process.kill()
        self._jail.close()

    async def drain(self) -> None:
        """Start the compilations waiting for their delay, then wait for every compilation
        in progress (tests, shutdown)."""
        for key, handle in list(self._delayed.items()):
            handle.cancel()
            self._begin(key)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _identity(directory: Path) -> tuple[int, int]:
    st = os.stat(directory)
    return st.st_dev, st.st_ino


def _identity_or_none(directory: Path) -> tuple[int, int] | None:
    try:
        return _identity(directory)
    except OSError:
        return None


def _create_marker(marker: Path) -> None:
    """An empty file, never through a symbolic link (the package's own files are not
    trusted)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    with contextlib.suppress(OSError):
        marker.parent.mkdir(mode=0o755, exist_ok=True)
        os.close(os.open(marker, flags, 0o644))


def _marker_name(interpreter: str) -> str:
    """The marker of a tree compiled for ``interpreter`` (by its path: one marker per
    interpreter installation)."""
    return MARKER_PREFIX + hashlib.sha256(interpreter.encode()).hexdigest()[:16]


def _log_failure(directory: Path, interpreter: str, result: CompileResult) -> None:
    log.warning(
        "no bytecode for %s (%s): %s; it is imported from source",
        directory.name,
        os.path.basename(interpreter),
        result.reason,
    )
