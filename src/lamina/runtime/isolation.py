"""Which sandbox backend runs environments, chosen once at server start.

``--isolation auto`` (the default) uses the Linux sandbox (namespaces + cgroups) when
this host allows it and falls back to plain processes otherwise, saying why in the log
and in the server's start-up line. ``linux`` insists (start-up fails if impossible);
``process`` never isolates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
import uuid
from pathlib import Path

from lamina.runtime import ephemeral
from lamina.runtime.cgroups import Cgroups
from lamina.runtime.cpu_policy import CPU_POLICIES, DEFAULT_CPU_POLICY
from lamina.runtime.linux_sandbox import SANDBOX_GID, SANDBOX_UID, LinuxSandbox, probe_isolation
from lamina.runtime.sandbox import ProcessSandbox, Sandbox, SandboxHandle, SandboxSpec
from lamina.runtime.sandbox_users import SandboxUsers
from lamina.runtime.spawner_client import SandboxUnavailable
from lamina.runtime.tmp_guarantee import TmpGuarantee

log = logging.getLogger("lamina.sandbox")

ISOLATION_MODES = ("auto", "linux", "process")
TMP_STORAGE = ("memory", "disk")


class SelectedSandbox:
    """Delegates to the backend chosen by ``select``; plain processes until then."""

    def __init__(
        self,
        mode: str,
        data_dir: Path,
        lamina_api_port: int,
        network: str = "none",
        tmp_storage: str = "disk",
        cpu_policy: str = DEFAULT_CPU_POLICY,
    ) -> None:
        self.network = network
        if tmp_storage not in TMP_STORAGE:
            raise ValueError(f"tmp storage must be one of {', '.join(TMP_STORAGE)}")
        self.tmp_storage = tmp_storage
        if cpu_policy not in CPU_POLICIES:
            raise ValueError(f"CPU policy must be one of {', '.join(CPU_POLICIES)}")
        # How environments' CPU shares are enforced (runtime/cpu_policy.py).
        self.cpu_policy = cpu_policy
        # The Python SDK directory every environment mounts (set by the server).
        self.sdk_dir: Path | None = None
        # Cgroups are named after the port: a crashed server's leftovers on the same port
        # are removed at the next start.
        if mode not in ISOLATION_MODES:
            raise ValueError(f"isolation must be one of {', '.join(ISOLATION_MODES)}")
        self.mode = mode
        self.data_dir = data_dir
        self.lamina_api_port = lamina_api_port
        self.backend: Sandbox = ProcessSandbox()
        self.fallback_reason: str | None = None

    @property
    def name(self) -> str:
        if self.fallback_reason:
            return f"{self.backend.name} (no isolation: {self.fallback_reason})"
        return self.backend.name

    @property
    def isolated_fs(self) -> bool:
        return self.backend.isolated_fs

    def runtime_api_address(self, network: str) -> str | None:
        return self.backend.runtime_api_address(network)

    async def start(self, spec: SandboxSpec) -> SandboxHandle:
        return await self.backend.start(spec)

    async def close(self) -> None:
        await self.backend.close()

    async def select(self) -> None:
        if self.mode == "process":
            return
        reason = probe_isolation()
        sandbox: LinuxSandbox | None = None
        if reason is None:
            detected = Cgroups.detect(f"port-{self.lamina_api_port}")
            cgroups = detected if isinstance(detected, Cgroups) else None
            if cgroups is None:
                log.warning("no resource limits: %s", detected)
            else:
                removed = await asyncio.to_thread(cgroups.remove_stale_siblings, _server_alive)
                if removed:
                    log.info("removed cgroups left by stopped servers: %s", ", ".join(removed))
                fallback = cgroups.use_cpu_policy(self.cpu_policy)
                if fallback:
                    log.warning("%s", fallback)
            root = self.data_dir / "sandbox" / "root"
            root.mkdir(parents=True, exist_ok=True)
            sandbox = LinuxSandbox(cgroups, root, [], self.network)
            if cgroups is not None and "cpu" in cgroups.controllers:
                sandbox.name += f", CPU policy {cgroups.cpu_policy}"
            sandbox.sdk_dir = str(self.sdk_dir) if self.sdk_dir else None
            sandbox.lamina_api_port = self.lamina_api_port
            sandbox.users = SandboxUsers.for_port(self.lamina_api_port)
            no_disk = ephemeral.probe() if self.tmp_storage == "disk" else "not asked for"
            if no_disk is None:
                images = self.data_dir / "sandbox" / "ephemeral"
                sandbox.ephemeral = ephemeral.EphemeralImages(images, (SANDBOX_UID, SANDBOX_GID))
                sandbox.tmp_guarantee = TmpGuarantee(images)
            reason, tmp_storage = await _self_test(sandbox)
            if reason is None and sandbox.ephemeral is not None and tmp_storage != "disk":
                no_disk = tmp_storage
                sandbox.ephemeral = None
            if reason is None:
                sandbox.name += ", /tmp on disk" if no_disk is None else ", /tmp in memory"
                if self.tmp_storage == "disk" and no_disk is not None:
                    log.warning(
                        "/tmp of isolated environments is a tmpfs (it counts against the "
                        "function's memory), not disk: %s. Loop devices and mkfs.ext4 "
                        "(e2fsprogs) give AWS's disk /tmp; --tmp-storage memory chooses "
                        "the tmpfs without this warning",
                        no_disk,
                    )
        if reason is None and sandbox is not None:
            self.backend = sandbox
            sandbox.place_inits(sandbox.default_spawner())
            return
        if sandbox is not None:
            await sandbox.close()
        if self.mode == "linux":
            raise SandboxUnavailable(f"isolation was requested but is not possible: {reason}")
        self.fallback_reason = reason
        log.warning(
            "functions run WITHOUT isolation (plain processes): %s. "
            "Run the server as root on Linux for namespaces and cgroups.",
            reason,
        )


def _listening_ports() -> set[int]:
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as fh:
            next(fh, None)
            for line in fh:
                fields = line.split()
                if len(fields) > 3 and fields[3] == "0A":  # LISTEN
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _server_alive(name: str, directories: list[str]) -> bool:
    """A server's cgroups are named ``lamina-port-<port>`` (its environments) and
    ``lamina-compile-port-<port>`` (its bytecode compiler): it runs while the port listens.
    Anything else is assumed to be alive (never removed), and so is a group changed in
    the last minute (a server that is starting has not bound its port yet)."""
    owner = _SERVER_GROUP.fullmatch(name)
    if owner is None:
        return True
    if int(owner.group(1)) in _listening_ports():
        return True
    for path in directories:
        with contextlib.suppress(OSError):
            if time.time() - os.stat(path).st_mtime < STALE_AFTER_SECONDS:
                return True
    return False


STALE_AFTER_SECONDS = 60
_SERVER_GROUP = re.compile(r"lamina-(?:compile-)?port-(\d+)")


async def _self_test(sandbox: LinuxSandbox) -> tuple[str | None, str]:
    """Start one trivial environment; a host that forbids namespaces fails here. Returns
    why it failed (None: it worked) and what its /tmp was."""
    spec = SandboxSpec(
        env_id=f"selftest-{uuid.uuid4().hex[:8]}",
        argv=["/bin/true"],
        env={"PATH": "/usr/bin:/bin"},
        cwd="/",
        memory_mb=128,
        task_dir=str(sandbox.root_dir.parent),
        network="none",
    )
    try:
        handle = await asyncio.wait_for(sandbox.start(spec), 10)
    except (SandboxUnavailable, OSError, asyncio.TimeoutError) as exc:
        return f"the sandbox self-test failed ({exc})", "memory"
    tmp_storage = handle.tmp_storage
    output = b""
    try:
        code = await asyncio.wait_for(handle.wait(), 10)
        with contextlib.suppress(OSError):
            output = os.read(handle.log_fd, 4096)
    except asyncio.TimeoutError:
        handle.kill()
        code = -1
    finally:
        os.close(handle.log_fd)
        for sock in handle.listeners.values():
            sock.close()
        handle.close()
    if code == 0:
        return None, tmp_storage
    detail = output.decode(errors="replace").strip()
    failure = f"the sandbox self-test exited with {code}" + (f": {detail}" if detail else "")
    return failure, tmp_storage
