"""Code storage under attack (issue 9, items 4, 10, 11, 14, 15 and 18): uploads are verified,
unpacked and compiled under limits and off the event loop, the disk can fill up, storage
has a quota, the data directory is private, and compilation never races deletion."""

from __future__ import annotations

import base64
import gc
import io
import json
import os
import random
import re
import shutil
import stat
import struct
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import ROLE, LaminaServer, make_zip, unique

UNZIP_FAILED = "Could not unzip uploaded file. Please check your file, then try to upload again."
HANDLER = "def handler(event, context):\n    return {'ok': True}\n"
ISOLATED = os.geteuid() == 0 and os.path.exists("/proc/self/ns/mnt")


def _create(lam: Any, name: str, package: bytes, **kwargs: Any) -> dict[str, Any]:
    created: dict[str, Any] = lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=ROLE,
        Handler="lambda_function.handler",
        Code={"ZipFile": package},
        **kwargs,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return created


def _invoke(lam: Any, name: str) -> Any:
    response = lam.invoke(FunctionName=name, Payload=b"{}")
    assert "FunctionError" not in response, response["Payload"].read()
    return json.loads(response["Payload"].read())


def _error(call: Callable[[], Any]) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    return (
        error["ResponseMetadata"]["HTTPStatusCode"],
        error["Error"]["Code"],
        error["Error"]["Message"],
    )


def _leftovers(data: Path, timeout: float = 10.0) -> list[str]:
    """Temporary files and trees left in the code and opt stores once background work (a
    compilation's output directory) is done."""
    deadline = time.monotonic() + timeout
    while True:
        found: list[str] = []
        for store in ("code", "opt"):
            if (data / store).is_dir():
                found += [e.name for e in (data / store).iterdir() if e.name.startswith(".")]
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _stored(data: Path) -> set[str]:
    return {e.name for e in (data / "code").iterdir() if not e.name.startswith(".")}


# --- item 11: every entry verified at upload ----------------------------------------------------


def _corrupt_crc() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("lambda_function.py", HANDLER)
        archive.writestr("data.txt", "A" * 4096)
    raw = bytearray(buf.getvalue())
    at = raw.index(b"A" * 4096)
    raw[at + 100] = ord("B")  # the entry's bytes no longer match its CRC
    return bytes(raw)


def _entry(name: str, content: bytes, mode: int = 0o644) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("lambda_function.py", HANDLER)
        info = zipfile.ZipInfo(name)
        info.external_attr = mode << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, content)
    return buf.getvalue()


def _declared_bomb() -> bytes:
    """251 MB of zeros: a 250 KB zip whose entries declare more than the unzipped limit."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("lambda_function.py", HANDLER)
        with archive.open("zeros.bin", "w", force_zip64=True) as out:
            chunk = bytes(1 << 20)
            for _ in range(251):
                out.write(chunk)
    return buf.getvalue()


def _lying_bomb() -> bytes:
    """300 MB of zeros whose headers declare 1,000 bytes (a bomb the central directory
    hides)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("zeros.bin", "w", force_zip64=False) as out:
            chunk = bytes(1 << 20)
            for _ in range(300):
                out.write(chunk)
        archive.writestr("lambda_function.py", HANDLER)
    raw = bytearray(buf.getvalue())
    local = raw.index(b"PK\x03\x04")
    struct.pack_into("<I", raw, local + 22, 1000)
    central = raw.index(b"PK\x01\x02")
    struct.pack_into("<I", raw, central + 24, 1000)
    return bytes(raw)


BAD_PACKAGES: dict[str, Callable[[], bytes]] = {
    "bad-crc": _corrupt_crc,
    "zip-slip": lambda: _entry("../../../../tmp/lamina-zip-slip.py", b"x = 1\n"),
    "absolute-path": lambda: _entry("/tmp/lamina-absolute.py", b"x = 1\n"),
    "escaping-symlink": lambda: _entry("etc", b"../../../../../../etc", 0o120777),
    "absolute-symlink": lambda: _entry("shadow", b"/etc/shadow", 0o120777),
    "declared-bomb": _declared_bomb,
    "lying-bomb": _lying_bomb,
}


