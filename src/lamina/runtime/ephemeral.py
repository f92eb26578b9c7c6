"""Disk-backed ``/tmp``: an empty ext4 file system of the function's ``EphemeralStorage``.

On AWS ``/tmp`` is disk: a 128 MB function can fill a 512 MB ``/tmp``. A tmpfs would count
its pages against the function's memory limit, so each isolated environment gets its own
small ext4 file system instead, on a loop device, mounted at ``/tmp``:

- the server makes one **template** image per size (``mkfs.ext4`` on a sparse file: an
  empty 512 MB file system is ~60 KB of data), once;
- the environment's init copies the template's data into an unnamed file (``O_TMPFILE``)
  in this directory, attaches it to a free loop device (auto-clear, direct I/O) and mounts
  it. When the environment's mount namespace goes, the loop device detaches itself and
  the unnamed file is freed: nothing is left behind, even if the server is killed.

Needs ``/dev/loop-control``, ``mkfs.ext4`` (e2fsprogs) and ext4; without them ``/tmp`` is a
tmpfs (``docs/isolation.md``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import uuid
from pathlib import Path

MKFS = "mkfs.ext4"


def image_bytes(size_mb: int) -> int:
    """An image whose free space is at least ``size_mb`` (ext4's own metadata: ~3 %)."""
    return (size_mb + size_mb // 25 + 8) * 1024 * 1024


def probe() -> str | None:
    """Why disk-backed /tmp cannot work here, or None."""
    if not os.path.exists("/dev/loop-control"):
        return "no /dev/loop-control (loop devices)"
    if shutil.which(MKFS) is None:
        return f"{MKFS} not found (install e2fsprogs)"
    try:
        with open("/proc/filesystems") as fh:
            if "ext4" not in fh.read().split():
                return "the kernel has no ext4"
    except OSError as exc:
        return f"cannot read /proc/filesystems: {exc}"
    return None


class EphemeralImages:
    """The template images, one per size, in ``directory`` (also where environments make
    their unnamed image files: it must be a disk file system)."""

    def __init__(self, directory: Path, owner: tuple[int, int]) -> None:
        self.directory = directory
        self.owner = owner  # of the file systems' root directory: the function's user
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def template(self, size_mb: int) -> str:
        """The template for ``size_mb``, made on first use (blocking: call off the loop)."""
        target = self.directory / f"{size_mb}.img"
        if target.exists():
            return str(target)
        with self._lock:
            if target.exists():
                return str(target)
            tmp = self.directory / f".{size_mb}-{uuid.uuid4().hex[:8]}.img"
            uid, gid = self.owner
            try:
                with open(tmp, "wb") as fh:
                    fh.truncate(image_bytes(size_mb))
                subprocess.run(
                    [
                        MKFS,
                        "-q",
                        "-F",
                        "-O",
                        "^has_journal,^resize_inode",
                        "-E",
                        f"lazy_itable_init=1,nodiscard,root_owner={uid}:{gid}",
                        "-m",
                        "0",
                        "-L",
                        "tmp",
                        str(tmp),
                    ],
                    check=True,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    timeout=60,
                )
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
        return str(target)
