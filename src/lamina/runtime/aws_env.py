"""The environment variables AWS's execution environments set, runtime family by runtime family.

The values are those AWS's ``python3.x``, ``nodejs*.x`` and ``provided.al2023`` runtimes
show a function (recorded in ``tests/fixtures/aws-recorded/lambda/test_lambda_common*``,
``test_introspection_invoke``): the interpreter under ``/var/lang``, AWS's runtime under
``/var/runtime``, the X-Ray daemon at ``169.254.100.1:2000``. Inside an isolated
environment those paths exist (``runtime/linux_sandbox.py``); in plain-process mode the
host's paths replace them where a runtime needs them (``docs/isolation.md``).
"""

from __future__ import annotations

LANG_ROOT = "/var/lang"
AWS_RUNTIME_DIR = "/var/runtime"
# Where AWS's Runtime API and X-Ray daemon listen, as a function sees them.
AWS_LINK_LOCAL_HOST = "169.254.100.1"
XRAY_DAEMON_PORT = "2000"
SYSTEM_PATH = "/usr/local/bin:/usr/bin/:/bin:/opt/bin"
# provided.al2's recording predates /var/lang on the custom runtimes' images.
RUNTIMES_WITHOUT_LANG = ("provided", "provided.al2")


def runtime_family(runtime: str) -> str:
    """``python``, ``nodejs``, ``ruby``, ``dotnet``, ``java`` or ``provided`` (else
    ``other``)."""
    for family in ("python", "nodejs", "ruby", "dotnet", "java", "provided"):
        if runtime.startswith(family):
            return family
    return "other"


def search_path(runtime: str, isolated: bool) -> str:
    """``PATH``: AWS's inside an isolated environment; on the host, its system part."""
    if isolated and runtime not in RUNTIMES_WITHOUT_LANG:
        return f"{LANG_ROOT}/bin:{SYSTEM_PATH}"
    return SYSTEM_PATH


def library_path(
    runtime: str, task_root: str, opt_root: str, runtime_dir: str, isolated: bool
) -> str:
    """``LD_LIBRARY_PATH`` as AWS sets it, with the roots as the runtime sees them."""
    parts = ["/lib64", "/usr/lib64", runtime_dir, f"{runtime_dir}/lib"]
    parts += [task_root, f"{task_root}/lib", f"{opt_root}/lib"]
    if isolated and runtime not in RUNTIMES_WITHOUT_LANG:
        parts.insert(0, f"{LANG_ROOT}/lib")
    return ":".join(parts)


def xray_environment() -> dict[str, str]:
    """The X-Ray daemon's address (nothing listens there: segments sent are lost, as on AWS
    without active tracing) and the SDK's default for a missing context."""
    return {
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": f"{AWS_LINK_LOCAL_HOST}:{XRAY_DAEMON_PORT}",
        "_AWS_XRAY_DAEMON_ADDRESS": AWS_LINK_LOCAL_HOST,
        "_AWS_XRAY_DAEMON_PORT": XRAY_DAEMON_PORT,
    }


def shell_environment(runtime: str, task_root: str) -> dict[str, str]:
    """What AWS's managed runtimes inherit from the shell script that starts them (``PWD``,
    ``SHLVL``; Python's from 3.12 on, on Amazon Linux 2023, also ``LC_CTYPE``); custom and
    Java runtimes are started without one."""
    family = runtime_family(runtime)
    if family not in ("python", "nodejs", "ruby", "dotnet"):
        return {}
    env = {"PWD": task_root, "SHLVL": "0"}
    if family == "python" and int(runtime.removeprefix("python3.") or 0) >= 12:
        env["LC_CTYPE"] = "C.UTF-8"
    return env


def node_path(major: int, opt_root: str, runtime_dir: str, task_root: str) -> str:
    """``NODE_PATH`` as AWS's Node.js runtimes set it."""
    return ":".join(
        (
            f"{opt_root}/nodejs/node{major}/node_modules",
            f"{opt_root}/nodejs/node_modules",
            f"{runtime_dir}/node_modules",
            runtime_dir,
            task_root,
        )
    )
