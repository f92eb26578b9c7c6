"""cgroups: real-kernel tests (v1 here; v2 where /sys/fs/cgroup is cgroup2) and a fake
cgroup2 tree that checks what is written where."""

from __future__ import annotations

import contextlib
import errno
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lamina.runtime import cgroups as cg
from lamina.runtime.cgroups import (
    Cgroups,
    CgroupsUnavailable,
    EnvironmentCgroup,
    Limits,
    cpu_fraction_for_memory,
)

MiB = 1024 * 1024
pytestmark = pytest.mark.timeout(60)


def _mounted(fstype: str, point: str | None = None) -> bool:
    try:
        mounts = cg._mounts()
    except OSError:
        return False
    return any(m.fstype == fstype and (point is None or m.point == point) for m in mounts)


IS_ROOT = sys.platform.startswith("linux") and os.geteuid() == 0
V2_HOST = sys.platform.startswith("linux") and _mounted("cgroup2", "/sys/fs/cgroup")
V1_HOST = (
    sys.platform.startswith("linux")
    and not V2_HOST
    and any(m.fstype == "cgroup" and "memory" in m.options for m in cg._mounts())
)
needs_root = pytest.mark.skipif(not IS_ROOT, reason="creating cgroups needs root")
v1_only = pytest.mark.skipif(not V1_HOST, reason="needs a cgroup v1 memory hierarchy")
v2_only = pytest.mark.skipif(not V2_HOST, reason="needs /sys/fs/cgroup to be a cgroup2 mount")


# ---- pure logic ----


def test_cpu_fraction_for_memory() -> None:
    assert cpu_fraction_for_memory(1769, host_cpus=8) == 1.0
    assert cpu_fraction_for_memory(128, host_cpus=8) == pytest.approx(128 / 1769)
    assert cpu_fraction_for_memory(10240, host_cpus=2) == 2.0
    assert 0 < cpu_fraction_for_memory(128) <= (os.cpu_count() or 1)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Limits(memory_bytes=0, cpu_fraction=1.0, pids_max=10)
    with pytest.raises(ValueError):
        Limits(memory_bytes=MiB, cpu_fraction=0.0, pids_max=10)


def test_mount_dir_of() -> None:
    m = cg._Mount("cgroup", "/docker/abc", "/sys/fs/cgroup/memory", frozenset({"memory"}))
    assert m.dir_of("/docker/abc") == "/sys/fs/cgroup/memory"
    assert m.dir_of("/docker/abc/x") == "/sys/fs/cgroup/memory/x"
    assert m.dir_of("/other") is None
    root = cg._Mount("cgroup2", "/", "/sys/fs/cgroup", frozenset())
    assert root.dir_of("/") == "/sys/fs/cgroup"
    assert root.dir_of("/../escaped") is None


# ---- helpers for real-kernel tests ----


@contextlib.contextmanager
def child(code: str) -> Iterator[subprocess.Popen[bytes]]:
    """A Python child that runs ``code`` once it reads a line (after it has been attached)."""
    p = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", "import sys\nsys.stdin.readline()\n" + code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        yield p
    finally:
        p.kill()
        p.wait(timeout=5)


def go(p: subprocess.Popen[bytes]) -> None:
    assert p.stdin is not None
    p.stdin.write(b"\n")
    p.stdin.flush()


def read_line(p: subprocess.Popen[bytes], timeout: float = 10.0) -> str:
    assert p.stdout is not None
    ready, _, _ = select.select([p.stdout], [], [], timeout)
    assert ready, "the child did not answer in time"
    return p.stdout.readline().decode().strip()


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


@pytest.fixture
def groups() -> Iterator[Cgroups]:
    if not IS_ROOT:
        pytest.skip("creating cgroups needs root")
    found = Cgroups.detect(f"test-{uuid.uuid4().hex[:12]}")
    if isinstance(found, CgroupsUnavailable):
        pytest.skip(f"cgroups unavailable: {found.reason}")
    try:
        yield found
    finally:
        found.cleanup()
        assert not any(os.path.exists(d) for d in found.parents.values())


LIMITS = Limits(memory_bytes=256 * MiB, cpu_fraction=1.0, pids_max=64)


