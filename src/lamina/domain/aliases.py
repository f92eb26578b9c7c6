"""Aliases: the model of one alias, its wire form, and the validation of alias requests.

An alias names one published version (or ``$LATEST``) of a function and may route a share of
its invocations to one additional published version (``RoutingConfig.AdditionalVersionWeights``,
``{"<version>": <weight 0.0-1.0>}``): an invocation goes to the additional version with that
probability, to the primary one otherwise.

Validation follows the service's order: shape validation (ValidationException listing every
failed member constraint) first, then the service rules one at a time
(InvalidParameterValueException), then existence checks (done by the service, which has the
data). Messages are AWS's as recorded (shared/aws-recorded/lambda, TestLambdaAlias); the ones
marked *unverified* are not in any recording. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lamina.domain.arns import function_arn
from lamina.domain.errors import (
    InvalidParameterValueException,
    ResourceConflictException,
    ResourceNotFoundException,
    UntypedInvalidParameterValueException,
)
from lamina.domain.names import (
    ALIAS_PATTERN,
    StringShape,
    constraint_error,
    validation_exception,
)

LATEST = "$LATEST"

ALIAS_NAME = StringShape(1, 128, ALIAS_PATTERN)
# The FunctionVersion of CreateAlias/UpdateAlias/ListAliases (botocore's
# VersionWithLatestPublished).
FUNCTION_VERSION = StringShape(1, 1024, r"(\$LATEST(\.PUBLISHED)?|[0-9]+)")
DESCRIPTION = StringShape(0, 256)
ADDITIONAL_VERSION = StringShape(1, 1024, r"[0-9]+")
MAX_ADDITIONAL_VERSIONS = 1

WEIGHTS_MEMBER = "routingConfig.additionalVersionWeights"
_KEY_TEXT = (
    "Map keys must satisfy constraint: [Member must have length less than or equal to 1024, "
    "Member must have length greater than or equal to 1, Member must satisfy regular expression "
    "pattern: [0-9]+]"
)
_VALUE_TEXT = (
    "Map value must satisfy constraint: [Member must have value less than or equal to 1.0, "
    "Member must have value greater than or equal to 0.0, Member must not be null]"
)


@dataclass(frozen=True)
class Alias:
    """One alias of a function. ``weights``: the additional version and its share (at most one
    entry); empty when the alias routes everything to ``function_version``."""

    function_name: str
    name: str
    function_version: str
    region: str
    account: str
    revision_id: str
    description: str = ""
    weights: dict[str, float] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return function_arn(self.region, self.account, self.function_name, self.name)

    @property
    def versions(self) -> tuple[str, ...]:
        """Every version the alias may invoke: the primary one first."""
        return (self.function_version, *self.weights)

    def replace(self, **changes: Any) -> Alias:
        return dataclasses.replace(self, **changes)

    def to_wire(self) -> dict[str, Any]:
        """The AliasConfiguration shape; ``RoutingConfig`` only when it routes somewhere."""
        out: dict[str, Any] = {
            "AliasArn": self.arn,
            "Name": self.name,
            "FunctionVersion": self.function_version,
            "Description": self.description,
        }
        if self.weights:
            out["RoutingConfig"] = {"AdditionalVersionWeights": dict(self.weights)}
        out["RevisionId"] = self.revision_id
        return out

    def to_record(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Alias:
        known = {f.name for f in dataclasses.fields(cls)}
        data = {k: v for k, v in record.items() if k in known}
        data["weights"] = {str(k): float(v) for k, v in (data.get("weights") or {}).items()}
        return cls(**data)


def is_version_number(qualifier: str) -> bool:
    return qualifier.isascii() and qualifier.isdigit()


_ALIAS_NAME = re.compile(ALIAS_PATTERN, re.ASCII)


def is_alias_name(qualifier: str) -> bool:
    """Whether a qualifier (already shape-checked) can only name an alias."""
    return _ALIAS_NAME.fullmatch(qualifier) is not None


# --- validation ----------------------------------------------------------------------------


def _render_weights(weights: Mapping[str, Any]) -> str:
    """A weights map as the service's (Java) validator prints it: ``{2=0.5}``."""
    parts = []
    for key, value in weights.items():
        shown = float(value) if isinstance(value, (int, float)) else value
        parts.append(f"{key}={shown}")
    return "{" + ", ".join(parts) + "}"


