"""The ``Condition`` element: every operator of the IAM grammar, compiled once.

IAM User Guide, reference_policies_elements_condition_operators and
reference_policies_condition-single-vs-multi-valued-context-keys:

- blocks and keys AND together; several values of one key OR together, except for negated
  operators (``StringNotEquals``, ``NotIpAddress``...) whose values NOR together;
- a key absent from the request makes a condition false, except for negated operators (true),
  ``...IfExists`` (true) and ``Null`` (which tests presence);
- ``ForAllValues:`` holds when every request value matches (so also when the key is absent or
  empty); ``ForAnyValue:`` when at least one does (false when absent);
- key names ignore case, values are compared as the operator says;
- policy variables are resolved in string and ARN operators' values (version 2012-10-17).

An operator of the numeric, date, Boolean, binary or IP family applied to a key whose type is
another (``NumericLessThan`` on ``aws:SourceAccount``, a string) never matches, nor does an
operator IAM does not define (the grammar validator rejects both before they are stored).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from lamina.domain.iam_policy import patterns
from lamina.domain.iam_policy.patterns import Pattern, Unresolved, Values

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}
_NEGATIONS = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}
_STRING = ("StringEquals", "StringEqualsIgnoreCase", "StringLike")
_ARN = ("ArnEquals", "ArnLike")
_TYPED = {
    **{f"Numeric{name}": "numeric" for name in _ORDER},
    **{f"Date{name}": "date" for name in _ORDER},
    "Bool": "bool",
    "BinaryEquals": "binary",
    "IpAddress": "ip",
}
BASE_OPERATORS = frozenset((*_STRING, *_ARN, *_TYPED, *_NEGATIONS, "Null"))
QUALIFIERS = ("ForAnyValue", "ForAllValues")

# Types of well-known keys (reference_policies_condition-keys, service authorization
# reference for Lambda, SQS, SNS, EventBridge); a typed operator must agree.
_KEY_TYPES = {
    "aws:currenttime": {"date"},
    "aws:epochtime": {"date", "numeric"},
    "aws:tokenissuetime": {"date"},
    "aws:multifactorauthage": {"numeric"},
    "aws:securetransport": {"bool"},
    "aws:multifactorauthpresent": {"bool"},
    "aws:viaawsservice": {"bool"},
    "aws:principalisawsservice": {"bool"},
    "lambda:invokedviafunctionurl": {"bool"},
    "aws:sourceip": {"ip"},
    **{
        key: set()
        for key in (
            "aws:sourceaccount", "aws:sourcearn", "aws:principalarn", "aws:principalaccount",
            "aws:principalorgid", "aws:principaltype", "aws:username", "aws:userid",
            "aws:requestedregion", "aws:sourcevpc", "aws:sourcevpce", "aws:sourceowner",
            "aws:principalservicename", "aws:tagkeys", "lambda:functionurlauthtype",
            "lambda:eventsourcetoken", "lambda:functionarn", "lambda:principal",
            "iam:passedtoservice",
        )
    },
}  # fmt: skip


def split_operator(operator: str) -> tuple[str | None, str, bool] | None:
    """``ForAnyValue:StringLikeIfExists`` -> (qualifier, base, if_exists); None if IAM has no
    such operator."""
    qualifier, colon, rest = operator.partition(":")
    if not colon:
        qualifier, rest = "", operator
    elif qualifier not in QUALIFIERS:
        return None
    if_exists = rest.endswith("IfExists") and rest != "IfExists"
    base = rest[: -len("IfExists")] if if_exists else rest
    if base not in BASE_OPERATORS or (base == "Null" and (if_exists or qualifier)):
        return None
    return (qualifier or None), base, if_exists


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_date(text: str) -> float | None:
    """Epoch seconds of an ISO 8601 date/time or an epoch number (IAM's date values)."""
    text = text.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text)
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _number(text: str) -> Decimal | None:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _binary(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _ip_in(network_text: str, address_text: str) -> bool:
    try:
        network = ipaddress.ip_network(network_text.strip(), strict=False)
        address = ipaddress.ip_address(address_text.strip())
    except ValueError:
        return False
    return address.version == network.version and address in network


class Condition:
    """One key of one operator block: ``{"StringLike": {"aws:SourceArn": [...]}}``."""

    __slots__ = (
        "operator", "name", "key", "qualifier", "base", "if_exists", "negated", "_values",
        "_typed_ok", "_exact",
    )  # fmt: skip

    def __init__(self, operator: str, key: str, raw: Any, *, variables: bool) -> None:
        parts = split_operator(operator)
        if parts is None:
            raise ValueError(operator)
        self.operator = operator
        self.name = key
        self.key = key.lower()
        self.qualifier, base, self.if_exists = parts
        self.negated = base in _NEGATIONS
        self.base = _NEGATIONS.get(base, base)
        items = raw if isinstance(raw, list) else [raw]
        if not all(isinstance(item, str | int | float | bool) for item in items):
            raise ValueError(key)
        mode: patterns.Mode = "arn" if self.base in _ARN else "text"
        uses_variables = variables and self.base in (*_STRING, *_ARN)
        self._values = tuple(
            Pattern(_scalar(item), mode, variables=uses_variables) for item in items
        )
        family = _TYPED.get(self.base)
        allowed = _KEY_TYPES.get(self.key)
        self._typed_ok = family is None or allowed is None or family in allowed
        # Plain equality without variables: a set look-up.
        self._exact: frozenset[str] | None = None
        if self.base == "Bool":
            self._exact = frozenset(p.text.lower() for p in self._values)
        elif self.base == "StringEquals" and not any(p.static is None for p in self._values):
            self._exact = frozenset(p.text for p in self._values)

    def holds(self, context: Values) -> bool:
        """Whether the condition holds for ``context`` (lower-case keys; raises
        ``Unresolved`` for a policy variable without value)."""
        given = context.get(self.key)
        if self.base == "Null":
            present = bool(given)
            return all((v.text.lower() == "true") != present for v in self._values)
        if given is None:
            if self.qualifier is not None:
                return self.if_exists or self.qualifier == "ForAllValues"
            return self.if_exists or self.negated
        if not self._typed_ok:
            return False
        if self.qualifier == "ForAllValues":
            return all(self._one(value, context) for value in given)
        if self.qualifier == "ForAnyValue":
            return any(self._one(value, context) for value in given)
        if self.negated:
            return not any(self._matches(value, context) for value in given)
        return any(self._matches(value, context) for value in given)

    def _one(self, value: str, context: Values) -> bool:
        """A set operator's test of one request value."""
        return self._matches(value, context) != self.negated

    def _matches(self, value: str, context: Values) -> bool:
        """Whether the request value matches one of the policy values (before negation)."""
        if self._exact is not None:
            return (value.lower() if self.base == "Bool" else value) in self._exact
        return any(self._compare(pattern, value, context) for pattern in self._values)

    def _compare(self, pattern: Pattern, value: str, context: Values) -> bool:
        base = self.base
        if base == "StringEquals":
            return patterns.as_text(pattern.tokens, context) == value
        if base == "StringEqualsIgnoreCase":
            return patterns.as_text(pattern.tokens, context).casefold() == value.casefold()
        if base in ("StringLike", "ArnEquals", "ArnLike"):
            return pattern.matches(value, context)
        if base == "Bool":
            return pattern.text.lower() == value.lower()
        if base == "IpAddress":
            return _ip_in(pattern.text, value)
        if base == "BinaryEquals":
            wanted = _binary(pattern.text)
            return wanted is not None and wanted == _binary(value)
        return self._ordered(base, pattern.text, value)

    @staticmethod
    def _ordered(base: str, wanted_text: str, value: str) -> bool:
        parse: Callable[[str], Any] = _number if base.startswith("Numeric") else parse_date
        wanted, actual = parse(wanted_text), parse(value)
        if wanted is None or actual is None:
            return False
        compare = _ORDER[base.removeprefix("Numeric").removeprefix("Date")]
        return compare(actual, wanted)


def compile_conditions(element: Any, *, variables: bool) -> tuple[Condition, ...] | None:
    """The conditions of a statement's ``Condition`` element (None: malformed)."""
    if element is None:
        return ()
    if not isinstance(element, Mapping):
        return None
    out: list[Condition] = []
    try:
        for operator, block in element.items():
            if not isinstance(block, Mapping):
                return None
            for key, raw in block.items():
                out.append(Condition(str(operator), str(key), raw, variables=variables))
    except ValueError:
        return None
    return tuple(out)


def conditions_hold(conditions: Sequence[Condition], context: Values) -> bool:
    """All conditions hold (a policy variable without value: they do not)."""
    try:
        return all(condition.holds(context) for condition in conditions)
    except Unresolved:
        return False
