"""Subscription filter policies: validated and matched by ``lamina.domain.event_pattern``
in its ``sns`` dialect. This module adds SNS's views of a message (its attributes as a flat
object, or its JSON body) and SNS's error wording."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from lamina.domain.event_pattern import EventPattern, InvalidEventPattern, compile_pattern
from lamina.services.sns.errors import InvalidParameter, invalid_parameter
from lamina.services.topic_ports import TopicAttribute

ATTRIBUTES_SCOPE = "MessageAttributes"
BODY_SCOPE = "MessageBody"
SCOPES = (ATTRIBUTES_SCOPE, BODY_SCOPE)
# AWS: a filter policy is at most 256 KB.
MAX_POLICY_BYTES = 256 * 1024

_SOURCE = re.compile(r'\[Source: \(String\)".*"; line', re.DOTALL)
_REDACTED = "[Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line"


def json_parse_error(text: str) -> str | None:
    """SNS's wording of why ``text`` is not JSON (None when it is): the JSON reader's
    message, with the source left out of its location as SNS does for unparseable text."""
    try:
        json.loads(text)
    except ValueError:
        pass
    else:
        return None
    try:
        compile_pattern(text, dialect="sns")
    except InvalidEventPattern as exc:
        return "failed to parse JSON. " + _SOURCE.sub(_REDACTED, exc.raw_message)
    return "failed to parse JSON."


@lru_cache(maxsize=4096)
def compiled(policy: str) -> EventPattern:
    """The compiled policy (cached: policies are validated when set, so this never raises
    for a stored one)."""
    return compile_pattern(policy, dialect="sns")


def check_policy(policy: str, scope: str, prefix: str) -> None:
    """Validate a filter policy for ``scope``; errors read ``Invalid parameter: <prefix>
    FilterPolicy: <reason>``."""
    if len(policy.encode()) > MAX_POLICY_BYTES:
        raise invalid_parameter(f"{prefix}FilterPolicy: Filter policy is too long")
    parse_error = json_parse_error(policy)
    if parse_error is not None:
        raise invalid_parameter(f"{prefix}FilterPolicy: {parse_error}")
    try:
        compiled(policy)
    except InvalidEventPattern as exc:
        raise invalid_parameter(f"{prefix}FilterPolicy: {exc.raw_message}") from None
    if scope == ATTRIBUTES_SCOPE and _nested(json.loads(policy)):
        raise InvalidParameter(
            "Invalid parameter: Filter policy scope MessageAttributes does not support "
            "nested filter policy"
        )


def _nested(policy: Any) -> bool:
    if not isinstance(policy, dict):
        return False
    for key, value in policy.items():
        if key == "$or" and isinstance(value, list):
            if any(_nested(branch) for branch in value):
                return True
        elif isinstance(value, dict):
            return True
    return False


def string_array(value: str) -> list[Any] | None:
    """A ``String.Array`` attribute's values, or None when AWS deems it invalid: it must be
    a JSON array of strings, numbers, ``true``, ``false`` and ``null`` (no nested arrays or
    objects)."""
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        return None
    if not isinstance(parsed, list):
        return None
    if any(isinstance(item, (list, dict)) for item in parsed):
        return None
    return parsed


def attribute_view(attributes: dict[str, TopicAttribute]) -> dict[str, Any] | None:
    """A message's attributes as the object an attribute-scope policy reads: ``String``
    values as strings, ``Number`` as numbers, ``String.Array`` as arrays; ``Binary``
    attributes are not compared. None when a ``String.Array`` is not a valid array: AWS
    publishes such a message but every attribute-scope filter policy filters it out
    (counted as ``NumberOfNotificationsFilteredOut-InvalidAttributes``)."""
    view: dict[str, Any] = {}
    for name, attribute in attributes.items():
        kind = attribute.data_type.split(".", 1)[0]
        if attribute.data_type.startswith("String.Array"):
            values = string_array(attribute.value)
            if values is None:
                return None
            view[name] = values
        elif kind == "Number":
            try:
                view[name] = json.loads(attribute.value)
            except ValueError:
                view[name] = attribute.value
        elif kind == "String":
            view[name] = attribute.value
    return view


def matches(
    policy: str | None,
    scope: str | None,
    message: str,
    attributes: dict[str, TopicAttribute],
) -> bool:
    """Whether a message passes a subscription's filter policy (no policy: it does)."""
    if not policy:
        return True
    pattern = compiled(policy)
    if scope == BODY_SCOPE:
        try:
            body = json.loads(message)
        except ValueError:
            return False
        return isinstance(body, dict) and pattern.matches(body)
    view = attribute_view(attributes)
    return view is not None and pattern.matches(view)
