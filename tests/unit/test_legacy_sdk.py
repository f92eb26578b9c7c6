"""boto3 for python3.8/3.9 (``runtime/legacy_sdk.py``): where it is cached, when it is
installed, and that it appears complete or not at all (pip replaced by a stand-in)."""

from __future__ import annotations

import os
import stat
import sys
import threading
import time
from pathlib import Path

import pytest

from lamina.runtime import legacy_sdk
from lamina.runtime.legacy_sdk import LEGACY_PINS, LegacySdks

FAKE_PIP = """
import sys, os
args = sys.argv[1:]
target = args[args.index("--target") + 1]
if os.environ.get("FAKE_PIP_FAIL"):
    sys.stderr.write("no index reachable")
    sys.exit(1)
os.makedirs(os.path.join(target, "boto3"))
open(os.path.join(target, "boto3", "__init__.py"), "w").write("PINS = %r" % (args[-3:],))
os.makedirs(os.path.join(target, "bin"))
"""


@pytest.fixture
def fake_python(tmp_path: Path) -> str:
    """An "interpreter" whose ``-m pip install --target X ...`` writes a boto3 into X."""
    script = tmp_path / "fake_pip.py"
    script.write_text(FAKE_PIP)
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\nshift 2\nexec {sys.executable} {script} "$@"\n')
    python.chmod(0o755)
    return str(python)


def test_pins_are_the_last_releases_for_each_interpreter() -> None:
    assert LEGACY_PINS["3.8"][0] == "boto3==1.37.38"
    assert LEGACY_PINS["3.9"][0] == "boto3==1.42.97"
    assert set(LEGACY_PINS) == {"3.8", "3.9"}


def test_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert legacy_sdk.default_cache_dir() == tmp_path / "lamina" / "python-sdk"


def test_install_now_is_complete_readable_and_cached(tmp_path: Path, fake_python: str) -> None:
    sdks = LegacySdks(tmp_path / "cache")
    assert sdks.ready_root("3.8") is None
    root = sdks.install_now("3.8", fake_python)
    assert sdks.ready_root("3.8") == root
    assert (root / "boto3" / "__init__.py").read_text() == f"PINS = {list(LEGACY_PINS['3.8'])!r}"
    assert not (root / "bin").exists()
    mode = os.stat(root / "boto3" / "__init__.py").st_mode
    assert mode & stat.S_IROTH
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [root.name]  # no staging left
    assert sdks.install_now("3.8", "/nonexistent/python") == root  # cached: pip not run


def test_failed_install_leaves_nothing_and_is_not_retried_at_once(
    tmp_path: Path, fake_python: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_PIP_FAIL", "1")
    sdks = LegacySdks(tmp_path / "cache")
    with pytest.raises(OSError, match="no index reachable"):
        sdks.install_now("3.9", fake_python)
    assert list((tmp_path / "cache").iterdir()) == []
    sdks.ensure("3.9", fake_python)
    _wait_idle()
    assert sdks.ready_root("3.9") is None
    monkeypatch.delenv("FAKE_PIP_FAIL")
    sdks.ensure("3.9", fake_python)  # failed less than RETRY_AFTER_SECONDS ago: no retry
    _wait_idle()
    assert sdks.ready_root("3.9") is None


def test_root_for_starts_the_install_and_never_blocks(tmp_path: Path, fake_python: str) -> None:
    sdks = LegacySdks(tmp_path / "cache")
    assert sdks.root_for("3.10", fake_python) is None  # not a legacy version
    first = sdks.root_for("3.8", fake_python)
    _wait_idle()
    assert first is None or first == sdks.root("3.8")
    assert sdks.root_for("3.8", fake_python) == sdks.root("3.8")


def _wait_idle() -> None:
    """Until no installation runs (its threads are named sdk-python3.X)."""
    deadline = time.monotonic() + 30
    while any(t.name.startswith("sdk-python") for t in threading.enumerate()):
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_abandoned_staging_is_removed(tmp_path: Path, fake_python: str) -> None:
    cache = tmp_path / "cache"
    old = cache / ".staging-python3.9-x-dead"
    (old / "boto3").mkdir(parents=True)
    os.utime(old, (0, 0))
    recent = cache / ".staging-python3.9-x-live"
    recent.mkdir()
    LegacySdks(cache).install_now("3.9", fake_python)
    assert not old.exists()
    assert recent.exists()  # may be another server's installation in progress