@pytest.fixture(scope="module")
def verifying_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaServer]:
    srv = LaminaServer(tmp_path_factory.mktemp("verify") / "data")
    srv.start()
    yield srv
    srv.stop()


@pytest.mark.parametrize("kind", sorted(BAD_PACKAGES))
def test_bad_packages_are_refused_without_writing_them(
    verifying_server: LaminaServer, kind: str
) -> None:
    lam = verifying_server.client()
    package = BAD_PACKAGES[kind]()
    before = _stored(verifying_server.data_dir)
    name = unique()

    # AWS's answer to a package over the unzipped limit names it; to the others, the unzip.
    expected = UNZIP_FAILED
    if kind == "declared-bomb":
        expected = "Unzipped size must be smaller than 262144000 bytes"
    refused = (400, "InvalidParameterValueException", expected)

    assert _error(lambda: _create(lam, name, package)) == refused
    layer = unique("layer")
    assert (
        _error(lambda: lam.publish_layer_version(LayerName=layer, Content={"ZipFile": package}))
        == refused
    )

    # An existing function's code is not replaced by it either.
    _create(lam, name, make_zip({"lambda_function.py": HANDLER}))
    assert _error(lambda: lam.update_function_code(FunctionName=name, ZipFile=package)) == refused
    assert _invoke(lam, name) == {"ok": True}
    lam.delete_function(FunctionName=name)

    assert _stored(verifying_server.data_dir) == before
    assert _leftovers(verifying_server.data_dir) == []
    assert not Path("/tmp/lamina-zip-slip.py").exists()
    assert not Path("/tmp/lamina-absolute.py").exists()


def test_links_inside_the_package_still_work(verifying_server: LaminaServer) -> None:
    lam = verifying_server.client()
    package = make_zip(
        {
            "impl.py": HANDLER,
            "lambda_function.py": "impl.py",
            "lib/helper.py": "VALUE = 7\n",
            "alias": "lib",
        },
        modes={"lambda_function.py": 0o120777, "alias": 0o120777},
    )
    name = unique()
    _create(lam, name, package)
    assert _invoke(lam, name) == {"ok": True}
    lam.delete_function(FunctionName=name)


# --- item 15: the code-storage quota ------------------------------------------------------------


