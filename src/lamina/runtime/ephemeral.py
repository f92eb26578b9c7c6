"""Disk-backed ``/tmp`` (the default): an empty ext4 file system of ``EphemeralStorage`` MB.

On AWS ``/tmp`` is disk: a 128 MB function can fill a 512 MB ``/tmp``. A tmpfs would count
its pages against the function's memory limit, so each isolated environment gets its own
small ext4 file system instead, on a loop device, mounted at ``/tmp``:

- the server makes one **template** image per size (``mkfs.ext4`` on a sparse file: an
  empty 512 MB file system is ~60 KB of data), once;
- an init copies the template's data into an unnamed file (``O_TMPFILE``) in this
  directory, attaches it to a free loop device (auto-clear, direct I/O) and mounts it
  (``lamina/runtimes/lamina_sandbox_fs.py``). When the environment's mount namespace
  goes, the loop device detaches itself and the unnamed file is freed: nothing is left
  behind, even if the server is killed.

That costs about 1.2 ms, so it is done **ahead of need**: the inits the sandbox prepares
ahead mount a /tmp of the size most of the recent starts asked for (``expected_mb``, AWS's
512 MB at first), and a start whose function has that size only hands it to the
function's user. A start with another size mounts its own over it; one beyond the
prepared inits (a burst) has its own made while the server moves its init into a cgroup.

Needs ``/dev/loop-control``, ``mkfs.ext4`` (e2fsprogs) and ext4; without them ``/tmp`` is a
tmpfs, said once at start-up (``docs/isolation.md``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import threading
import uuid
from collections import Counter, deque
from pathlib import Path
from typing import TypedDict

log = logging.getLogger("lamina.sandbox")

MKFS = "mkfs.ext4"
DEBUGFS = "debugfs"
DEFAULT_MB = 512  # AWS's default EphemeralStorage
RECENT_STARTS = 32  # the starts whose sizes decide what the inits prepared ahead mount


class TmpDisk(TypedDict):
    """What an init needs to mount a disk-backed /tmp (see lamina_sandbox_fs.py)."""

    image: str  # the template image
    dir: str  # where the environment's unnamed copy lives
    mb: int  # its size (EphemeralStorage)


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
    their unnamed image files: it must be a disk file system), and which size the inits
    prepared ahead should mount."""

    def __init__(self, directory: Path, owner: tuple[int, int]) -> None:
        self.directory = directory
        # Of the file systems' root directory until the init gives it to the environment's
        # own user (spawner.start_environment).
        self.owner = owner
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._templates: dict[int, str] = {}  # size -> template; "": it could not be made
        self._recent: deque[int] = deque(maxlen=RECENT_STARTS)
        self._said_in_memory = False

    @property
    def expected_mb(self) -> int:
        """The size the next start most likely needs: the most frequent of the recent
        starts' sizes (the latest wins a tie), AWS's default before any start."""
        if not self._recent:
            return DEFAULT_MB
        counts = Counter(self._recent)
        best = max(counts.values())
        return next(mb for mb in reversed(self._recent) if counts[mb] == best)

    async def for_start(self, size_mb: int) -> TmpDisk | None:
        """The /tmp of a start (None: no template, /tmp in memory)."""
        self._recent.append(size_mb)
        return await self.disk(size_mb)

    async def ahead(self) -> TmpDisk | None:
        """The /tmp an init prepared ahead mounts (``expected_mb``)."""
        return await self.disk(self.expected_mb)

    async def disk(self, size_mb: int) -> TmpDisk | None:
        template = self._templates.get(size_mb)
        if template is None:
            try:
                template = await asyncio.to_thread(self.template, size_mb)
            except (OSError, subprocess.SubprocessError) as exc:
                log.warning("no disk for /tmp of %d MB, using memory: %s", size_mb, exc)
                template = ""
            self._templates[size_mb] = template
        if not template:
            return None
        return {"image": template, "dir": str(self.directory), "mb": size_mb}

    def started(self, tmp_storage: str) -> None:
        """What a start's /tmp turned out to be ("disk", or why memory): said once."""
        if tmp_storage != "disk" and not self._said_in_memory:
            self._said_in_memory = True
            log.warning("environment /tmp in memory (said once): %s", tmp_storage)

    def template(self, size_mb: int) -> str:
        """The template for ``size_mb``, made on first use (blocking: call off the loop)."""
        target = self.directory / f"{size_mb}.img"
        if target.exists():
            return str(target)
        with self._lock:
            if target.exists():
                return str(target)
            tmp = self.directory / f".{size_mb}-{uuid.uuid4().hex[:8]}.img"
            try:
                with open(tmp, "wb") as fh:
                    fh.truncate(image_bytes(size_mb))
                self._mkfs(tmp)
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
        return str(target)

    def _mkfs(self, image: Path) -> None:
        uid, gid = self.owner
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
                str(image),
            ],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=60,
        )
        # AWS's /tmp starts empty: no lost+found (best effort, debugfs is in e2fsprogs too).
        if shutil.which(DEBUGFS) is not None:
            subprocess.run(
                [DEBUGFS, "-w", "-R", "rmdir lost+found", str(image)],
                check=False,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=60,
            )
