"""Policy documents compiled for evaluation, and remembered.

A document (the parsed JSON of a policy) is compiled once: each statement's actions,
resources, principals and conditions become ready-to-match objects, and the statements that
apply to an action are remembered per action, so evaluating a request looks at the few
statements that can match it. Compiled documents are remembered by the identity of the
mapping (documents are values: a changed policy is a new mapping), a bounded number of them.

A malformed part (an ``Action`` that is a number, an unknown condition operator...) makes its
statement match nothing: the grammar validator (``grammar``) keeps such documents out of the
store; whatever reaches the evaluator otherwise fails closed for ``Allow``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lamina.domain.iam_policy.conditions import Condition, compile_conditions, conditions_hold
from lamina.domain.iam_policy.patterns import PatternSet, Unresolved, Values
from lamina.domain.iam_policy.principals import PrincipalSet
from lamina.domain.identity import Principal

VERSION_2012 = "2012-10-17"
MAX_CACHED_DOCUMENTS = 4096
MAX_CACHED_ACTIONS = 512


def statements_of(document: Any) -> list[Any]:
    """The ``Statement`` element as a list (an object alone is one statement)."""
    if not isinstance(document, Mapping):
        return []
    raw = document.get("Statement")
    if isinstance(raw, Mapping):
        return [raw]
    return list(raw) if isinstance(raw, list) else []


def _strings(raw: Any) -> list[str] | None:
    items = raw if isinstance(raw, list) else [raw]
    return items if all(isinstance(item, str) for item in items) else None


def _element(
    stmt: Mapping[str, Any], positive: str, negative: str, mode: Any, variables: bool
) -> tuple[PatternSet | None, bool, bool]:
    """(patterns, negated, valid) of an Action/Resource pair of elements."""
    name = positive if positive in stmt else negative if negative in stmt else None
    if name is None or (positive in stmt and negative in stmt):
        return None, False, name is None
    texts = _strings(stmt[name])
    if texts is None:
        return None, False, False
    return PatternSet(texts, mode, variables=variables), name == negative, True


@dataclass(frozen=True, slots=True)
class Statement:
    """One compiled statement. ``label`` is its Sid, else ``#<index>``."""

    index: int
    label: str
    allow: bool
    actions: PatternSet | None
    not_action: bool
    resources: PatternSet | None
    not_resource: bool
    principals: PrincipalSet | None
    not_principal: bool
    conditions: tuple[Condition, ...]
    valid: bool

    def matches_action(self, action: str) -> bool:
        if not self.valid or self.actions is None:
            return False
        return self.actions.matches(action, {}) != self.not_action

    def matches_resource(self, resource: str, context: Values, *, required: bool) -> bool:
        """``required``: identity policies must name resources; a resource policy without
        ``Resource`` is about the resource it is attached to (trust policies)."""
        if self.resources is None:
            return not required
        try:
            return self.resources.matches(resource, context) != self.not_resource
        except Unresolved:
            return False

    def matches_principal(self, principal: Principal | None, service: str | None) -> bool:
        if self.principals is None:
            return False
        if self.not_principal:
            return not self.principals.names_every_link(principal, service)
        return self.principals.matches(principal, service)

    def conditions_hold(self, context: Values) -> bool:
        return conditions_hold(self.conditions, context)


def compile_statement(raw: Any, index: int, variables: bool) -> Statement:
    stmt: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    sid = stmt.get("Sid")
    label = sid if isinstance(sid, str) and sid else f"#{index}"
    effect = stmt.get("Effect")
    actions, not_action, actions_ok = _element(stmt, "Action", "NotAction", "action", False)
    resources, not_resource, resources_ok = _element(
        stmt, "Resource", "NotResource", "arn", variables
    )
    principal_key = "Principal" if "Principal" in stmt else "NotPrincipal"
    principals = PrincipalSet.parse(stmt[principal_key]) if principal_key in stmt else None
    conditions = compile_conditions(stmt.get("Condition"), variables=variables)
    valid = (
        isinstance(raw, Mapping)
        and effect in ("Allow", "Deny")
        and actions is not None
        and actions_ok
        and resources_ok
        and conditions is not None
    )
    return Statement(
        index, label, effect == "Allow", actions, not_action, resources, not_resource,
        principals, principal_key == "NotPrincipal", conditions or (), valid,
    )  # fmt: skip


class CompiledPolicy:
    """A compiled document: its statements, and per action those that name it."""

    __slots__ = ("document", "version", "statements", "_by_action")

    def __init__(self, document: Any) -> None:
        self.document = document
        version = document.get("Version") if isinstance(document, Mapping) else None
        self.version = version if isinstance(version, str) else "2008-10-17"
        variables = self.version == VERSION_2012
        self.statements = tuple(
            compile_statement(raw, index, variables)
            for index, raw in enumerate(statements_of(document))
        )
        self._by_action: dict[str, tuple[Statement, ...]] = {}

    def for_action(self, action: str) -> tuple[Statement, ...]:
        """The statements whose Action/NotAction takes in ``action``."""
        key = action.lower()
        found = self._by_action.get(key)
        if found is None:
            found = tuple(s for s in self.statements if s.matches_action(key))
            if len(self._by_action) >= MAX_CACHED_ACTIONS:
                self._by_action.clear()
            self._by_action[key] = found
        return found


_CACHE: dict[int, CompiledPolicy] = {}


def compile_policy(document: Mapping[str, Any]) -> CompiledPolicy:
    """The compiled form of ``document``, remembered while the mapping lives in the cache."""
    key = id(document)
    known = _CACHE.get(key)
    if known is not None and known.document is document:
        return known
    compiled = CompiledPolicy(document)
    if len(_CACHE) >= MAX_CACHED_DOCUMENTS:
        _CACHE.clear()  # whole-sale: safe while other threads read
    _CACHE[key] = compiled
    return compiled
