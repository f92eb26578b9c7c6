"""Matching a compiled pattern against an event.

The event is first reduced to the values the pattern can look at: a walk that only enters
keys on the way to a pattern path (so a large event costs what the pattern reads, not its
size) and records each value under its dotted path (``{"a": {"b": 1}}`` and
``{"a.b": 1}`` both give ``a.b``). Arrays are transparent: each element is a value of the
array's path, remembered with its (array, index) position, and an empty array gives no
value. Objects are not values: ``exists`` and literals only ever see leaves.

A branch matches when every field matches, and the values chosen for its fields are
*array-consistent*: two values taken from elements of the same event array must come
from the same element (``{"name": ["Anna"], "last": ["Jones"]}`` does not match Anna Smith
plus Peter Jones in one ``people`` array). The pattern matches when any branch matches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from lamina.domain.event_pattern.compiler import Branch, FieldSpec
from lamina.domain.event_pattern.numbers import NumberScale
from lamina.domain.event_pattern.values import Leaf

# Bound on the array-consistent partial assignments kept while matching one branch (a
# pathological event with many large arrays could otherwise need exponentially many).
MAX_ASSIGNMENTS: Final = 4096

Leaves = dict[str, list[Leaf]]
Assignment = tuple[tuple[int, int], ...]


class PathIndex:
    """The paths a pattern reads, every path on the way to one, and for each of those the
    keys that lead on (``children[None]`` for the event's top level)."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = frozenset(paths)
        prefixes: set[str] = set()
        children: dict[str | None, dict[str, str]] = {}
        for path in paths:
            base: str | None = None
            for step in path.split("."):
                full = step if base is None else f"{base}.{step}"
                children.setdefault(base, {})[step] = full
                base = full
                prefixes.add(full)
        self.prefixes = frozenset(prefixes - self.paths) | frozenset(
            p for p in self.paths if p in children
        )
        self.children = children


Position = tuple[tuple[int, int], ...]
_Pending = list[tuple[Mapping[str, Any], str | None, Position]]
_SCALARS: Final = frozenset({str, int, float, bool, type(None)})


class _Collector:
    """Collects an event's leaves at the indexed paths."""

    def __init__(self, index: PathIndex, numbers: NumberScale) -> None:
        self._index = index
        self._numbers = numbers
        self.leaves: Leaves = {}
        self.in_arrays = False
        self._arrays = 0

    def visit_object(self, event: Mapping[str, Any]) -> None:
        children = self._index.children
        pending: _Pending = [(event, None, ())]
        while pending:
            obj, base, where = pending.pop()
            wanted = children.get(base, {})
            for key, value in obj.items():
                full = wanted.get(key)
                if full is None:
                    if "." not in key:  # a dotted event key may still lead to a path
                        continue
                    full = key if base is None else f"{base}.{key}"
                self._visit_value(value, full, where, pending)

    def _visit_value(self, value: Any, path: str, where: Position, pending: _Pending) -> None:
        kind = type(value)
        if kind in _SCALARS:
            if path in self._index.paths:
                self._add(path, value, where)
        elif kind is dict or isinstance(value, Mapping):
            if path in self._index.prefixes:
                pending.append((value, path, where))
        elif kind is list or isinstance(value, tuple):
            if path in self._index.paths or path in self._index.prefixes:
                self._visit_array(value, path, where, pending)
        elif path in self._index.paths:
            self._add(path, value, where)

    def _visit_array(
        self, array: Sequence[Any], path: str, where: Position, pending: _Pending
    ) -> None:
        arrays: list[tuple[Sequence[Any], Position]] = [(array, where)]
        while arrays:
            items, outer = arrays.pop()
            self._arrays += 1
            array_id = self._arrays
            for index, item in enumerate(items):
                position = (*outer, (array_id, index))
                if type(item) is list or isinstance(item, tuple):
                    arrays.append((item, position))
                else:
                    self._visit_value(item, path, position, pending)

    def _add(self, path: str, value: Any, where: Position) -> None:
        number = None
        kind = type(value)
        if kind is int or kind is float:
            number = self._numbers.from_event(value)
        if where:
            self.in_arrays = True
        found = self.leaves.get(path)
        if found is None:
            self.leaves[path] = [Leaf(value, number, where)]
        else:
            found.append(Leaf(value, number, where))


def collect_leaves(
    event: Mapping[str, Any], index: PathIndex, numbers: NumberScale
) -> tuple[Leaves, bool]:
    """The event's values at the indexed paths, and whether any sits inside an array."""
    collector = _Collector(index, numbers)
    if isinstance(event, Mapping):
        collector.visit_object(event)
    return collector.leaves, collector.in_arrays


def field_matches(spec: FieldSpec, values: list[Leaf] | None) -> bool:
    """Whether a field matches, ignoring array consistency."""
    if not values:
        return spec.absent_ok
    for leaf in values:
        for matcher in spec.matchers:
            if matcher.matches(leaf):
                return True
    return False


def _merge(assignment: Assignment, where: tuple[tuple[int, int], ...]) -> Assignment | None:
    """The assignment extended with a value's array positions, or None if they clash."""
    if not where:
        return assignment
    chosen = dict(assignment)
    for array_id, index in where:
        existing = chosen.get(array_id)
        if existing is None:
            chosen[array_id] = index
        elif existing != index:
            return None
    return tuple(sorted(chosen.items()))


def branch_matches_consistently(specs: Sequence[FieldSpec], leaves: Leaves) -> bool:
    """Whether every field matches with array-consistent values (breadth first over the
    fields, keeping the distinct partial assignments, at most MAX_ASSIGNMENTS of them)."""
    frontier: set[Assignment] = {()}
    for spec in specs:
        values = leaves.get(spec.path)
        if not values:
            if not spec.absent_ok:
                return False
            continue
        matching = [leaf for leaf in values if any(m.matches(leaf) for m in spec.matchers)]
        following: set[Assignment] = set()
        for assignment in frontier:
            for leaf in matching:
                merged = _merge(assignment, leaf.arrays)
                if merged is not None:
                    following.add(merged)
            if len(following) >= MAX_ASSIGNMENTS:
                break
        if not following:
            return False
        frontier = following
    return True


def any_branch_matches(
    branches: Sequence[Sequence[int]], specs: Sequence[FieldSpec], leaves: Leaves, in_arrays: bool
) -> bool:
    """Whether any branch (a tuple of indexes into ``specs``) matches the leaves.

    Each field is first tested on its own (once per event, shared by the branches); only
    a branch with two or more fields whose values sit in arrays needs the consistency
    search.
    """
    known: list[bool | None] = [None] * len(specs)
    for branch in branches:
        in_array_fields = 0
        for i in branch:
            result = known[i]
            spec = specs[i]
            if result is None:
                result = known[i] = field_matches(spec, leaves.get(spec.path))
            if not result:
                break
            if in_arrays and any(leaf.arrays for leaf in leaves.get(spec.path, ())):
                in_array_fields += 1
        else:
            if in_array_fields < 2 or branch_matches_consistently(
                [specs[i] for i in branch], leaves
            ):
                return True
    return False


def index_branches(branches: Sequence[Branch]) -> tuple[list[FieldSpec], list[tuple[int, ...]]]:
    """The distinct field specs of the branches, and each branch as indexes into them."""
    specs: list[FieldSpec] = []
    positions: dict[int, int] = {}
    indexed: list[tuple[int, ...]] = []
    for branch in branches:
        row: list[int] = []
        for spec in branch.values():
            position = positions.get(id(spec))
            if position is None:
                position = positions[id(spec)] = len(specs)
                specs.append(spec)
            row.append(position)
        indexed.append(tuple(row))
    return specs, indexed
