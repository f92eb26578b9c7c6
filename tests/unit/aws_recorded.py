"""Access to the responses recorded against real AWS (tests/fixtures/aws-recorded) and the
comparison of a Lamina error with one of them.

The recordings use placeholders: ``<partition>``, ``<region>``, account ``111111111111``,
``<a:len(N)>`` for N letters ``a``, and per-test ones (``<function-name:1>``...) that the caller
maps to the values it used.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from lamina.domain.errors import LambdaError

REGION = "us-east-1"
ACCOUNT = "111111111111"


RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "aws-recorded" / "lambda"


def recorded_dir() -> Path:
    """The ``aws-recorded/lambda`` recordings the tests compare with (tests/fixtures)."""
    return RECORDED


@cache
def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((recorded_dir() / f"{name}.snapshot.json").read_text())
    return data


def recorded(test: str, key: str | None = None, *, file: str = "test_lambda_api") -> Any:
    """The recorded content of the test whose id ends with ``::<test>`` (``Class::test[...]``
    or just ``test[...]``); one entry of it when ``key`` is given."""
    matches = [v for k, v in _load(file).items() if k.endswith("::" + test)]
    if len(matches) != 1:
        raise KeyError(f"{len(matches)} recorded tests match {test!r} in {file}")
    content = matches[0]["recorded-content"]
    return content if key is None else content[key]


def expand(value: Any, subs: dict[str, str] | None = None) -> Any:
    """Replace the placeholders in a recorded value (recursively)."""
    if isinstance(value, dict):
        return {k: expand(v, subs) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, subs) for v in value]
    if not isinstance(value, str):
        return value
    for placeholder, real in {"<partition>": "aws", "<region>": REGION, **(subs or {})}.items():
        value = value.replace(placeholder, real)
    return re.sub(r"<a:len\((\d+)\)>", lambda m: "a" * int(m.group(1)), value)


_VALIDATION = re.compile(r"(\d+) validation errors? detected: (.*)", re.S)


def assert_matches(exc: LambdaError, expected: Any, subs: dict[str, str] | None = None) -> None:
    """Compare an error with a recorded one: a boto3 error response (``Error``, status, body
    members) or the ``{Code, Message}`` / ``{Code, Count, Errors}`` form some tests record."""
    want = expand(expected, subs)
    body = exc.body()
    message = body.get("message", body.get("Message", ""))
    if "Error" in want:
        assert exc.code == want["Error"]["Code"]
        assert message == want["Error"]["Message"]
        status = want.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status is not None:
            assert exc.status == status
        for member in ("Type", "message", "Message"):
            if member in want:
                assert body.get(member) == want[member], member
        return
    assert exc.code == want["Code"]
    if "Errors" in want:
        match = _VALIDATION.fullmatch(message)
        assert match is not None, message
        assert int(match.group(1)) == want["Count"]
        assert match.group(2).split("; ") == want["Errors"]
    else:
        assert message == want["Message"]
