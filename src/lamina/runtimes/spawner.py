"""Lamina's environment spawner (a zygote): forks isolated execution environments.

Started by the server as ``<python> -I -S spawner.py <control-fd>``. Standard library
only, and it imports nothing from Lamina. When ``--preload-python`` is given it imports
the built-in Python runtime and freezes the heap (``gc.freeze()``), so a Python
environment is a ``fork`` away from running its handler.

Environments are prepared ahead of need. The spawner clones an **init** straight into
new mount, pid, ipc, uts and (optionally) network namespaces, so it is pid 1 of its own
pid namespace from its first instruction; the init mounts the shared part of its root
and opens its listeners, then waits. The server puts it in a cgroup and, when an
invocation needs a new environment, sends it the function's spec: the init forks the
runtime process (which starts inside the cgroup), finishes the root, drops privileges
and releases the runtime. When the init exits, everything in its namespace dies. The
file systems (template root, /tmp, pivot) are in ``lamina_sandbox_fs.py``.

Protocol (SOCK_SEQPACKET, JSON messages, file descriptors by SCM_RIGHTS):
  server → spawner  {"op": "prepare", "id": N, "network": s, "root": s, "ro_binds": [...],
                     "ports": [runtime API, Lamina API],
                     "tmp_disk": {"image": s, "dir": s, "mb": N} (optional: /tmp ahead)}
  spawner → server  {"op": "serving"}   (once, when it is ready for requests)
  spawner → server  {"op": "prepared", "id": N, "pid": P} + fds [the init's control socket]
                    | {"op": "failed", "id": N, "error": s}
  spawner → server  {"op": "exit", "pid": P, "returncode": R}   (an init ended)
Per environment, on its control socket:
  init → server     {"op": "prepared"} | {"op": "error", "error": s}
  server → init     {"op": "spawn", "spec": {...}} + fds [log_w]   (once it is in its cgroup)
  init → server     {"op": "ready"} + fds [runtime API listener, Lamina API listener]
                    | {"op": "error", "error": s}
  init → server     {"op": "exit", "returncode": R} when the runtime process ended
"""

import array
import contextlib
import ctypes
import errno
import fcntl
import gc
import json
import os
import resource
import select
import signal
import socket
import struct
import sys

# The sibling module: the spawner runs as a script, and from Python 3.11 on ``-I`` leaves
# the script's directory off ``sys.path``.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lamina_sandbox_fs import (  # noqa: E402
    CLONE_NEWNS,
    SYS_CLONE,
    build_root,
    build_template,
    check,
    libc,
    prepare_tmp,
    start_root,
    unshare,
)
from lamina_seccomp import Filter, build_filter  # noqa: E402

sys.path.pop(0)

CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

PR_SET_NO_NEW_PRIVS = 38
PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
SIOCSIFADDR = 0x8916
IFF_UP = 0x1
# AWS's Runtime API address (lamina/runtime/aws_env.py): an alias of the environment's own
# loopback interface. The Runtime API listens on every address of the environment's
# network namespace (which has only its loopback): there and at 127.0.0.1:9001, where
# older images had it and some custom runtimes still look.
RUNTIME_API_HOST = "169.254.100.1"
RUNTIME_API_BIND = "0.0.0.0"

# Resource limits of AWS's execution environments (as a function reads them with getrlimit:
# recorded, test_lambda.snapshot.json ``test_runtime_ulimits``); the others are unlimited.
RLIMITS = (
    (resource.RLIMIT_CORE, 10737418240, 10737418240),
    (resource.RLIMIT_MEMLOCK, 65536, 65536),
    (resource.RLIMIT_NOFILE, 1024, 1024),
    (resource.RLIMIT_NPROC, 742, 742),
    (resource.RLIMIT_STACK, 8388608, resource.RLIM_INFINITY),
)

MAX_MESSAGE = 65536

