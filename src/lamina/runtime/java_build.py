"""Lamina's Java runtime, compiled once per JDK into a cache shared by the host's servers.

The runtime ships as source (``lamina/runtimes/java/``). Its classes are compiled by each
JDK's ``javac`` (about 2.5 s of CPU: never at a cold start once done) into
``<cache>/<major>-<digest>/lib/lamina-java-runtime.jar``, the digest naming the JDK and the
sources, so an upgraded JDK or runtime gets a build of its own. The cache is
``$XDG_CACHE_HOME/lamina/java-runtime`` (else ``~/.cache/lamina/java-runtime``); the build
directory is the SDK root of Java environments, so an isolated environment finds the jar at
``/var/runtime/lib/``, where AWS keeps its Java runtime's jars.

Builds run in a thread of their own, never on the event loop: started when a Java function is
created or configured, when a region with Java functions starts, or at the latest by its first
environment, whose start waits for the build without blocking anything else (``JavaGate``).
A build appears complete or not at all (compiled and zipped in a staging directory renamed
into place); servers racing for the same build take a file lock, and whoever comes second
finds it done. A failed build is reported to the environments that waited for it and tried
again by the next one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import hashlib
import logging
import os
import secrets
import shutil
import subprocess
import threading
import zipfile
from pathlib import Path

from lamina.domain.errors import InvalidRuntimeException
from lamina.runtime.java import RUNTIME_JAR, Jdk, is_java_runtime, jdk_for_runtime
from lamina.runtime.sandbox import Sandbox, SandboxError, SandboxHandle, SandboxSpec

log = logging.getLogger("lamina.runtime")

SOURCES = Path(__file__).resolve().parent.parent / "runtimes" / "java"
COMPILE_TIMEOUT_SECONDS = 300


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "lamina" / "java-runtime"


def source_files() -> list[Path]:
    return sorted(SOURCES.rglob("*.java"))


def _sources_digest() -> str:
    digest = hashlib.sha256()
    for path in source_files():
        digest.update(str(path.relative_to(SOURCES)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


class JavaBuilds:
    """The compiled runtime of each JDK in use, built on demand in background threads."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir or default_cache_dir()
        self._lock = threading.Lock()
        self._building: dict[Path, concurrent.futures.Future[Path]] = {}
        self._digest: str | None = None

    def root(self, jdk: Jdk) -> Path:
        """Where ``jdk``'s build is (or will be): the SDK root of its environments."""
        if self._digest is None:
            self._digest = _sources_digest()
        key = hashlib.sha256(f"{jdk.home}\0{jdk.version}\0{self._digest}".encode()).hexdigest()
        return self.cache_dir / f"{jdk.major}-{key[:16]}"

    def root_for(self, runtime: str) -> Path | None:
        """The SDK root of ``runtime``'s environments, or None without a JDK for it."""
        try:
            return self.root(jdk_for_runtime(runtime))
        except InvalidRuntimeException:  # planning the environment answers it
            return None

    def ensure(self, runtime: str) -> concurrent.futures.Future[Path] | None:
        """Start building the runtime for ``runtime``'s JDK unless built or being built;
        returns at once: the build's future (None without a JDK)."""
        root = self.root_for(runtime)
        if root is None:
            return None
        done: concurrent.futures.Future[Path] = concurrent.futures.Future()
        if (root / RUNTIME_JAR).is_file():
            done.set_result(root)
            return done
        jdk = jdk_for_runtime(runtime)
        with self._lock:
            running = self._building.get(root)
            if running is not None:
                return running
            self._building[root] = done
        thread = threading.Thread(
            target=self._run, args=(jdk, root, done), name="java-runtime-build", daemon=True
        )
        thread.start()
        return done

    def _run(self, jdk: Jdk, root: Path, done: concurrent.futures.Future[Path]) -> None:
        try:
            build(jdk, root)
        except Exception as exc:
            log.error("could not compile Lamina's Java runtime with %s: %s", jdk.javac, exc)
            done.set_exception(exc)
        else:
            done.set_result(root)
        finally:
            with self._lock:
                self._building.pop(root, None)

    async def wait(self, runtime: str) -> None:
        """Until ``runtime``'s build is there (at once when it is); ``SandboxError`` if it
        failed. Nothing without a JDK (planning the environment said so already)."""
        future = self.ensure(runtime)
        if future is None:
            return
        try:
            await asyncio.wrap_future(future)
        except Exception as exc:
            raise SandboxError(f"Lamina's Java runtime could not be compiled: {exc}") from exc


def build(jdk: Jdk, root: Path) -> None:
    """Compile the runtime with ``jdk``'s ``javac`` into ``root`` (blocking: a worker
    thread's job). Another process building the same root meanwhile is waited for."""
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if (root / RUNTIME_JAR).is_file():
                return
            staging = root.parent / f".staging-{secrets.token_hex(6)}"
            try:
                _compile_into(jdk, staging)
                with contextlib.suppress(FileNotFoundError):
                    shutil.rmtree(root)  # a build left incomplete by hand
                os.replace(staging, root)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    log.info("compiled Lamina's Java runtime for Java %s into %s", jdk.version, root)


def _compile_into(jdk: Jdk, staging: Path) -> None:
    classes = staging / "classes"
    classes.mkdir(parents=True)
    argv = [jdk.javac, "-encoding", "UTF-8", "-nowarn", "-d", str(classes)]
    argv += [str(path) for path in source_files()]
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_SECONDS, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"javac failed: {result.stderr.strip()[-2000:]}")
    jar = staging / RUNTIME_JAR
    jar.parent.mkdir(parents=True)
    with zipfile.ZipFile(jar, "w", zipfile.ZIP_STORED) as archive:
        for path in sorted(classes.rglob("*.class")):
            archive.write(path, path.relative_to(classes).as_posix())
    shutil.rmtree(classes)
    # Environments run as unprivileged users of their own: the build is world-readable.
    for directory in (staging, jar.parent):
        directory.chmod(0o755)
    jar.chmod(0o644)


class JavaGate:
    """A sandbox whose environments start once their Java runtime is built (the wait is
    asynchronous: the event loop goes on); otherwise the wrapped sandbox itself."""

    def __init__(self, inner: Sandbox, builds: JavaBuilds, runtime: str) -> None:
        self._inner = inner
        self._builds = builds
        self._runtime = runtime

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def isolated_fs(self) -> bool:
        return self._inner.isolated_fs

    def runtime_api_address(self, network: str) -> str | None:
        return self._inner.runtime_api_address(network)

    async def start(self, spec: SandboxSpec) -> SandboxHandle:
        await self._builds.wait(self._runtime)
        return await self._inner.start(spec)

    async def close(self) -> None:
        await self._inner.close()


def gated(inner: Sandbox, builds: JavaBuilds, runtime: str | None) -> Sandbox:
    """``inner`` for every runtime but Java's, whose environments wait for their build."""
    if runtime and is_java_runtime(runtime):
        return JavaGate(inner, builds, runtime)
    return inner
