"""Code packages, stored once by sha256, and their unpacked trees.

``<data>/code/<sha256>.zip`` holds the package as uploaded; ``<data>/code/<sha256>/``
holds it unpacked (read-only for functions) with the zip's Unix permission bits, so a
custom runtime's ``bootstrap`` stays executable.

A tree's state is atomic: it is unpacked (and every entry verified, see ``store.unpack``)
into a temporary directory that is renamed into place, so a tree that exists is complete;
it is removed by renaming it away first, under ``lock``, the lock bytecode compilation
holds while it adds ``__pycache__`` files, so nothing is ever written into a removed tree.
``put`` does the work of an upload: call it from a thread, never the event loop.

Storage is counted (zip plus unzipped bytes, what fills the disk) against a limit: a new
package that would exceed it is refused with ``CodeStorageExceededException``, as is one
the disk has no room for (the partial files are removed).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import tempfile
import threading
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from lamina.domain.errors import CodeStorageExceededException, InvalidParameterValueException
from lamina.domain.function_rules import MAX_UNZIPPED_BYTES
from lamina.store.disk_full import SpaceReserve, is_disk_full
from lamina.store.unpack import BadPackage, unpack
from lamina.store.unpack_worker import remove_tree, unpack_in_process

log = logging.getLogger("lamina.code")
T = TypeVar("T")

UNZIP_FAILED = "Could not unzip uploaded file. Please check your file, then try to upload again."
STORAGE_EXCEEDED = "Code storage limit exceeded."
DISK_FULL = "Code storage limit exceeded: the server's disk has no space left for code."
DEFAULT_LIMIT_BYTES = 76800 * 1024 * 1024
_TEMPORARY_PREFIXES = (".upload-", ".extract-", ".trash-", ".compile-")


@dataclass(frozen=True)
class StoredPackage:
    sha256: str
    unzipped_size: int
    new: bool  # stored by this call (so removable again if the request fails later)


def storage_exceeded(disk_full: bool = False) -> CodeStorageExceededException:
    return CodeStorageExceededException(DISK_FULL if disk_full else STORAGE_EXCEEDED)


class CodeStore:
    def __init__(
        self,
        root: Path,
        limit_bytes: int = DEFAULT_LIMIT_BYTES,
        reserve: SpaceReserve | None = None,
    ) -> None:
        self.root = root
        self.limit_bytes = limit_bytes
        # Given up so that deletions work on a full disk (``free_space_for``).
        self.reserve = reserve
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        root.chmod(0o700)
        # Guards the state of trees: unpacking, removal, and bytecode added to them.
        self.lock = threading.RLock()
        # Bytes on disk per package (zip + unzipped) and per derived tree (merged /opt).
        self._usage: dict[str, int] = {}
        # Packages of requests in flight (stored, not yet referenced): never collected.
        self._pins: Counter[str] = Counter()
        self._sweep()

    # --- paths -----------------------------------------------------------------------

    def zip_path(self, sha256_hex: str) -> Path:
        return self.root / f"{sha256_hex}.zip"

    def tree_path(self, sha256_hex: str) -> Path:
        return self.root / sha256_hex

    # --- storage accounting ----------------------------------------------------------------

    def used_bytes(self) -> int:
        """What code takes on disk: packages, their trees, merged layer trees."""
        return sum(self._usage.values())

    def check_room(self, extra_bytes: int) -> None:
        if self.used_bytes() + extra_bytes > self.limit_bytes:
            raise storage_exceeded()

    def charge(self, key: str, size: int) -> None:
        """Count a derived tree (a merged ``/opt``) under ``key`` (never refused: the
        packages it is made of were accepted)."""
        self._usage[key] = size

    def release(self, key: str) -> None:
        self._usage.pop(key, None)

    # --- packages ------------------------------------------------------------------------

    def put(self, data: bytes) -> StoredPackage:
        """Store and unpack a package (verifying every entry), pinned until ``unpin``: the
        caller unpins it once a configuration references it (or the request failed).
        InvalidParameterValueException for a package that does not unzip;
        CodeStorageExceededException over the limit or on a full disk. Blocking: call from a
        thread."""
        digest = hashlib.sha256(data).hexdigest()
        with self.lock:
            if digest in self._usage and self.tree_path(digest).is_dir():
                self._pins[digest] += 1
                return StoredPackage(digest, self._usage[digest] - len(data), False)
            declared = _declared_size(data)
            if digest not in self._usage:
                self.check_room(len(data) + declared)
            try:
                self._write_zip(digest, data)
                self._unpack(digest)
            except BadPackage as exc:
                log.info("package %s refused: %s", digest[:12], exc)
                self._forget(digest)
                raise InvalidParameterValueException(UNZIP_FAILED) from None
            except OSError as exc:
                if not is_disk_full(exc):
                    raise
                self._forget(digest)
                raise storage_exceeded(disk_full=True) from None
            self._usage[digest] = len(data) + declared
            self._pins[digest] += 1
        return StoredPackage(digest, declared, True)

    def unpin(self, sha256_hex: str) -> None:
        with self.lock:
            self._pins[sha256_hex] -= 1
            if self._pins[sha256_hex] <= 0:
                del self._pins[sha256_hex]

    def collect(self, candidates: Iterable[str], in_use: Callable[[], set[str]]) -> None:
        """Remove the packages among ``candidates`` that nothing uses: ``in_use`` (read under
        the lock, so no upload can start using one meanwhile) and no request in flight.
        Works on a full disk (it only frees space). Blocking: call from a thread."""
        trash: list[Path] = []
        with self.lock:
            unused = set(candidates) - in_use() - set(self._pins)
            for sha in unused:
                self._usage.pop(sha, None)
                moved = self._rename_away(self.tree_path(sha))
                if moved is not None:
                    trash.append(moved)
                self.zip_path(sha).unlink(missing_ok=True)
        for tree in trash:
            remove_tree(tree)
        if self.reserve is not None:
            self.reserve.restore()

    def free_space_for(self, write: Callable[[], T]) -> T:
        """``write()``, a deletion's transaction: on a full disk it gets the space reserve."""
        if self.reserve is None:
            return write()
        return self.reserve.run(write)

    def _write_zip(self, digest: str, data: bytes) -> None:
        target = self.zip_path(digest)
        if target.exists():
            return
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, 0o600)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _unpack(self, digest: str) -> None:
        """Unpack the stored zip into a temporary directory renamed into place, in a child
        process (caller holds ``lock``)."""
        target = self.tree_path(digest)
        if target.is_dir():
            return
        tmp = Path(tempfile.mkdtemp(dir=self.root, prefix=".extract-"))
        try:
            unpack_in_process([self.zip_path(digest)], tmp, max_bytes=MAX_UNZIPPED_BYTES)
            tmp.chmod(0o755)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def is_extracted(self, sha256_hex: str) -> bool:
        """Whether ``extracted`` returns at once (the tree is there)."""
        return self.tree_path(sha256_hex).is_dir()

    def extracted(self, sha256_hex: str) -> Path:
        """The unpacked tree of a stored package (unpacked by ``put``; unpacked here only for
        a data directory from before trees were made at upload)."""
        target = self.tree_path(sha256_hex)
        if self.is_extracted(sha256_hex):
            return target
        with self.lock:
            try:
                self._unpack(sha256_hex)
            except BadPackage as exc:
                raise InvalidParameterValueException(UNZIP_FAILED) from exc
        return target

    def unzipped_size(self, sha256_hex: str) -> int:
        """The sum of a stored package's entry sizes (read from its central directory)."""
        with zipfile.ZipFile(self.zip_path(sha256_hex)) as archive:
            return sum(info.file_size for info in archive.infolist())

    def _forget(self, digest: str) -> None:
        """Undo a failed ``put`` (caller holds ``lock``)."""
        self._usage.pop(digest, None)
        self.zip_path(digest).unlink(missing_ok=True)
        trash = self._rename_away(self.tree_path(digest))
        if trash is not None:
            remove_tree(trash)

    def _rename_away(self, tree: Path) -> Path | None:
        if not tree.is_dir():
            return None
        trash = self.root / f".trash-{os.urandom(8).hex()}"
        os.replace(tree, trash)
        return trash

    # --- start-up ------------------------------------------------------------------------

    def _sweep(self) -> None:
        """Drop what a crash left (temporary files and trees, trees without a package) and
        count what is stored."""
        for entry in self.root.iterdir():
            name = entry.name
            if name.startswith(_TEMPORARY_PREFIXES) or (
                entry.is_dir() and not self.zip_path(name).exists()
            ):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
            elif name.endswith(".zip"):
                digest = name.removesuffix(".zip")
                try:
                    self._usage[digest] = entry.stat().st_size + self.unzipped_size(digest)
                except (OSError, zipfile.BadZipFile, ValueError):
                    self._usage[digest] = entry.stat().st_size


def extract_with_modes(zip_path: Path, dest: Path, *, merge: bool = False) -> None:
    """Unpack a stored package into ``dest`` (see ``store.unpack``), skipping entries whose
    path leaves the tree."""
    try:
        unpack(zip_path, dest, max_bytes=MAX_UNZIPPED_BYTES + 1, merge=merge, skip_outside=True)
    except BadPackage as exc:
        raise InvalidParameterValueException(UNZIP_FAILED) from exc


def _declared_size(data: bytes) -> int:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise InvalidParameterValueException(UNZIP_FAILED) from None