# ---- cgroup v1, real kernel ----


@v1_only
def test_v1_detects_all_controllers(groups: Cgroups) -> None:
    assert groups.version == 1
    assert groups.controllers == {"memory", "cpu", "pids", "freezer"}
    env = groups.create("limits", Limits(64 * MiB, 0.25, 20))
    mem, cpu = env.dirs["memory"], env.dirs["cpu"]
    assert Path(mem, "memory.limit_in_bytes").read_text().strip() == str(64 * MiB)
    if os.path.exists(f"{mem}/memory.memsw.limit_in_bytes"):
        assert Path(mem, "memory.memsw.limit_in_bytes").read_text().strip() == str(64 * MiB)
    assert Path(cpu, "cpu.cfs_quota_us").read_text().strip() == "2500"
    assert Path(cpu, "cpu.cfs_period_us").read_text().strip() == "10000"
    assert Path(env.dirs["pids"], "pids.max").read_text().strip() == "20"
    capped = groups.create("capped", Limits(64 * MiB, 1000.0, 20))
    cpus = len(os.sched_getaffinity(0))
    assert Path(capped.dirs["cpu"], "cpu.cfs_quota_us").read_text().strip() == str(cpus * 10000)


@v1_only
def test_v1_oom_kill_is_counted(groups: Cgroups) -> None:
    env = groups.create("oom", Limits(64 * MiB, 1.0, 64))
    with child("b = b'x' * (256 << 20)\nprint('survived', flush=True)") as p:
        env.attach(p.pid)
        assert env.oom_killed() == 0
        go(p)
        assert p.wait(timeout=20) == -signal.SIGKILL
    assert env.oom_killed() >= 1
    assert env.peak_memory_bytes() <= 64 * MiB


@v1_only
def test_v1_peak_memory_and_reset(groups: Cgroups) -> None:
    env = groups.create("peak", LIMITS)
    code = (
        "b = b'x' * (48 << 20)\nprint('big', flush=True)\nsys.stdin.readline()\n"
        "del b\nprint('freed', flush=True)\nsys.stdin.readline()\n"
    )
    with child(code) as p:
        env.attach(p.pid)
        go(p)
        assert read_line(p) == "big"
        assert env.peak_memory_bytes() >= 48 * MiB
        go(p)
        assert read_line(p) == "freed"
        assert env.peak_memory_bytes() >= 48 * MiB  # a peak, not the current usage
        env.reset_peak()
        assert env.peak_memory_bytes() < 40 * MiB


@v1_only
def test_v1_cpu_quota_limits_a_busy_loop(groups: Cgroups) -> None:
    env = groups.create("cpu", Limits(256 * MiB, 0.2, 64))
    with child("while True: pass") as p:
        env.attach(p.pid)
        go(p)
        start = cpu_ticks(p.pid)
        time.sleep(0.6)
        used = (cpu_ticks(p.pid) - start) / os.sysconf("SC_CLK_TCK")
    assert used < 0.6 * 0.2 + 0.1, f"{used:.2f} s of CPU in 0.6 s with a 20% quota"


@v1_only
def test_v1_pids_max_stops_a_fork_bomb(groups: Cgroups) -> None:
    env = groups.create("forkbomb", Limits(256 * MiB, 1.0, 20))
    code = (
        "import os, time\nmade = failed = 0\n"
        "for _ in range(200):\n"
        "    try:\n        pid = os.fork()\n"
        "    except OSError:\n        failed += 1\n        continue\n"
        "    if pid == 0:\n        time.sleep(30)\n        os._exit(0)\n"
        "    made += 1\n"
        "print(made, failed, flush=True)\ntime.sleep(30)\n"
    )
    with child(code) as p:
        env.attach(p.pid)
        go(p)
        made, failed = map(int, read_line(p).split())
        assert made <= 19 and failed >= 180
        assert int(Path(env.dirs["pids"], "pids.current").read_text()) <= 20
        assert len(env.procs()) == made + 1
        env.kill_all()
        assert env.procs() == []
        assert p.wait(timeout=5) == -signal.SIGKILL


