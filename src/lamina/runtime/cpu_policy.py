"""How an environment's CPU share (``MemorySize / 1769`` of a vCPU) becomes cgroup settings.

Pure arithmetic, no file system: ``cpu_settings`` turns a policy and a share into a
``CpuSettings``; ``cpu_writes`` lists the cgroup files to write to go from one
``CpuSettings`` to another, in an order the kernel accepts. ``runtime/cgroups.py`` does
the writes. The policies (``--cpu-policy``, docs/isolation.md "CPU"):

* ``boost`` (the default): each invocation runs *boosted* for its first
  ``BOOST_WINDOW_SECONDS`` (10 ms) of wall time, with a quota of one full CPU per period
  (the share where that is more); an invocation still running after the window gets the
  ``burst`` settings of its share for the rest of it. The group stays in either mode
  between invocations, so invocations shorter than the window never change it: they cost
  no cgroup write and are never throttled. Both modes have the same period, burst and
  weight, so switching is one write (``cpu.cfs_quota_us`` on v1, ``cpu.max`` on v2); the
  weight is the share (``cpu.shares`` 1024 x share, ``cpu.weight`` 100 x share), so
  environments competing for the CPU divide it by memory. Shares of one CPU or more have
  nothing to boost: both modes are the ``burst`` settings. Without CFS burst both modes
  take the ``quota`` policy's short period instead (no burst). The environment switches
  (``LinuxHandle.cpu_boost`` when it delivers an invocation, ``cpu_settle`` when the
  window passes with the invocation still running).
* ``burst``: a CFS quota whose period gives every environment the same
  7.2 ms of CPU per period (the period is 7.2 ms / share: 100 ms at 128 MB, 25 ms at
  512 MB, never below 10 ms), plus a CFS burst of one more quota: CPU left unused in
  earlier periods (an idle or frozen environment) is spent at full speed, up to 14.4 ms
  at once. Over any longer stretch the environment gets its share, so sustained work takes
  as long as under ``quota`` (within the 14.4 ms budget) and power tuning shows the
  speed-up of more memory; short handlers called at a pace within their share are never
  throttled. Needs CFS burst (Linux 5.14+: ``cpu.cfs_burst_us`` on v1,
  ``cpu.max.burst`` on v2); without it the server falls back to ``quota`` and says so.
* ``quota``: a hard quota with a short period (10 ms; longer where the share is under
  10 %, as the kernel's smallest quota is 1 ms: 13.8 ms at 128 MB) and no burst. Every
  stall is short, but a share of 1 ms per period throttles back-to-back invokes often.
* ``weight``: no quota; the share becomes the group's relative weight (``cpu.shares`` on
  v1, ``cpu.weight`` on v2). An environment runs at full speed while the host has idle
  CPU and gets CPU in proportion to its memory only when environments compete: power
  tuning on an idle host shows no difference between memory sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CPU_POLICIES = ("boost", "burst", "quota", "weight")
DEFAULT_CPU_POLICY = "boost"
# The kernel's limits on a CFS period and quota, and its default period.
MIN_QUOTA_US = 1_000
MAX_PERIOD_US = 1_000_000
DEFAULT_PERIOD_US = 100_000
# ``quota``: the shortest period. ``burst``: the CPU per period, AWS's smallest size
# (128 MB) over a 100 ms period, and the shortest period.
QUOTA_PERIOD_US = 10_000
BURST_QUOTA_US = 7_200
BURST_MIN_PERIOD_US = 10_000
# ``boost``: how long each invocation runs boosted (up to one CPU) before its share applies.
BOOST_WINDOW_SECONDS = 0.010


@dataclass(frozen=True)
class CpuSettings:
    """One group's CPU controller settings.

    ``quota_us`` None: no quota. ``weight`` is in CPUs: 1.0 is the kernel's default
    weight (``cpu.shares`` 1024 on v1, ``cpu.weight`` 100 on v2).
    """

    period_us: int
    quota_us: int | None
    burst_us: int
    weight: float = 1.0

    def v1_files(self) -> dict[str, str]:
        """What each of v1's files holds with these settings."""
        return {
            "cpu.cfs_period_us": str(self.period_us),
            "cpu.cfs_quota_us": "-1" if self.quota_us is None else str(self.quota_us),
            "cpu.cfs_burst_us": str(self.burst_us),
            "cpu.shares": str(min(262_144, max(2, round(1024 * self.weight)))),
        }

    def v2_files(self) -> dict[str, str]:
        """What each of v2's files holds with these settings."""
        quota = "max" if self.quota_us is None else str(self.quota_us)
        return {
            "cpu.max": f"{quota} {self.period_us}",
            "cpu.max.burst": str(self.burst_us),
            "cpu.weight": str(min(10_000, max(1, round(100 * self.weight)))),
        }


# What a new group starts with (no quota, the default period and weight, no burst).
KERNEL_DEFAULT = CpuSettings(DEFAULT_PERIOD_US, None, 0)


def cpu_quota(fraction: float, cpus: int) -> tuple[int, int]:
    """(quota, period) in µs of the ``quota`` policy for a share of CPU.

    A short period keeps the share and bounds each throttling stall: with AWS's 128 MB
    share (7.2 % of a CPU) a 100 ms period stalls a busy function for up to ~93 ms at a
    time. The kernel's smallest quota is 1 ms, which sets the period for tiny shares.
    """
    share = min(fraction, cpus)
    period = max(QUOTA_PERIOD_US, math.ceil(MIN_QUOTA_US / share)) if share > 0 else QUOTA_PERIOD_US
    period = min(period, MAX_PERIOD_US)
    return max(MIN_QUOTA_US, round(share * period)), period