def _random_package(size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    return make_zip(
        {"lambda_function.py": HANDLER, "blob.bin": rng.randbytes(size)},
    )


def _usage(lam: Any) -> tuple[int, int]:
    settings = lam.get_account_settings()
    return settings["AccountLimit"]["TotalCodeSize"], settings["AccountUsage"]["TotalCodeSize"]


def test_code_storage_quota(own_server: Callable[..., LaminaServer]) -> None:
    """The limit counts what fills the disk (each package zipped and unzipped, once);
    ``AccountUsage.TotalCodeSize`` stays AWS's figure (the zip of every version)."""
    srv = own_server("--code-storage-limit-mb", "2")
    lam = srv.client()
    assert _usage(lam) == (2 * 1024 * 1024, 0)

    first = _random_package(600_000, 1)  # 1.2 MB on disk: 0.6 zipped + 0.6 unzipped
    _create(lam, "first", first)
    assert _usage(lam) == (2 * 1024 * 1024, len(first))

    second = _random_package(600_000, 2)
    exceeded = (400, "CodeStorageExceededException", "Code storage limit exceeded.")
    assert _error(lambda: _create(lam, "second", second)) == exceeded
    assert (
        _error(lambda: lam.publish_layer_version(LayerName="big", Content={"ZipFile": second}))
        == exceeded
    )
    assert (
        _error(lambda: lam.update_function_code(FunctionName="first", ZipFile=second)) == exceeded
    )
    assert _invoke(lam, "first") == {"ok": True}
    assert _usage(lam)[1] == len(first)
    assert _leftovers(srv.data_dir) == []

    # The same package again takes no more disk: accepted.
    _create(lam, "twin", first)
    assert _usage(lam)[1] == 2 * len(first)

    lam.delete_function(FunctionName="first")
    lam.delete_function(FunctionName="twin")
    assert _usage(lam)[1] == 0
    _create(lam, "second", second)
    assert _invoke(lam, "second") == {"ok": True}


# --- item 14: a private data directory --------------------------------------------------------


def test_data_directory_is_private_and_functions_still_read_their_code(
    own_server: Callable[..., LaminaServer],
) -> None:
    srv = own_server()
    lam = srv.client()
    layer = lam.publish_layer_version(
        LayerName="shared", Content={"ZipFile": make_zip({"python/shared.py": "WORD = 'opt'\n"})}
    )
    code = "import shared\n\ndef handler(event, context):\n    return {'word': shared.WORD}\n"
    name = unique()
    _create(
        lam,
        name,
        make_zip({"lambda_function.py": code}),
        Layers=[layer["LayerVersionArn"]],
        Environment={"Variables": {"SECRET": "s3cr3t"}},
    )
    assert _invoke(lam, name) == {"word": "opt"}

    data = srv.data_dir
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for top in ("code", "opt"):
        assert stat.S_IMODE((data / top).stat().st_mode) == 0o700, top
    databases = sorted(data.glob("*.sqlite3*"))
    assert {p.name for p in databases} >= {"lamina.sqlite3", "logs.sqlite3", "async.sqlite3"}
    for database in databases:
        assert stat.S_IMODE(database.stat().st_mode) == 0o600, database.name
    for package in (data / "code").glob("*.zip"):
        assert stat.S_IMODE(package.stat().st_mode) == 0o600, package.name


# --- item 18: compilation racing deletion ---------------------------------------------------------


def _slow_to_compile(count: int, functions: int) -> bytes:
    """A package whose modules each take a while to compile (so a deletion lands while
    one is being compiled)."""
    files: dict[str, str | bytes] = {
        f"pkg/mod{i}.py": "".join(f"def f{j}(x):\n    return x + {j}\n" for j in range(functions))
        for i in range(count)
    }
    files["pkg/__init__.py"] = ""
    files["lambda_function.py"] = (
        "import pkg.mod0\n\ndef handler(event, context):\n    return {'ok': pkg.mod0.f1(0) == 1}\n"
    )
    return make_zip(files)


def test_deleting_while_compiling_never_breaks_the_next_function(
    own_server: Callable[..., LaminaServer],
) -> None:
    srv = own_server()
    lam = srv.client()
    package = _slow_to_compile(20, 8000)
    for _ in range(6):
        name = unique()
        created = _create(lam, name, package)
        assert _invoke(lam, name) == {"ok": True}  # starts the compilation
        lam.delete_function(FunctionName=name)  # the last user: the tree goes mid-compile
        tree = srv.data_dir / "code" / base64.b64decode(created["CodeSha256"]).hex()
        time.sleep(0.3)
        assert not tree.exists() or (tree / "lambda_function.py").is_file()
        again = unique()
        _create(lam, again, package)
        assert _invoke(lam, again) == {"ok": True}
        lam.delete_function(FunctionName=again)
    assert _leftovers(srv.data_dir) == []


# --- item 4: compilation and unpacking under limits, off the event loop -------------------------


def _processes() -> dict[int, tuple[int, int, int, bytes]]:
    """pid -> (parent pid, real uid, resident bytes, command line) of every process."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        rss_kb = int(fields.get("VmRSS", "0 kB").split()[0])
        found[int(entry)] = (
            int(fields["PPid"]),
            int(fields["Uid"].split()[0]),
            rss_kb * 1024,
            cmdline,
        )
    return found


def _descendants(root: int, processes: dict[int, tuple[int, int, int, bytes]]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, *_) in processes.items():
        children.setdefault(parent, []).append(pid)
    out, todo = [], [root]
    while todo:
        current = todo.pop()
        out.append(current)
        todo += children.get(current, [])
    return out


def _server_rss_and_compilers(root: int) -> tuple[int, set[int]]:
    """Resident bytes of the server and its descendants, and the uids its compilers run as."""
    processes = _processes()
    tree = [pid for pid in _descendants(root, processes) if pid in processes]
    rss = sum(processes[pid][2] for pid in tree)
    uids = {processes[pid][1] for pid in tree if b"compileall" in processes[pid][3]}
    return rss, uids


def test_compile_bomb_is_confined_and_the_function_still_works(
    own_server: Callable[..., LaminaServer],
) -> None:
    srv = own_server()
    lam = srv.client()
    bomb = "X = [" + "1, " * 5_000_000 + "]\n"
    package = make_zip({"lambda_function.py": HANDLER, "bomb.py": bomb})
    assert len(package) < 64 * 1024
    name = unique()
    _create(lam, name, package)
    assert srv.process is not None
    baseline, _ = _server_rss_and_compilers(srv.process.pid)

    assert _invoke(lam, name) == {"ok": True}  # the first start compiles in the background
    peak, uids = 0, set()
    assert srv.log_path is not None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        rss, compilers = _server_rss_and_compilers(srv.process.pid)
        peak, uids = max(peak, rss), uids | compilers
        if "no bytecode for" in srv.log_path.read_text():
            break
        time.sleep(0.02)
    log = srv.log_path.read_text()
    assert "no bytecode for" in log, log[-2000:]
    if ISOLATED:
        assert re.search(r"no bytecode for \w+ \(python[\d.]*\): out of memory", log), log[-2000:]
        assert uids and 0 not in uids, uids  # never root
    assert peak - baseline < 500 * 1024 * 1024, (baseline, peak)
    assert _invoke(lam, name) == {"ok": True}


def _large_package(total: int, files: int) -> bytes:
    rng = random.Random(4)
    size = total // files
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("lambda_function.py", HANDLER)
        for i in range(files):
            archive.writestr(f"data/{i // 100}/file{i}.bin", rng.randbytes(size))
    return buf.getvalue()


def _latencies_during(lam: Any, warm: str, script: str, *args: str) -> list[float]:
    """Warm invocations of ``warm``, one after another, while a Python ``script`` runs in a
    process of its own (niced: the client's own work competes for the 2 cores, not the
    server): their latencies, sorted. The script must succeed. The measuring process's own
    garbage collector is held meanwhile: late in the suite, one full collection of this
    process's objects takes a few hundred milliseconds, which is not the server's stall."""
    busy = subprocess.Popen(
        ["nice", "-n", "10", sys.executable, "-c", script, *args], stderr=subprocess.PIPE
    )
    latencies: list[float] = []
    gc.collect()
    gc.disable()
    try:
        while busy.poll() is None:
            started = time.perf_counter()
            lam.invoke(FunctionName=warm, Payload=b"{}")["Payload"].read()
            latencies.append(time.perf_counter() - started)
    finally:
        gc.enable()
    assert busy.returncode == 0, busy.stderr.read() if busy.stderr else ""
    return sorted(latencies)


UPLOADER = """
import sys, boto3
from botocore.config import Config
endpoint, path, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
lam = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test",
                   config=Config(retries={"max_attempts": 1}, read_timeout=300))
