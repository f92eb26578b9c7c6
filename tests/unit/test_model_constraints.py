"""The one model-constraint engine (``api.model_constraints``) in each service's style: the
wording and order of the failures Lambda (and KMS), IAM and Scheduler answer."""

from __future__ import annotations

from typing import Any

from lamina.api.iam_validation import IAM_STYLE
from lamina.api.lambda_unsupported_api import LAMBDA_STYLE
from lamina.api.model_constraints import ConstraintStyle, ModelConstraints

SHAPES: dict[str, Any] = {
    "Input": {
        "type": "structure",
        "required": ["Name"],
        "members": {
            "Name": {"shape": "Name"},
            "Mode": {"shape": "Mode"},
            "Size": {"shape": "Size"},
            "Tags": {"shape": "Tags"},
            "PolicyDocument": {"shape": "Document"},
            "Label": {"shape": "Label"},
        },
    },
    "Name": {"type": "string", "min": 1, "max": 5, "pattern": "[a-z]+"},
    "Mode": {"type": "string", "max": 3, "enum": ["On", "Off"]},
    "Size": {"type": "integer", "min": 10, "max": 5},  # both bounds fail for 7
    "Tags": {"type": "list", "max": 1, "member": {"shape": "Name"}},
    "Document": {"type": "string", "max": 3},
    "Label": {"type": "string", "pattern": "[\\p{L}]+"},
}
INPUT = SHAPES["Input"]


def errors(style: ConstraintStyle, value: dict[str, Any]) -> list[str]:
    return ModelConstraints(SHAPES, style).errors(value, INPUT)


def test_lambda_style() -> None:
    found = errors(LAMBDA_STYLE, {"Mode": "Maybe", "Size": 7, "Tags": ["ok", "BAD"], "Label": "é"})
    assert found == [
        "Value null at 'name' failed to satisfy constraint: Member must not be null",
        # lengths, then the enum: each checked
        "Value 'Maybe' at 'mode' failed to satisfy constraint: Member must have length less "
        "than or equal to 3",
        "Value 'Maybe' at 'mode' failed to satisfy constraint: Member must satisfy enum value "
        "set: [On, Off]",
        # the upper bound first
        "Value '7' at 'size' failed to satisfy constraint: Member must have value less than "
        "or equal to 5",
        "Value '7' at 'size' failed to satisfy constraint: Member must have value greater "
        "than or equal to 10",
        "Value '[ok, BAD]' at 'tags' failed to satisfy constraint: Member must have length "
        "less than or equal to 1",
        # an item under the list's own name
        "Value 'BAD' at 'tags' failed to satisfy constraint: Member must satisfy regular "
        "expression pattern: [a-z]+",
    ]  # \p{L} is no Python class: the Label pattern is not checked


def test_iam_style() -> None:
    found = errors(
        IAM_STYLE,
        {
            "Mode": "Maybe",
            "Size": 7,
            "Tags": ["ok", "BAD"],
            "PolicyDocument": "long",
            "Label": "a b",
        },
    )
    assert found == [
        # no required-member check; the enum alone
        "Value 'Maybe' at 'mode' failed to satisfy constraint: Member must satisfy enum value "
        "set: [On, Off]",
        # the lower bound first
        "Value '7' at 'size' failed to satisfy constraint: Member must have value greater "
        "than or equal to 10",
        "Value '7' at 'size' failed to satisfy constraint: Member must have value less than "
        "or equal to 5",
        "Value '[ok, BAD]' at 'tags' failed to satisfy constraint: Member must have length "
        "less than or equal to 1",
        # an item by its index
        "Value 'BAD' at 'tags.2.member' failed to satisfy constraint: Member must satisfy "
        "regular expression pattern: [a-z]+",
        # a document's value is not printed
        "Value at 'policyDocument' failed to satisfy constraint: Member must have length less "
        "than or equal to 3",
        # Java's \p{L}: a letter (as Python's \w)
        "Value 'a b' at 'label' failed to satisfy constraint: Member must satisfy regular "
        "expression pattern: [\\p{L}]+",
    ]
    assert errors(IAM_STYLE, {"Label": "é"}) == []


def test_scheduler_style() -> None:
    found = errors(ConstraintStyle(), {"Mode": "Maybe", "Size": 7, "Tags": ["BAD"]})
    assert found == [
        "Value null at 'name' failed to satisfy constraint: Member must not be null",
        "Value 'Maybe' at 'mode' failed to satisfy constraint: Member must satisfy enum value "
        "set: [On, Off]",
        "Value '7' at 'size' failed to satisfy constraint: Member must have value less than "
        "or equal to 5",
        "Value '7' at 'size' failed to satisfy constraint: Member must have value greater "
        "than or equal to 10",
        "Value 'BAD' at 'tags.1.member' failed to satisfy constraint: Member must satisfy "
        "regular expression pattern: [a-z]+",
    ]


def test_valid_input_and_values_of_another_type_pass() -> None:
    assert errors(LAMBDA_STYLE, {"Name": "abc", "Mode": "On", "Size": None}) == []
    assert errors(ConstraintStyle(), {"Name": "abc", "Size": "7", "Tags": "x"}) == []
