"""CPU policies: the quota/burst/weight arithmetic, the order of the cgroup writes (against
a model of the kernel's rules), the fallback without CFS burst, and, as root on a cgroup
v1 host, the real kernel accepting every transition."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lamina.runtime import cgroups as cg
from lamina.runtime.cgroups import Cgroups, CgroupsUnavailable, EnvironmentCgroup, Limits
from lamina.runtime.cpu_policy import (
    BURST_QUOTA_US,
    CPU_POLICIES,
    KERNEL_DEFAULT,
    CpuSettings,
    burst_quota,
    cpu_quota,
    cpu_settings,
    cpu_writes,
    effective_policy,
)
from lamina.runtime.isolation import SelectedSandbox

MiB = 1024 * 1024
SHARE_128 = 128 / 1769


# ---- arithmetic ----


def test_quota_policy_is_the_short_period_of_before() -> None:
    assert cpu_quota(SHARE_128, 2) == (1000, 13821)  # the kernel's smallest quota: 1 ms
    assert cpu_quota(0.25, 8) == (2500, 10000)
    assert cpu_quota(1.0, 8) == (10000, 10000)
    assert cpu_quota(1000.0, 2) == (20000, 10000)  # capped at the host's cores
    settings = cpu_settings("quota", SHARE_128, 2)
    assert settings == CpuSettings(13821, 1000, 0)


def test_burst_policy_gives_every_share_the_same_budget() -> None:
    # 7.2 ms of CPU per period: 100 ms at 128 MB, 25 ms at 512 MB, never below 10 ms.
    assert burst_quota(SHARE_128, 2) == (BURST_QUOTA_US, 99_507)
    assert burst_quota(512 / 1769, 2) == (BURST_QUOTA_US, 24_877)
    assert burst_quota(1.0, 2) == (10_000, 10_000)
    assert burst_quota(2.0, 2) == (20_000, 10_000)
    assert burst_quota(3.0, 2) == (20_000, 10_000)  # capped at the host's cores
    for memory in (128, 256, 512, 1024, 1769, 3008, 10240):
        share = min(memory / 1769, 8.0)
        s = cpu_settings("burst", share, 8)
        assert s.burst_us == s.quota_us  # the kernel's largest burst: one quota
        assert s.quota_us is not None and s.quota_us >= BURST_QUOTA_US
        assert s.quota_us / s.period_us == pytest.approx(share, rel=1e-3)  # the share
        assert 10_000 <= s.period_us <= 1_000_000
        assert s.weight == 1.0


def test_weight_policy_has_no_quota_and_a_proportional_weight() -> None:
    s = cpu_settings("weight", SHARE_128, 2)
    assert s.quota_us is None and s.burst_us == 0
    assert s.v1_files()["cpu.shares"] == "74"  # 1024 is one CPU
    assert s.v2_files()["cpu.weight"] == "7"  # 100 is one CPU
    assert s.v1_files()["cpu.cfs_quota_us"] == "-1"
    assert s.v2_files()["cpu.max"] == "max 100000"
    assert cpu_settings("weight", 4.0, 2).weight == 2.0  # capped at the host's cores
    tiny = CpuSettings(100_000, None, 0, 0.0001)
    assert tiny.v1_files()["cpu.shares"] == "2" and tiny.v2_files()["cpu.weight"] == "1"


@pytest.mark.parametrize("policy", CPU_POLICIES)
def test_bad_shares_and_policies_are_refused(policy: str) -> None:
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError):
            cpu_settings(policy, bad, 2)
    with pytest.raises(ValueError):
        cpu_settings("fast", 1.0, 2)
    with pytest.raises(ValueError):
        effective_policy("fast", True)


def test_burst_falls_back_to_quota_without_kernel_support() -> None:
    assert effective_policy("burst", True) == ("burst", None)
    policy, why = effective_policy("burst", False)
    assert policy == "quota" and why is not None and "burst" in why
    assert effective_policy("weight", False) == ("weight", None)
    assert effective_policy("quota", False) == ("quota", None)


def test_sustained_work_keeps_the_share_and_short_work_runs_at_full_speed() -> None:
    """A model of CFS bandwidth control (refill each period, unused quota carried over up
    to the burst): 200 ms of work at full speed keeps AWS's proportionality within 10 %,
    and a 128 MB function that idled runs 14 ms of work without a stall."""

    def wall_ms(s: CpuSettings, work_ms: float, idle_before: bool = True) -> float:
        assert s.quota_us is not None
        quota, period = s.quota_us / 1000, s.period_us / 1000
        budget = quota + (s.burst_us / 1000 if idle_before else 0)
        elapsed = 0.0
        while work_ms > budget:
            work_ms -= budget
            elapsed += period
            budget = quota
        return elapsed + work_ms

    for policy in ("burst", "quota"):
        for memory in (128, 512, 1024):
            share = memory / 1769
            took = wall_ms(cpu_settings(policy, share, 2), 200.0)
            assert took == pytest.approx(200.0 / share, rel=0.1), (policy, memory, took)
    assert wall_ms(cpu_settings("burst", SHARE_128, 2), 14.0) == 14.0
    assert wall_ms(cpu_settings("quota", SHARE_128, 2), 14.0) > 150.0  # 13 stalls


# ---- the order of the writes, against a model of the kernel's rules ----


class KernelModel:
    """One cpu group's files, refusing what the kernel refuses: a burst above the quota, a
    quota under 1 ms, a period outside 1 ms..1 s, and (v1) a quota-to-period ratio above
    ``max_ratio`` (the parent's)."""

    def __init__(self, version: int, max_ratio: float = 1e9) -> None:
        self.version = version
        self.max_ratio = max_ratio
        self.period, self.quota, self.burst, self.weight = 100_000, -1, 0, "default"

    def write(self, name: str, value: str) -> None:
        period, quota, burst = self.period, self.quota, self.burst
        if name == "cpu.cfs_period_us":
            period = int(value)
        elif name == "cpu.cfs_quota_us":
            quota = int(value)
        elif name == "cpu.max":
            q, p = value.split()
            quota, period = (-1 if q == "max" else int(q)), int(p)
        elif name in ("cpu.cfs_burst_us", "cpu.max.burst"):
            burst = int(value)
        elif name in ("cpu.shares", "cpu.weight"):
            self.weight = value
            return
        else:
            raise AssertionError(f"unexpected file {name}")
        if not 1000 <= period <= 1_000_000:
            raise OSError(f"EINVAL: period {period}")
        if quota != -1 and (quota < 1000 or burst > quota or quota / period > self.max_ratio):
            raise OSError(f"EINVAL: quota {quota} period {period} burst {burst}")
        self.period, self.quota, self.burst = period, quota, burst

    def settings(self) -> tuple[int, int, int]:
        return self.period, self.quota, self.burst


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("policy", CPU_POLICIES)
def test_every_transition_is_accepted_by_the_kernel(version: int, policy: str) -> None:
    # A new group, the init boost (the host's 2 CPUs), the share, and back (a spare group
    # reused), for every memory size: each write must be accepted on its own.
    steps = [2.0, SHARE_128, 2.0, 512 / 1769, 1.0, 10240 / 1769, SHARE_128, 2.0]
    kernel = KernelModel(version, max_ratio=2.0)
    current: CpuSettings | None = KERNEL_DEFAULT
    for fraction in steps:
        new = cpu_settings(policy, fraction, 2)
        for name, value in cpu_writes(version, current, new, has_burst=True):
            kernel.write(name, value)
        expected_quota = -1 if new.quota_us is None else new.quota_us
        assert kernel.settings() == (new.period_us, expected_quota, new.burst_us)
        current = new


@pytest.mark.parametrize("version", [1, 2])
def test_only_what_changes_is_written(version: int) -> None:
    share = cpu_settings("burst", SHARE_128, 2)
    assert cpu_writes(version, share, share, has_burst=True) == []
    boost = cpu_settings("burst", 2.0, 2)
    names = [n for n, _ in cpu_writes(version, boost, share, has_burst=True)]
    assert "cpu.shares" not in names and "cpu.weight" not in names
    quota = cpu_settings("quota", SHARE_128, 2)
    assert ("cpu.cfs_burst_us" if version == 1 else "cpu.max.burst") not in {
        n for n, _ in cpu_writes(version, KERNEL_DEFAULT, quota, has_burst=False)
    }
    with pytest.raises(ValueError):
        cpu_writes(version, KERNEL_DEFAULT, share, has_burst=False)


@pytest.mark.parametrize("version", [1, 2])
def test_an_unknown_state_is_overwritten_whole(version: int) -> None:
    kernel = KernelModel(version)
    kernel.period, kernel.quota, kernel.burst = 10_000, 20_000, 20_000  # left by a failure
    new = cpu_settings("burst", SHARE_128, 2)
    writes = cpu_writes(version, None, new, has_burst=True)
    for name, value in writes:
        kernel.write(name, value)
    assert kernel.settings() == (new.period_us, new.quota_us, new.burst_us)
    assert writes[0][1] == "0"  # the burst is cleared first


# ---- EnvironmentCgroup and Cgroups with the policy ----


def recording_group(tmp_path: Path, caps: set[str], policy: str) -> EnvironmentCgroup:
    return EnvironmentCgroup(1, "e", {"cpu": str(tmp_path)}, caps, policy)


def test_a_group_writes_its_policy_and_remembers_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kernel = KernelModel(1)
    written: list[str] = []

    def write(path: str, data: str) -> None:
        written.append(os.path.basename(path))
        kernel.write(os.path.basename(path), data)

    monkeypatch.setattr(cg, "_write", write)
    env = recording_group(tmp_path, {"cpu_burst"}, "burst")
    env.set_cpu_fraction(2.0, 2)  # the init boost
    env.set_cpu_fraction(SHARE_128, 2)
    assert kernel.settings() == (99_507, BURST_QUOTA_US, BURST_QUOTA_US)
    written.clear()
    env.set_cpu_fraction(SHARE_128, 2)
    assert written == []  # unchanged: nothing written

    def failing(path: str, data: str) -> None:
        raise OSError("EINVAL")

    monkeypatch.setattr(cg, "_write", failing)
    with pytest.raises(OSError):
        env.set_cpu_fraction(1.0, 2)
    monkeypatch.setattr(cg, "_write", write)
    env.set_cpu_fraction(SHARE_128, 2)  # the first write failed: nothing changed
    assert written == []

    def second_fails(path: str, data: str) -> None:
        monkeypatch.setattr(cg, "_write", failing)
        write(path, data)

    monkeypatch.setattr(cg, "_write", second_fails)
    with pytest.raises(OSError):
        env.set_cpu_fraction(1.0, 2)
    monkeypatch.setattr(cg, "_write", write)
    written.clear()
    env.set_cpu_fraction(SHARE_128, 2)  # after a partial change: everything again
    assert written[0] == "cpu.cfs_burst_us" and kernel.burst == BURST_QUOTA_US


def test_cgroups_choose_the_policy_of_the_groups_they_create(tmp_path: Path) -> None:
    with_burst = Cgroups(1, "t", {"memory": str(tmp_path)}, {"cpu_burst"}, [])
    assert with_burst.cpu_policy == "quota"  # until asked
    assert with_burst.use_cpu_policy("burst") is None
    assert with_burst.cpu_policy == "burst"
    without = Cgroups(1, "t", {"memory": str(tmp_path)}, set(), [])
    why = without.use_cpu_policy("burst")
    assert without.cpu_policy == "quota" and why and "Linux 5.14" in why
    assert without.use_cpu_policy("weight") is None and without.cpu_policy == "weight"


# ---- the real kernel (cgroup v1, as root) ----

IS_ROOT = sys.platform.startswith("linux") and os.geteuid() == 0


@pytest.fixture
def groups() -> Iterator[Cgroups]:
    if not IS_ROOT:
        pytest.skip("creating cgroups needs root")
    found = Cgroups.detect(f"test-{uuid.uuid4().hex[:12]}")
    if isinstance(found, CgroupsUnavailable) or "cpu" not in found.controllers:
        pytest.skip(f"no cpu controller: {found}")
    try:
        yield found
    finally:
        found.cleanup()


def _cpu_files(env: EnvironmentCgroup) -> dict[str, str]:
    d = env.dirs["cpu"]
    names = ["cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.cfs_burst_us", "cpu.shares"]
    if env.version == 2:
        names = ["cpu.max", "cpu.max.burst", "cpu.weight"]
    return {n: Path(d, n).read_text().strip() for n in names if Path(d, n).exists()}


@pytest.mark.parametrize("policy", CPU_POLICIES)
def test_real_kernel_accepts_every_policy(groups: Cgroups, policy: str) -> None:
    if groups.use_cpu_policy(policy) is not None:
        pytest.skip("this kernel has no CFS burst")
    cpus = len(os.sched_getaffinity(0))
    env = groups.create("p", Limits(64 * MiB, float(cpus), 16))  # the init boost
    for fraction in (SHARE_128, float(cpus), 512 / 1769, 1.0, SHARE_128):
        env.set_cpu_fraction(fraction, cpus)
        want = cpu_settings(policy, fraction, cpus)
        files = want.v1_files() if env.version == 1 else want.v2_files()
        assert _cpu_files(env) == {n: files[n] for n in _cpu_files(env)}
    env.apply(Limits(64 * MiB, float(cpus), 16))  # a spare group reused
    env.remove()


def test_the_sandbox_refuses_an_unknown_policy(tmp_path: Path) -> None:
    assert SelectedSandbox("process", tmp_path, 9000).cpu_policy == "boost"  # the default
    with pytest.raises(ValueError, match="CPU policy"):
        SelectedSandbox("process", tmp_path, 9000, cpu_policy="fast")
