"""Policy ARNs as IAM parses them."""

from __future__ import annotations

import re

from lamina.services.iam.errors import invalid_arn

_ARN = re.compile(r"arn:[^:]+:[^:]*:[^:]*:[^:]*:.+")


def policy_arn(value: str) -> str:
    """``value`` when it parses as an ARN (IAM's ``Invalid ARN`` error otherwise)."""
    if not _ARN.fullmatch(value):
        raise invalid_arn()
    return value
