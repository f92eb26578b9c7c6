"""The JSONPath subset EventBridge takes in ``InputPath`` and ``InputPathsMap``: ``$`` then
any sequence of ``.name``, ``['name']`` (or double quotes) and ``[index]`` steps."""

from __future__ import annotations

import re
from typing import Any, Final

_STEP: Final = re.compile(
    r"""\.(?P<name>[^.\[\]]+)|\[(?P<index>\d+)\]|\['(?P<single>[^']*)'\]|\["(?P<double>[^"]*)"\]"""
)
MISSING: Final = object()

Step = str | int


def parse_path(path: str) -> tuple[Step, ...] | None:
    """The steps of ``path``, or None when it is not in the supported subset."""
    if not path.startswith("$"):
        return None
    steps: list[Step] = []
    position = 1
    while position < len(path):
        match = _STEP.match(path, position)
        if match is None:
            return None
        if match.group("index") is not None:
            steps.append(int(match.group("index")))
        else:
            steps.append(
                match.group("name") or match.group("single") or match.group("double") or ""
            )
        position = match.end()
    return tuple(steps)


def resolve(document: Any, steps: tuple[Step, ...]) -> Any:
    """The value at ``steps`` in ``document``, or ``MISSING``."""
    value = document
    for step in steps:
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return MISSING
            value = value[step]
        else:
            if not isinstance(value, dict) or step not in value:
                return MISSING
            value = value[step]
    return value
