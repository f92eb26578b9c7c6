"""The file systems of an environment, for the spawner (``spawner.py``): standard library
only, Python 3.8+, imported by the spawner before anything else (the ``lamina_`` prefix
keeps it from shadowing a function's own modules).

- ``build_template``: once per spawner, in its own mount namespace, the part of every root
  no function decides (read-only binds of system directories, interpreter, runtimes and
  SDK; a /dev of device nodes);
- ``start_root``: in a new init, what needs its own namespaces (/proc, /dev/shm);
- ``prepare_tmp``: then, ahead of need, a disk-backed /tmp of the size the server expects
  (an ext4 on a self-detaching loop device, see lamina/runtime/ephemeral.py);
- ``build_root``: once the init knows its function: code, layers and /tmp (the one
  prepared ahead when its size is right, else one made now, or a tmpfs), then the root
  read-only and ``pivot_root`` into it.
"""

import ctypes
import errno
import fcntl
import os
import stat
import struct
import sys

CLONE_NEWNS = 0x00020000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

# System call numbers by architecture: (clone, pivot_root).
_SYSCALLS = {"x86_64": (56, 155), "aarch64": (220, 41)}
SYS_CLONE, SYS_PIVOT_ROOT = _SYSCALLS.get(os.uname().machine, (None, None))

LOOP_CTL_GET_FREE = 0x4C82
LOOP_CONFIGURE = 0x4C0A  # Linux 5.8+
LO_FLAGS_AUTOCLEAR = 4
LO_FLAGS_DIRECT_IO = 16
LOOP_CONFIG_SIZE = 304  # struct loop_config: fd, block_size, loop_info64, reserved
LOOP_CONFIG_FLAGS_OFFSET = 60  # loop_config.info.lo_flags


def load_libc():
    """The C library. Not through ``ctypes.util.find_library``: it runs ``ldconfig`` (or a
    compiler) and imports a dozen modules, some 15 ms of every spawner's start."""
    for name in ("libc.so.6", None):  # glibc; else the process's own symbols (musl)
        try:
            lib = ctypes.CDLL(name, use_errno=True)
        except OSError:
            continue
        if hasattr(lib, "prctl") and hasattr(lib, "mount"):
            return lib
    from ctypes.util import find_library

    return ctypes.CDLL(find_library("c") or "libc.so.6", use_errno=True)


libc = load_libc()
libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
libc.unshare.argtypes = [ctypes.c_int]


def check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, "%s: %s" % (what, os.strerror(err)))


def mount(source, target, fstype, flags, data=None):
    check(
        libc.mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            flags,
            data.encode() if data else None,
        ),
        "mount %s on %s" % (source or fstype, target),
    )


def umount(target):
    check(libc.umount2(target.encode(), MNT_DETACH), "umount " + target)


def unshare(flags):
    check(libc.unshare(flags), "unshare")


def pivot_root(new_root, put_old):
    if SYS_PIVOT_ROOT is None:
        raise OSError(errno.ENOSYS, "pivot_root: unsupported architecture")
    check(libc.syscall(SYS_PIVOT_ROOT, new_root.encode(), put_old.encode()), "pivot_root")


def _mkdirs(path):
    os.makedirs(path, mode=0o755, exist_ok=True)