package = open(path, "rb").read()
for i in range(count):
    lam.create_function(FunctionName=f"big-{i}", Runtime="python3.11", Handler="x.handler",
                        Role="arn:aws:iam::000000000000:role/lambda-role",
                        Code={"ZipFile": package})
    lam.delete_function(FunctionName=f"big-{i}")
"""


def test_large_create_does_not_stall_other_functions(
    own_server: Callable[..., LaminaServer], tmp_path: Path
) -> None:
    """Warm invocations of one function while another process creates (and deletes) a
    function of a 40 MB package of 4,000 files: the upload is decoded, verified, hashed,
    unpacked and removed without holding up the event loop. (The uploader is a process of
    its own, niced: its encoding must not stall the measuring client.)"""
    srv = own_server()
    lam = srv.client()
    warm = unique()
    _create(lam, warm, make_zip({"lambda_function.py": HANDLER}))
    _invoke(lam, warm)
    package = tmp_path / "big.zip"
    package.write_bytes(_large_package(40 * 1024 * 1024, 4000))

    latencies = _latencies_during(lam, warm, UPLOADER, srv.endpoint, str(package), "2")
    assert len(latencies) > 100, len(latencies)
    # Before: stalls of 0.2 to 2.2 s (0.6 to 1.3 s with this test); then 40 to 90 ms at
    # most (0.23 s on a CI machine), from joining the body's pieces and converting the
    # decoded package on the loop or with the GIL held, and from the loop waiting the GIL's
    # 5 ms switch interval at every poll while a thread decoded; now 12 to 17 ms. The bound
    # leaves room for a busy host.
    p99 = latencies[int(len(latencies) * 0.99)]
    assert p99 < 0.03 and latencies[-1] < 0.12, (p99, latencies[-5:])


DOWNLOADER = """
import base64, hashlib, sys, urllib.request
location, sha256, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
for _ in range(count):
    with urllib.request.urlopen(location, timeout=60) as response:
        digest = hashlib.sha256()
        while piece := response.read(1 << 20):
            digest.update(piece)
    assert base64.b64encode(digest.digest()).decode() == sha256, "a different package"