@v1_only
def test_v1_freeze_stops_cpu_and_thaw_resumes(groups: Cgroups) -> None:
    env = groups.create("freeze", LIMITS)
    with child("while True: pass") as p:
        env.attach(p.pid)
        go(p)
        try:
            start = cpu_ticks(p.pid)
            time.sleep(0.2)
            assert cpu_ticks(p.pid) - start >= 5
            env.freeze()
            assert Path(env.dirs["freezer"], "freezer.state").read_text().strip() == "FROZEN"
            start = cpu_ticks(p.pid)
            time.sleep(0.2)
            assert cpu_ticks(p.pid) - start <= 1
            env.thaw()
            start = cpu_ticks(p.pid)
            time.sleep(0.2)
            assert cpu_ticks(p.pid) - start >= 5
        finally:
            env.thaw()


@v1_only
def test_v1_remove_kills_and_leaves_no_directories(groups: Cgroups) -> None:
    env = groups.create("remove", LIMITS)
    with child("import time\ntime.sleep(30)") as p:
        env.attach(p.pid)
        go(p)
        assert env.procs() == [p.pid]
        env.freeze()  # removing a frozen group works too
        env.remove()
        assert p.wait(timeout=5) == -signal.SIGKILL
    assert not any(os.path.exists(d) for d in env.dirs.values())
    env.remove()  # idempotent


@v1_only
def test_v1_cleanup_removes_stale_groups_of_a_crashed_run(groups: Cgroups) -> None:
    stale = groups.create("stale", LIMITS)
    with child("import time\ntime.sleep(30)") as p:
        stale.attach(p.pid)
        go(p)
        # A new server with the same name finds the old groups and removes them.
        again = Cgroups.detect(groups.name)
        assert isinstance(again, Cgroups)
        again.cleanup()
        assert p.wait(timeout=5) == -signal.SIGKILL
    assert not any(os.path.exists(d) for d in stale.dirs.values())
    assert not any(os.path.exists(d) for d in again.parents.values())
    # create() makes the parent group again after a cleanup.
    fresh = again.create("fresh", LIMITS)
    assert all(os.path.isdir(d) for d in fresh.dirs.values())
    # ... and replaces a leftover group with the same id.
    assert again.create("fresh", LIMITS).dirs == fresh.dirs


@v1_only
def test_v1_create_attach_remove_is_cheap(groups: Cgroups) -> None:
    with child("import time\ntime.sleep(30)") as p:
        times = []
        for i in range(40):
            t = time.perf_counter()
            env = groups.create(f"t{i}", LIMITS)
            env.attach(p.pid)
            times.append(time.perf_counter() - t)
            # Move the child back out so that remove() has nothing to kill.
            for d in env.dirs.values():
                Path(d).parent.parent.joinpath("cgroup.procs").write_text(str(p.pid))
            t = time.perf_counter()
            env.remove()
            times[-1] += time.perf_counter() - t
        assert p.poll() is None
    assert statistics.median(times) < 0.005, f"median {statistics.median(times) * 1e3:.2f} ms"


# ---- cgroup v2, real kernel (only where /sys/fs/cgroup is cgroup2) ----


@v2_only
@needs_root
def test_v2_real_kernel(groups: Cgroups) -> None:
    assert groups.version == 2
    env = groups.create("v2", Limits(64 * MiB, 0.25, 20))
    d = env.dirs["memory"]
    assert Path(d, "memory.max").read_text().strip() == str(64 * MiB)
    if "cpu" in env.dirs:
        assert Path(d, "cpu.max").read_text().split() == ["2500", "10000"]
    with child("b = b'x' * (256 << 20)") as p:
        env.attach(p.pid)
        go(p)
        assert p.wait(timeout=20) == -signal.SIGKILL
    assert env.oom_killed() >= 1
    with child("b = b'x' * (16 << 20)\nprint('ok', flush=True)\nwhile True: pass") as p:
        env.attach(p.pid)
        go(p)
        assert read_line(p) == "ok"
        assert env.peak_memory_bytes() >= 16 * MiB
        try:
            env.freeze()
            start = cpu_ticks(p.pid)
            time.sleep(0.2)
            assert cpu_ticks(p.pid) - start <= 1
        finally:
            env.thaw()
        env.remove()
        assert p.wait(timeout=5) == -signal.SIGKILL
    assert not os.path.exists(d)


