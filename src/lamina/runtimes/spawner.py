"""Lamina's environment spawner (a zygote): forks isolated execution environments.

Started by the server as ``<python> -I -S spawner.py <control-fd>``. Standard library
only, and it imports nothing from Lamina. When ``--preload-python`` is given it imports
the built-in Python runtime and freezes the heap (``gc.freeze()``), so a Python
environment is a ``fork`` away from running its handler.

Protocol (SOCK_SEQPACKET, JSON messages, file descriptors by SCM_RIGHTS):
  server → spawner  {"op": "prepare", "id": N}  → {"op": "prepared", "id": N, "pid": F}
  server → spawner  {"op": "spawn", "id": N, "spec": {...}, "forker": F?}  + fds [log_w, control]
  spawner → server  {"op": "spawned", "id": N, "pid": P} | {"op": "failed", "id": N, "error": s}
  spawner → server  {"op": "exit", "pid": P, "returncode": R}
Per environment, on its control socket:
  environment → server  {"op": "ready"} + fds [runtime API listener, Lamina API listener]
  server → environment  {"op": "go"}  (after it has put the pid in its cgroup)
  environment → server  {"op": "error", "error": s} when set-up fails
  environment → server  {"op": "exit", "returncode": R} when the runtime process ended

The environment is the second of a double fork: the first child unshares the mount,
pid, ipc, uts and (optionally) network namespaces and forks again, so the environment
is pid 1 of its own pid namespace; when it exits, everything it started dies with it.
The spawner is a child subreaper, so it reaps environments and reports their exits.
"""

import contextlib
import ctypes
import ctypes.util
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

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1
SYS_PIVOT_ROOT = 155  # x86_64
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1

MAX_MESSAGE = 65536

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, "%s: %s" % (what, os.strerror(err)))


def unshare(flags):
    _check(_libc.unshare(flags), "unshare")


def mount(source, target, fstype, flags, data=None):
    _check(
        _libc.mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            flags,
            data.encode() if data else None,
        ),
        "mount %s on %s" % (source or fstype, target),
    )


def umount(target):
    _check(_libc.umount2(target.encode(), MNT_DETACH), "umount " + target)


def pivot_root(new_root, put_old):
    _check(_libc.syscall(SYS_PIVOT_ROOT, new_root.encode(), put_old.encode()), "pivot_root")


def prctl(option, value):
    _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), "prctl")


# --- inside the environment ------------------------------------------------------------


def loopback_up():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP))
    finally:
        sock.close()


