"""InputPath and InputTransformer against the bodies AWS delivered
(tests/fixtures/aws-recorded/events/test_events_inputs): the template is in the test id,
the delivered SQS body in the snapshot."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from lamina.services.events.errors import EventsValidationException
from lamina.services.events.model import InputTransformer, Target
from lamina.services.events.transform import (
    InputNotDeliverable,
    check_target_input,
    render,
    target_payload,
)

RECORDED = Path(__file__).parents[1] / "fixtures/aws-recorded/events"
SNAPSHOT = json.loads((RECORDED / "test_events_inputs.snapshot.json").read_text())
VALIDATED = json.loads((RECORDED / "test_events_inputs.validation.json").read_text())
TIME = "2024-05-01T10:00:00Z"
RULE_ARN = "arn:aws:events:us-east-1:111111111111:rule/bus/my-rule"
EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6ad4e8d4-9b4e-4d55-9c1b-3c1f0b8f0c33",
    "detail-type": "core.update-account-command",
    "source": "core.update-account-command",
    "account": "111111111111",
    "time": TIME,
    "region": "us-east-1",
    "resources": [],
    "detail": {
        "command": "update-account",
        "payload": {"acc_id": "0a787ecb-4015", "sf_id": "baz"},
        "listsingle": ["HIGH"],
        "listmulti": ["ACTIVE", "INACTIVE"],
        "valid": True,
    },
}
NESTED_PATHS = {
    "userId": "$.detail.payload.acc_id",
    "payload": "$.detail.payload",
    "listsingle": "$.detail.listsingle",
    "listmulti": "$.detail.listmulti",
    "systemstring": "$.detail.notthere",
    "valid": "$.detail.valid",
}


def _recorded(test: str) -> list[tuple[str, Any]]:
    """(template from the test id, delivered body) of each validated parametrised case."""
    cases = []
    for test_id, entry in SNAPSHOT.items():
        if f"::{test}[" not in test_id or test_id not in VALIDATED:
            continue
        template = test_id.split("[", 1)[1][:-1].replace("\\n", "\n")
        messages = entry["recorded-content"]["input-transformed-messages"]
        cases.append((template, messages[0]["Body"]))
    return cases


def _normalise(text: str) -> Any:
    """The delivered body as the snapshot shows it (JSON parsed when it is JSON)."""
    text = text.replace(TIME, "date").replace(RULE_ARN, "arn")
    if not text.lstrip().startswith(("{", "[")):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


@pytest.mark.parametrize(
    ("template", "body"), _recorded("test_input_transformer_nested_keys_replacement")
)
def test_templates_render_as_aws_delivered(template: str, body: Any) -> None:
    rendered = render(InputTransformer(NESTED_PATHS, template), EVENT, RULE_ARN, "my-rule")
    assert _normalise(rendered) == body


def test_recorded_cases_are_present() -> None:
    assert len(_recorded("test_input_transformer_nested_keys_replacement")) >= 12


def test_string_template_keeps_its_quotes_and_missing_values_are_empty() -> None:
    paths = {"detail-type": "$.detail-type", "timestamp": "$.time", "command": "$.detail.nope"}
    template = (
        '"Event of <detail-type> type, at time <timestamp>, info extracted from detail <command>"'
    )
    recorded = SNAPSHOT[
        "tests/aws/services/events/test_events_inputs.py::TestInputTransformer::"
        "test_put_events_with_input_transformer_input_template_string"
    ]["recorded-content"]["custom-variables-not-match-all"][0]["Body"]
    assert _normalise(render(InputTransformer(paths, template), EVENT, RULE_ARN, "r")) == recorded


def test_json_template_missing_value_is_empty_string() -> None:
    paths = {"detail-type": "$.detail-type", "timestamp": "$.time", "command": "$.detail.nope"}
    template = '{"detailType": <detail-type>,  "time": <timestamp>, "command": <command>}'
    out = json.loads(render(InputTransformer(paths, template), EVENT, RULE_ARN, "r"))
    assert out == {"detailType": "core.update-account-command", "time": TIME, "command": ""}


def test_reserved_variables() -> None:
    template = '{"originalEvent": <aws.events.event>, "originalEventJson": <aws.events.event.json>}'
    out = json.loads(render(InputTransformer({}, template), EVENT, RULE_ARN, "r"))
    assert out["originalEventJson"] == EVENT
    assert out["originalEvent"]["detailType"] == EVENT["detail-type"]
    assert "detail" not in out["originalEvent"]
    text = render(
        InputTransformer(
            {}, '"<aws.events.rule-arn> <aws.events.rule-name> <aws.events.event.ingestion-time>"'
        ),
        EVENT,
        RULE_ARN,
        "my-rule",
    )
    assert text == f'"{RULE_ARN} my-rule {TIME}"'


def test_unquoted_text_is_not_deliverable() -> None:
    with pytest.raises(InputNotDeliverable):
        render(
            InputTransformer(NESTED_PATHS, "<listsingle> single list item"), EVENT, RULE_ARN, "r"
        )


def _target(**wire: Any) -> Target:
    return Target.from_wire({"Id": "t", "Arn": "arn:aws:sqs:us-east-1:1:q", **wire})


def test_input_path_and_constant_input() -> None:
    text = json.dumps(EVENT)
    assert json.loads(
        target_payload(_target(InputPath="$.detail.payload"), EVENT, text, RULE_ARN, "r") or ""
    ) == {
        "acc_id": "0a787ecb-4015",
        "sf_id": "baz",
    }
    assert (
        target_payload(_target(InputPath="$.detail.payload.sf_id"), EVENT, text, RULE_ARN, "r")
        == '"baz"'
    )
    assert target_payload(_target(InputPath="$.nothing"), EVENT, text, RULE_ARN, "r") is None
    assert target_payload(_target(Input='{"x": 1}'), EVENT, text, RULE_ARN, "r") == '{"x": 1}'
    assert target_payload(_target(), EVENT, text, RULE_ARN, "r") == text


def _error(target: dict[str, Any]) -> str:
    with pytest.raises(EventsValidationException) as caught:
        check_target_input({"Id": "target-id", "Arn": "arn", **target})
    return caught.value.message


def test_validation_errors_as_recorded() -> None:
    recorded = {
        entry["recorded-content"][key]["Error"]["Message"].replace("<target-id>", "target-id")
        for entry in SNAPSHOT.values()
        for key in entry["recorded-content"]
        if key in ("missing-key-exception-error", "duplicated-input-operations-error")
    }
    got = {
        _error({"InputPath": "$.detail", "InputTransformer": {"InputTemplate": '"x"'}}),
        _error(
            {
                "InputTransformer": {
                    "InputPathsMap": {"a": "$.detail"},
                    "InputTemplate": '{"a": <a>, "b": <notdefinedkey>}',
                }
            }
        ),
    }
    assert got == recorded
    assert re.search("InputPath", _error({"InputPath": "detail"}))