# clone(2) runs with the GIL held (PyDLL), bracketed by the interpreter's fork hooks.
_raw_syscall = ctypes.PyDLL(None, use_errno=True).syscall
_raw_syscall.restype = ctypes.c_long
_raw_syscall.argtypes = [ctypes.c_long] * 6


def clone_init(flags):
    """``fork`` into new namespaces in one step: with CLONE_NEWPID the child is pid 1.

    ``os.fork`` cannot take namespace flags and ``unshare(CLONE_NEWPID)`` only affects
    children, which would cost a second fork; so this is the raw system call, after the
    interpreter's before-fork hook (the spawner is single-threaded).

    The child is an init that runs only this module's code, never a thread or an
    import: it skips the interpreter's re-initialisation (``PyOS_AfterFork_Child`` and
    the ``os.register_at_fork`` child hooks touch some 200 pages, each then copied:
    about 0.6 ms per environment). It only gives back what the before-fork hook took (the
    import lock, and from Python 3.13 the runtime's locks), as the parent does, so that
    the runtime it forks later with ``os.fork`` (and the full after-fork work) starts
    with every lock free."""
    if SYS_CLONE is None:
        raise OSError(errno.ENOSYS, "clone: unsupported architecture")
    api = ctypes.pythonapi
    api.PyOS_BeforeFork()
    pid = _raw_syscall(SYS_CLONE, flags | signal.SIGCHLD, 0, 0, 0, 0)
    if pid == 0:
        api.PyOS_AfterFork_Parent()  # single-threaded: the locks are this thread's
        return 0
    err = ctypes.get_errno()
    api.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(err, "clone: %s" % os.strerror(err))
    return pid


def exit_code(status):
    """``os.waitstatus_to_exitcode`` (Python 3.9+) for every supported interpreter."""
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def prctl(option, value):
    check(libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), "prctl")


def set_process_name(name):
    """The name ``ps`` and ``top`` show (at most 15 bytes)."""
    libc.prctl(PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)


# --- inside the environment ------------------------------------------------------------


def loopback_up():
    """Bring the namespace's loopback up, with the Runtime API's address on an alias."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        address = struct.pack(
            "=16sH2s4s8x", b"lo:1", socket.AF_INET, b"\0\0", socket.inet_aton(RUNTIME_API_HOST)
        )
        fcntl.ioctl(sock.fileno(), SIOCSIFADDR, address)
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP))
    finally:
        sock.close()


def listener(port, host="127.0.0.1"):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(64)
    return sock


def drop_privileges(uid, gid):
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def send(sock, message, fds=()):
    data = json.dumps(message).encode()
    if fds:
        # socket.send_fds is Python 3.9+; this is what it does.
        sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        sock.send(data)


def receive(sock):
    try:
        data, ancillary, _flags, _addr = sock.recvmsg(MAX_MESSAGE, socket.CMSG_LEN(8 * 4))
    except ConnectionResetError:  # the peer closed with messages unread: it is gone
        return None, []
    fds = array.array("i")
    for level, kind, payload in ancillary:  # socket.recv_fds is Python 3.9+
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    if not data:
        return None, list(fds)
    return json.loads(data), list(fds)


def detach_from_terminal():
    """A session of its own and nothing of the spawner's on fds 0-2: no controlling
    terminal to open as /dev/tty, push input into (TIOCSTI) or signal, and no way back
    to the server's output through /proc/<pid>/fd."""
    os.setsid()
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def run_init(control, prepare):
    """pid 1 of the new namespaces: prepare what no function decides, wait for a spec,
    then start the runtime process and supervise it."""
    set_process_name("lamina-init")
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        detach_from_terminal()
        # The parent is the spawner: if it dies (the server died with it), this init gets
        # SIGKILL and the whole namespace goes.
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        # The mount namespace starts as a copy of the spawner's, template root included.
        flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS
        if prepare["network"] == "none":
            flags |= CLONE_NEWNET
        unshare(flags)
        listeners = []
        if prepare["network"] == "none":
            loopback_up()
            runtime_api_port, *others = prepare["ports"]
            listeners = [listener(runtime_api_port, RUNTIME_API_BIND)]
            listeners += [listener(port) for port in others]
        socket.sethostname("localhost")
        start_root(prepare["root"])
    except BaseException as exc:  # noqa: BLE001 - report any set-up failure, then die
        _fail(control, exc)
    send(control, {"op": "prepared"})
    # The disk-backed /tmp the server expects the next start to need, mounted while the
    # server puts this init in its cgroup: off a cold start's path, even on demand.
    prepare_tmp(prepare["root"] + "/tmp", prepare.get("tmp_disk"))
    message, fds = receive(control)
    if not message or message.get("op") != "spawn" or len(fds) != 1:
        os._exit(0)
    spec, log_w = message["spec"], fds[0]
    start_environment(spec, log_w, control, listeners, prepare["root"])