def listener(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    return sock


def _mkdirs(path):
    os.makedirs(path, mode=0o755, exist_ok=True)


def _bind(root, source, target, read_only):
    dest = root + target
    if os.path.isdir(source):
        _mkdirs(dest)
    else:
        _mkdirs(os.path.dirname(dest))
        if not os.path.exists(dest):
            open(dest, "w").close()
    mount(source, dest, None, MS_BIND | MS_REC)
    if read_only:
        mount(None, dest, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def start_root(root, ro_binds):
    """The shared part of a new root: a tmpfs with read-only binds of what runtimes need.

    A prepared forker does this ahead of need, in its own mount namespace."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=755")
    for source, target in ro_binds:
        if os.path.exists(source):
            _bind(root, source, target, True)


def build_root(spec):
    """A fresh root: tmpfs with read-only binds of what the runtime needs, /tmp, /proc."""
    root = spec["root_dir"]
    if not spec.get("root_started"):
        start_root(root, [])
    for source, target in spec["ro_binds"]:
        if os.path.exists(source):
            _bind(root, source, target, True)
    _mkdirs(root + "/var/task")
    mount(spec["task_dir"], root + "/var/task", None, MS_BIND | MS_REC)
    mount(None, root + "/var/task", None,
          MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _mkdirs(root + "/opt")
    if spec.get("opt_dir"):
        mount(spec["opt_dir"], root + "/opt", None, MS_BIND | MS_REC)
        mount(None, root + "/opt", None,
              MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _mkdirs(root + "/tmp")
    mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
          "size=%dm,mode=1777" % spec["tmp_mb"])
    _mkdirs(root + "/proc")
    mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _mkdirs(root + "/dev")
    mount("tmpfs", root + "/dev", "tmpfs", MS_NOSUID, "size=64k,mode=755")
    for name in ("null", "zero", "full", "random", "urandom", "tty"):
        _bind(root, "/dev/" + name, "/dev/" + name, False)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, root + "/dev/" + name)
    _mkdirs(root + "/dev/shm")
    mount("tmpfs", root + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=1777")
    _mkdirs(root + "/.old-root")
    # The root itself becomes read-only: only /tmp (and /dev/shm) are writable.
    mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chdir(root)
    pivot_root(".", ".old-root")
    os.chdir("/")
    umount("/.old-root")


def drop_privileges(uid, gid):
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def send(sock, message, fds=()):
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(sock, [data], list(fds))
    else:
        sock.send(data)


def receive(sock):
    data, fds, _flags, _addr = socket.recv_fds(sock, MAX_MESSAGE, 8)
    if not data:
        return None, fds
    return json.loads(data), fds


def run_environment(spec, log_w, control):
    """pid 1 of the new namespaces: set up, wait for the server's go, start the runtime.

    The runtime process is forked first and waits on a pipe, so its fork (the costliest
    step of a start) overlaps this process's set-up instead of following it.
    """
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    released, release = os.pipe()
    runtime = os.fork()
    if runtime == 0:
        os.close(release)
        if os.read(released, 1) != b"g":
            os._exit(1)
        os.close(released)
        enter_runtime(spec)
        become_runtime(spec, log_w, control)
    os.close(released)
    try:
        listeners = []
        if spec["network"] == "none":
            loopback_up()
            listeners = [listener(spec["runtime_api_port"]), listener(spec["lamina_api_port"])]
        socket.sethostname(spec.get("hostname", "localhost"))
        if spec.get("isolate_fs", True):
            build_root(spec)
        send(control, {"op": "ready"}, [s.fileno() for s in listeners])
        for sock in listeners:
            sock.close()
        message, _ = receive(control)
        if not message or message.get("op") != "go":
            os._exit(1)
        # The first child has exited by now, so the parent is the spawner: if it dies (the
        # server died with it), this init gets SIGKILL and the whole namespace goes.
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if spec.get("uid") is not None:
            drop_privileges(spec["uid"], spec["gid"])
    except BaseException as exc:  # noqa: BLE001 - report any set-up failure, then die
        try:
            send(control, {"op": "error", "error": "%s: %s" % (type(exc).__name__, exc)})
        finally:
            os._exit(1)
    os.write(release, b"g")
    os.close(release)
    supervise(runtime, log_w, control)


def enter_runtime(spec):
    """In the runtime process, once released: its directory, identity and limits."""
    try:
        os.chdir(spec["cwd"])
        if spec.get("uid") is not None:
            drop_privileges(spec["uid"], spec["gid"])
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
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
                send(control, {"op": "exit", "returncode": os.waitstatus_to_exitcode(status)})
            finally:
                os._exit(0)


def become_runtime(spec, log_w, control):
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    control.close()
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log_w, 1)
    os.dup2(log_w, 2)
    os.closerange(3, 4096)
    env = spec["env"]
    if spec.get("mode") == "python" and PRELOADED is not None:
        os.environ.clear()
        os.environ.update(env)
        sys.argv[:] = [spec["argv"][-1]]
        sys.path[:] = CLEAN_SYS_PATH
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


# --- the spawner ------------------------------------------------------------------------


FORKERS = {}  # pid of a prepared forker -> the spawner's end of its socket


def enter_namespaces(network):
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    if network == "none":
        flags |= CLONE_NEWNET
    unshare(flags)


def fork_environment(spec, log_w, control, report, entered=False):
    """In the first child: new namespaces, fork the environment's init, report its pid."""
    try:
        if not entered:
            enter_namespaces(spec["network"])
        second = os.fork()
        if second == 0:
            report.close()
            run_environment(spec, log_w, control)
            os._exit(0)
        report.send(str(second).encode())
    except BaseException as exc:  # noqa: BLE001
        try:
            report.send(("error %s" % exc).encode())
        finally:
            os._exit(1)
    os._exit(0)


def _child_reset(keep):
    """A fresh child of the spawner: drop the spawner's signal set-up and its sockets."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for sock in list(FORKERS.values()) + [SERVER[0]]:
        if sock is not keep:
            sock.close()


def prepare_forker(network, root=None, ro_binds=()):
    """Fork a child that enters fresh namespaces and waits for one spawn request. The
    server moves it into a cgroup ahead of need, so the environment it forks starts inside
    that cgroup and those namespaces: no cgroup move (5-20 ms on cgroup v1) and no
    namespace creation on a cold start's path."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        _child_reset(theirs)
        ours.close()
        try:
            enter_namespaces(network)
            if root:
                start_root(root, ro_binds)
        except OSError:
            os._exit(1)
        message, fds = receive(theirs)
        if message is None:
            os._exit(0)
        spec = message["spec"]
        spec["root_started"] = bool(root)
        control = socket.socket(fileno=fds[1])
        if spec["network"] != network:
            report_error = "the forker was prepared for network %r" % network
            theirs.send(("error " + report_error).encode())
            os._exit(1)
        fork_environment(spec, fds[0], control, theirs, entered=True)
    theirs.close()
    FORKERS[pid] = ours
    return pid


def spawn(spec, log_w, control, forker=None):
    """Start an environment; returns the pid of its init (as the host sees it)."""
    sock = FORKERS.pop(forker, None) if forker else None
    if sock is None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        forker = os.fork()
        if forker == 0:
            _child_reset(theirs)
            ours.close()
            fork_environment(spec, log_w, control, theirs)
        theirs.close()
        sock = ours
    else:
        send(sock, {"op": "spawn", "spec": spec}, [log_w, control.fileno()])
    try:
        data = sock.recv(256)
    finally:
        sock.close()
        os.waitpid(forker, 0)
    text = data.decode()
    if not text or text.startswith("error"):
        raise OSError(errno.EPERM, text[6:] or "environment set-up failed")
    return int(text)


ENVIRONMENTS = set()


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
    """The server is gone (or stopping): no environment or forker may outlive it, and none
    is left as a zombie for the host's init."""
    for pid in list(ENVIRONMENTS):
        thaw(pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid, sock in list(FORKERS.items()):
        sock.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid in list(ENVIRONMENTS) + list(FORKERS):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    ENVIRONMENTS.clear()
    FORKERS.clear()


def serve(server_sock):
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    rfd, wfd = os.pipe()
    os.set_blocking(wfd, False)
    os.set_blocking(rfd, False)
    signal.set_wakeup_fd(wfd)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    poller = select.poll()
    poller.register(server_sock, select.POLLIN)
    poller.register(rfd, select.POLLIN)
    while True:
        for fd, _event in poller.poll():
            if fd == rfd:
                with contextlib.suppress(BlockingIOError):
                    os.read(rfd, 4096)
                reap(server_sock)
                continue
            message, fds = receive(server_sock)
            if message is None:
                kill_environments()
                return
            if message.get("op") == "prepare":
                pid = prepare_forker(
                    message.get("network", "none"), message.get("root"), message.get("ro_binds", ())
                )
                send(server_sock, {"op": "prepared", "id": message["id"], "pid": pid})
            elif message.get("op") == "spawn":
                log_w, control = fds[0], socket.socket(fileno=fds[1])
                try:
                    pid = spawn(message["spec"], log_w, control, message.get("forker"))
                    ENVIRONMENTS.add(pid)
                    send(server_sock, {"op": "spawned", "id": message["id"], "pid": pid})
                except Exception as exc:  # noqa: BLE001
                    send(server_sock, {"op": "failed", "id": message["id"], "error": str(exc)})
                finally:
                    os.close(log_w)
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
        ENVIRONMENTS.discard(pid)
        forker = FORKERS.pop(pid, None)
        if forker is not None:
            forker.close()
        returncode = os.waitstatus_to_exitcode(status)
        send(server_sock, {"op": "exit", "pid": pid, "returncode": returncode})


PRELOADED = None
CLEAN_SYS_PATH = list(sys.path)
SERVER = []  # the socket to the server, closed in every child


def main():
    global PRELOADED, CLEAN_SYS_PATH
    fd = int(sys.argv[1])
    here = os.path.dirname(os.path.abspath(__file__))
    CLEAN_SYS_PATH = [p for p in sys.path if os.path.abspath(p or ".") != here]
    if "--preload-python" in sys.argv:
        sys.path.insert(0, os.path.join(here, "python"))
        import bootstrap  # the built-in Python runtime, imported once for every child

        sys.path.pop(0)
        bootstrap.preload()
        PRELOADED = bootstrap
    gc.collect()
    gc.freeze()
    SERVER.append(socket.socket(fileno=fd))
    serve(SERVER[0])


if __name__ == "__main__":
    main()
