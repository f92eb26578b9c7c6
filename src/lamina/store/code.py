"""Code packages, stored once by sha256, and their extracted trees.

``<data>/code/<sha256>.zip`` holds the package as uploaded; ``<data>/code/<sha256>/``
holds it unpacked (read-only for functions) with the zip's Unix permission bits, so
a custom runtime's ``bootstrap`` stays executable. Both are written to a temporary
name and renamed, so a crash never leaves a half-written package behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import threading
import zipfile
from pathlib import Path


class CodeStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def zip_path(self, sha256_hex: str) -> Path:
        return self.root / f"{sha256_hex}.zip"

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.zip_path(digest)
        if not target.exists():
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        return digest

    def extracted(self, sha256_hex: str) -> Path:
        """The unpacked tree of a package, unpacking it on first use."""
        target = self.root / sha256_hex
        if target.is_dir():
            return target
        with self._lock:
            if target.is_dir():
                return target
            tmp = Path(tempfile.mkdtemp(dir=self.root, prefix=".extract-"))
            try:
                extract_with_modes(self.zip_path(sha256_hex), tmp)
                os.chmod(tmp, 0o755)
                os.replace(tmp, target)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        return target

    def unzipped_size(self, sha256_hex: str) -> int:
        """The sum of a stored package's entry sizes (read from its central directory)."""
        with zipfile.ZipFile(self.zip_path(sha256_hex)) as archive:
            return sum(info.file_size for info in archive.infolist())

    def remove(self, sha256_hex: str) -> None:
        shutil.rmtree(self.root / sha256_hex, ignore_errors=True)
        self.zip_path(sha256_hex).unlink(missing_ok=True)


def extract_with_modes(zip_path: Path, dest: Path, *, merge: bool = False) -> None:
    """Unpack a zip into ``dest`` keeping its Unix permission bits (execute bits above all).

    ``merge``: ``dest`` already holds earlier packages (layers unpacked in order into one
    tree) and an entry replaces whatever is at its path, whatever its kind or mode.
    """
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            name = info.filename
            if name.startswith("/") or ".." in Path(name).parts:
                continue
            if merge:
                _make_room(dest, dest / name, info.is_dir())
            path = archive.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o7777
            if info.is_dir():
                os.chmod(path, 0o755)
            elif mode:
                # Keep execute bits; everything stays readable.
                os.chmod(path, (mode & 0o755) | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
            else:
                os.chmod(path, 0o644)


def _make_room(dest: Path, target: Path, is_dir: bool) -> None:
    """Remove what an earlier package left in the way of ``target``: a file where a directory
    must go (the target or one of its parents), or anything where a file must go."""
    for parent in reversed(target.relative_to(dest).parents[:-1]):
        path = dest / parent
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            path.unlink()
    if target.is_symlink() or target.is_file():
        target.unlink()  # also a read-only file an entry overwrites
    elif target.is_dir() and not is_dir:
        shutil.rmtree(target)