def _fail(control, exc):
    try:
        send(control, {"op": "error", "error": "%s: %s" % (type(exc).__name__, exc)})
    finally:
        os._exit(1)


def start_environment(spec, log_w, control, listeners, root):
    """In the init, now inside its cgroup: fork the runtime, finish the root, release it.

    The runtime process is forked first and waits on a pipe, so its fork (the costliest
    step of a start) overlaps the init's set-up instead of following it.
    """
    released, release = os.pipe()
    # The built-in Python runtime gets its first Runtime API connection ready-made: one
    # end of a Unix socket pair (the server holds the other), cheaper per message than
    # TCP on loopback. Other runtimes, and reconnections, use the TCP listener.
    pair = runs_preloaded(spec) and listeners
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM) if pair else (None, None)
    runtime = os.fork()
    if runtime == 0:
        set_process_name(os.path.basename(sys.executable))
        os.setsid()  # the runtime leads a session of its own, without a terminal
        os.close(release)
        if ours is not None:
            ours.close()
        if os.read(released, 1) != b"g":
            os._exit(1)
        os.close(released)
        enter_runtime(spec)
        become_runtime(spec, log_w, control, theirs)
    os.close(released)
    if theirs is not None:
        theirs.close()
    try:
        build_root(root, spec)
        # As on AWS: root's, world-writable with the sticky bit (drwxrwxrwt). It is this
        # environment's own file system all the same: no other environment sees it.
        os.chown("/tmp", 0, 0)
        os.chmod("/tmp", 0o1777)
        ready = {"op": "ready", "tmp": spec.get("tmp_storage", "memory")}
        handed = [s.fileno() for s in listeners] + ([ours.fileno()] if ours is not None else [])
        send(control, ready, handed)
        for sock in listeners:
            sock.close()
        if ours is not None:
            ours.close()
        if spec.get("uid") is not None:
            drop_privileges(spec["uid"], spec["gid"])
    except BaseException as exc:  # noqa: BLE001
        _fail(control, exc)
    os.write(release, b"g")
    os.close(release)
    supervise(runtime, log_w, control)


def enter_runtime(spec):
    """In the runtime process, once released: its directory, identity and limits; then
    the system-call filter, after the last privileged step and ``no_new_privs``."""
    try:
        os.chdir(spec["cwd"])
        # Before the privileges go: raising a hard limit past the host's needs them.
        for limit, soft, hard in RLIMITS:
            resource.setrlimit(limit, (soft, hard))
        if spec.get("uid") is not None:
            drop_privileges(spec["uid"], spec["gid"])
        if SECCOMP[0] is None:
            raise OSError(errno.ENOSYS, "no seccomp filter for %s" % os.uname().machine)
        SECCOMP[0].install()
    except BaseException as exc:  # noqa: BLE001
        os.write(2, ("environment set-up failed: %s\n" % exc).encode())
        os._exit(1)