CGROUP2_POINT = (
    next(
        (m.point for m in cg._mounts() if m.fstype == "cgroup2"),
        None,
    )
    if sys.platform.startswith("linux")
    else None
)


@needs_root
@pytest.mark.skipif(CGROUP2_POINT is None, reason="no cgroup2 mount")
@pytest.mark.parametrize("caps", [{"kill"}, set()], ids=["cgroup.kill", "freeze-kill-thaw"])
def test_v2_freezer_and_kill_on_a_real_cgroup2_mount(caps: set[str]) -> None:
    """cgroup.freeze, cgroup.events and cgroup.kill are core cgroup2 files: they work even on
    this hybrid host's controller-less cgroup2 mount, so the v2 freezer and kill paths run
    against the real kernel everywhere."""
    d = f"{CGROUP2_POINT}/lamina-core-test-{uuid.uuid4().hex[:8]}"
    os.mkdir(d)
    env = EnvironmentCgroup(2, "core", {"freezer": d}, caps)
    try:
        with child("while True: pass") as p:
            env.attach(p.pid)
            go(p)
            try:
                env.freeze()
                start = cpu_ticks(p.pid)
                time.sleep(0.2)
                assert cpu_ticks(p.pid) - start <= 1
                env.thaw()
                start = cpu_ticks(p.pid)
                time.sleep(0.2)
                assert cpu_ticks(p.pid) - start >= 5
                env.freeze()  # remove() kills a frozen group too
                env.remove()
                assert p.wait(timeout=5) == -signal.SIGKILL
                assert not os.path.exists(d)
            finally:
                if os.path.exists(d):
                    env.thaw()
    finally:
        if os.path.exists(d):
            os.rmdir(d)


# ---- cgroup v2 against a fake tree ----


