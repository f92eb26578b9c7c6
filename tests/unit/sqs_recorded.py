"""The SQS recordings (tests/fixtures/aws-recorded/sqs) and the comparison of an SQS error
with a recorded one (JSON variant: ``QueryErrorCode`` is the error shape, ``Code`` the legacy
code; query variant: ``Code`` only)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from lamina.domain.errors import AwsError

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "aws-recorded" / "sqs"


@cache
def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / f"{name}.snapshot.json").read_text())
    return data


def recorded_sqs(test: str, key: str | None = None, *, file: str = "test_sqs") -> Any:
    """The recorded content of the test whose id ends with ``::<test>``."""
    matches = [v for k, v in _load(file).items() if k.endswith("::" + test)]
    if len(matches) != 1:
        raise KeyError(f"{len(matches)} recorded tests match {test!r} in {file}")
    content = matches[0]["recorded-content"]
    return content if key is None else content[key]


def assert_recorded_error(error: AwsError, recorded: dict[str, Any]) -> None:
    """``error`` is what AWS answered: status, legacy code, shape code (JSON), message."""
    wire = recorded["Error"]
    assert error.status == recorded["ResponseMetadata"]["HTTPStatusCode"]
    assert (error.query_code or error.code) == wire["Code"]
    if "QueryErrorCode" in wire:
        assert error.code == wire["QueryErrorCode"]
        assert error.message == wire["Message"]
    else:
        query_message = getattr(error, "query_message", None)
        assert (query_message or error.message) == wire["Message"]
    assert wire["Type"] == ("Sender" if error.sender_fault else "Receiver")
