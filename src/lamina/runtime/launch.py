"""How each runtime name becomes a command line and an environment.

- ``python3.X``: the built-in bootstrap (``lamina/runtimes/python/bootstrap.py``) run by
  the host's ``python3.X`` interpreter, found by absolute path (never a pyenv shim: a
  shim costs ~150 ms per start). If that exact version is not installed, the server's
  own interpreter runs it and a warning is logged once.
- ``provided``, ``provided.al2``, ``provided.al2023``: the package's executable
  ``bootstrap`` (in the code root, else in ``/opt``).
- ``nodejs*.x`` and ``ruby3.X``: Lamina's built-in bootstraps on the host's ``node`` /
  ``ruby`` (``runtime/nodejs.py``, ``runtime/ruby.py``).
- ``java8.al2`` … ``java25``: Lamina's built-in Java runtime on a JDK of the host
  (``runtime/java.py``, compiled once per JDK: ``runtime/java_build.py``).
"""

from __future__ import annotations

import glob
import logging
import os
import re
import secrets
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lamina.domain.errors import InvalidRuntimeException
from lamina.domain.models import FunctionConfig
from lamina.runtime import aws_env
from lamina.runtime.credentials import new_key_material
from lamina.runtime.java import is_java_runtime, java_command
from lamina.runtime.nodejs import is_nodejs_runtime, node_command
from lamina.runtime.ruby import is_ruby_runtime, ruby_command

log = logging.getLogger("lamina.runtime")

RUNTIMES_DIR = Path(__file__).resolve().parent.parent / "runtimes"
# Where the isolated sandbox mounts Lamina's runtimes and the Python SDK (AWS keeps its
# runtime, boto3 included, under /var/runtime).
SANDBOX_RUNTIMES_DIR = "/var/runtime/lamina"
# boto3 and its dependencies sit directly in /var/runtime, as on AWS's Python runtimes
# (``PYTHONPATH=/var/runtime``).
SANDBOX_SDK_DIR = aws_env.AWS_RUNTIME_DIR
CUSTOM_RUNTIMES = ("provided", "provided.al2", "provided.al2023")
# Python packages every Python runtime can import without packaging them, as on AWS.
SDK_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")


class LaunchFailure(Exception):
    """The environment cannot start; reported to the caller as a function error."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


@dataclass(frozen=True)
class LaunchPlan:
    argv: list[str]
    env: dict[str, str]
    cwd: str
    paths: EnvironmentPaths
    # The runtime's own command: ``argv`` without ``AWS_LAMBDA_EXEC_WRAPPER`` in front.
    runtime_argv: list[str] | None = None

    @property
    def interpreter(self) -> str:
        """The runtime's executable as the host sees it (the wrapper is not one)."""
        return (self.runtime_argv or self.argv)[0]