class FakeCgroup2:
    """Just enough of the cgroup2 kernel interface, in a temporary directory."""

    CONTROLLERS = "cpuset cpu io memory hugetlb pids rdma misc"

    def __init__(self, top: Path, *, root_subtree: str = "", legacy: bool = False) -> None:
        self.top = top
        self.legacy = legacy  # no memory.peak, no cgroup.kill (Linux < 5.14)
        self.killed: list[int] = []
        (top / "cgroup.controllers").write_text(self.CONTROLLERS + "\n")
        (top / "cgroup.subtree_control").write_text(root_subtree + "\n")
        (top / "cgroup.procs").write_text("1\n")

    def mkdir(self, path: str) -> None:
        os.mkdir(path)
        files = {"cgroup.type": "domain", "cgroup.procs": "", "cgroup.subtree_control": ""}
        files |= {"cgroup.events": "populated 0\nfrozen 0", "cgroup.freeze": "0"}
        if not self.legacy:
            files["cgroup.kill"] = ""
        for name, content in files.items():
            Path(path, name).write_text(content + "\n")
        self.refresh(Path(path))

    def refresh(self, d: Path) -> None:
        """cgroup.controllers and the controllers' files follow the parent's subtree_control."""
        enabled = (d.parent / "cgroup.subtree_control").read_text().split()
        (d / "cgroup.controllers").write_text(" ".join(enabled) + "\n")
        files: dict[str, str] = {}
        if "memory" in enabled:
            files |= {"memory.max": "max", "memory.swap.max": "max", "memory.current": "0"}
            files["memory.events"] = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0"
            if not self.legacy:
                files["memory.peak"] = "0"
        if "cpu" in enabled:
            files["cpu.max"] = "max 100000"
        if "pids" in enabled:
            files["pids.max"] = "max"
        for name, content in files.items():
            if not (d / name).exists():
                (d / name).write_text(content + "\n")

    def rmdir(self, path: str) -> None:
        if not os.path.isdir(path):
            raise FileNotFoundError(errno.ENOENT, "no such cgroup", path)
        if self.procs(Path(path)) or any(p.is_dir() for p in Path(path).iterdir()):
            raise OSError(errno.EBUSY, "busy", path)
        shutil.rmtree(path)

    def procs(self, d: Path) -> list[int]:
        return [int(x) for x in (d / "cgroup.procs").read_text().split()]

    def set_procs(self, d: Path, pids: list[int]) -> None:
        (d / "cgroup.procs").write_text("".join(f"{p}\n" for p in pids))
        if d != self.top:
            events = (d / "cgroup.events").read_text().split("\n")
            events[0] = f"populated {1 if pids else 0}"
            (d / "cgroup.events").write_text("\n".join(events))

    def write(self, path: str, data: str) -> None:
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(errno.ENOENT, "no such file", path)
        d = p.parent
        if p.name == "cgroup.procs":
            pid = int(data)
            if d != self.top and (d / "cgroup.subtree_control").read_text().split():
                raise OSError(errno.EBUSY, "no internal processes", path)
            for other in self.top.rglob("cgroup.procs"):
                if pid in self.procs(other.parent):
                    self.set_procs(other.parent, [x for x in self.procs(other.parent) if x != pid])
            self.set_procs(d, [*self.procs(d), pid])
        elif p.name == "cgroup.subtree_control":
            op, c = data[0], data[1:]
            assert op == "+" and " " not in c, data
            if c not in (d / "cgroup.controllers").read_text().split():
                raise OSError(errno.ENOENT, "controller not available", path)
            if d != self.top and self.procs(d):
                raise OSError(errno.EBUSY, "no internal processes", path)
            have = p.read_text().split()
            p.write_text(" ".join(have + [c] if c not in have else have) + "\n")
            for child in d.iterdir():
                if child.is_dir():
                    self.refresh(child)
        elif p.name == "cgroup.freeze":
            p.write_text(data + "\n")
            events = (d / "cgroup.events").read_text().split("\n")
            events[1] = f"frozen {data}"
            (d / "cgroup.events").write_text("\n".join(events))
        elif p.name == "cgroup.kill":
            self.killed += self.procs(d)
            self.set_procs(d, [])
        else:
            p.write_text(data + "\n")

    def kill(self, pid: int, sig: int) -> None:  # for the legacy path, instead of os.kill
        self.killed.append(pid)
        for f in self.top.rglob("cgroup.procs"):
            if pid in self.procs(f.parent):
                self.set_procs(f.parent, [x for x in self.procs(f.parent) if x != pid])

    def add_group(self, rel: str, procs: list[int]) -> Path:
        d = self.top
        for part in rel.strip("/").split("/"):
            d = d / part
            if not d.exists():
                self.mkdir(str(d))
        self.set_procs(d, procs)
        return d


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCgroup2]:
    top = tmp_path / "cgroup"
    top.mkdir()
    kernel = FakeCgroup2(top, root_subtree="memory pids")
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "25 1 0:22 / /proc rw,nosuid - proc proc rw\n"
        f"35 25 0:30 / {top} rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw\n"
    )
    monkeypatch.setattr(cg, "MOUNTINFO", str(mountinfo))
    monkeypatch.setattr(cg, "SELF_CGROUP", str(tmp_path / "self-cgroup"))
    monkeypatch.setattr(cg, "_mkdir", kernel.mkdir)
    monkeypatch.setattr(cg, "_rmdir", kernel.rmdir)
    monkeypatch.setattr(cg, "_write", kernel.write)
    yield kernel


def in_cgroup(fake: FakeCgroup2, rel: str, procs: list[int]) -> Path:
    Path(cg.SELF_CGROUP).write_text(f"0::{rel}\n")
    return fake.add_group(rel, procs) if rel != "/" else fake.top


def text(path: Path) -> str:
    return path.read_text().strip()


def detect_v2(name: str = "t") -> Cgroups:
    found = Cgroups.detect(name)
    assert isinstance(found, Cgroups), found
    assert found.version == 2
    return found