"""


def test_code_download_does_not_stall_other_functions(
    own_server: Callable[..., LaminaServer], tmp_path: Path
) -> None:
    """Warm invocations of one function while another process downloads a 48 MB package
    from its ``Code.Location`` (as ``aws lambda get-function`` hands it out) five times: the
    file is read and sent in pieces, never read whole on the event loop."""
    srv = own_server()
    lam = srv.client()
    warm, big = unique(), unique()
    _create(lam, warm, make_zip({"lambda_function.py": HANDLER}))
    _invoke(lam, warm)
    created = _create(lam, big, _large_package(48 * 1024 * 1024, 400))
    location = lam.get_function(FunctionName=big)["Code"]["Location"]
    digest = created["CodeSha256"]

    latencies = _latencies_during(lam, warm, DOWNLOADER, location, digest, "5")
    assert len(latencies) > 50, len(latencies)
    # Before: each download held the loop for 25 to 45 ms (the whole file read at once); now
    # the slowest invocations take 6 to 13 ms. One download in fifty invocations.
    p99 = latencies[int(len(latencies) * 0.99)]
    assert p99 < 0.02 and latencies[-1] < 0.12, (p99, latencies[-5:])


LARGE_PAYLOADS = """
import json, sys, boto3
from botocore.config import Config
from botocore.exceptions import ClientError
endpoint, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
lam = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test",
                   config=Config(retries={"max_attempts": 1}, read_timeout=300))
