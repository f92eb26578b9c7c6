"""Building ARNs. (Parsing user-supplied names and ARNs lives in ``names``.)"""

from __future__ import annotations


def function_arn(region: str, account: str, name: str, qualifier: str | None = None) -> str:
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def runtime_version_arn(region: str, runtime: str) -> str:
    """A stable, made-up runtime version ARN in AWS's shape."""
    import hashlib

    digest = hashlib.sha256(runtime.encode()).hexdigest()
    return f"arn:aws:lambda:{region}::runtime:{digest}"


def runtime_version_name(runtime: str) -> str:
    """The runtime version an INIT_START line names, in AWS's shape: ``python3.13`` →
    ``python:3.13.v1``, ``nodejs20.x`` → ``nodejs:20.v1``, ``provided.al2023`` →
    ``provided:al2023.v1``."""
    family = runtime[: len(runtime) - len(runtime.lstrip("abcdefghijklmnopqrstuvwxyz"))]
    version = runtime[len(family) :].lstrip(".")
    if version.endswith(".x"):
        version = version[:-2]
    return f"{family}:{version}.v1" if version else f"{family}.v1"


def init_start_line(region: str, runtime: str) -> str:
    """The line AWS logs when an execution environment's init begins."""
    return (
        f"INIT_START Runtime Version: {runtime_version_name(runtime)}\t"
        f"Runtime Version ARN: {runtime_version_arn(region, runtime)}"
    )


def layer_arn(region: str, account: str, name: str, version: int | None = None) -> str:
    arn = f"arn:aws:lambda:{region}:{account}:layer:{name}"
    return f"{arn}:{version}" if version is not None else arn