def test_fake_v2_server_in_root(fake: FakeCgroup2) -> None:
    in_cgroup(fake, "/", [1, os.getpid()])
    groups = detect_v2()
    parent = fake.top / "lamina-t"
    assert groups.parents == dict.fromkeys(("memory", "cpu", "pids", "freezer"), str(parent))
    assert text(fake.top / "cgroup.subtree_control").split() == ["memory", "pids", "cpu"]
    assert sorted(text(parent / "cgroup.subtree_control").split()) == ["cpu", "memory", "pids"]
    assert groups.notes == []

    env = groups.create("abc", Limits(128 * MiB, 128 / 1769, 1024))
    d = parent / "abc"
    assert text(d / "memory.max") == str(128 * MiB)
    assert text(d / "memory.swap.max") == "0"
    assert text(d / "cpu.max") == "1000 13821"  # 7.24 % of a CPU, 1 ms quotas
    assert text(d / "pids.max") == "1024"
    env.attach(4242)
    assert env.procs() == [4242]
    env.freeze()
    assert text(d / "cgroup.freeze") == "1"
    env.thaw()
    assert text(d / "cgroup.freeze") == "0"
    (d / "memory.peak").write_text("12345678\n")
    assert env.peak_memory_bytes() == 12345678
    env.reset_peak()  # a write through the kept fd
    assert (d / "memory.peak").read_text().startswith("reset")
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n")
    assert env.oom_killed() == 2
    env.remove()
    assert fake.killed == [4242] and not d.exists()
    groups.cleanup()
    assert not parent.exists()


def test_fake_v2_server_alone_in_delegated_group_moves_into_a_leaf(fake: FakeCgroup2) -> None:
    fake.add_group("/system.slice", [])
    for c in ("memory", "pids"):  # as systemd sets it up, without cpu
        fake.write(str(fake.top / "system.slice" / "cgroup.subtree_control"), f"+{c}")
    service = in_cgroup(fake, "/system.slice/lamina.service", [os.getpid()])
    groups = detect_v2()
    leaf = service / "lamina-t.server"
    assert fake.procs(service) == [] and fake.procs(leaf) == [os.getpid()]
    # cpu was enabled on the way down; the parent lives inside the delegated group.
    assert "cpu" in text(fake.top / "cgroup.subtree_control").split()
    assert "cpu" in text(fake.top / "system.slice" / "cgroup.subtree_control").split()
    assert sorted(text(service / "cgroup.subtree_control").split()) == ["cpu", "memory", "pids"]
    assert groups.parents["memory"] == str(service / "lamina-t")
    env = groups.create("e1", Limits(64 * MiB, 0.5, 10))
    assert text(service / "lamina-t" / "e1" / "cpu.max") == "5000 10000"
    # A crashed run's groups are found and removed; the server's own leaf is left alone.
    stale = fake.add_group("/system.slice/lamina.service/lamina-t/old", [777])
    groups.cleanup()
    assert not stale.exists() and not Path(env.dirs["memory"]).exists()
    assert not (service / "lamina-t").exists() and leaf.exists()
    assert 777 in fake.killed


def test_fake_v2_shared_group_uses_a_sibling(fake: FakeCgroup2) -> None:
    scope = in_cgroup(fake, "/user.slice/session-1.scope", [999, os.getpid()])
    groups = detect_v2()
    assert fake.procs(scope) == [999, os.getpid()]  # nobody was moved
    assert groups.parents["memory"] == str(fake.top / "user.slice" / "lamina-t")
    assert text(scope / "cgroup.subtree_control") == ""