record = {"body": "x" * 100, "attrs": {"a": 1, "b": [1, 2, 3]}}
payload = json.dumps({"records": [{"id": i, **record} for i in range(38000)]}).encode()
assert 6_000_000 < len(payload) < 6 * 1024 * 1024, len(payload)
for _ in range(count):
    answer = lam.invoke(FunctionName=name, InvocationType="DryRun", Payload=payload)
    assert answer["StatusCode"] == 204, answer
    try:
        lam.invoke(FunctionName=name, InvocationType="DryRun", Payload=payload[:-1])
        raise AssertionError("an invalid payload was accepted")
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "InvalidRequestContentException", exc.response
"""


def test_large_payloads_do_not_stall_other_functions(
    own_server: Callable[..., LaminaServer],
) -> None:
    """Warm invocations of one function while another process sends 6 MB payloads, valid
    and not: each is checked for JSON (100 to 160 ms of a parser holding the GIL) in a worker
    process, not in the server."""
    srv = own_server()
    lam = srv.client()
    warm = unique()
    _create(lam, warm, make_zip({"lambda_function.py": HANDLER}))
    _invoke(lam, warm)

    latencies = _latencies_during(lam, warm, LARGE_PAYLOADS, srv.endpoint, warm, "4")
    assert len(latencies) > 50, len(latencies)
    # Before: each payload held the event loop for 90 to 160 ms (p99 63 to 69 ms, the
    # slowest 0.11 s); now p99 10 to 18 ms on 2 busy cores (the sender encodes and signs).
    p99 = latencies[int(len(latencies) * 0.99)]
    assert p99 < 0.03 and latencies[-1] < 0.12, (p99, latencies[-5:])


DENSE_BODIES = """
import json, sys, urllib.request
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
endpoint, count = sys.argv[1], int(sys.argv[2])
body = b'{"QueueUrl": "' + endpoint.encode() + b'/000000000000/dense", "Entries": ['
body += b"0," * 3_500_000 + b"0]}"  # 7 MB of JSON: 3.5 million values
for _ in range(count):
    request = AWSRequest("POST", endpoint + "/", data=body, headers={
        "X-Amz-Target": "AmazonSQS.SendMessageBatch",
        "Content-Type": "application/x-amz-json-1.0"})
    SigV4Auth(Credentials("test", "test"), "sqs", "us-east-1").add_auth(request)
    prepared = request.prepare()
    try:
        urllib.request.urlopen(urllib.request.Request(
            prepared.url, data=body, headers=dict(prepared.headers), method="POST"), timeout=60)
        raise AssertionError("accepted")
    except urllib.error.HTTPError as exc:
        assert exc.code == 400, (exc.code, exc.read())
        assert json.loads(exc.read())["__type"].endswith("SerializationException")
"""


def test_dense_json_bodies_do_not_stall_other_functions(
    own_server: Callable[..., LaminaServer],
) -> None:
    """Warm invocations of one function while another process sends SQS requests of 7 MB
    of JSON made of 3.5 million values: parsed in a thread by json's Python decoder, which
    shares the GIL (the C decoder would hold it for 200 ms or more each)."""
    srv = own_server()
    lam = srv.client()
    warm = unique()
    _create(lam, warm, make_zip({"lambda_function.py": HANDLER}))
    _invoke(lam, warm)
    latencies = _latencies_during(lam, warm, DENSE_BODIES, srv.endpoint, "2")
    assert len(latencies) > 50, len(latencies)
    # Before: the slowest 0.15 to 0.23 s (the C decoder); now 14 to 25 ms on a quiet host.
    p99 = latencies[int(len(latencies) * 0.99)]
    assert p99 < 0.03 and latencies[-1] < 0.12, (p99, latencies[-5:])


LONG_STRINGS = """
import sys, boto3
from botocore.config import Config
from botocore.exceptions import ClientError
endpoint, name, path = sys.argv[1], sys.argv[2], sys.argv[3]
lam = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test",
                   config=Config(retries={"max_attempts": 1}, read_timeout=300))
