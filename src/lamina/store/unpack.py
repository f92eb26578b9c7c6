"""Unpacking a deployment package safely: every entry verified, nothing written outside.

A package is untrusted input. ``unpack`` streams each entry to disk (never a whole file in
memory), so zipfile checks its CRC and sizes as it goes, and refuses the package
(``BadPackage``) for:

- a corrupt entry (bad CRC, truncated data, an unsupported or encrypted entry);
- a path that leaves the tree (absolute, ``..``) or clashes with another entry;
- a symbolic link that resolves outside the tree (links are created last, so no entry is
  ever written through one; a merged tree drops such links instead: ``drop_escaping_links``);
- more data than the entries declare, or declared sizes beyond ``max_bytes``.

A full disk is not the package's fault: ``OSError`` ENOSPC/EDQUOT propagates as is.
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from lamina.store.disk_full import is_disk_full

CHUNK_BYTES = 1 << 20
MAX_LINK_TARGET_BYTES = 4096


class BadPackage(Exception):
    """The package cannot be unpacked (the reason is for logs; callers answer AWS's
    generic message)."""


def unpack(
    source: Path | BinaryIO,
    dest: Path,
    *,
    max_bytes: int,
    merge: bool = False,
    skip_outside: bool = False,
) -> int:
    """Unpack the zip ``source`` into the directory ``dest``; returns the bytes written.

    ``merge``: ``dest`` already holds earlier packages (layers unpacked in order into one
    tree) and an entry replaces whatever is at its path, whatever its kind or mode.
    ``skip_outside``: entries whose path leaves the tree are skipped instead of refusing the
    package (packages stored before uploads were verified).
    """
    try:
        with zipfile.ZipFile(source) as archive:
            return _unpack(archive, dest, max_bytes, merge, skip_outside)
    except BadPackage:
        raise
    except OSError as exc:
        if is_disk_full(exc):
            raise
        raise BadPackage(str(exc)) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError) as exc:
        raise BadPackage(str(exc)) from None
    except (RuntimeError, NotImplementedError, ValueError, UnicodeError) as exc:
        raise BadPackage(str(exc)) from None


def _unpack(
    archive: zipfile.ZipFile, dest: Path, max_bytes: int, merge: bool, skip_outside: bool
) -> int:
    infos = archive.infolist()
    declared = sum(info.file_size for info in infos)
    if declared >= max_bytes:
        raise BadPackage(f"declares {declared} bytes unzipped")
    links: list[tuple[Path, str]] = []
    written = 0
    for info in infos:
        try:
            parts = entry_parts(info.filename)
        except BadPackage:
            if skip_outside:
                continue
            raise
        if not parts:
            continue
        target = dest.joinpath(*parts)
        mode = (info.external_attr >> 16) & 0xFFFF
        if merge:
            _make_room(dest, target, info.is_dir())
        elif target.is_symlink() or (target.exists() and not info.is_dir()):
            raise BadPackage(f"{info.filename}: entry given twice")
        if stat.S_ISLNK(mode) and not info.is_dir():
            links.append((target, _link_target(archive, info)))
            continue
        if info.is_dir():
            target.mkdir(mode=0o755, parents=True, exist_ok=True)
            target.chmod(0o755)
            continue
        target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        written += _copy_entry(archive, info, target, max_bytes - written)
        target.chmod(_file_mode(mode))
    for link, link_target in links:
        _make_link(dest, link, link_target, merge)
    for link, link_target in links:  # a later link can change where an earlier one leads
        if not merge and not stays_inside(dest, link):
            raise BadPackage(f"{link.relative_to(dest)} -> {link_target}: leaves the package")
    return written


def entry_parts(name: str) -> tuple[str, ...]:
    """The path components of an entry, refusing any that would leave the tree."""
    if "\x00" in name or name.startswith(("/", "\\")) or "\\" in name:
        raise BadPackage(f"{name!r}: not a relative path")
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        raise BadPackage(f"{name!r}: leaves the package")
    return parts


def _copy_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, room: int) -> int:
    copied = 0
    with archive.open(info) as src, open(target, "wb") as out:
        while chunk := src.read(CHUNK_BYTES):
            copied += len(chunk)
            if copied > info.file_size or copied > room:
                raise BadPackage(f"{info.filename}: more data than declared")
            out.write(chunk)
    return copied


def _file_mode(mode: int) -> int:
    """Keep execute bits; everything stays readable, nothing writable but by the owner."""
    permissions = mode & 0o755
    if not permissions:
        return 0o644
    return permissions | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


def _link_target(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    if info.file_size > MAX_LINK_TARGET_BYTES:
        raise BadPackage(f"{info.filename}: link target too long")
    raw = archive.read(info)
    if not raw or b"\x00" in raw:
        raise BadPackage(f"{info.filename}: empty link")
    return raw.decode()


def _make_link(dest: Path, link: Path, target: str, merge: bool) -> None:
    if os.path.isabs(target):
        raise BadPackage(f"{link.relative_to(dest)} -> {target}: absolute link")
    link.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    if merge:
        _make_room(dest, link, False)
    os.symlink(target, link)


def stays_inside(root: Path, path: Path) -> bool:
    """Whether ``path`` (all links followed, as far as they exist) is inside ``root``."""
    resolved = os.path.realpath(path)
    top = os.path.realpath(root)
    return resolved == top or resolved.startswith(top + os.sep)


def drop_escaping_links(root: Path) -> list[Path]:
    """Remove the links of a merged tree that resolve outside it (links of different
    layers can combine into one that escapes); returns what was removed."""
    removed: list[Path] = []
    for directory, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            path = Path(directory) / name
            if path.is_symlink() and not stays_inside(root, path):
                path.unlink()
                removed.append(path)
    return removed


def _make_room(dest: Path, target: Path, is_dir: bool) -> None:
    """Remove what an earlier package left in the way of ``target``: a file or link where a
    directory must go (the target or one of its parents), or anything where a file must go."""
    for parent in reversed(target.relative_to(dest).parents[:-1]):
        path = dest / parent
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            path.unlink()
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.is_dir() and not is_dir:
        shutil.rmtree(target)