@cache
def find_python(version: str) -> str | None:
    """Absolute path of an interpreter for ``3.X``, or None."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    candidates: list[str] = []
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"))
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if directory and "shims" not in directory:
            candidates.append(os.path.join(directory, f"python{version}"))
    candidates += [f"/usr/local/bin/python{version}", f"/usr/bin/python{version}"]
    for candidate in candidates:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.realpath(candidate)
    return None


_warned: set[str] = set()


def python_for_runtime(runtime: str) -> str:
    version = runtime.removeprefix("python")
    found = find_python(version)
    if found:
        return found
    if runtime not in _warned:
        _warned.add(runtime)
        log.warning(
            "no python%s interpreter on this host; %s functions run on %s (Python %d.%d)",
            version,
            runtime,
            sys.executable,
            sys.version_info.major,
            sys.version_info.minor,
        )
    return sys.executable


def sdk_path(root: Path) -> Path:
    """A directory of links to the server's boto3 and its dependencies (pure Python)."""
    target = root / "python"
    if target.is_dir():
        return target
    tmp = root / f".python-{secrets.token_hex(4)}"
    tmp.mkdir(parents=True, exist_ok=True)
    import importlib.util

    for name in SDK_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        os.symlink(source, tmp / source.name)
    try:
        os.replace(tmp, target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def new_credentials() -> dict[str, str]:
    """Temporary-looking credentials for the execution role, registered nowhere (the server
    issues registered ones: ``runtime.credentials.CredentialRegistry``)."""
    key_id, secret, token = new_key_material()
    return {
        "AWS_ACCESS_KEY_ID": key_id,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_SESSION_TOKEN": token,
    }


@dataclass(frozen=True)
class EnvironmentPaths:
    """Where an environment finds its code, as the runtime sees it and on the host.

    In the isolated sandbox the code is mounted at ``/var/task`` and layers at ``/opt``;
    in plain-process mode the runtime sees the host directories themselves.
    """

    task_root: str
    opt_root: str
    # Lamina's runtimes directory and the Python SDK directory, as the runtime sees them.
    runtimes_root: str
    sdk_root: str
    host_task_root: Path
    host_opt_root: Path | None
    host_sdk_root: Path
    # Whether the runtime sees AWS's file system (/var/task, /var/lang, /var/runtime).
    aws_layout: bool = False

    @classmethod
    def plain(cls, code_dir: Path, sdk_dir: Path, opt_dir: Path | None = None) -> EnvironmentPaths:
        opt = str(opt_dir) if opt_dir else "/opt"
        return cls(str(code_dir), opt, str(RUNTIMES_DIR), str(sdk_dir), code_dir, opt_dir, sdk_dir)

    def host_path(self, seen: str) -> Path:
        """Where a path a function names as on AWS (under /var/task or /opt) is on the
        host."""
        for root, host in (("/var/task", self.host_task_root), ("/opt", self.host_opt_root)):
            if host is not None and (seen == root or seen.startswith(root + "/")):
                return host / seen[len(root) :].lstrip("/")
        return Path(seen)

    @classmethod
    def isolated(
        cls, code_dir: Path, sdk_dir: Path, opt_dir: Path | None = None
    ) -> EnvironmentPaths:
        return cls(
            "/var/task",
            "/opt",
            SANDBOX_RUNTIMES_DIR,
            SANDBOX_SDK_DIR,
            code_dir,
            opt_dir,
            sdk_dir,
            aws_layout=True,
        )


CommandBuilder = Callable[[FunctionConfig, dict[str, str], EnvironmentPaths], list[str]]


def python_command(
    config: FunctionConfig, env: dict[str, str], paths: EnvironmentPaths
) -> list[str]:
    runtime = config.runtime or ""
    python = python_for_runtime(runtime)
    env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{runtime}"
    if not paths.aws_layout:  # isolated: the interpreter is /var/lang/bin/python3.X
        env["PATH"] = f"{os.path.dirname(python)}:{env['PATH']}"
    return [python, "-I", "-S", f"{paths.runtimes_root}/python/bootstrap.py"]


def custom_command(
    config: FunctionConfig, env: dict[str, str], paths: EnvironmentPaths
) -> list[str]:
    candidates = [(paths.host_task_root / "bootstrap", f"{paths.task_root}/bootstrap")]
    if paths.host_opt_root is not None:
        candidates.append((paths.host_opt_root / "bootstrap", f"{paths.opt_root}/bootstrap"))
    for host_path, seen_path in candidates:
        if host_path.is_file():
            return [seen_path]
    searched = f"{paths.task_root}/bootstrap {paths.opt_root}/bootstrap"
    raise LaunchFailure(
        "Runtime.InvalidEntrypoint", f"Couldn't find valid bootstrap(s): [{searched}]"
    )


def is_python_runtime(runtime: str) -> bool:
    return re.fullmatch(r"python3\.\d+", runtime) is not None


# Runtime families: (does this builder handle the runtime name?, command builder).
RUNTIME_FAMILIES: list[tuple[Callable[[str], bool], CommandBuilder]] = [
    (is_python_runtime, python_command),
    (lambda runtime: runtime in CUSTOM_RUNTIMES, custom_command),
    (is_nodejs_runtime, node_command),
    (is_ruby_runtime, ruby_command),
    (is_java_runtime, java_command),
]


def plan_launch(
    config: FunctionConfig,
    paths: EnvironmentPaths,
    runtime_api: str,
    log_stream: str,
    endpoint_url: str,
    initialization_type: str = "on-demand",
    credentials: dict[str, str] | None = None,
) -> LaunchPlan:
    """The command line and environment of one runtime. ``initialization_type``:
    ``on-demand``, or ``provisioned-concurrency`` for environments initialised ahead;
    ``credentials``: the execution role's variables (new unregistered ones if not given).

    The function's own variables may replace the defaults (``PATH``, ``LANG``,
    ``PYTHONPATH``, ...), never what Lambda reserves (``AWS_LAMBDA_*``, ``_HANDLER``, the
    credentials, ...)."""
    runtime = config.runtime or ""
    env = default_environment(runtime, paths)
    env.update(config.environment or {})
    credentials = credentials or new_credentials()
    env.update(
        {
            "_HANDLER": config.handler or "",
            "AWS_REGION": config.region,
            "AWS_DEFAULT_REGION": config.region,
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": config.version,
            "AWS_LAMBDA_INITIALIZATION_TYPE": initialization_type,
            "AWS_LAMBDA_LOG_GROUP_NAME": config.effective_log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_LAMBDA_RUNTIME_API": runtime_api,
            "LAMBDA_TASK_ROOT": paths.task_root,
            "LAMBDA_RUNTIME_DIR": runtime_dir(runtime, paths),
            "TZ": ":UTC",
            "AWS_ACCESS_KEY": credentials["AWS_ACCESS_KEY_ID"],
            **credentials,
            # Lamina's additions: boto3 inside the function reaches Lamina.
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_ENDPOINT_URL_LAMBDA": endpoint_url,
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": endpoint_url,
            **aws_env.xray_environment(),
            "LAMINA_SDK_PATH": paths.sdk_root,
            "LAMINA_OPT_ROOT": paths.opt_root,
        }
    )
    if config.log_format == "JSON":
        env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        env["AWS_LAMBDA_LOG_LEVEL"] = config.application_log_level or "INFO"
    for handles, build in RUNTIME_FAMILIES:
        if handles(runtime):
            argv = build(config, env, paths)
            _as_aws_sets_it(runtime, env, paths, config.environment or {}, argv[0])
            return LaunchPlan(
                with_wrapper(runtime, argv, env, paths), env, paths.task_root, paths, argv
            )
    raise InvalidRuntimeException(
        f"The runtime parameter of {runtime} is not supported by Lamina yet."
    )


def runtime_dir(runtime: str, paths: EnvironmentPaths) -> str:
    """``LAMBDA_RUNTIME_DIR``: AWS's /var/runtime inside an isolated environment; on the
    host, Lamina's runtime directory for the runtime's language."""
    if paths.aws_layout:
        return aws_env.AWS_RUNTIME_DIR
    family = aws_env.runtime_family(runtime)
    return f"{paths.runtimes_root}/{family if family == 'nodejs' else 'python'}"


def default_environment(runtime: str, paths: EnvironmentPaths) -> dict[str, str]:
    """What a function's own variables may replace: AWS's values for the runtime."""
    isolated = paths.aws_layout
    env = {
        "PATH": aws_env.search_path(runtime, isolated),
        "LANG": "en_US.UTF-8",
        "LD_LIBRARY_PATH": aws_env.library_path(
            runtime, paths.task_root, paths.opt_root, runtime_dir(runtime, paths), isolated
        ),
        **aws_env.shell_environment(runtime, paths.task_root),
    }
    if is_python_runtime(runtime):
        env["PYTHONPATH"] = paths.sdk_root
    return env


def _as_aws_sets_it(
    runtime: str,
    env: dict[str, str],
    paths: EnvironmentPaths,
    own: dict[str, str],
    executable: str,
) -> None:
    """Inside an isolated environment, undo what a command builder adapted to the host:
    ``PATH`` is AWS's (the runtime's directory last, when it is not a system one),
    ``LAMBDA_RUNTIME_DIR`` and ``NODE_PATH`` name /var/runtime (``PATH`` and ``NODE_PATH``
    unless the function set them itself)."""
    if not paths.aws_layout or aws_env.runtime_family(runtime) != "nodejs":
        return
    env["LAMBDA_RUNTIME_DIR"] = aws_env.AWS_RUNTIME_DIR
    if "PATH" not in own:
        path = aws_env.search_path(runtime, True)
        directory = os.path.dirname(executable)
        if directory not in [p.rstrip("/") for p in path.split(":")]:
            path = f"{path}:{directory}"
        env["PATH"] = path
    if "NODE_PATH" not in own:
        major = int(runtime.removeprefix("nodejs").removesuffix(".x"))
        env["NODE_PATH"] = aws_env.node_path(
            major, paths.opt_root, aws_env.AWS_RUNTIME_DIR, paths.task_root
        )


# Missing wrapper in plain-process mode: a shell reports it and exits 127, as the exec of a
# missing file does inside an isolated environment.
_EXEC_OR_127 = 'exec "$0" "$@"'


def with_wrapper(
    runtime: str, argv: list[str], env: dict[str, str], paths: EnvironmentPaths
) -> list[str]:
    """``AWS_LAMBDA_EXEC_WRAPPER`` (managed Python, Node.js, Ruby and Java runtimes only, as on
    AWS): the wrapper runs with the runtime's command as its arguments. A wrapper that does not
    exist ends the runtime with exit status 127 (``Runtime.ExitError``, as AWS answers)."""
    wrapper = env.get("AWS_LAMBDA_EXEC_WRAPPER")
    if not wrapper or aws_env.runtime_family(runtime) not in ("python", "nodejs", "ruby", "java"):
        return argv
    if paths.aws_layout:
        return [wrapper, *argv]
    host_wrapper = str(paths.host_path(wrapper))
    if os.path.isfile(host_wrapper) and os.access(host_wrapper, os.X_OK):
        return [host_wrapper, *argv]
    return ["/bin/sh", "-c", _EXEC_OR_127, host_wrapper, *argv]
