"""Disk-backed ``/tmp`` never fills the data disk: each one is guaranteed before it is given.

The images behind environments' ``/tmp`` (``ephemeral.py``) are sparse: they take the disk
only as functions write. Without a bound, enough environments filling their ``/tmp`` would
fill the data disk, and with it Lamina's databases and every other function's ``/tmp``. An
environment therefore gets a disk ``/tmp`` only while the disk's free space covers it and
every other live disk ``/tmp`` at their full sizes (as if all were still empty: the space
they already use is counted twice, which errs on the safe side), plus a reserve. Otherwise
its ``/tmp`` is a tmpfs of the same size, which counts against the function's own memory
limit (``--tmp-storage memory`` semantics, said once): the function can still run, and
cannot exhaust anything but itself.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("lamina.sandbox")

MB = 1024 * 1024
# Left free on the data disk beyond every guaranteed /tmp: Lamina's own writes.
RESERVE_MB = 256


def free_bytes(directory: Path) -> int:
    stats = os.statvfs(directory)
    return stats.f_bavail * stats.f_frsize


class TmpGuarantee:
    def __init__(
        self,
        directory: Path,
        reserve_mb: int = RESERVE_MB,
        measure: Callable[[Path], int] = free_bytes,
    ) -> None:
        self.directory = directory
        self.reserve_mb = reserve_mb
        self._measure = measure
        self._held: dict[int, int] = {}  # environment key (its uid) -> MB guaranteed
        self._said = False

    @property
    def held_mb(self) -> int:
        return sum(self._held.values())

    def take(self, key: int, size_mb: int) -> bool:
        """Guarantee ``size_mb`` for the environment ``key``; False: no room on the disk."""
        try:
            free = self._measure(self.directory)
        except OSError:
            return False
        if free < (self.held_mb + size_mb + self.reserve_mb) * MB:
            if not self._said:
                self._said = True
                log.warning(
                    "the data disk cannot back every environment's /tmp at its full size "
                    "(%d MB free, %d MB guaranteed to live environments): new environments "
                    "get /tmp in memory until space returns (said once)",
                    free // MB,
                    self.held_mb,
                )
            return False
        self._held[key] = size_mb
        return True

    def give_back(self, key: int) -> None:
        self._held.pop(key, None)
