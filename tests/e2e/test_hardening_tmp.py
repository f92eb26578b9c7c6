"""Issue 9, item 17: /tmp has AWS's disk semantics by default, at no cold-start cost.

On AWS a 128 MB function can write 512 MB (up to 10 GB with ``EphemeralStorage``) to
``/tmp``: files there do not count against ``MemorySize``. Every test here starts a server
with default settings (no ``--tmp-storage``) and fills, shares, bursts and kills it from
inside functions and from outside.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from support import LaminaServer, create_python_function

from lamina.runtime import ephemeral
from lamina.runtime.tmp_guarantee import RESERVE_MB

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="isolation needs root"),
    pytest.mark.skipif(
        ephemeral.probe() is not None, reason=f"no disk-backed /tmp here: {ephemeral.probe()}"
    ),
]

MB = 1024 * 1024
PREPARED_INITS = 4  # linux_sandbox.PREPARED_INITS: inits (and their /tmp) made ahead

PROBE = r"""
import errno, os, stat, time, uuid

ENVIRONMENT = uuid.uuid4().hex

def handler(event, context):
    action = event["action"]
    if action == "fill":
        block = b"\1" * (1024 * 1024)
        written = 0
        try:
            with open("/tmp/fill", "wb") as fh:
                for _ in range(event["mb"]):
                    fh.write(block)
                    fh.flush()
                    written += 1
                os.fsync(fh.fileno())
            result = {"ok": True, "mb": written}
        except OSError as exc:
            result = {"ok": False, "errno": exc.errno, "mb": written}
        if not event.get("keep"):
            os.unlink("/tmp/fill")
        return result
    if action == "look":
        st = os.statvfs("/tmp")
        info = os.stat("/tmp")
        return {"entries": sorted(os.listdir("/tmp")), "fs": tmp_mounts(),
                "total_mb": st.f_blocks * st.f_frsize // (1024 * 1024),
                "owner": [info.st_uid, info.st_gid], "uid": os.getuid(), "gid": os.getgid(),
                "mode": stat.filemode(info.st_mode)}
    if action == "write_secret":
        with open("/tmp/secret-" + event["tag"], "w") as fh:
            fh.write(event["tag"])
        time.sleep(event.get("hold", 0))
        return sorted(os.listdir("/tmp"))
    if action == "burst":
        with open("/tmp/mine", "w") as fh:
            fh.write(ENVIRONMENT)
        time.sleep(event["hold"])
        with open("/tmp/mine") as fh:
            return {"env": ENVIRONMENT, "mine": fh.read(), "fs": tmp_mounts(),
                    "entries": sorted(os.listdir("/tmp"))}
    raise ValueError(action)

def tmp_mounts():
    with open("/proc/self/mounts") as fh:
        return [line.split()[2] for line in fh if line.split()[1] == "/tmp"]
