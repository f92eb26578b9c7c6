"""The Node.js runtimes: ``nodejs16.x``, ``nodejs18.x``, ``nodejs20.x``, ``nodejs22.x``,
``nodejs24.x``.

Each runs Lamina's built-in bootstrap (``lamina/runtimes/nodejs/index.cjs``) on the host's
``node``, found by absolute path: a ``node`` of the runtime's major version if one is
installed (nvm's and n's version directories, ``PATH`` without shims, ``/usr/local/bin``,
``/usr/bin``), else the host's default ``node``, with a warning logged once per runtime.
The environment is what AWS's Node.js bootstrap sets up: ``NODE_PATH`` =
``/opt/nodejs/nodeNN/node_modules:/opt/nodejs/node_modules:<runtime>/node_modules:<runtime>:
<task root>`` unless the function sets its own, and ``--max-http-header-size 81920``.

AWS also passes V8 flags (``--expose-gc`` and heap sizes derived from ``MemorySize``); Lamina
does not: any V8 flag makes Node reject its built-in code cache, which costs 40% more at
every cold start (+14 ms for a CommonJS handler, +19 ms for an ES module on this machine,
several times that under a CPU quota). The memory limit is the sandbox's memory cgroup,
as for every runtime; Node sizes its heap from that limit (to about twice ``MemorySize`` at
128 MB, where AWS allows 90%). The bootstrap provides ``global.gc`` on first use.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from lamina.domain.errors import InvalidRuntimeException

if TYPE_CHECKING:
    from lamina.domain.models import FunctionConfig
    from lamina.runtime.launch import EnvironmentPaths

log = logging.getLogger("lamina.runtime")

NODE_BOOTSTRAP = Path(__file__).resolve().parent.parent / "runtimes" / "nodejs" / "index.cjs"
NODE_MAJORS = (16, 18, 20, 22, 24)
_RUNTIME = re.compile(r"nodejs(\d+)\.x")


def is_nodejs_runtime(runtime: str) -> bool:
    found = _RUNTIME.fullmatch(runtime)
    return found is not None and int(found.group(1)) in NODE_MAJORS


@cache
def node_major(path: str) -> int | None:
    """The major version of the ``node`` at ``path`` (``node --version`` takes ~3 ms)."""
    try:
        result = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.match(r"v(\d+)\.", result.stdout.strip())
    return int(found.group(1)) if found else None


def _version_key(path: str) -> tuple[int, ...]:
    found = re.search(r"/v?(\d+)\.(\d+)\.(\d+)/", path)
    return tuple(int(part) for part in found.groups()) if found else (0, 0, 0)


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _default_candidates() -> list[str]:
    candidates = []
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if directory and "shims" not in directory:
            candidates.append(os.path.join(directory, "node"))
    candidates += ["/usr/local/bin/node", "/usr/bin/node"]
    return candidates


@cache
def default_node() -> str | None:
    """The host's ``node``: the first one on ``PATH`` (shims skipped), else the usual places."""
    for candidate in _default_candidates():
        if _executable(candidate):
            return os.path.realpath(candidate)
    return None


@cache
def find_node(major: int) -> str | None:
    """Absolute path of a ``node`` whose major version is ``major``, or None."""
    versioned: list[str] = []
    nvm_dir = os.environ.get("NVM_DIR") or os.path.expanduser("~/.nvm")
    versioned += glob.glob(f"{nvm_dir}/versions/node/v{major}.*/bin/node")
    n_prefix = os.environ.get("N_PREFIX") or "/usr/local"
    versioned += glob.glob(f"{n_prefix}/n/versions/node/{major}.*/bin/node")
    for candidate in sorted(versioned, key=_version_key, reverse=True):
        if _executable(candidate):
            return os.path.realpath(candidate)
    for candidate in _default_candidates():
        if _executable(candidate) and node_major(os.path.realpath(candidate)) == major:
            return os.path.realpath(candidate)
    return None


_warned: set[str] = set()


def node_for_runtime(runtime: str) -> str:
    major = int(runtime.removeprefix("nodejs").removesuffix(".x"))
    found = find_node(major)
    if found:
        return found
    fallback = default_node()
    if fallback is None:
        raise InvalidRuntimeException(
            f"The runtime parameter of {runtime} is not supported on this host: "
            "no node executable was found (install Node.js)."
        )
    if runtime not in _warned:
        _warned.add(runtime)
        log.warning(
            "no Node.js %d on this host; %s functions run on %s (Node.js %s)",
            major,
            runtime,
            fallback,
            node_major(fallback) or "of unknown version",
        )
    return fallback


def node_command(config: FunctionConfig, env: dict[str, str], paths: EnvironmentPaths) -> list[str]:
    runtime = config.runtime or ""
    major = int(runtime.removeprefix("nodejs").removesuffix(".x"))
    node = node_for_runtime(runtime)
    # The runtimes directory as the runtime sees it (the isolated sandbox mounts it elsewhere).
    runtimes_root = paths.runtimes_root
    runtime_dir = f"{runtimes_root}/nodejs"
    env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{runtime}"
    env["LAMBDA_RUNTIME_DIR"] = runtime_dir
    env["PATH"] = f"{os.path.dirname(node)}:{env['PATH']}"
    if not env.get("NODE_PATH"):
        opt = paths.opt_root
        env["NODE_PATH"] = ":".join(
            (
                f"{opt}/nodejs/node{major}/node_modules",
                f"{opt}/nodejs/node_modules",
                f"{runtime_dir}/node_modules",
                runtime_dir,
                paths.task_root,
            )
        )
    # No V8 flags (see the module docstring); this one is Node's own.
    return [node, "--max-http-header-size", "81920", f"{runtime_dir}/{NODE_BOOTSTRAP.name}"]
