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


def layer_arn(region: str, account: str, name: str, version: int | None = None) -> str:
    arn = f"arn:aws:lambda:{region}:{account}:layer:{name}"
    return f"{arn}:{version}" if version is not None else arn
