"""The Ruby runtimes: ``ruby3.2``, ``ruby3.3``, ``ruby3.4``.

Each runs Lamina's built-in bootstrap (``lamina/runtimes/ruby/bootstrap.rb``, standard
library only) on the host's Ruby, found by absolute path: a ``ruby3.X`` of the runtime's
version if one is installed (rbenv's version directories, ``PATH`` without shims,
``/usr/local/bin``, ``/usr/bin``), else the host's default ``ruby`` (Debian's package), with a
warning logged once per runtime. Without any Ruby on the host, creating the function works
(as on AWS) but invoking it answers ``InvalidRuntimeException`` naming what is missing: a
Lamina-specific message, since AWS always has the runtime.

The environment is what AWS's Ruby runtime sets up: ``GEM_HOME``, ``GEM_PATH`` (the bundle
directory of the task, ``/opt/ruby/gems/3.X.0``, the runtime's gems) and ``RUBYLIB`` (the task
root and ``/opt/ruby/lib``), with the runtime's directory in place of
``/var/runtime/gems/aws_lambda_ric-*/lib``.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import subprocess
from functools import cache
from typing import TYPE_CHECKING

from lamina.domain.errors import InvalidRuntimeException
from lamina.runtime.aws_env import AWS_RUNTIME_DIR, LANG_ROOT

if TYPE_CHECKING:
    from lamina.domain.models import FunctionConfig
    from lamina.runtime.launch import EnvironmentPaths

log = logging.getLogger("lamina.runtime")

RUBY_VERSIONS = ("3.2", "3.3", "3.4")
_RUNTIME = re.compile(r"ruby(\d+\.\d+)")


def is_ruby_runtime(runtime: str) -> bool:
    found = _RUNTIME.fullmatch(runtime)
    return found is not None and found.group(1) in RUBY_VERSIONS


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _path_candidates(name: str) -> list[str]:
    candidates = []
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if directory and "shims" not in directory:
            candidates.append(os.path.join(directory, name))
    candidates += [f"/usr/local/bin/{name}", f"/usr/bin/{name}"]
    return candidates


@cache
def ruby_version(path: str) -> str | None:
    """``3.X`` of the ``ruby`` at ``path`` (``ruby -e`` takes ~40 ms: resolved once)."""
    try:
        result = subprocess.run(
            [path, "--disable-gems", "-e", "print RUBY_VERSION"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.match(r"(\d+\.\d+)\.", result.stdout.strip())
    return found.group(1) if found else None


@cache
def find_ruby(version: str) -> str | None:
    """Absolute path of a Ruby ``3.X`` (exactly that version), or None."""
    rbenv_root = os.environ.get("RBENV_ROOT") or os.path.expanduser("~/.rbenv")
    candidates = sorted(glob.glob(f"{rbenv_root}/versions/{version}.*/bin/ruby"), reverse=True)
    candidates += _path_candidates(f"ruby{version}")
    for candidate in candidates:
        if _executable(candidate):
            return os.path.realpath(candidate)
    return None


@cache
def default_ruby() -> str | None:
    """The host's ``ruby``: the first one on ``PATH`` (shims skipped), else the usual places."""
    for candidate in _path_candidates("ruby"):
        if _executable(candidate):
            return os.path.realpath(candidate)
    return None


_warned: set[str] = set()


def ruby_for_runtime(runtime: str) -> str:
    """The executable that runs ``runtime`` functions; ``InvalidRuntimeException`` if the
    host has no Ruby at all."""
    version = runtime.removeprefix("ruby")
    found = find_ruby(version)
    if found:
        return found
    fallback = default_ruby()
    if fallback is None:
        raise InvalidRuntimeException(
            f"The runtime parameter of {runtime} is not supported on this host: "
            "no ruby executable was found (install Ruby, e.g. Debian's ruby package)."
        )
    if runtime not in _warned:
        _warned.add(runtime)
        log.warning(
            "no Ruby %s on this host; %s functions run on %s (Ruby %s)",
            version,
            runtime,
            fallback,
            ruby_version(fallback) or "of unknown version",
        )
    return fallback


def ruby_command(config: FunctionConfig, env: dict[str, str], paths: EnvironmentPaths) -> list[str]:
    """``ruby <runtime dir>/bootstrap.rb``, and the variables AWS's Ruby runtime sets (those
    the function sets itself are kept). Inside an isolated environment ``GEM_HOME`` and
    ``LAMBDA_RUNTIME_DIR`` are AWS's ``/var/runtime``; on the host, Lamina's Ruby runtime
    directory."""
    runtime = config.runtime or ""
    abi = f"{runtime.removeprefix('ruby')}.0"
    ruby = ruby_for_runtime(runtime)
    runtime_dir = f"{paths.runtimes_root}/ruby"
    task, opt = paths.task_root, paths.opt_root
    env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{runtime}"
    home = AWS_RUNTIME_DIR if paths.aws_layout else runtime_dir
    env["LAMBDA_RUNTIME_DIR"] = home
    own = config.environment or {}
    if paths.aws_layout:
        # AWS's Ruby bootstrap puts /var/lang in front once more: both appear twice there.
        for name, directory in (
            ("PATH", f"{LANG_ROOT}/bin"),
            ("LD_LIBRARY_PATH", f"{LANG_ROOT}/lib"),
        ):
            if name not in own and env.get(name):
                env[name] = f"{directory}:{env[name]}"
    ruby_dir = os.path.dirname(ruby)
    if ruby_dir not in [p.rstrip("/") for p in env["PATH"].split(":")]:
        env["PATH"] = f"{env['PATH']}:{ruby_dir}"
    env.setdefault("GEM_HOME", home)
    env.setdefault(
        "GEM_PATH",
        f"{task}/vendor/bundle/ruby/{abi}:{opt}/ruby/gems/{abi}:{home}:{home}/ruby/{abi}",
    )
    # AWS's first entry is its runtime client's gem; Lamina's runtime is no library.
    env.setdefault("RUBYLIB", f"{runtime_dir}/lib:{task}:{home}/lib:{opt}/ruby/lib")
    return [ruby, f"{runtime_dir}/bootstrap.rb"]
