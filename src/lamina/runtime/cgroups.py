"""Resource limits for execution environments through cgroups, v1 and v2.

``Cgroups.detect(name)`` finds the hierarchy, creates the server's parent group
``lamina-<name>`` and returns a ``Cgroups`` (or ``CgroupsUnavailable`` with the reason).
Each environment gets a child group from ``create(env_id, limits)``. Everything is done
with direct file writes (no subprocesses); the peak-memory file stays open per group, as it
is read on every invocation.

Where the parent group goes:

* cgroup v1 (one hierarchy per controller): under the server's own group in each of the
  memory, cpu, pids and freezer hierarchies, so environments are nested inside whatever the
  host (systemd, a container) gives the server and count against it. v1 has no rule
  against processes in inner groups.
* cgroup v2 (one tree): a group whose ``cgroup.subtree_control`` enables controllers must
  hold no processes (the root is exempt). So, with S the server's group:

  - S is the real root (no ``cgroup.type`` file): the parent is ``S/lamina-<name>``.
  - the server is alone in S (systemd ``Delegate=yes``, a container's only process), or S
    is the root of a container's cgroup namespace: every process of S moves into the leaf
    ``S/lamina-<name>.server`` (as systemd's delegation rules and docker-in-docker do) and
    the parent is ``S/lamina-<name>``; this stays inside the delegated subtree. The server
    stays in that leaf for its lifetime; ``cleanup`` leaves the leaf alone.
  - otherwise S has other processes we must not move: the parent is a sibling of S,
    ``parent(S)/lamina-<name>``, if that is writable.

  memory, cpu and pids are enabled in ``subtree_control`` from the top of the mount down to
  the parent (where not already); the freezer is built into v2.

Only the memory controller is required; cpu, pids and freezer are used when present
(``controllers`` says which; ``notes`` says why one is missing).

How a CPU share becomes the cpu controller's settings is the CPU policy
(``runtime/cpu_policy.py``): ``Cgroups.use_cpu_policy`` chooses it for every group the
server creates (``quota`` until then). Under ``boost``, ``EnvironmentCgroup.cpu_boost`` and
``cpu_settle`` switch a group between its share's two modes (one write, none when it is in
that mode already).
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from lamina.runtime.cpu_policy import (
    KERNEL_DEFAULT,
    CpuSettings,
    cpu_settings,
    cpu_writes,
    effective_policy,
)

MOUNTINFO = "/proc/self/mountinfo"
SELF_CGROUP = "/proc/self/cgroup"
MB_PER_VCPU = 1769
_ID = re.compile(r"[A-Za-z0-9_-]{1,128}\Z")
_CONTROLLERS = ("memory", "cpu", "pids", "freezer")

# The only ways this module changes the cgroup filesystem, so tests can simulate a kernel.
_mkdir: Callable[[str], None] = os.mkdir
_rmdir: Callable[[str], None] = os.rmdir


def _write(path: str, data: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, data.encode())
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Limits:
    memory_bytes: int  # hard limit, swap included
    cpu_fraction: float  # share of one CPU; capped at the host's cores
    pids_max: int

    def __post_init__(self) -> None:
        if self.memory_bytes <= 0 or self.cpu_fraction <= 0 or self.pids_max <= 0:
            raise ValueError(f"limits must be positive: {self}")


@dataclass(frozen=True)
class CgroupsUnavailable:
    reason: str


def _host_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cpu_fraction_for_memory(memory_mb: int, host_cpus: int | None = None) -> float:
    """CPU in proportion to memory as on AWS: 1,769 MB = 1 vCPU, capped at the host's."""
    cap = host_cpus if host_cpus is not None else _host_cpus()
    return min(memory_mb / MB_PER_VCPU, float(cap))


def _read(path: str) -> str:
    fd = os.open(path, os.O_RDONLY)
    try:
        return b"".join(iter(lambda: os.read(fd, 65536), b"")).decode()
    finally:
        os.close(fd)


