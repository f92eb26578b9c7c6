"""The isolated Linux sandbox: namespaces from a forking spawner, limits from cgroups.

Each environment is forked by a spawner process (``lamina/runtimes/spawner.py``, one
per Python interpreter in use, with the built-in Python runtime preloaded), enters new
mount, pid, ipc, uts and network namespaces, gets a fresh read-only root with its code
at ``/var/task``, layers at ``/opt`` and a size-limited ``/tmp``, is put in its own
cgroup (memory, CPU in proportion to memory, pids), then drops to an unprivileged uid.
Its Runtime API listens on ``169.254.100.1:9001`` (and ``127.0.0.1:9001``) inside its own
network namespace, where nothing else can reach it; the server receives that listening
socket by fd passing.
The conversation with the spawner processes is in ``spawner_client.py``. See
docs/isolation.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import signal
import socket
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamina.runtime.aws_env import AWS_LINK_LOCAL_HOST, LANG_ROOT
from lamina.runtime.cgroups import Cgroups, EnvironmentCgroup, Limits, cpu_fraction_for_memory
from lamina.runtime.cpu_policy import BOOST_WINDOW_SECONDS
from lamina.runtime.ephemeral import EphemeralImages, TmpDisk
from lamina.runtime.launch import RUNTIMES_DIR, SANDBOX_RUNTIMES_DIR, SANDBOX_SDK_DIR
from lamina.runtime.sandbox import START_DEADLINE_SECONDS, SandboxSpec
from lamina.runtime.sandbox_users import SandboxUsers
from lamina.runtime.spawner_client import SandboxUnavailable, Spawner, receive, send_message
from lamina.runtime.tmp_guarantee import TmpGuarantee

log = logging.getLogger("lamina.sandbox")

RUNTIME_API_PORT = 9001
# The owner of what environments share (templates); each environment runs as a uid of
# its own (sandbox_users.py).
SANDBOX_UID = 993  # AWS's sbx_user1051
SANDBOX_GID = 990
PIDS_MAX = 1024
PREPARED_INITS = 4
REPLACE_DELAY = 0.1
# A start that finds no init prepared while one is being prepared ahead waits this long at
# most for it, instead of preparing another beside it (two at once take longer each).
PLACED_WAIT_SECONDS = 0.05
# Host paths every environment sees read-only (when they exist).
SYSTEM_BINDS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32", "/etc")


@dataclass
class PreparedInit:
    """An environment's init, prepared ahead of need and waiting for its spec."""

    pid: int
    control: socket.socket
    cgroup: EnvironmentCgroup | None
    # Spawner.generation when it was prepared: an older one died with its spawner.
    generation: int = 0

    def discard(self, remove_cgroup: bool = True, kill: bool = True) -> None:
        """Kill it (its namespaces go with it) and drop its cgroup. ``kill=False``: it is
        gone already (its pid may name another process by now)."""
        if kill:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        self.control.close()
        if self.cgroup is not None and remove_cgroup:
            _remove_cgroup(self.cgroup)
        self.cgroup = None