def supervise(runtime, log_w, control):
    """pid 1 of the namespace: reap orphans, pass SIGTERM on, report how the runtime ended.

    The runtime itself is not pid 1, so it gets ordinary signal semantics (a SIGKILL it
    sends itself, or an unhandled SIGTERM, ends it as on AWS).
    """
    os.close(log_w)
    signal.signal(signal.SIGTERM, lambda *_: os.kill(runtime, signal.SIGTERM))
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(0)
        if pid == runtime:
            try:
                send(control, {"op": "exit", "returncode": exit_code(status)})
            finally:
                os._exit(0)


def runs_preloaded(spec):
    """Whether the environment's runtime is the preloaded built-in Python runtime."""
    return spec.get("mode") == "python" and PRELOADED is not None


def become_runtime(spec, log_w, control, runtime_api=None):
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    control.close()
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log_w, 1)
    os.dup2(log_w, 2)
    first_free = 3
    if runtime_api is not None:
        # Its connection to the Runtime API, at fd 3, not inherited by what it executes.
        fd = runtime_api.detach()
        if fd != 3:
            os.dup2(fd, 3, inheritable=False)
        first_free = 4
    os.closerange(first_free, 4096)
    env = spec["env"]
    if runs_preloaded(spec):
        os.environ.clear()
        os.environ.update(env)
        sys.argv[:] = [spec["argv"][-1]]
        appear_at_var_lang()
        if runtime_api is not None:
            PRELOADED.adopt_runtime_api_connection(3)
        # The preloaded runtime stays frozen: never collected, never copied on write.
        try:
            PRELOADED.main()
        finally:
            os._exit(0)
    try:
        os.execve(spec["argv"][0], spec["argv"], env)
    except OSError as exc:
        os.write(2, ("exec %s: %s\n" % (spec["argv"][0], exc.strerror)).encode())
        os._exit(127)


LANG_ROOT = "/var/lang"
LANG_PYTHON = [sys.executable]
LANG_SYS_PATH = []


def appear_at_var_lang():
    """In a forked Python runtime: the interpreter is the one at /var/lang (its template
    binds this interpreter's installation there), as on AWS: ``sys.executable`` runs
    inside the environment, and modules imported from now on have /var/lang paths in
    tracebacks. (What the spawner preloaded keeps its host paths.) Computed once, by
    ``lang_sys_path``, in the spawner."""
    sys.executable = sys._base_executable = LANG_PYTHON[0]
    sys.prefix = sys.exec_prefix = sys.base_prefix = sys.base_exec_prefix = LANG_ROOT
    sys.path[:] = LANG_SYS_PATH


def lang_sys_path(entries):
    """``entries`` (``sys.path``) with the interpreter's installation named /var/lang."""
    host_prefix = os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))
    LANG_PYTHON[0] = "%s/bin/python%d.%d" % ((LANG_ROOT,) + tuple(sys.version_info[:2]))
    return [
        LANG_ROOT + entry[len(host_prefix) :] if entry.startswith(host_prefix + "/") else entry
        for entry in entries
    ]


# --- the spawner ------------------------------------------------------------------------


INITS = set()  # pids of the inits this spawner cloned (prepared or running)


def _child_reset():
    """A fresh child of the spawner: drop its signal set-up and its server socket."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    SERVER[0].close()


def prepare(message):
    """Clone an init as pid 1 of a new pid namespace; returns its pid and the server's end
    of its control socket. The init creates its other namespaces itself (``run_init``):
    the spawner starts every environment one after another, so the less it does per
    environment, the faster a burst of them starts. The server moves the init into a
    cgroup ahead of need, so the environment it starts is inside that cgroup and those
    namespaces: no cgroup move and no namespace creation on a cold start's path."""
    build_template(message["root"], message["ro_binds"])
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        pid = clone_init(CLONE_NEWPID)
    except OSError:
        ours.close()
        theirs.close()
        raise
    if pid == 0:
        try:
            _child_reset()
            ours.close()
            run_init(theirs, message)
        finally:
            os._exit(1)
    theirs.close()
    INITS.add(pid)
    return pid, ours


