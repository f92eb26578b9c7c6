"""The ``wildcard`` operator: parsing, linear-time matching, and AWS's complexity limit.

Syntax: ``*`` matches any run of characters (``/`` included, the empty run too); ``\\*`` is a
literal star and ``\\\\`` a literal backslash; any other backslash, and two stars in a row,
are errors. Error positions count UTF-8 bytes of the value *as AWS quotes it* (an opening
``"`` first), which is why ``a**`` reports "pos 2".

Matching never backtracks: the literal runs between stars are found left to right with
``str.find`` (leftmost placement is always safe for ``*``), so a value of length n costs
O(n * runs) at worst.

Complexity: AWS refuses rules whose wildcards could keep many partial matches alive at
once ("Rule is too complex ..."). ``complexity`` measures, over every input, the largest
number of positions of the field's wildcard patterns that an input prefix can leave
active (each position that waits on a star also counts the star it may loop on), by
exploring the subset automaton. ``COMPLEXITY_LIMIT`` is calibrated on AWS's answers: it
rejects ``*:*:*:*:*:event-bus/*`` (19) and four ``*.<ext>`` values on one field (16), and
accepts ``/Users/*/dir/dir/dir/dir/dir/doc.txt`` (9) and ``["*/init/*", "*/dir/*"]`` (14).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

# The largest complexity AWS accepts for the wildcards of one field (see ``complexity``).
COMPLEXITY_LIMIT: Final = 15
# How many input-prefix states the complexity search may visit before it gives up and
# calls the rule too complex (keeps compile time bounded for adversarial patterns).
_SEARCH_BUDGET: Final = 20_000
TOO_COMPLEX: Final = (
    "Rule is too complex - try using fewer wildcard characters or fewer repeating character "
    "sequences after a wildcard character"
)


class WildcardSyntaxError(ValueError):
    """A malformed wildcard value; ``str()`` is AWS's reason."""


@dataclass(frozen=True)
class Wildcard:
    """A parsed wildcard value: the literal runs between its stars."""

    source: str
    runs: tuple[str, ...]  # len(runs) == number of stars + 1

    def matches(self, value: str) -> bool:
        runs = self.runs
        first = runs[0]
        if len(runs) == 1:
            return value == first
        last = runs[-1]
        if len(value) < len(first) + len(last):
            return False
        if not value.startswith(first) or not value.endswith(last):
            return False
        position, end = len(first), len(value) - len(last)
        for run in runs[1:-1]:
            found = value.find(run, position, end)
            if found < 0:
                return False
            position = found + len(run)
        return True


def parse_wildcard(value: str) -> Wildcard:
    """Parse a wildcard value; WildcardSyntaxError with AWS's message if malformed."""
    runs: list[str] = []
    current: list[str] = []
    byte_pos = 1  # AWS counts from the opening quote it puts around the value
    index = 0
    while index < len(value):
        ch = value[index]
        if ch == "*":
            if index + 1 < len(value) and value[index + 1] == "*":
                raise WildcardSyntaxError(f"Consecutive wildcard characters at pos {byte_pos}")
            runs.append("".join(current))
            current = []
        elif ch == "\\":
            following = value[index + 1] if index + 1 < len(value) else ""
            if following not in ("*", "\\"):
                raise WildcardSyntaxError(f"Invalid escape character at pos {byte_pos}")
            current.append(following)
            index += 1
            byte_pos += 1
        else:
            current.append(ch)
        byte_pos += len(ch.encode("utf-8", "surrogatepass"))
        index += 1
    runs.append("".join(current))
    return Wildcard(value, tuple(runs))


# --- complexity --------------------------------------------------------------------------

_ANY: Final = -1  # stands for "a character no pattern names"


@dataclass(frozen=True)
class _Automaton:
    """Positions of all patterns of a field: position p reads ``symbols[p]`` (a character,
    or None for a star, which loops) and moves to p + 1; ``accepting`` ends a pattern."""

    symbols: tuple[str | None, ...]
    accepting: frozenset[int]

    def closure(self, positions: Iterable[int]) -> frozenset[int]:
        """Positions reachable by letting stars match nothing."""
        result = set(positions)
        pending = list(result)
        while pending:
            position = pending.pop()
            if self.symbols[position] is None and position + 1 not in result:
                result.add(position + 1)
                pending.append(position + 1)
        return frozenset(result)

    def step(self, positions: frozenset[int], symbol: str | int) -> frozenset[int]:
        moved: set[int] = set()
        for position in positions:
            expected = self.symbols[position]
            if expected is None:
                moved.add(position)  # the star swallows the character
            elif expected == symbol:
                moved.add(position + 1)
        return self.closure(moved)

    def weight(self, positions: frozenset[int]) -> int:
        """Live positions, plus the star each position waiting on one may loop on."""
        live = [p for p in positions if p not in self.accepting]
        return len(live) + sum(1 for p in live if self.symbols[p] is None)


def _automaton(patterns: Sequence[Wildcard]) -> tuple[_Automaton, frozenset[int]]:
    symbols: list[str | None] = []
    accepting: set[int] = set()
    starts: list[int] = []
    for pattern in patterns:
        starts.append(len(symbols))
        symbols.append('"')  # AWS matches the value between its quotes
        for index, run in enumerate(pattern.runs):
            if index:
                symbols.append(None)
            symbols.extend(run)
        symbols.append('"')
        accepting.add(len(symbols))
        symbols.append("")  # the accepting position reads nothing
    automaton = _Automaton(tuple(symbols), frozenset(accepting))
    return automaton, automaton.closure(starts)


def complexity(patterns: Sequence[Wildcard]) -> int:
    """The worst number of partial matches the field's wildcards can keep alive at once;
    stops early (returning a value above COMPLEXITY_LIMIT) once the limit is passed."""
    if not any(len(pattern.runs) > 1 for pattern in patterns):
        return 0
    automaton, start = _automaton(patterns)
    symbols = automaton.symbols
    seen = {start}
    pending = [start]
    worst = 0
    while pending:
        if len(seen) > _SEARCH_BUDGET:
            return COMPLEXITY_LIMIT + 1
        state = pending.pop()
        # Only characters some position expects lead anywhere new; any other character
        # behaves like _ANY.
        alphabet: set[str | int] = {symbols[p] or _ANY for p in state if symbols[p] != ""}
        alphabet.add(_ANY)
        for symbol in sorted(alphabet, key=str):
            following = automaton.step(state, symbol)
            if not following or following in seen:
                continue
            worst = max(worst, automaton.weight(following))
            if worst > COMPLEXITY_LIMIT:
                return worst
            seen.add(following)
            pending.append(following)
    return worst