@dataclass
class LinuxHandle:
    pid: int
    log_fd: int
    cgroup: EnvironmentCgroup | None
    spawner: Spawner
    # The environment's control socket: its init reports how the runtime process ended.
    control: socket.socket
    listeners: dict[str, socket.socket] = field(default_factory=dict)
    cpu_fraction: float = 1.0
    tmp_storage: str = "memory"  # "disk", or why /tmp is a tmpfs
    # The environment's own uid (and gid), given back to ``users`` once its init has ended.
    uid: int | None = None
    users: SandboxUsers | None = None
    # What guaranteed its disk /tmp (given back with the uid).
    tmp_guarantee: TmpGuarantee | None = None
    _frozen: bool = False
    _returncode: int | None = None
    _cpu_warned: bool = False

    async def wait(self) -> int:
        if self._returncode is not None:
            return self._returncode
        reported = asyncio.ensure_future(receive(self.control))
        ended = self.spawner.exit_future(self.pid)
        waiting: set[asyncio.Future[Any]] = {reported, asyncio.shield(ended)}
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        message = None
        if reported.done() and not reported.cancelled() and reported.exception() is None:
            message = reported.result()[0]
        else:
            # Wait for the reader to be removed: the control socket may be closed next,
            # and its descriptor number reused while the event loop still watches it.
            reported.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await reported
        if message and message.get("op") == "exit":
            self._returncode = int(message["returncode"])
        else:
            # Killed from outside (timeout, shutdown): the init's own end is the answer.
            self._returncode = await asyncio.shield(ended)
        return self._returncode

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        if self._frozen:
            self.thaw()

    def terminate(self) -> None:
        self.thaw()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)

    def max_memory_mb(self) -> int:
        if self.cgroup is None:
            return 0
        return max(1, -(-self.cgroup.peak_memory_bytes() // (1024 * 1024)))

    def oom_killed(self) -> bool:
        return self.cgroup is not None and self.cgroup.oom_killed() > 0

    def init_done(self) -> None:
        # Init ran with the whole host's CPU (AWS gives init a boost too); from the first
        # invocation on, the function gets its share: 1,769 MB = 1 vCPU (boosted at the
        # start of each invocation under the ``boost`` policy, the first one included).
        if self.cgroup is not None:
            self.cgroup.set_cpu_fraction(self.cpu_fraction, boosted=True)

    def cpu_boost(self) -> float | None:
        """An invocation starts: its boost window begins (``cpu_policy.py``, ``boost``).
        Returns the window's length in seconds, after which ``cpu_settle`` is due if the
        invocation still runs, or None when the CPU share has one mode (no cgroup or cpu
        controller, another policy, a share of one CPU or more). Writes one cgroup file
        at most, none when the group is boosted already; never raises."""
        cgroup = self.cgroup
        if cgroup is None or not cgroup.cpu_switches:
            return None
        try:
            cgroup.cpu_boost()
        except OSError as exc:
            self._cpu_write_failed(exc)
        return BOOST_WINDOW_SECONDS

    def cpu_settle(self) -> None:
        """The boost window passed with the invocation still running: the share applies
        (one cgroup write at most; never raises)."""
        cgroup = self.cgroup
        if cgroup is None:
            return
        try:
            cgroup.cpu_settle()
        except OSError as exc:
            self._cpu_write_failed(exc)

    def _cpu_write_failed(self, exc: OSError) -> None:
        # The group stays in the mode it was in; said once per environment.
        if not self._cpu_warned:
            self._cpu_warned = True
            log.warning("cannot switch the CPU mode of environment %s: %s", self.pid, exc)

    def freeze(self) -> None:
        if self.cgroup is not None and not self._frozen:
            # Asks the kernel to freeze and returns: the event loop never waits on it.
            self.cgroup.freeze(wait=False)
            self._frozen = True

    def thaw(self) -> None:
        if self.cgroup is not None and self._frozen:
            self.cgroup.thaw()
            self._frozen = False

    def close(self) -> None:
        for sock in self.listeners.values():
            sock.close()
        self.listeners.clear()
        self.control.close()
        if self.cgroup is not None:
            _remove_cgroup(self.cgroup)
            self.cgroup = None
        users, uid, guarantee = self.users, self.uid, self.tmp_guarantee
        if users is not None and uid is not None:
            # Only when every process of the environment is gone can the uid be reused (and
            # its /tmp, gone with its mount namespace, stop counting).
            def release(_: object) -> None:
                users.release(uid)
                if guarantee is not None:
                    guarantee.give_back(uid)

            self.spawner.exit_future(self.pid).add_done_callback(release)
            self.users = None
        self.spawner.forget(self.pid)


def _remove_cgroup(cgroup: EnvironmentCgroup) -> None:
    """Removing a cgroup can wait on the kernel for milliseconds: off the event loop."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        _remove_quietly(cgroup)
        return
    loop.run_in_executor(None, _remove_quietly, cgroup)


def _remove_quietly(cgroup: EnvironmentCgroup) -> None:
    # Gone already (the server's cgroup sweep at shutdown may remove it first) is fine.
    try:
        cgroup.remove()
    except OSError as exc:
        log.debug("removing cgroup %s: %s", cgroup, exc)


class LinuxSandbox:
    isolated_fs = True

    def __init__(
        self,
        cgroups: Cgroups | None,
        root_dir: Path,
        extra_ro_binds: list[str],
        network: str = "none",
    ) -> None:
        self.cgroups = cgroups
        # The functions' network mode: environments prepared ahead use it.
        self.network = network
        self.root_dir = root_dir
        self.extra_ro_binds = extra_ro_binds
        self.lamina_api_port = 0
        self.users = SandboxUsers()
        self.tmp_guarantee = TmpGuarantee(root_dir)
        self._spawners: dict[str, Spawner] = {}
        # Spawners being started ahead of need (``warm``), by interpreter.
        self._warming: dict[str, asyncio.Future[None]] = {}
        # Per spawner: inits already inside a prepared cgroup (see spawner.prepare).
        self._placed: dict[str, list[PreparedInit]] = {}
        self._placing: set[str] = set()
        # Per spawner: resolved when its next init prepared ahead is placed (or placing
        # stops); one start at a time waits on it.
        self._arrival: dict[str, asyncio.Future[None]] = {}
        self._closed = False
        # Per spawner: the binds its prepared inits mount before they know their function.
        self._premounted: dict[str, list[list[str]]] = {}
        self.sdk_dir: str | None = None
        # Disk-backed /tmp (see ephemeral.py) when the host allows it, else tmpfs.
        self.ephemeral: EphemeralImages | None = None
        # (spawner, runtime executable, SDK) -> read-only binds beyond the template.
        self._extra: dict[tuple[str, str | None, str | None], list[list[str]]] = {}
        limits = f"cgroups v{cgroups.version}" if cgroups else "no cgroups"
        self.name = f"linux namespaces + {limits}"

    def runtime_api_address(self, network: str) -> str | None:
        # AWS's address: the spawner adds it to the environment's own loopback interface.
        return f"{AWS_LINK_LOCAL_HOST}:{RUNTIME_API_PORT}" if network == "none" else None

    def default_spawner(self) -> Spawner:
        """The spawner of the server's own interpreter (Python functions of this version,
        and every exec-based runtime)."""
        return self._spawner(sys.executable)

    def _spawner(self, interpreter: str) -> Spawner:
        """The spawner of ``interpreter`` (its process starts with its first request)."""
        spawner = self._spawners.get(interpreter)
        if spawner is None:
            spawner = Spawner(interpreter, preload_python=True)
            self._spawners[interpreter] = spawner
        return spawner

    def _spawner_for(self, spec: SandboxSpec) -> tuple[Spawner, str]:
        """Python runtimes fork from a spawner that preloaded the runtime (the spawner of
        their interpreter, whose template has it at /var/lang); others exec, and so does a
        Python runtime behind ``AWS_LAMBDA_EXEC_WRAPPER``."""
        argv = _runtime_argv(spec)
        if len(argv) >= 2 and argv[-1].endswith("/python/bootstrap.py"):
            return self._spawner(argv[0]), "python" if argv is spec.argv else "exec"
        return self._spawner(sys.executable), "exec"

    def warm(self, interpreter: str) -> None:
        """Start the spawner of a Python ``interpreter`` and prepare its inits ahead, in the
        background, so that the first environment of a function on that interpreter does
        not wait for them (a spawner preloading the runtime takes 70-150 ms to start).
        Returns at once; a spawner already started is left as it is. A failure is logged
        (the next environment's start reports it to its caller)."""
        if self._closed or interpreter in self._warming:
            return
        spawner = self._spawner(interpreter)

        async def warm_up() -> None:
            try:
                await spawner.ready()
            except (OSError, SandboxUnavailable) as exc:
                if not self._closed:
                    log.warning("could not start the spawner of %s: %s", interpreter, exc)
                return
            finally:
                self._warming.pop(interpreter, None)
            self.place_inits(spawner)

        self._warming[interpreter] = asyncio.ensure_future(warm_up())

    def _extra_binds(self, spawner: Spawner, spec: SandboxSpec) -> list[list[str]]:
        """The read-only binds an environment needs beyond its spawner's template (a
        non-Python runtime's installation, for one): computed once per runtime."""
        argv = _runtime_argv(spec)
        runtime = argv[0] if argv else None
        key = (spawner.interpreter, runtime, spec.sdk_dir)
        extra = self._extra.get(key)
        if extra is None:
            premounted = self._premounted_binds(spawner)
            wanted = self.shared_binds(spec.sdk_dir, _interpreter_prefixes(runtime))
            extra = self._extra[key] = [b for b in wanted if b not in premounted]
        return extra

    def shared_binds(self, sdk_dir: str | None, prefixes: list[str]) -> list[list[str]]:
        binds = [[path, path] for path in SYSTEM_BINDS]
        seen = set(SYSTEM_BINDS)
        for path in [*self.extra_ro_binds, *prefixes]:
            if path and path not in seen and not path.startswith(SYSTEM_BINDS):
                seen.add(path)
                binds.append([path, path])
        binds.append([str(RUNTIMES_DIR), SANDBOX_RUNTIMES_DIR])
        if sdk_dir:
            binds.extend(_sdk_binds(sdk_dir))
        return binds

    async def start(self, spec: SandboxSpec) -> LinuxHandle:
        """A new environment, running as a uid of its own, or ``SandboxUnavailable``
        within ``START_DEADLINE_SECONDS`` (a hung spawner or init never leaves a cold
        start waiting; the spawner's own watchdog replaces a hung spawner). Starting the
        spawner itself, once, is not counted: it has its own limit."""
        await self._spawner_for(spec)[0].ready()
        uid = self.users.allocate()
        try:
            handle = await asyncio.wait_for(self._start(spec, uid), START_DEADLINE_SECONDS)
        except asyncio.TimeoutError:
            self.users.release(uid)
            self.tmp_guarantee.give_back(uid)
            raise SandboxUnavailable(
                f"the execution environment did not start within {START_DEADLINE_SECONDS:g} s"
            ) from None
        except BaseException:
            self.users.release(uid)
            self.tmp_guarantee.give_back(uid)
            raise
        handle.uid, handle.users, handle.tmp_guarantee = uid, self.users, self.tmp_guarantee
        return handle

    async def _start(self, spec: SandboxSpec, uid: int) -> LinuxHandle:
        spawner, mode = self._spawner_for(spec)
        argv = list(spec.argv)
        if mode == "exec" and argv and argv[-1].endswith("/python/bootstrap.py"):
            # The interpreter as on AWS (its spawner's template binds its prefix there).
            at = len(argv) - len(_runtime_argv(spec))
            argv[at] = _lang_python(argv[at]) or os.path.realpath(argv[at])
        payload: dict[str, Any] = {
            "argv": argv,
            "env": spec.env,
            "cwd": spec.cwd,
            "mode": mode,
            "task_dir": spec.task_dir,
            "opt_dir": spec.opt_dir,
            "tmp_mb": spec.ephemeral_mb,
            "ro_binds": self._extra_binds(spawner, spec),
            "uid": uid,
            "gid": uid,
        }
        tmp_disk = None
        if self.ephemeral is not None:
            tmp_disk = await self.ephemeral.for_start(spec.ephemeral_mb)
            if tmp_disk is not None and not self.tmp_guarantee.take(uid, spec.ephemeral_mb):
                tmp_disk = None  # a tmpfs over the one an init prepared ahead
            payload["tmp_disk"] = tmp_disk
        limits = _init_limits(spec.memory_mb)
        placed = self._live_placed(spawner)
        if not placed and spec.network == self.network:
            placed = await self._await_placed(spawner)
        if placed and spec.network == self.network:
            init = placed.pop()
            try:
                if init.cgroup is not None:
                    init.cgroup.apply(limits)
            except BaseException:
                init.discard()
                raise
        else:
            init = await self._prepare_init(spawner, spec.network, limits, tmp_disk)
        # Replace it a little later: moving a process into a cgroup blocks every fork on
        # the host until an RCU grace period passes, so it must not overlap this start.
        asyncio.get_running_loop().call_later(REPLACE_DELAY, self.place_inits, spawner)
        read_fd, write_fd = os.pipe()
        try:
            try:
                await send_message(init.control, {"op": "spawn", "spec": payload}, [write_fd])
            finally:
                os.close(write_fd)
            message, fds = await receive(init.control)
            if message is None or message.get("op") != "ready":
                for fd in fds:
                    os.close(fd)
                error = (message or {}).get("error", "the environment exited during set-up")
                raise SandboxUnavailable(error)
        except BaseException:
            os.close(read_fd)
            init.discard()
            raise
        listeners = {}
        if len(fds) in (2, 3):
            listeners = {
                "runtime_api": socket.socket(fileno=fds[0]),
                "lamina_api": socket.socket(fileno=fds[1]),
            }
            if len(fds) == 3:
                # The built-in Python runtime's first connection, made in advance.
                listeners["runtime_api_connection"] = socket.socket(fileno=fds[2])
        else:
            for fd in fds:
                os.close(fd)
        os.set_blocking(read_fd, False)
        handle = LinuxHandle(init.pid, read_fd, init.cgroup, spawner, init.control, listeners)
        handle.cpu_fraction = cpu_fraction_for_memory(spec.memory_mb)
        handle.tmp_storage = str(message.get("tmp", "memory"))
        if self.ephemeral is not None:
            self.ephemeral.started(handle.tmp_storage)
        return handle

    def _live_placed(self, spawner: Spawner) -> list[PreparedInit]:
        """The spawner's inits prepared ahead, without those that died with an earlier
        spawner process (killed as hung, or crashed)."""
        placed = self._placed.get(spawner.interpreter, [])
        for init in [i for i in placed if i.generation != spawner.generation]:
            placed.remove(init)
            init.discard(kill=False)
        return placed

    async def _await_placed(self, spawner: Spawner) -> list[PreparedInit]:
        """With none placed: when an init is being prepared ahead and no other start waits
        for it, wait up to ``PLACED_WAIT_SECONDS`` for it; the spawner's placed inits."""
        key = spawner.interpreter
        if key in self._placing and key not in self._arrival:
            arrival = self._arrival[key] = asyncio.get_running_loop().create_future()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(arrival), PLACED_WAIT_SECONDS)
        return self._live_placed(spawner)

    def _announce(self, key: str) -> None:
        arrival = self._arrival.pop(key, None)
        if arrival is not None and not arrival.done():
            arrival.set_result(None)

    def _premounted_binds(self, spawner: Spawner) -> list[list[str]]:
        """The read-only binds a spawner's inits mount before they know their function."""
        binds = self._premounted.get(spawner.interpreter)
        if binds is None:
            prefixes = _interpreter_prefixes(spawner.interpreter)
            binds = self.shared_binds(self.sdk_dir, prefixes)
            # The spawner's interpreter at /var/lang, as AWS installs Python.
            binds.append([_installation_prefix(spawner.interpreter), LANG_ROOT])
            self._premounted[spawner.interpreter] = binds
        return binds

    async def _prepare_init(
        self, spawner: Spawner, network: str, limits: Limits, tmp_disk: TmpDisk | None
    ) -> PreparedInit:
        """An init waiting in new namespaces, inside its own cgroup (with ``tmp_disk``: its
        /tmp mounted already)."""
        cgroups = self.cgroups
        creating = (
            asyncio.ensure_future(asyncio.to_thread(cgroups.create, _cgroup_id(), limits))
            if cgroups is not None
            else None
        )
        init: PreparedInit | None = None
        try:
            ports = [RUNTIME_API_PORT, self.lamina_api_port]
            pid, control = await spawner.prepare(
                network, str(self.root_dir), self._premounted_binds(spawner), ports, tmp_disk
            )
            init = PreparedInit(pid, control, None, spawner.generation)
            message, fds = await receive(control)
            for fd in fds:
                os.close(fd)
            if message is None or message.get("op") != "prepared":
                error = (message or {}).get("error", "the environment exited during set-up")
                raise SandboxUnavailable(error)
            if creating is not None:
                init.cgroup = await creating
                # Moving a task between cgroups can wait for an RCU grace period (5-20 ms
                # on cgroup v1): keep the event loop serving meanwhile.
                await asyncio.to_thread(init.cgroup.attach, pid)
        except BaseException:
            if init is not None:
                init.discard()
            if creating is not None:
                if not creating.done():
                    with contextlib.suppress(BaseException):
                        await creating
                if init is None or init.cgroup is None:
                    with contextlib.suppress(BaseException):
                        _remove_cgroup(creating.result())
            raise
        return init

    def place_inits(self, spawner: Spawner, target: int = PREPARED_INITS) -> None:
        """Keep ``target`` inits of this spawner waiting inside prepared cgroups."""
        key = spawner.interpreter
        if self.cgroups is None or key in self._placing or self._closed:
            return
        placed = self._placed.setdefault(key, [])
        if len(placed) >= target:
            return
        self._placing.add(key)
        boost = _init_limits(128)

        async def place() -> None:
            try:
                while len(placed) < target and not self._closed:
                    tmp_disk = await self.ephemeral.ahead() if self.ephemeral else None
                    placed.append(await self._prepare_init(spawner, self.network, boost, tmp_disk))
                    self._announce(key)
            except (OSError, SandboxUnavailable) as exc:
                if not self._closed:
                    log.warning("could not prepare environments ahead: %s", exc)
            finally:
                self._placing.discard(key)
                self._announce(key)

        asyncio.ensure_future(place())

    async def close(self) -> None:
        self._closed = True
        # A spawner being started is let finish (cancelled half-way, its process could be
        # left without its socket): it is closed below with the others.
        await asyncio.gather(*self._warming.values(), return_exceptions=True)
        for placed in self._placed.values():
            for init in placed:
                init.discard(remove_cgroup=False)  # the cleanup below removes them all
        self._placed.clear()
        for spawner in self._spawners.values():
            await spawner.close()
        self._spawners.clear()
        if self.cgroups is not None:
            await asyncio.to_thread(self.cgroups.cleanup)


@functools.cache
def _sdk_binds(sdk_dir: str) -> tuple[list[str], ...]:
    """Each SDK package's real directory, mounted in /var/runtime, as on AWS (fixed for the
    server's lifetime, so resolved once)."""
    binds: list[list[str]] = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(sdk_dir):
            binds.append([os.path.realpath(entry.path), f"{SANDBOX_SDK_DIR}/{entry.name}"])
    return tuple(binds)


@functools.cache
def _init_limits(memory_mb: int) -> Limits:
    """Limits while the runtime initialises: its memory, and the host's whole CPU (the
    proportional share applies from the first invocation, see ``LinuxHandle.init_done``)."""
    return Limits(
        memory_bytes=memory_mb * 1024 * 1024,
        cpu_fraction=float(os.cpu_count() or 1),
        pids_max=PIDS_MAX,
    )


def _runtime_argv(spec: SandboxSpec) -> list[str]:
    """The runtime's command: ``spec.argv`` without ``AWS_LAMBDA_EXEC_WRAPPER`` in front
    (``spec.argv`` itself when there is none)."""
    wrapper = spec.env.get("AWS_LAMBDA_EXEC_WRAPPER")
    if wrapper and len(spec.argv) > 1 and spec.argv[0] == wrapper:
        return spec.argv[1:]
    return spec.argv


@functools.cache
def _installation_prefix(executable: str) -> str:
    """The installation an interpreter belongs to (``<prefix>/bin/python3.X``)."""
    return os.path.dirname(os.path.dirname(os.path.realpath(executable)))


@functools.cache
def _lang_python(executable: str) -> str | None:
    """``/var/lang/bin/python3.X`` for a host ``python3.X``, or None if it has no such name."""
    name = os.path.basename(os.path.realpath(executable))
    return f"{LANG_ROOT}/bin/{name}" if re.fullmatch(r"python3\.\d+", name) else None


def _cgroup_id() -> str:
    return f"env-{uuid.uuid4().hex[:16]}"


@functools.cache
def _interpreter_prefixes(runtime: str | None) -> list[str]:
    """The installation prefixes of the runtime's executable and of the spawner's.

    The spawner's own interpreter (this one) runs the environment until it execs, so its
    standard library is always there too. Resolved once per executable.
    """
    paths: list[str] = [sys.base_prefix]
    # A custom runtime's bootstrap is already an in-sandbox path (/var/task, /opt).
    if runtime and not runtime.startswith(("/var/task/", "/opt/")):
        executable = os.path.realpath(runtime)
        prefix = os.path.dirname(os.path.dirname(executable))
        if prefix not in ("/usr", "/", "/usr/local"):
            paths.append(prefix)
        elif prefix == "/usr/local":
            paths.append(os.path.dirname(executable))
    return paths


def probe_isolation() -> str | None:
    """Why isolation cannot work here, or None if it can be tried."""
    if not sys.platform.startswith("linux"):
        return "not Linux"
    if os.geteuid() != 0:
        return "the server is not running as root (rootless isolation is not supported yet)"
    if not os.path.exists("/proc/self/ns/pid"):
        return "the kernel has no namespaces"
    return None
