"""Invoke's wire form on the lean path (``api.lean_invoke``) says what the model's generic
parse and render say, for every input and output shape Invoke has."""

from __future__ import annotations

from typing import Any

import pytest

from lamina.api.lean_invoke import InvokeWire
from lamina.api.model import ServiceModel, load_model

MODEL = ServiceModel(load_model("lambda"))
WIRE = InvokeWire(MODEL)

REQUESTS = [
    ("/2015-03-31/functions/echo/invocations", {}, {}, b'{"a": 1}'),
    ("/2015-03-31/functions/echo/invocations", {"Qualifier": ["live"]}, {}, b""),
    (
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Aecho"
        "/invocations",
        {"Qualifier": ["1", "2"], "Other": ["x"]},
        {
            "x-amz-invocation-type": "Event",
            "x-amz-log-type": "Tail",
            "x-amz-client-context": "e30=",
            "x-amz-tenant-id": "t1",
            "content-type": "application/json",
        },
        b"[]",
    ),
    ("/2015-03-31/functions/echo%20x/invocations", {}, {"x-amz-invocation-type": "Bogus"}, b"1"),
]


@pytest.mark.parametrize("path, query, headers, body", REQUESTS)
def test_params_are_the_models(
    path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
) -> None:
    found = MODEL.match("POST", path, query)
    assert found is not None and found[0].name == "Invoke"
    expected = MODEL.parse_input(found[0], found[1], query, headers, body)
    assert WIRE.params(path, query, headers, body) == expected


OUTPUTS: list[dict[str, Any]] = [
    {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": b'{"ok": true}'},
    {
        "StatusCode": 200,
        "ExecutedVersion": "3",
        "Payload": b'{"errorMessage": "x"}',
        "FunctionError": "Unhandled",
        "LogResult": "U1RBUlQ=",
    },
    {"StatusCode": 202},
    {"StatusCode": 204},
    {"StatusCode": 200, "ExecutedVersion": "1", "Payload": {"not": "bytes"}},
]


@pytest.mark.parametrize("output", OUTPUTS)
def test_answers_are_the_models(output: dict[str, Any]) -> None:
    assert WIRE.answer(dict(output)) == MODEL.render_output(WIRE.operation, dict(output))


def test_another_path_is_not_invoke() -> None:
    assert WIRE.params("/2015-03-31/functions/echo/configuration", {}, {}, b"") is None
