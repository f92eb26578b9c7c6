"""A full data directory: recognising it (``is_disk_full``), and the space reserve that
lets deletions free space even then (``SpaceReserve``)."""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger("lamina.disk")

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_SQLITE_FULL = 13
RESERVE_BYTES = 8 * 1024 * 1024


def is_disk_full(exc: BaseException) -> bool:
    """An ``OSError`` for lack of space, or SQLite's ``database or disk is full``."""
    if isinstance(exc, OSError):
        return exc.errno in DISK_FULL_ERRNOS
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF == _SQLITE_FULL:
            return True
        return "database or disk is full" in str(exc)
    return False


class SpaceReserve:
    """A few megabytes held on the data directory's file system and given up when it is
    full, so that deletions, which free space, can still commit their transaction (SQLite
    needs room for its journal even to delete). Taken again once space was freed."""

    def __init__(self, path: Path, size: int = RESERVE_BYTES) -> None:
        self.path = path
        self.size = size
        self.restore()

    def restore(self) -> bool:
        """Hold the reserve again (False: no room for it yet)."""
        try:
            if self.path.exists() and self.path.stat().st_size >= self.size:
                return True
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                if hasattr(os, "posix_fallocate"):
                    os.posix_fallocate(fd, 0, self.size)
                else:  # macOS
                    os.write(fd, bytes(self.size))
            finally:
                os.close(fd)
            return True
        except OSError:
            self.path.unlink(missing_ok=True)
            return False

    def run(self, write: Callable[[], T]) -> T:
        """``write()``; on a full disk, once more after giving the reserve up."""
        try:
            return write()
        except (OSError, sqlite3.OperationalError) as exc:
            if not is_disk_full(exc) or not self.path.exists():
                raise
            log.warning("the data directory's disk is full: using the space reserve")
            self.path.unlink(missing_ok=True)
            return write()