def _weight_ok(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return not math.isnan(value) and 0.0 <= value <= 1.0


def weights_of(params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The request's ``RoutingConfig.AdditionalVersionWeights`` (``{}`` when RoutingConfig is
    given without weights), or None when the request has no RoutingConfig."""
    routing = params.get("RoutingConfig")
    if routing is None:
        return None
    if not isinstance(routing, Mapping):
        return {}
    weights = routing.get("AdditionalVersionWeights")
    return dict(weights) if isinstance(weights, Mapping) else {}


def alias_shape_errors(params: Mapping[str, Any], *, create: bool) -> list[str]:
    """Shape validation of CreateAlias (``create``) / UpdateAlias: every failed constraint of
    ``Name``, ``FunctionVersion``, ``Description`` and the routing weights, in the model's
    member order. (``FunctionName``'s come first; see ``names.function_name_errors``.)"""
    errors = alias_name_errors(params.get("Name"))
    version = params.get("FunctionVersion")
    if version is None and create:
        errors.append(constraint_error("functionVersion", None, "Member must not be null"))
    elif isinstance(version, str):
        errors += FUNCTION_VERSION.errors("functionVersion", version)
    description = params.get("Description")
    if isinstance(description, str):
        errors += DESCRIPTION.errors("description", description)
    weights = weights_of(params) or {}
    rendered = _render_weights(weights)
    head = f"Value '{rendered}' at '{WEIGHTS_MEMBER}' failed to satisfy constraint: "
    if any(ADDITIONAL_VERSION.failed(key) for key in weights):
        errors.append(head + _KEY_TEXT)
    if not all(_weight_ok(value) for value in weights.values()):
        errors.append(head + _VALUE_TEXT)
    return errors


def alias_name_errors(name: Any) -> list[str]:
    if name is None:
        return [constraint_error("name", None, "Member must not be null")]
    return ALIAS_NAME.errors("name", name) if isinstance(name, str) else []


def validate_alias_name(name: Any) -> str:
    """The ``{Name}`` of GetAlias/DeleteAlias (and UpdateAlias before its body)."""
    errors = alias_name_errors(name)
    if errors:
        raise validation_exception(errors)
    return str(name)


def validate_function_version_filter(version: Any) -> None:
    """ListAliases' ``FunctionVersion`` query parameter."""
    if isinstance(version, str):
        errors = FUNCTION_VERSION.errors("functionVersion", version)
        if errors:
            raise validation_exception(errors)


def check_routing(function_version: str, weights: Mapping[str, float]) -> None:
    """The service rules of a (merged) alias target, after shape validation. Existence of the
    versions is checked afterwards, by the caller."""
    if len(weights) > MAX_ADDITIONAL_VERSIONS:
        raise InvalidParameterValueException(
            "Number of items in AdditionalVersionWeights cannot be greater than "
            f"{MAX_ADDITIONAL_VERSIONS}"
        )
    if function_version in weights:
        raise InvalidParameterValueException(
            f"Invalid function version {function_version}. Function version {function_version}"
            " is already included in routing configuration."
        )
    if weights and function_version == LATEST:
        raise UntypedInvalidParameterValueException(
            "$LATEST is not supported for an alias pointing to more than 1 version"
        )


# --- errors ----------------------------------------------------------------------------------


def alias_not_found(alias_arn: str) -> ResourceNotFoundException:
    """GetAlias (recorded: test_notfound_and_invalid_routingconfigs)."""
    return ResourceNotFoundException(f"Cannot find alias arn: {alias_arn}")


def alias_not_found_for_update(alias_arn: str) -> ResourceNotFoundException:
    """UpdateAlias (recorded: test_non_existent_alias_update)."""
    return ResourceNotFoundException(f"Alias not found: {alias_arn}")


def alias_exists(alias_arn: str) -> ResourceConflictException:
    return ResourceConflictException(f"Alias already exists: {alias_arn}")


def version_in_use(aliases: list[str]) -> ResourceConflictException:
    """DeleteFunction of a version an alias routes to (the wording AWS users quote; the order
    of several names is unverified: Lamina lists them sorted)."""
    return ResourceConflictException(
        "Unable to delete version because the following aliases reference it: "
        f"[{', '.join(sorted(aliases))}]"
    )