"""


def call(lam: Any, name: str, **event: Any) -> Any:
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode(), LogType="Tail")
    body = json.loads(response["Payload"].read())
    if response.get("FunctionError"):
        log = base64.b64decode(response.get("LogResult", "")).decode(errors="replace")
        raise AssertionError(f"function error {body}; log tail:\n{log}")
    return body


def images_dir(server: LaminaServer) -> str:
    return str(server.data_dir / "sandbox" / "ephemeral")


def loops_backed_by(directory: str) -> list[str]:
    """Attached loop devices whose backing file is in ``directory`` (the unnamed image
    files show as ``<directory>/#<inode> (deleted)``)."""
    found = []
    for backing in Path("/sys/block").glob("loop*/loop/backing_file"):
        with contextlib.suppress(OSError):  # detached meanwhile
            name = backing.read_text().strip()
            if name.startswith(directory + "/"):
                found.append(name)
    return found


def wait_for(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def server_log(server: LaminaServer) -> str:
    return server.log_path.read_text() if server.log_path else ""


@pytest.fixture(scope="module")
def default_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaServer]:
    server = LaminaServer(tmp_path_factory.mktemp("tmpdisk") / "data")
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.stop()


@pytest.fixture(scope="module")
def lam(default_server: LaminaServer) -> Any:
    return default_server.client()


def test_default_tmp_is_disk_prepared_ahead(default_server: LaminaServer) -> None:
    """The default is disk, said once at start-up, and the environments prepared ahead
    already hold their /tmp (a loop device each) before any function has run."""
    log = server_log(default_server)
    assert "/tmp on disk" in log, log
    assert "in memory" not in log, log
    directory = images_dir(default_server)
    assert wait_for(lambda: len(loops_backed_by(directory)) >= PREPARED_INITS, 10), loops_backed_by(
        directory
    )


def test_128mb_function_writes_450mb_to_tmp(lam: Any) -> None:
    """A tmpfs would be charged to the 128 MB memory cgroup and get the function
    OOM-killed; on disk it is not."""
    name = create_python_function(lam, PROBE, Timeout=120, MemorySize=128)
    assert call(lam, name, action="fill", mb=450) == {"ok": True, "mb": 450}
    seen = call(lam, name, action="look")
    assert seen["fs"] == ["ext4"]
    assert 512 <= seen["total_mb"] <= 560


def test_writing_beyond_ephemeral_storage_gets_enospc(lam: Any) -> None:
    name = create_python_function(lam, PROBE, Timeout=120, MemorySize=128)
    result = call(lam, name, action="fill", mb=600)
    assert result["ok"] is False and result["errno"] == 28, result  # ENOSPC
    assert 500 <= result["mb"] < 560, result
    # The environment keeps working, and its /tmp is usable again once the file is gone.
    assert call(lam, name, action="fill", mb=100) == {"ok": True, "mb": 100}


def test_ephemeral_storage_1024_lets_a_function_write_900mb(
    lam: Any, default_server: LaminaServer
) -> None:
    """The prepared /tmp has the size of the last start (512 MB): a 1024 MB function
    gets its own of the right size."""
    # The guarantee (tmp_guarantee.py) wants room for this /tmp and every live one.
    free_mb = shutil.disk_usage(default_server.data_dir).free // MB
    if free_mb < 1024 + 16 * 512 + RESERVE_MB:
        pytest.skip(f"only {free_mb} MB free on the data directory's disk")
    name = create_python_function(
        lam, PROBE, Timeout=120, MemorySize=128, EphemeralStorage={"Size": 1024}
    )
    seen = call(lam, name, action="look")
    assert 1024 <= seen["total_mb"] <= 1100, seen
    assert call(lam, name, action="fill", mb=900) == {"ok": True, "mb": 900}
    result = call(lam, name, action="fill", mb=1100)
    assert result["ok"] is False and result["errno"] == 28, result


def test_tmp_is_private_empty_and_owned_by_the_environment(lam: Any) -> None:
    """Each environment starts with an empty /tmp of its own (no lost+found), root's with
    mode 1777 as on AWS; files written by one environment are not visible in another,
    whether of another function or of the same function."""
    first = create_python_function(lam, PROBE, Timeout=30, MemorySize=128)
    second = create_python_function(lam, PROBE, Timeout=30, MemorySize=128)
    seen = call(lam, first, action="look")
    assert seen["entries"] == [] and seen["fs"][-1:] == ["ext4"], seen
    assert seen["owner"] == [0, 0] and seen["mode"] == "drwxrwxrwt", seen  # as on AWS
    assert call(lam, first, action="write_secret", tag="a") == ["secret-a"]
    assert call(lam, second, action="look")["entries"] == []
    # Two environments of one function at once: each sees only its own file.
    with ThreadPoolExecutor(2) as pool:
        held = pool.submit(call, lam, second, action="write_secret", tag="b", hold=2)
        time.sleep(0.5)
        other = pool.submit(call, lam, second, action="write_secret", tag="c")
        assert other.result() == ["secret-c"]
        assert held.result() == ["secret-b"]


def test_burst_beyond_prepared_environments_all_get_disk(default_server: LaminaServer) -> None:
    """Ten times more environments at once than were prepared ahead: the others have
    their /tmp made on demand (one loop device at a time, none left without), and every
    one gets a private ext4 /tmp."""
    burst = 10 * PREPARED_INITS
    free_mb = shutil.disk_usage(default_server.data_dir).free // MB
    if free_mb < (burst + 16) * 512 + RESERVE_MB:  # every /tmp guaranteed at its full size
        pytest.skip(f"only {free_mb} MB free on the data directory's disk")
    lam = default_server.client(max_pool_connections=burst)
    name = create_python_function(lam, PROBE, Timeout=120, MemorySize=128)
    with ThreadPoolExecutor(burst) as pool:
        results = list(pool.map(lambda _: call(lam, name, action="burst", hold=3), range(burst)))
    assert len({seen["env"] for seen in results}) == burst  # they overlapped
    for seen in results:
        assert seen["fs"][-1:] == ["ext4"], seen
        assert seen["mine"] == seen["env"] and seen["entries"] == ["mine"], seen
    assert "environment /tmp in memory" not in server_log(default_server)


def test_tmp_never_fills_the_data_disk(tmp_path: Path) -> None:
    """The images behind /tmp are sparse. On a data disk with room for one 512 MB /tmp (and
    the reserve) but not two, a second environment at once gets /tmp in memory instead, so
    functions filling their /tmp can never fill the disk that holds Lamina's state."""
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1100m", "lamina-tmp", str(disk)], check=True
    )
    server = LaminaServer(disk / "data")
    try:
        server.start()
        lam = server.client()
        filler = create_python_function(lam, PROBE, Timeout=60, MemorySize=256)
        other = create_python_function(lam, PROBE, Timeout=60, MemorySize=256)
        # The filler's environment stays alive (warm) with its /tmp full.
        kinds = {"first": call(lam, filler, action="fill", mb=600, keep=True)}
        kinds["second"] = call(lam, other, action="look")["fs"][-1:]
        # The first environment's disk /tmp filled up to its size, not beyond.
        assert kinds["first"]["ok"] is False and kinds["first"]["errno"] == 28, kinds
        assert kinds["second"] == ["tmpfs"], kinds
        assert shutil.disk_usage(disk).free > RESERVE_MB * MB // 2
        assert "cannot back every environment's /tmp" in server_log(server)
        # Lamina's own writes still fit.
        assert lam.publish_version(FunctionName=other)["Version"] == "1"
    finally:
        if server.process is not None and server.process.poll() is None:
            server.stop()
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL])
def test_nothing_left_behind_after_stop(tmp_path: Path, stop_signal: int) -> None:
    """Loop devices, their unnamed image files and the mounts all go with the server,
    whether it stops cleanly or is killed."""
    server = LaminaServer(tmp_path / "data")
    server.start()
    directory = images_dir(server)
    try:
        lam = server.client()
        name = create_python_function(lam, PROBE, Timeout=60, MemorySize=128)
        assert call(lam, name, action="fill", mb=50, keep=True) == {"ok": True, "mb": 50}
        assert len(loops_backed_by(directory)) >= 1
    finally:
        code = server.stop(stop_signal)
    assert code == (0 if stop_signal == signal.SIGTERM else -signal.SIGKILL)
    assert wait_for(lambda: loops_backed_by(directory) == [], 10), loops_backed_by(directory)
    with open("/proc/self/mountinfo") as fh:
        assert str(tmp_path) not in fh.read()
    # Only the templates (one per size) remain: no image file, named or not, is in use.
    assert sorted(os.listdir(directory)) == ["512.img"]


def test_without_loop_devices_or_mkfs_tmp_falls_back_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No mkfs.ext4 on the server's PATH: /tmp is a tmpfs, said once at start-up (not at
    every start), and functions still run."""
    bare = tmp_path / "bin"
    bare.mkdir()
    monkeypatch.setenv("PATH", str(bare))
    server = LaminaServer(tmp_path / "data")
    server.start()
    try:
        log = server_log(server)
        assert "not disk: mkfs.ext4 not found" in log, log
        lam = server.client()
        first = create_python_function(lam, PROBE, Timeout=30, MemorySize=128)
        second = create_python_function(lam, PROBE, Timeout=30, MemorySize=128)
        assert call(lam, first, action="look")["fs"] == ["tmpfs"]
        assert call(lam, second, action="look")["fs"] == ["tmpfs"]
    finally:
        server.stop()
    log = server_log(server)
    assert log.count("not disk: ") == 1, log
    assert "environment /tmp in memory" not in log, log  # nothing said per start
