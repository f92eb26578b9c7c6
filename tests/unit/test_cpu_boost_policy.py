"""The ``boost`` CPU policy: its two modes' arithmetic, one cgroup write per switch (v1 and
v2, against the kernel's rules), a group that switches only when it must, a handle whose
failed writes never fail an invocation, and the environment's one timer that ends the
boost window and then keeps the timeout exact (also when the init ran inside the
invocation); as root on a cgroup v1 host, the real kernel taking every switch."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from test_cpu_policy_rules import KernelModel

from lamina.runtime import cgroups as cg
from lamina.runtime.cgroups import Cgroups, CgroupsUnavailable, EnvironmentCgroup, Limits
from lamina.runtime.cpu_policy import (
    BOOST_WINDOW_SECONDS,
    DEFAULT_CPU_POLICY,
    KERNEL_DEFAULT,
    CpuSettings,
    boost_settings,
    cpu_settings,
    cpu_writes,
    effective_policy,
)
from lamina.runtime.environment import Environment, _Running
from lamina.runtime.invocation import Invocation
from lamina.runtime.linux_sandbox import LinuxHandle
from lamina.runtime.sandbox import ProcessHandle

SHARE_128 = 128 / 1769
SIZES = (128, 256, 512, 1024, 1536, 1769, 3008, 10240)


def share_of(memory: int, cpus: int = 2) -> float:
    return min(memory / 1769, float(cpus))


# ---- arithmetic ----


def test_boost_is_the_default_and_needs_no_fallback() -> None:
    assert DEFAULT_CPU_POLICY == "boost"
    assert effective_policy("boost", True) == ("boost", None)
    assert effective_policy("boost", False) == ("boost", None)  # quota's period instead
    assert BOOST_WINDOW_SECONDS == 0.010


def test_the_share_mode_is_burst_with_a_proportional_weight() -> None:
    for memory in SIZES:
        share = share_of(memory)
        settled = cpu_settings("boost", share, 2)
        burst = cpu_settings("burst", share, 2)
        assert (settled.period_us, settled.quota_us, settled.burst_us) == (
            burst.period_us,
            burst.quota_us,
            burst.burst_us,
        )
        assert settled.weight == pytest.approx(share)
    s = cpu_settings("boost", SHARE_128, 2)
    assert s == CpuSettings(99_507, 7_200, 7_200, SHARE_128)
    assert s.v1_files()["cpu.shares"] == "74" and s.v2_files()["cpu.weight"] == "7"


def test_the_boosted_mode_is_one_cpu_with_the_same_period_burst_and_weight() -> None:
    for memory in SIZES:
        share = share_of(memory)
        settled = cpu_settings("boost", share, 2)
        boosted = cpu_settings("boost", share, 2, boosted=True)
        assert boosted.period_us == settled.period_us
        assert boosted.burst_us == settled.burst_us
        assert boosted.weight == settled.weight
        assert boosted.quota_us is not None and settled.quota_us is not None
        assert boosted.quota_us == max(settled.quota_us, settled.period_us)
        assert boosted.burst_us <= settled.quota_us <= boosted.quota_us  # the kernel's rule
        if memory >= 1769:  # a share of one CPU or more: nothing to boost
            assert boosted == settled
        else:
            assert boosted.quota_us == boosted.period_us  # one CPU
    assert cpu_settings("boost", SHARE_128, 2, boosted=True) == CpuSettings(
        99_507, 99_507, 7_200, SHARE_128
    )


def test_other_policies_have_one_mode() -> None:
    for policy in ("burst", "quota", "weight"):
        for memory in SIZES:
            share = share_of(memory)
            assert cpu_settings(policy, share, 2, boosted=True) == cpu_settings(policy, share, 2)


def test_without_cfs_burst_the_modes_take_the_quota_period() -> None:
    settled = boost_settings(SHARE_128, 2, boosted=False, has_burst=False)
    boosted = boost_settings(SHARE_128, 2, boosted=True, has_burst=False)
    assert settled == CpuSettings(13_821, 1_000, 0, SHARE_128)
    assert boosted == CpuSettings(13_821, 13_821, 0, SHARE_128)
    assert cpu_writes(1, settled, boosted, has_burst=False) == [("cpu.cfs_quota_us", "13821")]


# ---- one write per switch, accepted by the kernel ----


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("memory", [128, 256, 512, 1024, 1536])
def test_a_switch_is_one_write_each_way(version: int, memory: int) -> None:
    share = share_of(memory)
    settled = cpu_settings("boost", share, 2)
    boosted = cpu_settings("boost", share, 2, boosted=True)
    quota_file = "cpu.cfs_quota_us" if version == 1 else "cpu.max"
    up = cpu_writes(version, settled, boosted, has_burst=True)
    down = cpu_writes(version, boosted, settled, has_burst=True)
    assert [name for name, _ in up] == [quota_file]
    assert [name for name, _ in down] == [quota_file]
    if version == 2:
        assert up == [("cpu.max", f"{boosted.period_us} {boosted.period_us}")]
    assert cpu_writes(version, boosted, boosted, has_burst=True) == []


@pytest.mark.parametrize("version", [1, 2])
def test_init_share_and_switches_are_accepted_by_the_kernel(version: int) -> None:
    """A new group, init with the host's CPUs, the boosted share at init's end, switches,
    a spare group reused at another size: each write is accepted on its own (v1: the
    parent allows the host's 2 CPUs)."""
    kernel = KernelModel(version, max_ratio=2.0)
    current: CpuSettings | None = KERNEL_DEFAULT
    steps = [(2.0, False)]
    for memory in (128, 512, 1769, 3008, 1024):
        share = share_of(memory)
        steps += [(share, True), (share, False), (share, True), (share, False), (2.0, False)]
    for fraction, boosted in steps:
        new = cpu_settings("boost", fraction, 2, boosted=boosted)
        for name, value in cpu_writes(version, current, new, has_burst=True):
            kernel.write(name, value)
        assert kernel.settings() == (new.period_us, new.quota_us, new.burst_us)
        current = new


# ---- EnvironmentCgroup ----


def recording_group(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, version: int, policy: str = "boost"
) -> tuple[EnvironmentCgroup, KernelModel, list[str]]:
    kernel = KernelModel(version, max_ratio=2.0)
    written: list[str] = []

    def write(path: str, data: str) -> None:
        written.append(os.path.basename(path))
        kernel.write(os.path.basename(path), data)

    monkeypatch.setattr(cg, "_write", write)
    env = EnvironmentCgroup(version, "e", {"cpu": str(tmp_path)}, {"cpu_burst"}, policy)
    return env, kernel, written


@pytest.mark.parametrize("version", [1, 2])
def test_a_group_switches_only_when_it_must(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: int
) -> None:
    env, kernel, written = recording_group(monkeypatch, tmp_path, version)
    env.set_cpu_fraction(2.0, 2)  # init
    assert not env.cpu_boost() and not env.cpu_settle()  # init's share has one mode
    env.set_cpu_fraction(SHARE_128, 2, boosted=True)  # init's end
    assert kernel.settings() == (99_507, 99_507, 7_200)
    assert env.cpu_switches
    written.clear()
    for _ in range(100):  # short invocations: boosted already
        assert not env.cpu_boost()
    assert written == []
    assert env.cpu_settle()  # a long one outlives its window
    assert kernel.settings() == (99_507, 7_200, 7_200)
    assert not env.cpu_settle()
    assert env.cpu_boost()  # the next invocation
    assert kernel.settings() == (99_507, 99_507, 7_200)
    assert len(written) == 2  # one write each way
    env.set_cpu_fraction(1.0, 2, boosted=True)  # a share of one CPU: nothing to switch
    assert not env.cpu_switches
    written.clear()
    assert not env.cpu_settle() and not env.cpu_boost()
    assert written == []


def test_a_failed_switch_leaves_the_group_in_its_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, kernel, written = recording_group(monkeypatch, tmp_path, 1)
    env.set_cpu_fraction(SHARE_128, 2, boosted=True)

    def failing(path: str, data: str) -> None:
        raise OSError("EINVAL")

    monkeypatch.setattr(cg, "_write", failing)
    with pytest.raises(OSError):
        env.cpu_settle()
    assert kernel.quota == 99_507  # still boosted, and it knows it
    assert not env.cpu_boost()


def test_other_policies_never_switch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for policy in ("burst", "quota", "weight"):
        env, _, written = recording_group(monkeypatch, tmp_path, 1, policy)
        env.set_cpu_fraction(SHARE_128, 2, boosted=True)
        written.clear()
        assert not env.cpu_switches
        assert not env.cpu_boost() and not env.cpu_settle()
        assert written == []
    no_cpu = EnvironmentCgroup(1, "e", {"memory": str(tmp_path)}, set(), "boost")
    no_cpu.set_cpu_fraction(SHARE_128, 2, boosted=True)
    assert not no_cpu.cpu_switches and not no_cpu.cpu_boost()


# ---- handles ----


def linux_handle(cgroup: EnvironmentCgroup | None) -> LinuxHandle:
    return LinuxHandle(1, -1, cgroup, cast(Any, None), cast(Any, None), cpu_fraction=SHARE_128)


def test_the_handle_boosts_at_init_end_and_never_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    env, kernel, _ = recording_group(monkeypatch, tmp_path, 1)
    env.set_cpu_fraction(2.0, 2)
    handle = linux_handle(env)
    monkeypatch.setattr(cg, "_host_cpus", lambda: 2)
    handle.init_done()
    assert kernel.quota == 99_507  # the first invocation starts boosted
    assert handle.cpu_boost() == BOOST_WINDOW_SECONDS
    handle.cpu_settle()
    assert kernel.quota == 7_200

    def failing(path: str, data: str) -> None:
        raise OSError("EINVAL")

    monkeypatch.setattr(cg, "_write", failing)
    with caplog.at_level(logging.WARNING, logger="lamina.sandbox"):
        for _ in range(3):
            assert handle.cpu_boost() == BOOST_WINDOW_SECONDS
            handle.cpu_settle()
    assert kernel.quota == 7_200
    assert len([r for r in caplog.records if "CPU mode" in r.getMessage()]) == 1
    assert linux_handle(None).cpu_boost() is None
    linux_handle(None).cpu_settle()


def test_a_process_handle_has_no_boost() -> None:
    handle = ProcessHandle(cast(Any, SimpleNamespace(pid=1)), -1)
    assert handle.cpu_boost() is None
    handle.cpu_settle()


# ---- the environment's one timer ----


class _Sink:
    def append(self, *args: object) -> None:
        pass

    def append_platform(self, *args: object) -> None:
        pass


class _Handle:
    def __init__(self, window: float | None) -> None:
        self.window = window
        self.boosts = 0
        self.settles = 0

    def cpu_boost(self) -> float | None:
        self.boosts += 1
        return self.window

    def cpu_settle(self) -> None:
        self.settles += 1


def _delivered(window: float | None, timeout: float) -> tuple[Environment, _Handle, _Running]:
    config = SimpleNamespace(version="$LATEST", effective_log_group="/aws/lambda/f")
    config.timeout = timeout
    env = Environment(cast(Any, config), cast(Any, None), cast(Any, None), cast(Any, _Sink()),
                      print)  # fmt: skip
    handle = _Handle(window)
    env._handle = cast(Any, handle)
    loop = asyncio.get_running_loop()
    running = _Running(Invocation("r", b"{}", "arn"), loop.create_future())
    env._running = running
    env._deliver(running)
    return env, handle, running


def test_the_timer_ends_the_window_then_keeps_the_timeout_exact() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        _, handle, running = _delivered(0.01, 5.0)
        assert handle.boosts == 1 and handle.settles == 0
        assert running.timer is not None
        assert running.timer.when() - loop.time() == pytest.approx(0.01, abs=0.005)
        await asyncio.sleep(0.03)
        assert handle.settles == 1
        assert running.timer is not None  # now the timeout's, from the delivery
        deadline = running.timer.when() - loop.time() + (time.perf_counter() - running.started)
        assert deadline == pytest.approx(5.0, abs=0.005)
        running.timer.cancel()

    asyncio.run(scenario())


def test_a_short_invocation_never_settles_and_one_mode_arms_the_timeout() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        _, handle, running = _delivered(0.01, 5.0)
        running.future.set_result(cast(Any, None))  # answered within the window
        await asyncio.sleep(0.03)
        assert handle.settles == 0
        _, handle, running = _delivered(None, 3.0)  # no boost: the timeout at once
        assert running.timer is not None
        assert running.timer.when() - loop.time() == pytest.approx(3.0, abs=0.005)
        running.timer.cancel()
        _, handle, running = _delivered(0.01, 0.005)  # a timeout inside the window
        assert running.timer is not None
        assert running.timer.when() - loop.time() == pytest.approx(0.005, abs=0.004)
        running.timer.cancel()

    asyncio.run(scenario())


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


def test_real_kernel_takes_every_switch(groups: Cgroups) -> None:
    groups.use_cpu_policy("boost")
    cpus = len(os.sched_getaffinity(0))
    env = groups.create("b", Limits(64 * 1024 * 1024, float(cpus), 16))  # init
    for memory in (128, 512, 1024):
        share = min(memory / 1769, float(cpus))
        env.set_cpu_fraction(share, cpus, boosted=True)
        for boosted in (False, True, False, True):
            assert (env.cpu_boost if boosted else env.cpu_settle)()
            want = cpu_settings("boost", share, cpus, boosted=boosted, has_burst=True)
            files = want.v1_files() if env.version == 1 else want.v2_files()
            for name, value in files.items():
                path = Path(env.dirs["cpu"], name)
                if path.exists():
                    assert path.read_text().split() == value.split(), name
    env.remove()


# ---- the clock of an invocation whose init ran inside it (a suppressed init) ----


def _deliver_clock(running: _Running, timeout: float) -> tuple[float, int]:
    """(seconds until the invocation's timer fires, the event's deadline in ms from now)."""
    config = SimpleNamespace(version="$LATEST", effective_log_group="/aws/lambda/f")
    config.timeout = timeout
    env = Environment(cast(Any, config), cast(Any, None), cast(Any, None), cast(Any, _Sink()),
                      print)  # fmt: skip
    env._handle = cast(Any, _Handle(None))
    env._running = running
    event = env._deliver(running)
    assert running.timer is not None
    left = running.timer.when() - asyncio.get_running_loop().time()
    running.timer.cancel()
    return left, event.deadline_ms - int(time.time() * 1000)


def test_an_init_inside_the_invocation_takes_its_time_from_the_timeout() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        invocation = Invocation("r", b"{}", "arn", suppressed_init=True)
        running = _Running(invocation, loop.create_future(), cold=True)  # its init inside it
        running.started = time.perf_counter() - 2.0  # the environment started 2 s ago
        left, deadline = _deliver_clock(running, 5.0)
        assert left == pytest.approx(3.0, abs=0.01)
        assert deadline == pytest.approx(3000, abs=10)
        assert time.perf_counter() - running.started >= 2.0  # Duration counts the init

    asyncio.run(scenario())


def test_a_retry_served_by_a_warm_environment_gets_its_whole_timeout() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        invocation = Invocation("r", b"{}", "arn", suppressed_init=True)
        running = _Running(invocation, loop.create_future())  # not cold: no init inside
        left, deadline = _deliver_clock(running, 5.0)
        assert left == pytest.approx(5.0, abs=0.01)
        assert deadline == pytest.approx(5000, abs=10)

    asyncio.run(scenario())