def burst_quota(fraction: float, cpus: int) -> tuple[int, int]:
    """(quota, period) in µs of the ``burst`` policy: ``BURST_QUOTA_US`` per period (more
    where the shortest period gives more), so every share gets the same burst budget."""
    share = min(fraction, cpus)
    if share <= 0:
        raise ValueError(f"a CPU share must be positive: {fraction}")
    period = min(MAX_PERIOD_US, max(BURST_MIN_PERIOD_US, math.ceil(BURST_QUOTA_US / share)))
    return max(MIN_QUOTA_US, round(share * period)), period


def cpu_settings(
    policy: str, fraction: float, cpus: int, *, boosted: bool = False, has_burst: bool = True
) -> CpuSettings:
    """The settings that give ``fraction`` of a CPU (capped at ``cpus``) under ``policy``.

    ``boosted`` (``boost`` only; other policies have one mode): the settings of an
    invocation's boost window, which differ from the share's only in the quota.
    ``has_burst`` (``boost`` only): False where the kernel has no CFS burst. Raises
    ValueError for an unknown policy or a share that is not positive."""
    if not fraction > 0:
        raise ValueError(f"a CPU share must be positive: {fraction}")
    if policy == "boost":
        return boost_settings(fraction, cpus, boosted=boosted, has_burst=has_burst)
    if policy == "quota":
        quota, period = cpu_quota(fraction, cpus)
        return CpuSettings(period, quota, 0)
    if policy == "burst":
        quota, period = burst_quota(fraction, cpus)
        # The kernel takes a burst of at most the quota: one period's worth saved up.
        return CpuSettings(period, quota, quota)
    if policy == "weight":
        return CpuSettings(DEFAULT_PERIOD_US, None, 0, min(fraction, float(cpus)))
    raise ValueError(f"CPU policy must be one of {', '.join(CPU_POLICIES)}: {policy!r}")


def boost_settings(
    fraction: float, cpus: int, *, boosted: bool, has_burst: bool = True
) -> CpuSettings:
    """The ``boost`` policy's settings for a share, in its boosted mode or its share's.

    The share's mode is the ``burst`` policy's (with CFS burst; without it the ``quota``
    policy's). The boosted mode keeps its period, burst and weight and raises the quota
    to one CPU per period (the share where that is more), so a switch writes only the
    quota; a burst at most the share's quota stays within both quotas, and a ratio of one
    CPU stays within a parent allowed the host's CPUs. The weight is the share."""
    share = min(fraction, float(cpus))
    if has_burst:
        quota, period = burst_quota(fraction, cpus)
        burst = quota
    else:
        quota, period = cpu_quota(fraction, cpus)
        burst = 0
    if boosted:
        quota = max(quota, period)
    return CpuSettings(period, quota, burst, share)


def effective_policy(requested: str, has_burst: bool) -> tuple[str, str | None]:
    """The policy to use, and why it is not the one requested (None when it is)."""
    if requested not in CPU_POLICIES:
        raise ValueError(f"CPU policy must be one of {', '.join(CPU_POLICIES)}: {requested!r}")
    if requested == "burst" and not has_burst:
        return "quota", (
            "this kernel has no CFS burst (cpu.cfs_burst_us / cpu.max.burst, Linux 5.14+): "
            "the CPU policy is quota (a hard quota with a short period), not burst"
        )
    return requested, None


def cpu_writes(
    version: int, old: CpuSettings | None, new: CpuSettings, has_burst: bool
) -> list[tuple[str, str]]:
    """The (file, value) writes that take a group from ``old`` (None: unknown) to ``new``.

    Only what changes is written, in an order every step of which the kernel accepts: a
    burst never above the quota (a lower burst first, a higher one last) and, on v1, a
    quota-to-period ratio never above the larger of the old and new ones (a group's ratio
    may not exceed its parent's). ``has_burst`` False: the burst file does not exist (then
    ``new.burst_us`` must be 0).
    """
    if new.burst_us and not has_burst:
        raise ValueError("a CPU burst needs CFS burst support")
    files = new.v1_files() if version == 1 else new.v2_files()
    was = {} if old is None else old.v1_files() if version == 1 else old.v2_files()
    old_burst = None if old is None else old.burst_us
    burst_file = "cpu.cfs_burst_us" if version == 1 else "cpu.max.burst"
    writes: list[tuple[str, str]] = []
    if has_burst and (old_burst is None or new.burst_us < old_burst):
        writes.append((burst_file, "0" if old_burst is None else files[burst_file]))
    limits = ["cpu.cfs_period_us", "cpu.cfs_quota_us"] if version == 1 else ["cpu.max"]
    if version == 1 and old is not None and new.period_us < old.period_us:
        limits.reverse()  # the quota first: the ratio never exceeds the new one
    writes += [(name, files[name]) for name in limits if files[name] != was.get(name)]
    if has_burst and new.burst_us > (old_burst or 0):
        writes.append((burst_file, files[burst_file]))
    weight_file = "cpu.shares" if version == 1 else "cpu.weight"
    if files[weight_file] != was.get(weight_file):
        writes.append((weight_file, files[weight_file]))
    return writes