def _keyed(text: str, key: str) -> int:
    for line in text.splitlines():
        k, _, v = line.partition(" ")
        if k == key:
            return int(v)
    return 0


def _words(path: str) -> set[str]:
    try:
        return set(_read(path).split())
    except FileNotFoundError:
        return set()


def _pids(directory: str) -> set[int]:
    return {int(p) for p in _words(os.path.join(directory, "cgroup.procs"))}


def _wait(done: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``done``: back to back for the first half millisecond (freezing and exiting
    usually take 50-200 µs, less than one sleep), then with growing sleeps."""
    start = time.monotonic()
    delay = 0.0001
    while not done():
        now = time.monotonic()
        if now - start > timeout:
            raise TimeoutError(f"timed out after {timeout} s: {what}")
        if now - start > 0.0005:
            time.sleep(delay)
            delay = min(delay * 2, 0.01)


@dataclass(frozen=True)
class _Mount:
    fstype: str
    root: str  # the hierarchy path mounted
    point: str
    options: frozenset[str]

    def dir_of(self, cgroup_path: str) -> str | None:
        """The directory of ``cgroup_path`` (from /proc/self/cgroup) under this mount."""
        root = self.root.rstrip("/")
        if cgroup_path != root and not cgroup_path.startswith(root + "/"):
            return None
        rest = cgroup_path[len(root) :]
        if ".." in rest.split("/"):  # outside our cgroup namespace
            return None
        return os.path.normpath(self.point + rest)


def _unescape(s: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), s)


def _mounts() -> list[_Mount]:
    mounts = []
    for line in _read(MOUNTINFO).splitlines():
        left, _, right = line.partition(" - ")
        f, r = left.split(), right.split()
        if len(f) >= 5 and len(r) >= 3 and r[0] in ("cgroup", "cgroup2"):
            opts = frozenset(r[2].split(","))
            mounts.append(_Mount(r[0], _unescape(f[3]), _unescape(f[4]), opts))
    return mounts


def _own_cgroups() -> dict[str, str]:
    """Controller name ("" for the v2 tree) -> the server's cgroup path."""
    own = {}
    for line in _read(SELF_CGROUP).splitlines():
        _, ctrls, path = line.split(":", 2)
        for c in ctrls.split(",") if ctrls else [""]:
            own[c] = path
    return own


class EnvironmentCgroup:
    """One environment's group: a directory per hierarchy (v1) or one directory (v2)."""

    def __init__(
        self,
        version: int,
        env_id: str,
        dirs: dict[str, str],
        caps: set[str],
        cpu_policy: str = "quota",
    ) -> None:
        self.version = version
        self.env_id = env_id
        self.dirs = dirs  # controller -> this group's directory
        self._all = list(dict.fromkeys(dirs.values()))
        self._caps = caps
        self._peak_fd = -1
        self._limits: Limits | None = None  # what _configure last set
        self.cpu_policy = cpu_policy
        # The cpu controller's settings as last written (a new group's: the kernel's
        # defaults; None: unknown after a failed write).
        self._cpu: CpuSettings | None = KERNEL_DEFAULT
        # The current share's two modes (``boost``; the same settings twice otherwise),
        # computed when the share is set so that switching costs no arithmetic.
        self._boosted: CpuSettings | None = None
        self._settled: CpuSettings | None = None
        self.cpu_switches = False  # see set_cpu_fraction

    def _path(self, controller: str, name: str) -> str:
        return os.path.join(self.dirs[controller], name)

    def set_cpu_fraction(
        self, fraction: float, cpus: int | None = None, *, boosted: bool = False
    ) -> None:
        """Give the group ``fraction`` of a CPU under its CPU policy (AWS lets init run
        with a boost, then applies the share), in the policy's boosted mode or its share's
        (the same but under ``boost``). Writes only the files that change."""
        self._limits = None
        if "cpu" not in self.dirs:
            return
        cpus = cpus or _host_cpus()
        has_burst = "cpu_burst" in self._caps
        policy = self.cpu_policy
        self._settled = cpu_settings(policy, fraction, cpus, has_burst=has_burst)
        self._boosted = cpu_settings(policy, fraction, cpus, boosted=True, has_burst=has_burst)
        if self._boosted == self._settled:
            self._boosted = self._settled
        # Whether cpu_boost and cpu_settle can change anything: the share has two modes
        # (``boost``, a share under one CPU).
        self.cpu_switches = self._boosted is not self._settled
        self._set_cpu(self._boosted if boosted else self._settled)

    def cpu_boost(self) -> bool:
        """Switch to the share's boosted mode; True if that wrote (one file), False if the
        group is in it already or has one mode. Raises OSError if the write fails (the
        group is then still in the mode it was in)."""
        boosted = self._boosted
        if boosted is None or self._cpu is boosted:
            return False
        self._set_cpu(boosted)
        return True

    def cpu_settle(self) -> bool:
        """Switch to the share's own mode; as ``cpu_boost`` otherwise."""
        settled = self._settled
        if settled is None or self._cpu is settled:
            return False
        self._set_cpu(settled)
        return True

    def _set_cpu(self, new: CpuSettings) -> None:
        old = self._cpu
        writes = cpu_writes(self.version, old, new, "cpu_burst" in self._caps)
        self._cpu = None
        for i, (name, value) in enumerate(writes):
            try:
                _write(self._path("cpu", name), value)
            except OSError:
                if i == 0:  # nothing changed: the settings are still the old ones
                    self._cpu = old
                raise
        self._cpu = new

    def apply(self, limits: Limits) -> None:
        """Set new limits on an existing (spare) group (nothing to write if unchanged)."""
        if limits == self._limits:
            return
        if self._peak_fd >= 0:
            os.close(self._peak_fd)
            self._peak_fd = -1
        self._configure(limits, _host_cpus())

    def _configure(self, limits: Limits, cpus: int) -> None:
        mem = str(limits.memory_bytes)
        self.set_cpu_fraction(limits.cpu_fraction, cpus)
        if self.version == 1:
            # memory.memsw.limit_in_bytes may never be below memory.limit_in_bytes: lower
            # the memory limit first, raise the memsw limit first.
            memory = self._path("memory", "memory.limit_in_bytes")
            memsw = self._path("memory", "memory.memsw.limit_in_bytes")
            if (
                "memsw" in self._caps
                and _read(memory).strip().isdigit()
                and int(_read(memory)) < limits.memory_bytes
            ):
                _write(memsw, mem)
                _write(memory, mem)
            else:
                _write(memory, mem)
                if "memsw" in self._caps:
                    _write(memsw, mem)
            peak = "memory.max_usage_in_bytes"
        else:
            _write(self._path("memory", "memory.max"), mem)
            if "swap" in self._caps:
                _write(self._path("memory", "memory.swap.max"), "0")
            peak = "memory.peak" if "peak" in self._caps else "memory.current"
        if "pids" in self.dirs:
            _write(self._path("pids", "pids.max"), str(limits.pids_max))
        writable = self.version == 1 or "peak_reset" in self._caps
        self._peak_fd = os.open(self._path("memory", peak), os.O_RDWR if writable else os.O_RDONLY)
        self._limits = limits

    def attach(self, pid: int) -> None:
        for d in self._all:
            _write(os.path.join(d, "cgroup.procs"), str(pid))

    def procs(self) -> list[int]:
        found: set[int] = set()
        for d in self._all:
            found |= _pids(d)
        return sorted(found)

    def freeze(self, timeout: float = 1.0, wait: bool = True) -> None:
        """Stop every process in the group; returns once all are frozen (no-op without a
        freezer), or at once with ``wait=False``. Raises TimeoutError if that takes longer
        than ``timeout``."""
        if "freezer" not in self.dirs:
            return
        if self.version == 1:
            state = self._path("freezer", "freezer.state")
            _write(state, "FROZEN")
            if wait:
                _wait(lambda: _read(state).strip() == "FROZEN", timeout, f"freezing {state}")
        else:
            _write(self._path("freezer", "cgroup.freeze"), "1")
            events = self._path("freezer", "cgroup.events")
            if wait:
                _wait(lambda: _keyed(_read(events), "frozen") == 1, timeout, f"freezing {events}")

    def thaw(self) -> None:
        if "freezer" not in self.dirs:
            return
        if self.version == 1:
            _write(self._path("freezer", "freezer.state"), "THAWED")
        else:
            _write(self._path("freezer", "cgroup.freeze"), "0")

    def peak_memory_bytes(self) -> int:
        """Peak usage since creation or the last ``reset_peak`` (v2 before 5.19: current)."""
        return int(os.pread(self._peak_fd, 32, 0))

    def reset_peak(self) -> None:
        """v1: max_usage_in_bytes restarts from current usage. v2 (6.12+): writing to
        memory.peak resets it for reads through the same fd, which is the one kept open;
        older v2 kernels can't reset, so the peak stays the group's lifetime peak."""
        if self.version == 1:
            os.pwrite(self._peak_fd, b"0", 0)
        elif "peak_reset" in self._caps:
            os.pwrite(self._peak_fd, b"reset", 0)

    def oom_killed(self) -> int:
        """How many processes of the group the kernel's OOM killer has killed."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        return _keyed(_read(self._path("memory", name)), "oom_kill")

    def kill_all(self, timeout: float = 2.0) -> None:
        """SIGKILL every process in the group; returns once the group is empty."""
        if "kill" in self._caps:  # v2, Linux 5.14+: atomic, fork-safe, recursive
            events = os.path.join(self._all[0], "cgroup.events")
            _write(os.path.join(self._all[0], "cgroup.kill"), "1")
            _wait(lambda: _keyed(_read(events), "populated") == 0, timeout, f"emptying {events}")
            return
        deadline = time.monotonic() + timeout
        # Frozen, the processes can't fork while we kill them; SIGKILL takes effect on thaw.
        while pids := self.procs():
            with contextlib.suppress(TimeoutError):
                self.freeze(timeout=0.1)
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.thaw()
            with contextlib.suppress(TimeoutError):
                _wait(lambda: not self.procs(), 0.05, "")
            if time.monotonic() > deadline:
                raise TimeoutError(f"processes {self.procs()} survive in {self._all}")

    def remove(self, timeout: float = 2.0) -> None:
        """Kill everything in the group and delete its directories (idempotent)."""
        if self._peak_fd >= 0:
            os.close(self._peak_fd)
            self._peak_fd = -1
        if any(os.path.isdir(d) for d in self._all):
            self.kill_all(timeout)
            for d in reversed(self._all):
                _rmdir_retry(d, timeout)


def _rmdir_retry(directory: str, timeout: float) -> None:
    def gone() -> bool:
        try:
            _rmdir(directory)
        except FileNotFoundError:
            pass
        except OSError:  # EBUSY while exiting tasks leave the group
            return False
        return True

    _wait(gone, timeout, f"removing {directory}")


class Cgroups:
    """The server's cgroups: one parent group, one child group per environment."""

    def __init__(
        self, version: int, name: str, parents: dict[str, str], caps: set[str], notes: list[str]
    ) -> None:
        self.version = version
        self.name = name
        self.parents = parents  # controller -> the parent group's directory
        self.controllers = frozenset(parents)
        self.notes = notes  # why an optional controller is missing
        self._caps = caps
        self._cpus = _host_cpus()
        self._ready = True
        self.cpu_policy = "quota"  # see use_cpu_policy

    def use_cpu_policy(self, requested: str) -> str | None:
        """Apply ``requested`` (``cpu_policy.CPU_POLICIES``) to the groups created from now
        on; returns why another policy is used instead (None when it is the one asked
        for). ``burst`` falls back to ``quota`` where the kernel has no CFS burst."""
        self.cpu_policy, why = effective_policy(requested, "cpu_burst" in self._caps)
        return why

    @classmethod
    def detect(cls, name: str) -> Cgroups | CgroupsUnavailable:
        if not _ID.match(name):
            raise ValueError(f"invalid cgroup name {name!r}")
        if not sys.platform.startswith("linux"):
            return CgroupsUnavailable(f"cgroups need Linux (this is {sys.platform})")
        try:
            mounts, own = _mounts(), _own_cgroups()
            for m in mounts:
                if m.fstype == "cgroup2" and "memory" in _words(f"{m.point}/cgroup.controllers"):
                    return _detect_v2(name, m, own.get("", "/"))
            v1 = {c: m for m in mounts if m.fstype == "cgroup" for c in m.options}
            if "memory" in v1:
                return _detect_v1(name, v1, own)
        except OSError as e:  # TimeoutError included
            return CgroupsUnavailable(f"cannot set up cgroups: {e}")
        if not mounts:
            return CgroupsUnavailable("no cgroup filesystem is mounted")
        return CgroupsUnavailable("no mounted cgroup hierarchy offers the memory controller")

    def create(self, env_id: str, limits: Limits) -> EnvironmentCgroup:
        if not _ID.match(env_id):
            raise ValueError(f"invalid environment id {env_id!r}")
        if not self._ready:
            _make_parents(self.version, self.parents)
            self._ready = True
        dirs = {c: os.path.join(p, env_id) for c, p in self.parents.items()}
        env = EnvironmentCgroup(self.version, env_id, dirs, self._caps, self.cpu_policy)
        try:
            for d in env._all:
                _mkdir(d)
        except FileExistsError:  # a stale group from an earlier run: replace it
            self._existing(env_id).remove()
            for d in env._all:
                _mkdir(d)
        try:
            env._configure(limits, self._cpus)
        except BaseException:
            env.remove()
            raise
        return env

    def _existing(self, name: str) -> EnvironmentCgroup:
        dirs = {c: os.path.join(p, name) if name else p for c, p in self.parents.items()}
        dirs = {c: d for c, d in dirs.items() if os.path.isdir(d)}
        return EnvironmentCgroup(self.version, name, dirs, self._caps)

    def cleanup(self, timeout: float = 2.0) -> None:
        """Kill and remove every environment group and the parent group (also those left by
        a crashed run with the same name). ``create`` makes the parent again if needed."""
        names: set[str] = set()
        for d in self.parents.values():
            with contextlib.suppress(FileNotFoundError):
                names |= {e.name for e in os.scandir(d) if e.is_dir()}
        for n in sorted(names):
            self._existing(n).remove(timeout)
        self._existing("").remove(timeout)
        self._ready = False

    def remove_stale_siblings(self, alive: Callable[[str, list[str]], bool]) -> list[str]:
        """Remove the groups other Lamina servers left behind when they died without
        cleaning up (``alive(name, directories)`` says whether the server that owns
        ``name`` still runs). Returns the names removed."""
        ours = os.path.basename(self.parents["memory"])
        bases = {c: os.path.dirname(p) for c, p in self.parents.items()}
        names: set[str] = set()
        for base in set(bases.values()):
            with contextlib.suppress(OSError):
                names |= {
                    e.name
                    for e in os.scandir(base)
                    if e.is_dir() and e.name.startswith("lamina-") and "." not in e.name
                }
        removed = []
        for name in sorted(names - {ours}):
            directories = [os.path.join(base, name) for base in set(bases.values())]
            if alive(name, [d for d in directories if os.path.isdir(d)]):
                continue
            other = copy.copy(self)
            other.parents = {c: os.path.join(base, name) for c, base in bases.items()}
            with contextlib.suppress(OSError):
                other.cleanup()
                removed.append(name)
        return removed


def _make_parents(version: int, parents: dict[str, str]) -> None:
    for d in dict.fromkeys(parents.values()):
        with contextlib.suppress(FileExistsError):
            _mkdir(d)
    if version == 2:
        d = parents["memory"]
        for c in sorted(_words(f"{d}/cgroup.controllers") & {"memory", "cpu", "pids"}):
            _write(f"{d}/cgroup.subtree_control", f"+{c}")


def _detect_v1(name: str, hierarchies: dict[str, _Mount], own: dict[str, str]) -> Cgroups:
    parents, notes = {}, []
    for c in _CONTROLLERS:
        if c not in hierarchies:
            notes.append(f"no cgroup v1 {c} hierarchy is mounted")
            continue
        m = hierarchies[c]
        parent = os.path.join(m.dir_of(own.get(c, "/")) or m.point, f"lamina-{name}")
        try:
            _make_parents(1, {c: parent})
        except OSError as e:
            if c == "memory":
                raise OSError(e.errno, f"cannot create {parent}: {e.strerror}") from e
            notes.append(f"cannot create {parent}: {e.strerror}")
            continue
        parents[c] = parent
    caps = set()
    if os.path.exists(f"{parents['memory']}/memory.memsw.limit_in_bytes"):
        caps.add("memsw")
    if "cpu" in parents and os.path.exists(f"{parents['cpu']}/cpu.cfs_burst_us"):  # Linux 5.14+
        caps.add("cpu_burst")
    return Cgroups(1, name, parents, caps, notes)


def _detect_v2(name: str, mount: _Mount, own_path: str) -> Cgroups | CgroupsUnavailable:
    top = os.path.normpath(mount.point)
    server = mount.dir_of(own_path) or top
    if not os.path.exists(f"{server}/cgroup.type"):  # the real root: exempt from the rule
        base = server
    elif _pids(server) == {os.getpid()} or server == top:
        leaf = f"{server}/lamina-{name}.server"
        with contextlib.suppress(FileExistsError):
            _mkdir(leaf)

        def moved() -> bool:
            for pid in _pids(server):
                with contextlib.suppress(ProcessLookupError):
                    _write(f"{leaf}/cgroup.procs", str(pid))
            return not _pids(server)

        _wait(moved, 1.0, f"moving the processes of {server} into {leaf}")
        base = server
    elif server != top:
        base = os.path.dirname(server)
    else:
        return CgroupsUnavailable(f"{server} holds other processes and has no parent to use")
    # Enable the controllers on the way down to the parent group where they are missing.
    chain = [top]
    for part in os.path.relpath(base, top).split("/"):
        if part != ".":
            chain.append(os.path.join(chain[-1], part))
    for d in chain:
        have = _words(f"{d}/cgroup.subtree_control")
        for c in sorted((_words(f"{d}/cgroup.controllers") & {"memory", "cpu", "pids"}) - have):
            with contextlib.suppress(OSError):
                _write(f"{d}/cgroup.subtree_control", f"+{c}")
    parent = os.path.join(base, f"lamina-{name}")
    parents = {"memory": parent}
    _make_parents(2, parents)
    enabled = _words(f"{parent}/cgroup.subtree_control")
    if "memory" not in enabled:
        with contextlib.suppress(OSError):
            _rmdir(parent)
        offered = " ".join(sorted(_words(f"{base}/cgroup.controllers")))
        return CgroupsUnavailable(
            f"cannot enable the memory controller under {base} (it offers: {offered or 'none'})"
        )
    notes = []
    for c in ("cpu", "pids"):
        if c in enabled:
            parents[c] = parent
        else:
            notes.append(f"the {c} controller is not available under {base}")
    if os.path.exists(f"{parent}/cgroup.freeze"):  # Linux 5.2+
        parents["freezer"] = parent
    files = {"swap": "memory.swap.max", "kill": "cgroup.kill", "peak": "memory.peak"}
    if "cpu" in parents:
        files["cpu_burst"] = "cpu.max.burst"  # Linux 5.14+
    caps = {cap for cap, file in files.items() if os.path.exists(f"{parent}/{file}")}
    if "peak" in caps:
        with contextlib.suppress(OSError):  # writable (a per-fd reset) since Linux 6.12
            os.close(os.open(f"{parent}/memory.peak", os.O_RDWR))
            caps.add("peak_reset")
    return Cgroups(2, name, parents, caps, notes)