def _bind(root, source, target, read_only):
    dest = root + target
    if source == target and os.path.islink(source):
        # /bin -> usr/bin on merged-/usr systems: the same link, not a second mount.
        _mkdirs(os.path.dirname(dest))
        if not os.path.lexists(dest):
            os.symlink(os.readlink(source), dest)
        return
    if os.path.isdir(source):
        _mkdirs(dest)
    else:
        _mkdirs(os.path.dirname(dest))
        if not os.path.exists(dest):
            open(dest, "w").close()
    mount(source, dest, None, MS_BIND | MS_REC)
    if read_only:
        mount(None, dest, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


# No tty (nor console): an environment has no terminal to reach (docs/isolation.md).
DEVICES = ("null", "zero", "full", "random", "urandom")
TEMPLATE = {}  # what the template root was built from: {"root": ..., "ro_binds": ...}


def build_template(root, ro_binds):
    """The part of every root that no function decides, built once in the spawner's own
    mount namespace: a tmpfs with read-only binds of what runtimes need and a /dev.

    Each init is cloned with a copy of this namespace, so it starts with the template
    mounted at ``root`` and only adds its function's mounts."""
    wanted = {"root": root, "ro_binds": ro_binds}
    if wanted == TEMPLATE:
        return
    if not TEMPLATE:
        unshare(CLONE_NEWNS)  # the spawner's mounts never reach the host's namespace
        mount(None, "/", None, MS_REC | MS_PRIVATE)
    else:
        umount(TEMPLATE["root"])
        TEMPLATE.clear()
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=755")
    for source, target in ro_binds:
        if os.path.lexists(source):
            _bind(root, source, target, True)
    dev = root + "/dev"
    _mkdirs(dev)
    mount("tmpfs", dev, "tmpfs", MS_NOSUID, "size=64k,mode=755")
    for name in DEVICES:
        os.mknod(dev + "/" + name, stat.S_IFCHR | 0o666, os.stat("/dev/" + name).st_rdev)
        os.chmod(dev + "/" + name, 0o666)
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        os.symlink(target, dev + "/" + name)
    _mkdirs(dev + "/shm")
    mount(None, dev, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID)
    for name in ("proc", "var/task", "opt", "tmp", ".old-root"):
        _mkdirs(root + "/" + name)
    write_image_files(root)
    shell_is_bash(root)
    TEMPLATE.update(wanted)


# What AWS's images have at /lambda-entrypoint.sh and /var/runtime/bootstrap, in Lamina's
# words: the entry point takes the handler and starts the runtime's bootstrap, which runs
# the runtime (behind AWS_LAMBDA_EXEC_WRAPPER, when set). Lamina itself starts runtimes
# directly (faster); these are for code and tools that look for them.
ENTRYPOINT = """#!/bin/sh
# Lamina: the entry point of an AWS Lambda image. Its one argument is the handler.
if [ $# -ne 1 ]; then
  echo "lambda-entrypoint.sh: the handler must be the one argument" 1>&2
  exit 142
fi
export _HANDLER="$1"
exec /var/runtime/bootstrap
"""

BOOTSTRAP = """#!/bin/bash
# Lamina: starts the function's runtime, as the bootstrap of AWS's runtime images does.
case "$AWS_EXECUTION_ENV" in
  AWS_Lambda_python*)
    exec $AWS_LAMBDA_EXEC_WRAPPER /var/lang/bin/python%(version)s -I -S \\
      /var/runtime/lamina/python/bootstrap.py ;;
  AWS_Lambda_nodejs*)
    exec $AWS_LAMBDA_EXEC_WRAPPER node --max-http-header-size 81920 \\
      /var/runtime/lamina/nodejs/index.cjs ;;
esac
for candidate in "${LAMBDA_TASK_ROOT:-/var/task}/bootstrap" /opt/bootstrap; do
  if [ -x "$candidate" ]; then exec "$candidate"; fi
done
echo "bootstrap: no runtime to start" 1>&2
exit 127
"""


def write_image_files(root):
    """/lambda-entrypoint.sh and /var/runtime/bootstrap (root's, mode 755) in the template."""
    version = "%d.%d" % sys.version_info[:2]
    for path, text in (
        ("/lambda-entrypoint.sh", ENTRYPOINT),
        ("/var/runtime/bootstrap", BOOTSTRAP % {"version": version}),
    ):
        _mkdirs(os.path.dirname(root + path))
        with open(root + path, "w") as out:
            out.write(text)
        os.chmod(root + path, 0o755)


def shell_is_bash(root):
    """/bin/sh is bash, as on Amazon Linux (a ``bootstrap`` with ``set -o pipefail`` dies
    under dash): bash is bound over the file /bin/sh leads to (dash on Debian, so /bin/dash
    is bash too)."""
    bash = next((b for b in ("/usr/bin/bash", "/bin/bash") if os.path.isfile(b)), None)
    sh = os.path.realpath("/bin/sh")
    if bash is None or not os.path.exists(root + sh) or sh == os.path.realpath(bash):
        return
    mount(bash, root + sh, None, MS_BIND)
    mount(None, root + sh, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def start_root(root):
    """In a new init: the mounts that need its own namespaces, before it knows its
    function (it is pid 1 of its pid namespace already, so /proc can be mounted)."""
    mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount("tmpfs", root + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=1777")


# The /tmp this init mounted ahead of need: {"mb": its size}, or empty.
PREPARED_TMP = {}


def prepare_tmp(target, tmp_disk):
    """Ahead of need: mount an ext4 of ``tmp_disk["mb"]`` at ``target`` (``tmp_disk``:
    image, dir, mb; None: nothing to do), so a start whose function has that
    ``EphemeralStorage`` finds its /tmp ready and pays nothing for it. If it cannot be
    mounted now, the start tries again (and says why if that fails)."""
    if not tmp_disk:
        return
    try:
        mount_image_copy(tmp_disk["image"], tmp_disk["dir"], target)
    except OSError:
        return
    PREPARED_TMP["mb"] = tmp_disk["mb"]


def build_root(root, spec):
    """Finish the root ``start_root`` began: the function's own binds, code, layers and
    /tmp; then make it read-only and pivot into it."""
    for source, target in spec["ro_binds"]:
        if os.path.lexists(source):
            _bind(root, source, target, True)
    mount(spec["task_dir"], root + "/var/task", None, MS_BIND | MS_REC)
    mount(None, root + "/var/task", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    if spec.get("opt_dir"):
        mount(spec["opt_dir"], root + "/opt", None, MS_BIND | MS_REC)
        mount(None, root + "/opt", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    spec["tmp_storage"] = mount_tmp(root + "/tmp", spec)
    if spec.get("uid") is not None:
        name_the_user(root, spec["uid"], spec["gid"])
    # The root itself becomes read-only: only /tmp (and /dev/shm) are writable. MS_BIND:
    # this mount only, the template's tmpfs is shared with the other environments.
    mount(None, root, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chdir(root)
    pivot_root(".", ".old-root")
    os.chdir("/")
    umount("/.old-root")


# The user a function runs as, by AWS's name (its uid is the environment's own).
SANDBOX_USER = "sbx_user1051"


def name_the_user(root, uid, gid):
    """/etc/passwd and /etc/group naming the environment's user as AWS's images do (and
    none of the host's users): files on a small tmpfs of this init's own, bound over the
    host's, the tmpfs then detached (the binds keep it)."""
    scratch = root + "/.old-root"
    mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, "size=16k,mode=755")
    try:
        files = {
            "passwd": "root:x:0:0:root:/root:/bin/bash\n"
            "%s:x:%d:%d::/home/%s:/sbin/nologin\n" % (SANDBOX_USER, uid, gid, SANDBOX_USER),
            "group": "root:x:0:\n%s:x:%d:\n" % (SANDBOX_USER, gid),
        }
        for name, text in files.items():
            target = root + "/etc/" + name
            if not os.path.exists(target):
                continue
            with open(scratch + "/" + name, "w") as out:
                out.write(text)
            os.chmod(scratch + "/" + name, 0o644)
            mount(scratch + "/" + name, target, None, MS_BIND)
            mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    finally:
        umount(scratch)


def mount_tmp(target, spec):
    """/tmp: a disk-backed ext4 of the function's size when the server asks for one
    (``spec["tmp_disk"]``, see lamina/runtime/ephemeral.py), else a tmpfs of that size.
    The ext4 prepared ahead is used when its size is the function's; else the right /tmp
    is mounted over it (unmounting it now would cost the start about 1 ms, far more under
    I/O load; it goes with the environment). Returns "disk", or why /tmp is in memory.
    (The spawner then gives /tmp to the environment's user.)"""
    disk = spec.get("tmp_disk")
    if disk and PREPARED_TMP.get("mb") == disk["mb"]:
        return "disk"
    reason = "memory"
    if disk:
        try:
            mount_image_copy(disk["image"], disk["dir"], target)
            return "disk"
        except OSError as exc:
            reason = "memory (%s)" % exc
    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, "size=%dm,mode=1777" % spec["tmp_mb"])
    return reason


def mount_image_copy(template, directory, target):
    """Copy the template's data into an unnamed file, put it on a free loop device that
    detaches itself when unmounted, and mount it: the file goes with the last mount.
    ``noinit_itable``: the kernel does not zero the (never used) inode tables behind it."""
    image = os.open(directory, os.O_TMPFILE | os.O_RDWR, 0o600)
    try:
        source = os.open(template, os.O_RDONLY)
        try:
            os.ftruncate(image, os.fstat(source).st_size)
            offset = 0
            while True:
                try:
                    start = os.lseek(source, offset, os.SEEK_DATA)
                except OSError as exc:
                    if exc.errno == errno.ENXIO:  # no data after offset
                        break
                    raise
                end = os.lseek(source, start, os.SEEK_HOLE)
                while start < end:
                    start += os.copy_file_range(source, image, end - start, start, start)
                offset = end
        finally:
            os.close(source)
        loop, device = attach_loop(image)
        try:
            mount(device, target, "ext4", MS_NOSUID | MS_NODEV, "noinit_itable")
        finally:
            os.close(loop)
    finally:
        os.close(image)


def attach_loop(image):
    """A free loop device backed by ``image``: (open descriptor, device path).

    One at a time (a lock on /dev/loop-control, which every init opens): a burst of inits
    asking together would each be handed the same free device, and all but one retry;
    80 at once took three times longer and a third of them found none in 16 attempts."""
    control = os.open("/dev/loop-control", os.O_RDWR)
    try:
        fcntl.flock(control, fcntl.LOCK_EX)  # released when ``control`` closes
        for _attempt in range(16):
            number = fcntl.ioctl(control, LOOP_CTL_GET_FREE)
            device = "/dev/loop%d" % number
            loop = os.open(device, os.O_RDWR)
            error = None
            for flags in (LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO, LO_FLAGS_AUTOCLEAR):
                config = bytearray(LOOP_CONFIG_SIZE)
                struct.pack_into("II", config, 0, image, 0)
                struct.pack_into("I", config, LOOP_CONFIG_FLAGS_OFFSET, flags)
                try:
                    fcntl.ioctl(loop, LOOP_CONFIGURE, bytes(config))
                    return loop, device
                except OSError as exc:
                    error = exc
                    if exc.errno != errno.EINVAL:  # EINVAL: no direct I/O on this file
                        break
            os.close(loop)
            if error is None or error.errno != errno.EBUSY:  # EBUSY: taken meanwhile
                raise error or OSError(errno.EIO, "loop device not configured")
        raise OSError(errno.EBUSY, "no free loop device")
    finally:
        os.close(control)