package = open(path, "rb").read()
for revision in ("x" * 60_000_000, "\\u00e9\\n" * 7_000_000):  # 60 MB; 56 MB of escapes
    try:
        lam.update_function_code(FunctionName=name, ZipFile=package, RevisionId=revision)
        raise AssertionError("accepted")
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "PreconditionFailedException", exc.response
"""


def test_long_strings_in_a_body_do_not_stall_other_functions(
    own_server: Callable[..., LaminaServer], tmp_path: Path
) -> None:
    """Warm invocations of one function while another process sends code updates whose
    ``RevisionId`` is 60 MB long: the string is cut out of the JSON and decoded in pieces
    that let the GIL go (json's decoders would hold it for 0.2 to 0.8 s)."""
    srv = own_server()
    lam = srv.client()
    warm, target = unique(), unique()
    package = make_zip({"lambda_function.py": HANDLER})
    _create(lam, warm, package)
    _create(lam, target, package)
    _invoke(lam, warm)
    path = tmp_path / "package.zip"
    path.write_bytes(package)
    latencies = _latencies_during(lam, warm, LONG_STRINGS, srv.endpoint, target, str(path))
    assert len(latencies) > 20, len(latencies)
    # Before: four invokes of 90 to 135 ms (the C decoder, each string in one call); now
    # the slowest 46 to 59 ms (the 60 MB value put together), the next under 25 ms.
    p99 = latencies[int(len(latencies) * 0.99)]
    held = [latency for latency in latencies if latency > 0.08]
    assert p99 < 0.03 and len(held) <= 1, (p99, latencies[-5:])


def test_stalls_are_reported_with_every_threads_stack(
    own_server: Callable[..., LaminaServer],
) -> None:
    """``--stall-report-ms``: at 1 ms, ordinary work (a function's creation and first
    start) holds the loop long enough to be reported, with the stacks, in the server's log;
    without it, nothing is."""
    for args in (("--stall-report-ms", "1"), ()):
        srv = own_server(*args)
        lam = srv.client()
        name = unique()
        _create(lam, name, make_zip({"lambda_function.py": HANDLER}))
        assert _invoke(lam, name) == {"ok": True}
        assert srv.log_path is not None
        log = srv.log_path.read_text()
        if args:
            assert "lamina: the event loop has been held" in log, log[-2000:]
            assert re.search(r'File ".*lamina/.*", line \d+, in \w+', log), log[-2000:]
        else:
            assert "the event loop has been held" not in log


def test_a_missing_layers_tree_is_rebuilt_off_the_event_loop(
    own_server: Callable[..., LaminaServer],
) -> None:
    """A function's merged ``/opt`` is built when it is created; if the tree is gone by its
    next cold start (a data directory from before trees were built at upload), the cold start
    rebuilds it, 4,000 files here, in a thread: the warm invocations of another function go
    on meanwhile."""
    srv = own_server()
    lam = srv.client()
    warm, layered = unique(), unique()
    _create(lam, warm, make_zip({"lambda_function.py": HANDLER}))
    _invoke(lam, warm)
    layer = lam.publish_layer_version(
        LayerName=unique(), Content={"ZipFile": _large_package(40 * 1024 * 1024, 4000)}
    )
    _create(
        lam, layered, make_zip({"lambda_function.py": HANDLER}), Layers=[layer["LayerVersionArn"]]
    )
    trees = [entry for entry in (srv.data_dir / "opt").iterdir() if entry.is_dir()]
    assert len(trees) == 1, trees
    shutil.rmtree(trees[0])

    cold: list[Any] = []
    starting = threading.Thread(target=lambda: cold.append(_invoke(lam, layered)))
    starting.start()
    latencies: list[float] = []
    while starting.is_alive():
        started = time.perf_counter()
        lam.invoke(FunctionName=warm, Payload=b"{}")["Payload"].read()
        latencies.append(time.perf_counter() - started)
    assert cold == [{"ok": True}]
    assert trees[0].is_dir()
    assert len(latencies) > 10, len(latencies)
    # Before: the rebuild held the event loop for all of its 3.4 s; now 5 to 16 ms at most.
    assert max(latencies) < 0.12, sorted(latencies)[-5:]


# --- item 10: a full disk ---------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=96m", "lamina-test", str(mount_point)], check=True
    )
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(disk: Path) -> None:
    """Fill the file system: big blocks, then small ones, until nothing fits."""
    for name, block in (("filler", 1 << 20), ("filler-tail", 4096), ("filler-bytes", 1)):
        fd = os.open(disk / name, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, bytes(block))
        except OSError:
            pass
        finally:
            os.close(fd)


