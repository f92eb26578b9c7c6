"""IAM's input validation, from botocore's model of each operation's input: lengths,
patterns, enums and ranges, every failure collected into one ``ValidationError`` worded as
AWS's validator words it ("1 validation error detected: Value 'a b' at 'roleName' failed to
satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lamina.api.model_constraints import ConstraintStyle, ModelConstraints
from lamina.domain.names import validation_message
from lamina.services.iam.errors import ValidationError

# IAM's validator: no required-member check here (the service words those), enums alone,
# a number's lower bound first, Java's Unicode classes in patterns, and documents (long;
# Java prints them anyway, but a policy is not worth echoing) not printed.
IAM_STYLE = ConstraintStyle(
    required_members=False,
    indexed_items=True,
    enum_first=True,
    min_first=True,
    java_patterns=True,
    quiet=frozenset({"policyDocument", "assumeRolePolicyDocument"}),
)


class IamValidator:
    def __init__(self, model: Mapping[str, Any]) -> None:
        self._constraints = ModelConstraints(model["shapes"], IAM_STYLE)
        self._shapes: Mapping[str, Any] = model["shapes"]
        self._operations: Mapping[str, Any] = model["operations"]

    def check(self, operation: str, params: Mapping[str, Any]) -> None:
        spec = self._operations[operation].get("input")
        if not spec:
            return
        errors = self._constraints.errors(params, self._shapes[spec["shape"]])
        if errors:
            raise ValidationError(validation_message(errors))
