"""Where each statement of a policy document's text begins and ends (the simulator's
``StartPosition``/``EndPosition``).

Positions are 1-based lines, and the column just after the statement's opening and closing
brace, as IAM reports them: for ``{"Version": "2012-10-17", "Statement": {...}}`` on one
line, the statement starting at the 40th character is reported at column 41
(recorded: shared aws-recorded iam test_simulate_principle_policy).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    start_line: int
    start_column: int
    end_line: int
    end_column: int


def statement_spans(text: str) -> list[Span]:
    """One span per statement, in order; [] when the text has no ``Statement`` element."""
    offsets = _statement_offsets(text)
    return [Span(*_position(text, start), *_position(text, end)) for start, end in offsets]


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    line_start = text.rfind("\n", 0, offset) + 1
    return line, offset - line_start + 2


def _statement_offsets(text: str) -> list[tuple[int, int]]:
    """Offsets of the opening and closing brace of each statement."""
    spans: list[tuple[int, int]] = []
    stack: list[str] = []  # "{" or "[" per open container
    statement_depth = 0  # depth of the Statement objects, once the element is found
    opened: list[tuple[int, int]] = []  # (offset, depth) of open statements
    last_string = ""
    index = 0
    while index < len(text):
        char = text[index]
        if char == '"':
            end = _string_end(text, index)
            last_string = text[index + 1 : end]
            index = end
        elif char in "{[":
            if not statement_depth and len(stack) == 1 and last_string == "Statement":
                statement_depth = 2 if char == "{" else 3
            stack.append(char)
            if char == "{" and statement_depth == len(stack):
                opened.append((index, len(stack)))
        elif char in "}]":
            if char == "}" and opened and opened[-1][1] == len(stack):
                spans.append((opened.pop()[0], index))
            if stack:
                stack.pop()
        elif char == ",":
            last_string = ""
        index += 1
    return spans


def _string_end(text: str, start: int) -> int:
    index = start + 1
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == '"':
            return index
        index += 1
    return len(text)
