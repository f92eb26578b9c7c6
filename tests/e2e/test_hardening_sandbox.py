"""The sandbox under attack (issue 9, items 1, 8 and 13), each attack made from inside
real functions of a real server.

- 1: a server started on a terminal; its functions try to reach that terminal (open
  /dev/tty, push input with TIOCSTI) and must fail, in both isolation modes;
- 8: the system-call filter (EPERM for keyrings, new user namespaces, ptrace, bpf,
  io_uring, perf, mounts...; a foreign ABI kills) and a distinct uid per environment,
  while ordinary code (threads, subprocesses, sockets, boto3, Node.js) keeps working;
- 13: a stopped spawner makes starts fail within their deadline, not hang, and is
  replaced.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from support import LaminaServer, create_python_function, make_zip, unique

from lamina.runtime.sandbox import START_DEADLINE_SECONDS
from lamina.runtime.sandbox_users import FIRST_UID, SandboxUsers

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="isolation needs root")


def call(lam: Any, name: str, **event: Any) -> Any:
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())
    body = json.loads(response["Payload"].read())
    if response.get("FunctionError"):
        return {"function_error": body}
    return body


# --- item 1: the server's terminal ------------------------------------------------------

TERMINAL_PROBE = r"""
import errno, fcntl, glob, os, termios

def outcome(action):
    try:
        action()
        return "ok"
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))

def inject(fd, text):
    for byte in text.encode():
        fcntl.ioctl(fd, termios.TIOCSTI, bytes([byte]))

def open_and_inject(path, text):
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    try:
        inject(fd, text)
    finally:
        os.close(fd)

def handler(event, context):
    text = event["marker"] + "\n"
    tried = {"fd%d" % fd: outcome(lambda fd=fd: inject(fd, text)) for fd in (0, 1, 2)}
    tried["/dev/tty"] = outcome(lambda: open_and_inject("/dev/tty", text))
    tried["ctermid"] = outcome(lambda: open_and_inject(os.ctermid(), text))
    if event["everything"]:
        tried["/dev/console"] = outcome(lambda: open_and_inject("/dev/console", text))
        # Every terminal this environment could name: its devices, any fd of its processes.
        for path in glob.glob("/dev/*") + glob.glob("/dev/pts/*") + glob.glob("/proc/*/fd/*"):
            try:
                fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                if os.isatty(fd):
                    tried[path] = outcome(lambda: inject(fd, text))
            finally:
                os.close(fd)
    with open("/proc/self/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return {"tried": tried, "pid": os.getpid(), "sid": os.getsid(0), "pgid": os.getpgid(0),
            "tty_nr": int(fields[4]), "isatty": [os.isatty(fd) for fd in (0, 1, 2)]}
