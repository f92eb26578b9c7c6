"""The Java runtimes: ``java8.al2``, ``java11``, ``java17``, ``java21``, ``java25``.

Each runs Lamina's built-in runtime (``lamina/runtimes/java/``: a Runtime API client, the
public interfaces of aws-lambda-java-core and a small JSON mapper, JDK only), compiled once
per JDK into a cache (``runtime/java_build.py``), on a JDK of the host found without running
anything: ``$JAVA_HOME``, the JDKs under ``/usr/lib/jvm`` (Debian's ``openjdk-N-jdk-headless``)
and the ``java`` on ``PATH``, each with ``bin/java``, ``bin/javac`` and a ``release`` file
naming its version. A function runs on a JDK of its runtime's version if there is one, else on
the oldest newer JDK (newer JVMs run older class files), with a warning logged once per
runtime; without a JDK that new, invoking answers ``InvalidRuntimeException`` saying so
(creating the function works, as on AWS). Debian bookworm has JDK 17 only: ``java21`` and
``java25`` functions then answer that, since classes compiled for Java 21 do not load on 17.

The JVM gets AWS's flags (``-XX:+UseSerialGC``, ``-Xshare:auto``,
``-Djava.net.preferIPv4Stack=true``, from ``java17`` on ``-XX:+TieredCompilation
-XX:TieredStopAtLevel=1``) and sizes from ``MemorySize`` as AWS's bootstrap derives them: 85 %
for the heap, 10 % for metaspace, 5 % for the code cache. ``JAVA_TOOL_OPTIONS`` is the JVM's
own and applies after them. The function's classes are ``/var/task``, ``/var/task/lib/*.jar``,
the jars at the package's root and ``/opt/java/lib/*.jar``, in a class loader whose parent has
the runtime (the runtime's interfaces win over copies bundled in the function's jars).
"""

from __future__ import annotations

import glob
import logging
import os
import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from lamina.domain.errors import InvalidRuntimeException
from lamina.runtime.aws_env import AWS_RUNTIME_DIR

if TYPE_CHECKING:
    from lamina.domain.models import FunctionConfig
    from lamina.runtime.launch import EnvironmentPaths

log = logging.getLogger("lamina.runtime")

# Runtime name -> the Java version its functions are compiled for.
JAVA_RUNTIMES = {"java8.al2": 8, "java11": 11, "java17": 17, "java21": 21, "java25": 25}
# The runtime's classes, as the SDK root of Java environments holds them (runtime/java_build.py).
RUNTIME_JAR = "lib/lamina-java-runtime.jar"
MAIN_CLASS = "lamina.runtime.Bootstrap"
# From java17 on, AWS stops tiered compilation at C1 (faster cold starts).
C1_ONLY_FROM = 17


@dataclass(frozen=True)
class Jdk:
    home: str
    major: int
    version: str

    @property
    def java(self) -> str:
        return f"{self.home}/bin/java"

    @property
    def javac(self) -> str:
        return f"{self.home}/bin/javac"


def is_java_runtime(runtime: str) -> bool:
    return runtime in JAVA_RUNTIMES


def _release_version(home: str) -> str | None:
    try:
        with open(f"{home}/release", encoding="utf-8") as release:
            text = release.read(8192)
    except OSError:
        return None
    found = re.search(r'^JAVA_VERSION="([^"]+)"', text, re.MULTILINE)
    return found.group(1) if found else None


def _major(version: str) -> int | None:
    found = re.match(r"(?:1\.)?(\d+)", version)
    return int(found.group(1)) if found else None


def _homes() -> list[str]:
    homes: list[str] = []
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        homes.append(java_home)
    homes += sorted(glob.glob("/usr/lib/jvm/*"))
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        java = os.path.join(directory, "java") if directory else ""
        if java and os.path.isfile(java):
            homes.append(os.path.dirname(os.path.dirname(os.path.realpath(java))))
    return homes


@cache
def installed_jdks() -> tuple[Jdk, ...]:
    """The host's JDKs (with ``javac``), oldest first; one per real directory."""
    found: dict[str, Jdk] = {}
    for home in _homes():
        real = os.path.realpath(home)
        if real in found:
            continue
        executables = (f"{real}/bin/java", f"{real}/bin/javac")
        if not all(os.path.isfile(p) and os.access(p, os.X_OK) for p in executables):
            continue
        version = _release_version(real)
        major = _major(version) if version else None
        if version and major:
            found[real] = Jdk(real, major, version)
    return tuple(sorted(found.values(), key=lambda jdk: (jdk.major, jdk.home)))


_warned: set[str] = set()


def jdk_for_runtime(runtime: str) -> Jdk:
    """The JDK that runs ``runtime`` functions; ``InvalidRuntimeException`` without one."""
    wanted = JAVA_RUNTIMES[runtime]
    jdks = installed_jdks()
    for jdk in jdks:
        if jdk.major == wanted:
            return jdk
    newer = [jdk for jdk in jdks if jdk.major > wanted]
    if not newer:
        have = ", ".join(str(jdk.major) for jdk in jdks) or "none"
        raise InvalidRuntimeException(
            f"The runtime parameter of {runtime} is not supported on this host: it needs a "
            f"JDK {wanted} or newer with javac (JDKs found: {have}; on Debian, install "
            "openjdk-17-jdk-headless for java8.al2, java11 and java17)."
        )
    if runtime not in _warned:
        _warned.add(runtime)
        log.warning(
            "no JDK %d on this host; %s functions run on %s (Java %s)",
            wanted,
            runtime,
            newer[0].home,
            newer[0].version,
        )
    return newer[0]


def jvm_options(runtime: str, memory_mb: int) -> list[str]:
    """AWS's JVM flags for ``runtime`` at ``memory_mb``."""
    kib = memory_mb * 1024
    options = [
        f"-XX:MaxHeapSize={kib * 85 // 100}k",
        f"-XX:MaxMetaspaceSize={kib * 10 // 100}k",
        f"-XX:ReservedCodeCacheSize={kib * 5 // 100}k",
        "-XX:+UseSerialGC",
        "-Xshare:auto",
    ]
    if JAVA_RUNTIMES[runtime] >= C1_ONLY_FROM:
        options += ["-XX:+TieredCompilation", "-XX:TieredStopAtLevel=1"]
    options.append("-Djava.net.preferIPv4Stack=true")
    return options


def java_command(config: FunctionConfig, env: dict[str, str], paths: EnvironmentPaths) -> list[str]:
    """``java <AWS's flags> -cp <the runtime's jar> lamina.runtime.Bootstrap``, with
    ``AWS_EXECUTION_ENV`` and ``LAMBDA_RUNTIME_DIR`` as AWS sets them (on the host, the
    runtime's own directory)."""
    runtime = config.runtime or ""
    jdk = jdk_for_runtime(runtime)
    env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{runtime}"
    env["LAMBDA_RUNTIME_DIR"] = AWS_RUNTIME_DIR if paths.aws_layout else paths.sdk_root
    return [
        jdk.java,
        *jvm_options(runtime, config.memory_size),
        "-cp",
        f"{paths.sdk_root}/{RUNTIME_JAR}",
        MAIN_CLASS,
    ]
