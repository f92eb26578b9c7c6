"""FilterCriteria: up to five event patterns, ORed, over each record (``sqs_records.filter_view``).

Compiled once per mapping (create, update, start). Any pattern that is not a JSON object in
the event-pattern language fails the whole request with Lambda's recorded 400
``InvalidParameterValueException`` "Invalid filter pattern definition." (no reason text:
``null``, a bare string, a string leaf and an empty array were recorded).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from lamina.domain.errors import InvalidParameterValueException
from lamina.domain.event_pattern import EventPattern, InvalidEventPattern, compile_pattern
from lamina.domain.event_source_mapping import INVALID_FILTER


class RecordFilter:
    """Whether a record passes a mapping's FilterCriteria (no patterns: every record does)."""

    def __init__(self, patterns: Sequence[EventPattern]) -> None:
        self._patterns = tuple(patterns)

    @property
    def active(self) -> bool:
        return bool(self._patterns)

    def matches(self, view: Mapping[str, Any]) -> bool:
        if not self._patterns:
            return True
        return any(pattern.matches(view) for pattern in self._patterns)


def compile_filters(patterns: Sequence[str]) -> RecordFilter:
    """Compile each ``Pattern`` string; ``InvalidParameterValueException`` for any bad one."""
    compiled: list[EventPattern] = []
    for text in patterns:
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            raise InvalidParameterValueException(INVALID_FILTER) from None
        if not isinstance(document, dict):
            raise InvalidParameterValueException(INVALID_FILTER)
        try:
            compiled.append(compile_pattern(text, dialect="lambda"))
        except InvalidEventPattern:
            raise InvalidParameterValueException(INVALID_FILTER) from None
    return RecordFilter(compiled)