"""


def _take_terminal() -> None:
    """In the server's child, after setsid: the pty becomes its controlling terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class TerminalServer(LaminaServer):
    """A server whose stdin, stdout and stderr are a pseudo-terminal it controls, as when
    someone runs ``lamina server`` in a terminal. Its output is collected from the master."""

    master: int = -1
    terminal: int = -1  # our own descriptor of the server's terminal (the slave)
    output: bytearray

    def start(self) -> None:
        self.master, self.terminal = pty.openpty()
        self.output = bytearray()
        threading.Thread(target=self._collect, daemon=True).start()
        env = {k: v for k, v in os.environ.items() if k != "LAMINA_PORT"}
        argv = [sys.executable, "-m", "lamina.cli.main", "server", "--port", str(self.port)]
        argv += ["--data-dir", str(self.data_dir), *self.extra_args]
        self.process = subprocess.Popen(
            argv,
            stdin=self.terminal,
            stdout=self.terminal,
            stderr=self.terminal,
            start_new_session=True,
            preexec_fn=_take_terminal,
            env=env,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            assert self.process.poll() is None, bytes(self.output).decode(errors="replace")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/_lamina/health", timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def _collect(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                return
            if not chunk:
                return
            self.output += chunk

    def pending_input(self) -> int:
        """Bytes waiting in the terminal's input queue (what TIOCSTI would have pushed)."""
        waiting = fcntl.ioctl(self.terminal, termios.FIONREAD, b"\0\0\0\0")
        return int.from_bytes(waiting, sys.byteorder)

    def drain_input(self) -> bytes:
        data = b""
        while select.select([self.terminal], [], [], 0.2)[0]:
            data += os.read(self.terminal, 4096)
        return data

    def close_terminal(self) -> None:
        for fd in (self.terminal, self.master):
            with contextlib.suppress(OSError):
                os.close(fd)


@pytest.fixture
def terminal_server(tmp_path: Path) -> Iterator[Callable[..., TerminalServer]]:
    started: list[TerminalServer] = []

    def start(*args: str) -> TerminalServer:
        server = TerminalServer(tmp_path / f"data{len(started)}", extra_args=list(args))
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        if server.process is not None and server.process.poll() is None:
            server.stop()
        server.close_terminal()


def _terminal_attack(server: TerminalServer, everything: bool) -> dict[str, Any]:
    # The detector works: input pushed into the server's terminal is seen (the test is
    # root, so TIOCSTI needs no controlling terminal here) and echoed to the master.
    control = f"control-{uuid.uuid4().hex[:8]}"
    for byte in (control + "\n").encode():
        fcntl.ioctl(server.terminal, termios.TIOCSTI, bytes([byte]))
    assert server.pending_input() > 0
    assert control.encode() in server.drain_input()
    deadline = time.monotonic() + 10
    while control.encode() not in server.output and time.monotonic() < deadline:
        time.sleep(0.05)
    assert control.encode() in server.output  # echoed: an injection would show here too

    lam = server.client()
    name = create_python_function(lam, TERMINAL_PROBE, Timeout=30)
    marker = f"injected-{uuid.uuid4().hex[:8]}"
    seen = call(lam, name, marker=marker, everything=everything)
    time.sleep(0.3)
    assert server.pending_input() == 0
    assert server.drain_input() == b""
    assert marker.encode() not in server.output
    return dict(seen)


@needs_root
def test_an_isolated_function_cannot_reach_the_servers_terminal(
    terminal_server: Callable[..., TerminalServer],
) -> None:
    server = terminal_server("--isolation", "linux")
    seen = _terminal_attack(server, everything=True)
    tried = seen["tried"]
    # No terminal device at all: not in /dev, not behind any fd of the environment.
    assert tried.pop("/dev/tty") == "ENOENT" and tried.pop("ctermid") == "ENOENT"
    assert tried.pop("/dev/console") == "ENOENT"
    # fds 0-2 are /dev/null and the log pipe; TIOCSTI is refused by the filter anyway.
    assert tried == {"fd0": "EPERM", "fd1": "EPERM", "fd2": "EPERM"}, tried
    # The runtime leads a session of its own and has no controlling terminal.
    assert seen["sid"] == seen["pid"] == seen["pgid"]
    assert seen["tty_nr"] == 0 and seen["isatty"] == [False, False, False]
    # Nor does the spawner: its own session, /dev/null and its log pipe on fds 0-2.
    spawners = _processes_named(server, "lamina-spawner")
    assert spawners
    for pid in spawners:
        assert os.getsid(pid) == pid
        assert _tty_nr(pid) == 0
        for fd in (0, 1, 2):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            assert target == "/dev/null" or target.startswith(("pipe:", "socket:")), (fd, target)


def test_a_plain_process_function_cannot_reach_the_servers_terminal(
    terminal_server: Callable[..., TerminalServer],
) -> None:
    server = terminal_server("--isolation", "process")
    seen = _terminal_attack(server, everything=False)
    tried = seen["tried"]
    # No controlling terminal: /dev/tty names none (ENXIO); fds 0-2 are no terminals.
    assert tried == {
        "fd0": "ENOTTY",
        "fd1": "ENOTTY",
        "fd2": "ENOTTY",
        "/dev/tty": "ENXIO",
        "ctermid": "ENXIO",
    }, tried
    assert seen["sid"] == seen["pid"] == seen["pgid"]
    assert seen["tty_nr"] == 0 and seen["isatty"] == [False, False, False]


def _children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as fh:
            found += [int(child) for child in fh.read().split()]
    return found


def _processes_named(server: LaminaServer, name: str) -> list[int]:
    assert server.process is not None
    matches = []
    for pid in _children(server.process.pid):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/comm") as fh:
            if fh.read().strip() == name:
                matches.append(pid)
    return matches


def _tty_nr(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[4])


# --- item 8: system calls and identities ------------------------------------------------

# Independent of the filter's own table (lamina_seccomp.py), so that a wrong number there
# shows here.
SYSCALLS = {
    "x86_64": {
        "add_key": 248, "request_key": 249, "keyctl": 250, "unshare": 272, "clone": 56,
        "clone3": 435, "setns": 308, "ptrace": 101, "bpf": 321, "io_uring_setup": 425,
        "perf_event_open": 298, "mount": 165, "umount2": 166, "pivot_root": 155,
        "fsopen": 430, "open_tree": 428, "init_module": 175, "kexec_load": 246,
        "reboot": 169, "swapon": 167, "acct": 163, "userfaultfd": 323, "personality": 135,
        "syslog": 103, "settimeofday": 164, "clock_settime": 227, "adjtimex": 159,
        "process_vm_readv": 310, "name_to_handle_at": 303, "lookup_dcookie": 212,
        "getpid": 39,
    },
    "aarch64": {
        "add_key": 217, "request_key": 218, "keyctl": 219, "unshare": 97, "clone": 220,
        "clone3": 435, "setns": 268, "ptrace": 117, "bpf": 280, "io_uring_setup": 425,
        "perf_event_open": 241, "mount": 40, "umount2": 39, "pivot_root": 41,
        "fsopen": 430, "open_tree": 428, "init_module": 105, "kexec_load": 104,
        "reboot": 142, "swapon": 224, "acct": 89, "userfaultfd": 282, "personality": 92,
        "syslog": 116, "settimeofday": 170, "clock_settime": 112, "adjtimex": 171,
        "process_vm_readv": 270, "name_to_handle_at": 264, "lookup_dcookie": 18,
        "getpid": 172,
    },
}  # fmt: skip

SYSCALL_PROBE = r"""
import ctypes, errno, os, subprocess

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

def raw(number, *args):
    args = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    ctypes.set_errno(0)
    result = libc.syscall(ctypes.c_long(number), *args)
    return errno.errorcode.get(ctypes.get_errno(), "?") if result == -1 else "ok"

CLONE_NEWUSER, CLONE_NEWNET, CLONE_FILES, SIGCHLD = 0x10000000, 0x40000000, 0x400, 17
KEY_SPEC_USER_KEYRING = -4

def handler(event, context):
    n = event["numbers"]
    if event["action"] == "add_key":
        return raw(n["add_key"], b"user", b"secret", b"4111", 4, KEY_SPEC_USER_KEYRING)
    if event["action"] == "read_keys":
        # KEYCTL_GET_KEYRING_ID of the user keyring; KEYCTL_SEARCH for the other's key.
        return {"id": raw(n["keyctl"], 0, KEY_SPEC_USER_KEYRING, 0),
                "search": raw(n["keyctl"], 10, KEY_SPEC_USER_KEYRING, b"user", b"secret", 0),
                "request": raw(n["request_key"], b"user", b"secret", None, 0)}
    if event["action"] == "foreign_abi":
        # getpid through the x32 ABI (x86_64) / an unknown number: the filter kills it.
        code = ("import ctypes; ctypes.CDLL(None).syscall(%d); print('survived')"
                % event["number"])
        done = subprocess.run(["/proc/self/exe", "-c", code], capture_output=True)
        return {"returncode": done.returncode, "stdout": done.stdout.decode()}
    blank = ctypes.create_string_buffer(256)
    results = {
        "add_key": raw(n["add_key"], b"user", b"k", b"v", 1, KEY_SPEC_USER_KEYRING),
        "keyctl": raw(n["keyctl"], 0, KEY_SPEC_USER_KEYRING, 0),
        "request_key": raw(n["request_key"], b"user", b"k", None, 0),
        "unshare_user": raw(n["unshare"], CLONE_NEWUSER),
        "unshare_net": raw(n["unshare"], CLONE_NEWNET),
        "clone_user": raw(n["clone"], CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0),
        "clone3": raw(n["clone3"], blank, 88),
        "setns": raw(n["setns"], 0, 0),
        "ptrace_attach_init": raw(n["ptrace"], 16, 1, 0, 0),
        "ptrace_traceme": raw(n["ptrace"], 0, 0, 0, 0),
        "bpf": raw(n["bpf"], 0, blank, 48),
        "io_uring_setup": raw(n["io_uring_setup"], 8, blank),
        "perf_event_open": raw(n["perf_event_open"], blank, 0, -1, -1, 0),
        "mount": raw(n["mount"], b"none", b"/tmp", b"tmpfs", 0, None),
        "umount2": raw(n["umount2"], b"/tmp", 0),
        "pivot_root": raw(n["pivot_root"], b"/tmp", b"/tmp"),
        "fsopen": raw(n["fsopen"], b"tmpfs", 0),
        "open_tree": raw(n["open_tree"], -100, b"/tmp", 0),
        "init_module": raw(n["init_module"], blank, 16, b""),
        "kexec_load": raw(n["kexec_load"], 0, 0, None, 0),
        "reboot": raw(n["reboot"], 0xfee1dead, 672274793, 0x4321fedc, None),
        "swapon": raw(n["swapon"], b"/tmp/swap", 0),
        "acct": raw(n["acct"], None),
        "userfaultfd": raw(n["userfaultfd"], 0),
        "personality_no_aslr": raw(n["personality"], 0x0040000),
        "syslog": raw(n["syslog"], 3, blank, 16),
        "settimeofday": raw(n["settimeofday"], None, None),
        "clock_settime": raw(n["clock_settime"], 0, blank),
        "adjtimex": raw(n["adjtimex"], blank),
        "process_vm_readv": raw(n["process_vm_readv"], 1, blank, 1, blank, 1, 0),
        "name_to_handle_at": raw(n["name_to_handle_at"], -100, b"/tmp", blank, blank, 0),
        "lookup_dcookie": raw(n["lookup_dcookie"], 0, blank, 16),
    }
    # Still allowed: what ordinary programs need.
    results["allowed"] = {
        "unshare_files": raw(n["unshare"], CLONE_FILES),
        "personality_query": raw(n["personality"], 0xffffffff),
        "getpid": raw(n["getpid"]),
    }
    return results
"""

ORDINARY_PYTHON = r"""
import os, socket, subprocess, threading, uuid

def handler(event, context):
    done = []
    thread = threading.Thread(target=lambda: done.append("thread"))
    thread.start()
    thread.join()
    out = subprocess.run(["/bin/sh", "-c", "echo sub; id -u"], capture_output=True, text=True)
    path = "/tmp/%s.sock" % uuid.uuid4().hex[:8]
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(path)
    peer, _ = server.accept()
    client.sendall(b"unix")
    got = peer.recv(4)
    import boto3
    lam = boto3.client("lambda")
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    return {"thread": done, "sub": out.stdout.split(), "unix": got.decode(),
            "boto3": context.function_name in names, "uid": os.getuid(),
            "tmp_owner": os.stat("/tmp").st_uid}
"""

ORDINARY_NODE = r"""
const fs = require('fs');
const { execSync } = require('child_process');
const { Worker } = require('worker_threads');
exports.handler = async () => {
  fs.writeFileSync('/tmp/node.txt', 'node');
  const worker = await new Promise((resolve, reject) => {
    const w = new Worker('require("worker_threads").parentPort.postMessage(6 * 7)', { eval: true });
    w.on('message', resolve);
    w.on('error', reject);
  });
  const file = fs.readFileSync('/tmp/node.txt', 'utf8');
  const sub = execSync('echo sub').toString().trim();
  return { file, sub, worker, uid: process.getuid() };
};
"""


@pytest.fixture(scope="module")
def isolated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaServer]:
    if os.geteuid() != 0:
        pytest.skip("isolation needs root")
    server = LaminaServer(
        tmp_path_factory.mktemp("hardening") / "data", extra_args=["--isolation", "linux"]
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lam(isolated: LaminaServer) -> Any:
    return isolated.client(max_pool_connections=8)


@pytest.fixture(scope="module")
def numbers() -> dict[str, int]:
    machine = os.uname().machine
    if machine not in SYSCALLS:
        pytest.skip(f"no system call table for {machine} in this test")
    return SYSCALLS[machine]


def test_dangerous_system_calls_answer_eperm(lam: Any, numbers: dict[str, int]) -> None:
    name = create_python_function(lam, SYSCALL_PROBE, Timeout=30)
    results = call(lam, name, action="all", numbers=numbers)
    allowed = results.pop("allowed")
    assert results.pop("clone3") == "ENOSYS"  # the C library then falls back to clone
    assert results == {call_name: "EPERM" for call_name in results}, results
    assert allowed == {"unshare_files": "ok", "personality_query": "ok", "getpid": "ok"}


def test_a_foreign_system_call_abi_kills_the_caller(lam: Any, numbers: dict[str, int]) -> None:
    if os.uname().machine != "x86_64":
        pytest.skip("the x32 ABI is x86_64's")
    name = create_python_function(lam, SYSCALL_PROBE, Timeout=30)
    x32_getpid = 0x40000000 | numbers["getpid"]
    killed = call(lam, name, action="foreign_abi", numbers=numbers, number=x32_getpid)
    assert killed == {"returncode": -signal.SIGSYS, "stdout": ""}
    native = call(lam, name, action="foreign_abi", numbers=numbers, number=numbers["getpid"])
    assert native == {"returncode": 0, "stdout": "survived\n"}


def test_functions_share_no_keyring_and_no_uid(
    lam: Any, numbers: dict[str, int], isolated: LaminaServer
) -> None:
    writer = create_python_function(lam, SYSCALL_PROBE, Timeout=30)
    reader = create_python_function(lam, SYSCALL_PROBE, Timeout=30)
    assert call(lam, writer, action="add_key", numbers=numbers) == "EPERM"
    assert call(lam, reader, action="read_keys", numbers=numbers) == {
        "id": "EPERM",
        "search": "EPERM",
        "request": "EPERM",
    }
    sleeper = create_python_function(
        lam,
        "import os, time\n"
        "def handler(e, c):\n"
        "    time.sleep(e.get('sleep', 0))\n"
        "    return [os.getuid(), os.getgid(), os.stat('/tmp').st_uid]\n",
        Timeout=30,
    )
    other = create_python_function(
        lam, "import os\ndef handler(e, c):\n    return [os.getuid(), os.getgid(), 0]\n"
    )
    with ThreadPoolExecutor(3) as pool:
        concurrent = list(pool.map(lambda _: call(lam, sleeper, sleep=1.0), range(3)))
    alone = call(lam, other)
    seen = [*concurrent, alone]
    uids = [uid for uid, _gid, _tmp in seen]
    assert len(set(uids)) == 4, seen  # three environments of one function, and another
    ours = SandboxUsers.for_port(isolated.port)  # no other server hands these out
    for uid, gid, _tmp in seen:
        assert uid == gid and ours.first <= uid < ours.first + ours.count, seen
    for _uid, _gid, tmp_owner in concurrent:
        assert tmp_owner == 0  # root's, as on AWS (each /tmp is the environment's own mount)


def test_ordinary_code_still_works(lam: Any) -> None:
    name = create_python_function(lam, ORDINARY_PYTHON, Timeout=60, MemorySize=512)
    seen = call(lam, name)
    assert seen["thread"] == ["thread"] and seen["unix"] == "unix" and seen["boto3"] is True
    assert seen["sub"] == ["sub", str(seen["uid"])] and seen["tmp_owner"] == 0
    node = unique("node")
    lam.create_function(
        FunctionName=node,
        Runtime="nodejs20.x",
        Role="arn:aws:iam::000000000000:role/lambda-role",
        Handler="index.handler",
        Code={"ZipFile": make_zip({"index.js": ORDINARY_NODE})},
        MemorySize=1024,
        Timeout=30,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=node)
    result = call(lam, node)
    assert result["file"] == "node" and result["sub"] == "sub" and result["worker"] == 42
    assert result["uid"] >= FIRST_UID


# --- item 13: a hung spawner ------------------------------------------------------------


@needs_root
def test_a_stopped_spawner_fails_starts_in_time_and_is_replaced(
    own_server: Callable[..., LaminaServer],
) -> None:
    server = own_server("--isolation", "linux")
    lam = server.client(max_pool_connections=12)
    name = create_python_function(
        lam, "import time\ndef handler(e, c):\n    time.sleep(0.3)\n    return 'ok'\n", Timeout=30
    )
    assert call(lam, name) == "ok"
    [spawner] = _processes_named(server, "lamina-spawner")
    os.kill(spawner, signal.SIGSTOP)
    try:
        # More new environments at once than are prepared ahead: some need the spawner.
        started = time.monotonic()
        with ThreadPoolExecutor(10) as pool:
            timed = list(pool.map(lambda _: _timed_call(lam, name), range(10)))
        elapsed = time.monotonic() - started
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(spawner, signal.SIGCONT)
    failures = [body for _seconds, body in timed if body != "ok"]
    assert failures, timed
    for body in failures:
        error = body["function_error"]
        assert error["errorType"] in ("Sandbox.Failure", "Runtime.ExitError"), error
    assert any(b["function_error"]["errorType"] == "Sandbox.Failure" for b in failures)
    # Within the start deadline (plus the invocation itself), never hanging.
    assert elapsed < START_DEADLINE_SECONDS + 5, timed
    # The stopped spawner was killed, a new one serves the next starts.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and os.path.exists(f"/proc/{spawner}"):
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{spawner}")
    with ThreadPoolExecutor(6) as pool:
        after = list(pool.map(lambda _: call(lam, name), range(6)))
    assert after == ["ok"] * 6
    replacements = _processes_named(server, "lamina-spawner")
    assert replacements and spawner not in replacements
    assert server.log_path is not None
    assert "did not answer" in server.log_path.read_text()


def _timed_call(lam: Any, name: str) -> tuple[float, Any]:
    started = time.monotonic()
    body = call(lam, name)
    return time.monotonic() - started, body