def test_full_disk_answers_aws_errors_and_keeps_serving(
    own_server: Callable[..., LaminaServer], small_disk: Path
) -> None:
    srv = own_server("--tmp-storage", "memory", data=small_disk)  # its log stays outside
    lam = srv.client()
    name = unique()
    _create(lam, name, make_zip({"lambda_function.py": HANDLER}))
    layer = lam.publish_layer_version(
        LayerName="tools", Content={"ZipFile": make_zip({"python/tools.py": "X = 1\n"})}
    )
    assert _invoke(lam, name) == {"ok": True}
    stored_before = _stored(srv.data_dir)
    assert _leftovers(srv.data_dir) == []  # the background compilation is over

    _fill(small_disk)
    package = _random_package(300_000, 9)
    status, code, message = _error(lambda: _create(lam, unique(), package))
    assert (status, code) == (400, "CodeStorageExceededException"), message
    status, code, _ = _error(lambda: lam.update_function_code(FunctionName=name, ZipFile=package))
    assert (status, code) == (400, "CodeStorageExceededException")
    status, code, _ = _error(
        lambda: lam.publish_layer_version(LayerName="more", Content={"ZipFile": package})
    )
    assert (status, code) == (400, "CodeStorageExceededException")
    assert _leftovers(srv.data_dir) == []
    assert _stored(srv.data_dir) == stored_before

    # What exists keeps working.
    assert _invoke(lam, name) == {"ok": True}
    # An event the disk has no room for: a retryable throttle, never a 500.
    event = json.dumps({"blob": "x" * 200_000}).encode()
    status, code, message = _error(
        lambda: lam.invoke(FunctionName=name, InvocationType="Event", Payload=event)
    )
    assert (status, code) == (429, "TooManyRequestsException"), message
    # Other writes either fit or answer a retryable 429 and change nothing, never a 500.
    _fill(small_disk)
    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]

    def state() -> dict[str, Any]:
        return {
            "versions": len(lam.list_versions_by_function(FunctionName=name)["Versions"]),
            "tags": lam.list_tags(Resource=arn)["Tags"],
            "concurrency": lam.get_function_concurrency(FunctionName=name).get(
                "ReservedConcurrentExecutions"
            ),
            "environment": lam.get_function_configuration(FunctionName=name).get("Environment"),
        }

    writes = {
        "versions": lambda: lam.publish_version(FunctionName=name, Description="d" * 256),
        "tags": lambda: lam.tag_resource(
            Resource=arn, Tags={f"k{i}": "v" * 250 for i in range(45)}
        ),
        "concurrency": lambda: lam.put_function_concurrency(
            FunctionName=name, ReservedConcurrentExecutions=5
        ),
        "environment": lambda: lam.update_function_configuration(
            FunctionName=name, Environment={"Variables": {"BIG": "x" * 4000}}
        ),
    }
    refused = []
    for what, write in writes.items():
        before = state()
        try:
            write()
        except ClientError as error:
            meta, err = error.response["ResponseMetadata"], error.response["Error"]
            assert (meta["HTTPStatusCode"], err["Code"]) in (
                (429, "TooManyRequestsException"),
                (400, "CodeStorageExceededException"),
            ), what
            assert state()[what] == before[what], what
            refused.append(what)
    print("refused on the full disk:", refused)
    assert _invoke(lam, name) == {"ok": True}

    # Deleting frees space, on the full disk.
    lam.delete_function(FunctionName=name)
    lam.delete_layer_version(LayerName="tools", VersionNumber=layer["Version"])
    assert _stored(srv.data_dir) == set()
    for filler in small_disk.glob("filler*"):
        filler.unlink()
    again = unique()
    _create(lam, again, package)
    assert _invoke(lam, again) == {"ok": True}
    queued = lam.invoke(FunctionName=again, InvocationType="Event", Payload=event)
    assert queued["StatusCode"] == 202
    srv.stop()