def thaw(pid):
    """Thaw the environment's freezer cgroup (a frozen task cannot die on cgroup v1)."""
    try:
        with open("/proc/%d/cgroup" % pid) as fh:
            lines = fh.read().splitlines()
    except OSError:
        return
    for line in lines:
        _hierarchy, controllers, path = line.split(":", 2)
        if "freezer" in controllers.split(","):
            target, value = "/sys/fs/cgroup/freezer%s/freezer.state" % path, "THAWED"
        elif controllers == "":
            target, value = "/sys/fs/cgroup%s/cgroup.freeze" % path, "0"
        else:
            continue
        with contextlib.suppress(OSError), open(target, "w") as fh:
            fh.write(value)


def kill_environments():
    """The server is gone (or stopping): no environment may outlive it, and none is left
    as a zombie for the host's init."""
    for pid in list(INITS):
        thaw(pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid in list(INITS):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    INITS.clear()


def serve(server_sock):
    set_process_name("lamina-spawner")
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    rfd, wfd = os.pipe()
    os.set_blocking(wfd, False)
    os.set_blocking(rfd, False)
    signal.set_wakeup_fd(wfd)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    poller = select.poll()
    poller.register(server_sock, select.POLLIN)
    poller.register(rfd, select.POLLIN)
    send(server_sock, {"op": "serving"})
    while True:
        for fd, _event in poller.poll():
            if fd == rfd:
                with contextlib.suppress(BlockingIOError):
                    os.read(rfd, 4096)
                reap(server_sock)
                continue
            message, fds = receive(server_sock)
            for extra in fds:
                os.close(extra)
            if message is None:
                kill_environments()
                return
            if message.get("op") == "prepare":
                try:
                    pid, control = prepare(message)
                except OSError as exc:
                    send(server_sock, {"op": "failed", "id": message["id"], "error": str(exc)})
                    continue
                try:
                    send(
                        server_sock,
                        {"op": "prepared", "id": message["id"], "pid": pid},
                        [control.fileno()],
                    )
                finally:
                    control.close()
        reap(server_sock)


def reap(server_sock):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        INITS.discard(pid)
        send(server_sock, {"op": "exit", "pid": pid, "returncode": exit_code(status)})


PRELOADED = None
CLEAN_SYS_PATH = list(sys.path)
SERVER = []  # the socket to the server, closed in every child
SECCOMP = [None]  # the environments' system-call filter, built once before any fork


def main():
    global PRELOADED, CLEAN_SYS_PATH
    fd = int(sys.argv[1])
    here = os.path.dirname(os.path.abspath(__file__))
    CLEAN_SYS_PATH = [p for p in sys.path if os.path.abspath(p or ".") != here]
    LANG_SYS_PATH[:] = lang_sys_path(CLEAN_SYS_PATH)
    if "--preload-python" in sys.argv:
        sys.path.insert(0, os.path.join(here, "python"))
        import bootstrap  # the built-in Python runtime, imported once for every child

        sys.path.pop(0)
        bootstrap.preload()
        PRELOADED = bootstrap
        # Its /var/lang entries need no resolving at each start (see appear_at_var_lang).
        for entry in lang_sys_path(CLEAN_SYS_PATH):
            bootstrap._REALPATHS.setdefault(entry, entry)
    # Every environment gets exactly its function's variables; with none here, a Python
    # runtime's os.environ starts empty (clearing a copied one costs each start ~150 page
    # copies).
    os.environ.clear()
    try:
        SECCOMP[0] = Filter(build_filter())
    except OSError as exc:  # an architecture without a filter: environments refuse to start
        os.write(2, ("lamina-spawner: %s\n" % exc).encode())
    gc.collect()
    gc.freeze()
    SERVER.append(socket.socket(fileno=fd))
    try:
        serve(SERVER[0])
    except (BrokenPipeError, ConnectionResetError):  # the server is gone
        kill_environments()


if __name__ == "__main__":
    main()