def test_fake_v2_container_root_moves_every_process(
    fake: FakeCgroup2, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_cgroup(fake, "/", [])
    # A private cgroup namespace: the container's group is the mount's top (with cgroup.type).
    (fake.top / "cgroup.type").write_text("domain\n")
    fake.set_procs(fake.top, [1, os.getpid()])
    orig_write = fake.write

    def strict_write(path: str, data: str) -> None:  # the top is no longer exempt
        p = Path(path)
        if p.name == "cgroup.subtree_control" and fake.procs(p.parent):
            raise OSError(errno.EBUSY, "no internal processes", path)
        orig_write(path, data)

    monkeypatch.setattr(cg, "_write", strict_write)
    groups = detect_v2()
    assert fake.procs(fake.top) == []
    assert sorted(fake.procs(fake.top / "lamina-t.server")) == sorted([1, os.getpid()])
    assert groups.parents["memory"] == str(fake.top / "lamina-t")


def test_fake_v2_legacy_kernel(fake: FakeCgroup2, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.legacy = True
    in_cgroup(fake, "/", [1])
    groups = detect_v2()
    env = groups.create("old", Limits(64 * MiB, 1.0, 10))
    d = Path(env.dirs["memory"])
    (d / "memory.current").write_text("4096\n")
    assert env.peak_memory_bytes() == 4096  # no memory.peak before Linux 5.19
    env.reset_peak()  # a no-op
    assert text(d / "memory.current") == "4096"
    env.attach(4243)
    monkeypatch.setattr(os, "kill", fake.kill)  # no cgroup.kill: freeze, kill, thaw
    env.remove()
    assert fake.killed == [4243] and not d.exists()


def test_fake_v2_without_memory_controller(fake: FakeCgroup2) -> None:
    (fake.top / "cgroup.controllers").write_text("cpu pids\n")
    in_cgroup(fake, "/", [1])
    found = Cgroups.detect("t")
    assert isinstance(found, CgroupsUnavailable)
    assert "memory" in found.reason


def test_fake_v2_missing_optional_controllers(fake: FakeCgroup2) -> None:
    (fake.top / "cgroup.controllers").write_text("memory\n")
    (fake.top / "cgroup.subtree_control").write_text("memory\n")
    in_cgroup(fake, "/", [1])
    groups = detect_v2()
    assert groups.controllers == {"memory", "freezer"}
    assert any("cpu" in n for n in groups.notes)
    env = groups.create("m", Limits(64 * MiB, 1.0, 10))
    assert isinstance(env, EnvironmentCgroup)
    assert not Path(env.dirs["memory"], "cpu.max").exists()


def test_fake_invalid_ids_are_rejected(fake: FakeCgroup2) -> None:
    in_cgroup(fake, "/", [1])
    groups = detect_v2()
    for bad in ("", "a/b", "..", ".hidden", "x" * 200):
        with pytest.raises(ValueError):
            groups.create(bad, LIMITS)
    with pytest.raises(ValueError):
        Cgroups.detect("../escape")


@needs_root
@v1_only
def test_remove_stale_siblings_removes_only_dead_servers_groups() -> None:
    ours = Cgroups.detect("stale-ours")
    dead = Cgroups.detect("stale-dead")
    alive = Cgroups.detect("stale-alive")
    assert isinstance(ours, Cgroups) and isinstance(dead, Cgroups) and isinstance(alive, Cgroups)
    limits = Limits(64 * MiB, 0.5, 10)
    try:
        ours.create("e1", limits)
        dead.create("e1", limits)
        alive.create("e1", limits)
        asked: list[str] = []

        def is_alive(name: str, directories: list[str]) -> bool:
            asked.append(name)
            assert directories and all(os.path.isdir(d) for d in directories)
            return name != "lamina-stale-dead"

        removed = ours.remove_stale_siblings(is_alive)
        assert "lamina-stale-dead" in removed
        assert "lamina-stale-ours" not in asked
        assert not any(os.path.exists(d) for d in dead.parents.values())
        assert all(os.path.isdir(d) for d in alive.parents.values())
        assert all(os.path.isdir(d) for d in ours.parents.values())
    finally:
        for groups in (ours, dead, alive):
            groups.cleanup()


def test_a_dead_servers_compile_groups_are_stale_like_its_environment_groups(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lamina.runtime import isolation

    monkeypatch.setattr(isolation, "_listening_ports", lambda: {41000})
    old = time.time() - 2 * isolation.STALE_AFTER_SECONDS
    with tempfile.TemporaryDirectory() as d:
        os.utime(d, (old, old))
        assert not isolation._server_alive("lamina-compile-port-42000", [d])
        assert not isolation._server_alive("lamina-port-42000", [d])
        assert isolation._server_alive("lamina-compile-port-41000", [d])  # it listens
        assert isolation._server_alive("lamina-something-else", [d])  # not a server's
        os.utime(d)  # changed just now: a server starting
        assert isolation._server_alive("lamina-compile-port-42000", [d])
