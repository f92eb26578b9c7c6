"""boto3 for the Python runtimes whose interpreter the server's own boto3 no longer supports.

AWS ships a boto3 with every Python runtime. Lamina puts the server's boto3 on a function's
path (``launch.sdk_path``), but current boto3/botocore need Python 3.10 or newer, so
``python3.8`` and ``python3.9`` functions get the last release that supports their
interpreter instead, pinned in ``LEGACY_PINS``, installed once per interpreter version by
that interpreter's own ``pip`` (from the configured package index) into a cache directory
shared by every data directory of the host (``$XDG_CACHE_HOME/lamina/python-sdk``, else
``~/.cache/lamina/python-sdk``).

The installation runs in a background thread, never on the event loop: it starts when a
function on such a runtime is created or configured, when a region with such functions starts,
or at the latest when one of their environments starts. An environment that starts before it
has finished runs without the SDK (importing boto3 fails there, as before; a warning is
logged); later ones get it. A failed installation is logged and retried no sooner than
``RETRY_AFTER_SECONDS`` later.

Layout: ``<cache>/python3.X-<digest of the pins>/`` is the pip target and the environment's
SDK root, in place of the server's (``launch.sdk_path``): its entries (boto3, botocore, ...)
are what the function finds where AWS keeps its SDK (``/var/runtime`` in the isolated
sandbox, mounted over the server's packages there). It appears complete or not at all: pip
installs into a staging directory renamed into place.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import shutil
import subprocess
import threading
import time
from pathlib import Path

log = logging.getLogger("lamina.runtime")

# The last boto3/botocore/s3transfer releases that support each interpreter (pip resolves
# their dependencies for that interpreter: urllib3 1.26 on both).
LEGACY_PINS: dict[str, tuple[str, ...]] = {
    "3.8": ("boto3==1.37.38", "botocore==1.37.38", "s3transfer==0.11.5"),
    "3.9": ("boto3==1.42.97", "botocore==1.42.97", "s3transfer==0.16.1"),
}
INSTALL_TIMEOUT_SECONDS = 600
RETRY_AFTER_SECONDS = 600


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "lamina" / "python-sdk"


class LegacySdks:
    """The cached SDKs of ``LEGACY_PINS``, installed on demand in background threads."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir or default_cache_dir()
        self._lock = threading.Lock()
        self._installing: set[str] = set()
        self._failed_at: dict[str, float] = {}
        self._warned: set[str] = set()

    def root(self, version: str) -> Path:
        pins = LEGACY_PINS[version]
        digest = hashlib.sha256("\n".join(pins).encode()).hexdigest()[:12]
        return self.cache_dir / f"python{version}-{digest}"

    def ready_root(self, version: str) -> Path | None:
        """The SDK root for Python ``version`` if it is installed, else None (the server's
        SDK applies). Never blocks."""
        if version not in LEGACY_PINS:
            return None
        root = self.root(version)
        return root if root.is_dir() else None

    def root_for(self, version: str, python: str) -> Path | None:
        """``ready_root``; when not installed yet, starts the installation with ``python``
        (returns at once) and logs once that environments meanwhile have no boto3."""
        if version not in LEGACY_PINS:
            return None
        ready = self.ready_root(version)
        if ready is None:
            self.ensure(version, python)
            if version not in self._warned:
                self._warned.add(version)
                log.warning(
                    "boto3 for python%s is being installed into %s; environments started "
                    "before it is ready cannot import boto3",
                    version,
                    self.cache_dir,
                )
        return ready

    def ensure(self, version: str, python: str) -> None:
        """Start installing the SDK of ``version`` with ``python`` in a background thread,
        unless it is installed, being installed, or failed less than
        ``RETRY_AFTER_SECONDS`` ago. Returns at once."""
        if version not in LEGACY_PINS or self.ready_root(version) is not None:
            return
        with self._lock:
            failed = self._failed_at.get(version)
            if version in self._installing or (
                failed is not None and time.monotonic() - failed < RETRY_AFTER_SECONDS
            ):
                return
            self._installing.add(version)
        thread = threading.Thread(
            target=self._install, args=(version, python), name=f"sdk-python{version}", daemon=True
        )
        thread.start()

    def install_now(self, version: str, python: str) -> Path:
        """Install synchronously (a worker thread or a command line); the SDK root."""
        ready = self.ready_root(version)
        if ready is not None:
            return ready
        root = self.root(version)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        _remove_abandoned_staging(self.cache_dir)
        staging = self.cache_dir / f".staging-{root.name}-{secrets.token_hex(4)}"
        command = [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            "--target",
            str(staging),
            *LEGACY_PINS[version],
        ]
        try:
            result = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT_SECONDS,
                check=False,
                stdin=subprocess.DEVNULL,
            )
            if result.returncode != 0:
                raise OSError(
                    f"pip exited with {result.returncode}: {result.stderr.strip()[-2000:]}"
                )
            shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts: unused
            _readable_by_all(staging)
            os.rename(staging, root)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if self.ready_root(version) is None:  # another process may have won the race
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return root

    def _install(self, version: str, python: str) -> None:
        started = time.monotonic()
        try:
            self.install_now(version, python)
        except (OSError, subprocess.SubprocessError) as exc:
            with self._lock:
                self._failed_at[version] = time.monotonic()
            log.warning("could not install boto3 for python%s: %s", version, exc)
        else:
            log.info("boto3 for python%s installed in %.1f s", version, time.monotonic() - started)
        finally:
            with self._lock:
                self._installing.discard(version)


def _remove_abandoned_staging(cache_dir: Path) -> None:
    """Staging directories older than any installation can take: left by a server killed
    while installing."""
    horizon = time.time() - 2 * INSTALL_TIMEOUT_SECONDS
    for entry in cache_dir.glob(".staging-*"):
        try:
            if entry.stat().st_mtime < horizon:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            continue


def _readable_by_all(top: Path) -> None:
    """Environments run as unprivileged users: the SDK must be readable (and its
    directories searchable) by all, whatever the server's umask."""
    for directory, _subdirs, files in os.walk(top):
        os.chmod(directory, 0o755)
        for name in files:
            path = os.path.join(directory, name)
            os.chmod(path, os.stat(path).st_mode | 0o444)
