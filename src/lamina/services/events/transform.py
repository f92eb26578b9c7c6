"""What a target receives: the event, a constant ``Input``, the value at ``InputPath``, or an
``InputTransformer``'s template filled in (AWS's rules, recorded in
``test_events_inputs``):

- a placeholder inside a JSON string is replaced by the value's text: strings as they are,
  objects and arrays in AWS's unquoted form (``{acc_id:0a78,sf_id:baz}``, ``[A,B]``);
- a placeholder outside strings is replaced by the value as JSON (a string gets quotes);
- a variable whose path matched nothing renders as the empty string (``""`` outside strings);
- the reserved variables are ``aws.events.rule-arn``, ``aws.events.rule-name``,
  ``aws.events.event.ingestion-time``, ``aws.events.event`` (the event without ``detail``,
  ``detailType`` camel-cased) and ``aws.events.event.json`` (the whole event);
- the result is delivered verbatim when it is JSON or lines of quoted strings (a string
  template keeps its quotes); anything else cannot be delivered (``InputNotDeliverable``).

Values are not escaped, as on AWS.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from lamina.services.events.errors import EventsValidationException
from lamina.services.events.json_path import MISSING, parse_path, resolve
from lamina.services.events.model import InputTransformer, Target

PLACEHOLDER: Final = re.compile(r"<([A-Za-z0-9_.\-]+)>")
RESERVED: Final = frozenset(
    {
        "aws.events.rule-arn",
        "aws.events.rule-name",
        "aws.events.event.ingestion-time",
        "aws.events.event",
        "aws.events.event.json",
    }
)
MAX_PATHS: Final = 100
_KEY: Final = re.compile(r"[A-Za-z0-9_\-]+")


class InputNotDeliverable(Exception):
    """The transformed input is neither JSON nor quoted text: AWS does not deliver it."""


def check_target_input(target: dict[str, Any]) -> None:
    """PutTargets' checks of one target's input members (ValidationException as AWS)."""
    target_id = target["Id"]
    given = [m for m in ("Input", "InputPath", "InputTransformer") if target.get(m) is not None]
    if len(given) > 1:
        raise EventsValidationException(
            f"Only one of Input, InputPath, or InputTransformer must be provided for target "
            f"{target_id}."
        )
    if target.get("Input") is not None:
        try:
            json.loads(target["Input"])
        except ValueError:
            raise EventsValidationException(
                f"Input for target {target_id} is not a valid JSON text."
            ) from None
    if target.get("InputPath") is not None and parse_path(target["InputPath"]) is None:
        raise EventsValidationException(
            f"InputPath for target {target_id} is not a valid JSON path."
        )
    transformer = target.get("InputTransformer")
    if transformer is not None:
        _check_transformer(target_id, transformer)


def _check_transformer(target_id: str, transformer: dict[str, Any]) -> None:
    paths: dict[str, str] = transformer.get("InputPathsMap") or {}
    if len(paths) > MAX_PATHS:
        raise EventsValidationException(
            f"InputPathsMap for target {target_id} has more than {MAX_PATHS} entries."
        )
    for key, path in paths.items():
        if key in RESERVED or not _KEY.fullmatch(key):
            raise EventsValidationException(
                f"InputPathsMap for target {target_id} contains invalid key {key}."
            )
        if parse_path(path) is None:
            raise EventsValidationException(
                f"InputPathsMap for target {target_id} contains invalid path {path}."
            )
    for name in PLACEHOLDER.findall(transformer["InputTemplate"]):
        if name not in paths and name not in RESERVED:
            raise EventsValidationException(
                f"InputTemplate for target {target_id} contains invalid placeholder {name}."
            )


def target_payload(
    target: Target, event: dict[str, Any], event_text: str, rule_arn: str, rule_name: str
) -> str | None:
    """The text delivered to ``target`` for ``event`` (``event_text``: its JSON); None when
    ``InputPath`` selects nothing (nothing is delivered). Raises InputNotDeliverable."""
    if target.input is not None:
        return target.input
    if target.input_path is not None:
        steps = parse_path(target.input_path) or ()
        value = resolve(event, steps)
        return None if value is MISSING else json.dumps(value)
    if target.transformer is not None:
        return render(target.transformer, event, rule_arn, rule_name)
    return event_text


def render(
    transformer: InputTransformer, event: dict[str, Any], rule_arn: str, rule_name: str
) -> str:
    """Fill in the template for ``event``."""
    values = _variables(transformer, event, rule_arn, rule_name)
    out: list[str] = []
    template = transformer.template
    in_string = False
    position = 0
    while position < len(template):
        char = template[position]
        if char == "\\" and in_string:
            out.append(template[position : position + 2])
            position += 2
            continue
        if char == '"':
            in_string = not in_string
        elif char == "<":
            match = PLACEHOLDER.match(template, position)
            if match is not None and match.group(1) in values:
                value = values[match.group(1)]
                out.append(_in_string(value) if in_string else _as_json(value))
                position = match.end()
                continue
        out.append(char)
        position += 1
    text = "".join(out)
    if not _deliverable(text):
        raise InputNotDeliverable(text)
    return text


def _variables(
    transformer: InputTransformer, event: dict[str, Any], rule_arn: str, rule_name: str
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, path in transformer.paths.items():
        value = resolve(event, parse_path(path) or ())
        values[key] = MISSING if value is MISSING else value
    values["aws.events.rule-arn"] = rule_arn
    values["aws.events.rule-name"] = rule_name
    values["aws.events.event.ingestion-time"] = event.get("time")
    values["aws.events.event"] = {
        "id": event.get("id"),
        "account": event.get("account"),
        "detailType": event.get("detail-type"),
        "time": event.get("time"),
        "source": event.get("source"),
        "region": event.get("region"),
        "resources": event.get("resources"),
        "version": event.get("version"),
    }
    values["aws.events.event.json"] = event
    return values


def _in_string(value: Any) -> str:
    if value is MISSING:
        return ""
    if isinstance(value, str):
        return value
    return _bare(value)


def _bare(value: Any) -> str:
    """AWS's unquoted rendering of a value inside a string."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_bare(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_bare(v) for v in value) + "]"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _as_json(value: Any) -> str:
    if value is MISSING:
        return '""'
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _deliverable(text: str) -> bool:
    try:
        json.loads(text)
        return True
    except ValueError:
        pass
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return bool(lines) and all(
        len(line) >= 2 and line[0] == '"' and line[-1] == '"' for line in lines
    )
