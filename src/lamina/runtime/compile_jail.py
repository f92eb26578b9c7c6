"""Run ``compileall`` on an untrusted package without trusting it.

Compiling a tiny source can take gigabytes (``X = [1, 1, …]`` with millions of items), so
with root and Linux the compiler runs:

- inside a cgroup of its own (memory, CPU share, process count) and with a deadline;
- as an unprivileged user of its own (``COMPILER_UID``), in a private mount namespace
  where the host's ``/tmp`` is hidden and only what it needs is reachable: the
  interpreter's prefix and the package (read-only) and an output directory it owns
  (the data directory is 0700: the directories the user may not traverse are covered by
  a tmpfs that holds just those paths, bound from descriptors opened before);
- with ``sys.pycache_prefix`` pointing at the output directory: it writes nothing into
  the package; the server moves the ``.pyc`` files in afterwards (``bytecode.py``).

Without root (plain-process mode) it runs as the server's user under an address-space
rlimit. Any failure only means no bytecode.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from lamina.runtime.cgroups import Cgroups, EnvironmentCgroup, Limits
from lamina.runtimes import lamina_sandbox_fs as fs

log = logging.getLogger("lamina.bytecode")

# The sandbox's mount helpers (standard-library code shared with the spawner), typed.
_mount = cast(Callable[[str | None, str, str | None, int, str | None], None], fs.mount)
_unshare = cast(Callable[[int], None], fs.unshare)

MEMORY_LIMIT_BYTES = 256 * 1024 * 1024
CPU_FRACTION = 0.5
PIDS_MAX = 16
TIMEOUT_SECONDS = 120.0
# Without cgroups: the address space (more than the memory: interpreters map more than
# they touch).
ADDRESS_SPACE_BYTES = 1024 * 1024 * 1024
# compileall with the output redirected (``pycache_prefix``) only once the compiler's own
# modules are imported: they keep using the standard library's bytecode. Python 3.8+.
COMPILE_SCRIPT = (
    "import compileall, py_compile, sys\n"
    "output, tree = sys.argv[1:]\n"
    "sys.pycache_prefix = output\n"
    "mode = py_compile.PycInvalidationMode.UNCHECKED_HASH\n"
    "sys.exit(0 if compileall.compile_dir(tree, quiet=1, invalidation_mode=mode) else 1)\n"
)
# A user of its own, no environment's (those are taken from 200000 up).
COMPILER_UID = COMPILER_GID = 199_999


@dataclass(frozen=True)
class CompileResult:
    ok: bool
    reason: str = ""


def can_confine() -> bool:
    return sys.platform.startswith("linux") and os.geteuid() == 0


class CompileJail:
    """Runs compilations confined; one cgroup parent (``lamina-<name>``) for all of them."""

    def __init__(self, cgroup_name: str) -> None:
        self._cgroup_name = cgroup_name
        self._cgroups: Cgroups | None = None
        self._detected = False
        self.confined = can_confine()

    def _groups(self) -> Cgroups | None:
        if not self._detected:
            self._detected = True
            found = Cgroups.detect(self._cgroup_name) if self.confined else None
            if isinstance(found, Cgroups):
                with contextlib.suppress(OSError):
                    found.cleanup()  # groups a crashed server left; made again on use
                self._cgroups = found
            elif found is not None:
                log.warning("bytecode compilation runs without a cgroup: %s", found)
        return self._cgroups

    def output_dir(self, parent: Path) -> Path:
        """A fresh directory the compiler may write (owned by its user)."""
        out = parent / f".compile-{uuid.uuid4().hex[:12]}"
        out.mkdir(mode=0o700)
        if self.confined:
            os.chown(out, COMPILER_UID, COMPILER_GID)
        return out

    def compile(
        self,
        interpreter: str,
        tree: Path,
        output: Path,
        on_start: Callable[[subprocess.Popen[bytes]], None] | None = None,
    ) -> CompileResult:
        executable = os.path.realpath(interpreter)
        command = [executable, "-I", "-c", COMPILE_SCRIPT, str(output), str(tree)]
        if not self.confined:
            return _run(command, _limit_address_space, on_start)
        groups = self._groups()
        try:
            group = groups.create(f"compile-{uuid.uuid4().hex[:12]}", _LIMITS) if groups else None
        except (OSError, ValueError) as exc:
            return CompileResult(False, f"no cgroup for the compiler: {exc}")
        prefix = os.path.dirname(os.path.dirname(executable))
        plan = _RevealPlan([(prefix, True), (str(tree), True), (str(output), False)])
        cgroup_procs = _procs_files(group)
        try:
            result = _run(command, lambda: _enter_jail(cgroup_procs, plan), on_start)
            if not result.ok and group is not None and _oom_killed(group):
                result = CompileResult(False, "out of memory")
            return result
        finally:
            if group is not None:
                with contextlib.suppress(OSError):
                    group.remove()

    def close(self) -> None:
        if self._cgroups is not None:
            with contextlib.suppress(OSError):
                self._cgroups.cleanup()


_LIMITS = Limits(MEMORY_LIMIT_BYTES, CPU_FRACTION, PIDS_MAX)


def _run(
    command: list[str],
    preexec: Callable[[], None],
    on_start: Callable[[subprocess.Popen[bytes]], None] | None,
) -> CompileResult:
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd="/",
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            preexec_fn=preexec,  # noqa: PLW1509 - only os calls before exec
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return CompileResult(False, f"could not start: {exc}")
    if on_start is not None:
        on_start(process)
    try:
        _, stderr = process.communicate(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return CompileResult(False, f"took more than {TIMEOUT_SECONDS:.0f} s")
    if process.returncode != 0:
        tail = stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        return CompileResult(False, f"exit status {process.returncode} {tail[0][:200]}".strip())
    return CompileResult(True)


def _oom_killed(group: EnvironmentCgroup) -> bool:
    try:
        return group.oom_killed() > 0
    except OSError:
        return False


def _procs_files(group: EnvironmentCgroup | None) -> list[str]:
    if group is None:
        return []
    return [os.path.join(d, "cgroup.procs") for d in dict.fromkeys(group.dirs.values())]


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_BYTES, ADDRESS_SPACE_BYTES))


class _RevealPlan:
    """Which host directories the compiler must reach, and which ancestors it could not
    traverse (to be covered by a tmpfs holding just the needed paths)."""

    def __init__(self, paths: list[tuple[str, bool]]) -> None:
        self.paths = paths
        blocked = {b for p, _ in paths if (b := _first_closed_ancestor(p)) is not None}
        self.covers = sorted(
            b for b in blocked if not any(b != o and b.startswith(o + "/") for o in blocked)
        )

    def hidden(self, path: str) -> bool:
        return any(path == c or path.startswith(c + "/") for c in self.covers)


def _first_closed_ancestor(path: str) -> str | None:
    current = ""
    for part in Path(path).parts[1:-1]:
        current += "/" + part
        if not os.stat(current).st_mode & 0o001:
            return current
    return None


def _enter_jail(cgroup_procs: list[str], plan: _RevealPlan) -> None:
    """In the child, before exec: into the cgroup, a private mount namespace, then the
    unprivileged user. Only os-level calls (the server is multithreaded)."""
    if not cgroup_procs:  # no cgroups here: an address-space limit instead
        _limit_address_space()
    pid = str(os.getpid()).encode()
    for procs in cgroup_procs:
        fd = os.open(procs, os.O_WRONLY)
        try:
            os.write(fd, pid)
        finally:
            os.close(fd)
    _unshare(fs.CLONE_NEWNS)
    _mount(None, "/", None, fs.MS_REC | fs.MS_PRIVATE, None)
    # Opened in the new namespace (a bind's source must be a mount of it), before covering.
    sources = [os.open(path, os.O_PATH | os.O_DIRECTORY) for path, _ in plan.paths]
    _mount("tmpfs", "/tmp", "tmpfs", fs.MS_NOSUID | fs.MS_NODEV, "size=64k,mode=755")
    for cover in plan.covers:
        os.makedirs(cover, mode=0o755, exist_ok=True)
        _mount("tmpfs", cover, "tmpfs", fs.MS_NOSUID | fs.MS_NODEV, "size=64k,mode=755")
    for (path, read_only), fd in zip(plan.paths, sources, strict=True):
        if not plan.hidden(path) and not path.startswith("/tmp/"):
            continue
        os.makedirs(path, mode=0o755, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, fs.MS_BIND | fs.MS_REC, None)
        flags = fs.MS_BIND | fs.MS_REMOUNT | fs.MS_NOSUID | fs.MS_NODEV
        _mount(None, path, None, flags | (fs.MS_RDONLY if read_only else 0), None)
    for fd in sources:
        os.close(fd)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.nice(10)
    os.setgroups([])
    os.setresgid(COMPILER_GID, COMPILER_GID, COMPILER_GID)
    os.setresuid(COMPILER_UID, COMPILER_UID, COMPILER_UID)
