"""Golden comparison with IAM's recordings (tests/fixtures/aws-recorded/iam): a Lamina
answer normalised as the recordings are (account 111111111111, ``<partition>``, dates,
generated names and ids as placeholders)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import ACCOUNT

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "aws-recorded" / "iam"


@cache
def _snapshot() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / "test_iam.snapshot.json").read_text())
    return data


def recorded(test: str, key: str) -> Any:
    [entry] = [v for k, v in _snapshot().items() if k.endswith("::" + test)]
    return entry["recorded-content"][key]


def _dates(value: Any) -> Any:
    if isinstance(value, datetime):
        return "<datetime>"
    if isinstance(value, dict):
        return {k: _dates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates(v) for v in value]
    return value


def as_recorded(answer: dict[str, Any], names: dict[str, str]) -> Any:
    """``answer`` in the recordings' terms; ``names`` maps real values (role names, ids,
    paths) to their placeholders, longest first."""
    value = dict(_dates(answer))
    status = value.pop("ResponseMetadata", {}).get("HTTPStatusCode", 200)
    value["ResponseMetadata"] = {"HTTPHeaders": {}, "HTTPStatusCode": status}
    text = (
        json.dumps(value).replace(ACCOUNT, "111111111111").replace("arn:aws:", "arn:<partition>:")
    )
    for real in sorted(names, key=len, reverse=True):
        text = text.replace(real, names[real])
    return json.loads(text)


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    """A client error as the recordings hold it."""
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return {
        "Error": {k: response["Error"][k] for k in ("Code", "Message", "Type")},
        "ResponseMetadata": {
            "HTTPHeaders": {},
            "HTTPStatusCode": response["ResponseMetadata"]["HTTPStatusCode"],
        },
    }


def trust_policy(service: str = "lambda.amazonaws.com", *, listed: bool = False) -> str:
    action: Any = ["sts:AssumeRole"] if listed else "sts:AssumeRole"
    principal: Any = {"Service": [service] if listed else service}
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": principal, "Action": action}],
        }
    )


def allow(action: str | list[str], resource: str = "*") -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}],
        }
    )
