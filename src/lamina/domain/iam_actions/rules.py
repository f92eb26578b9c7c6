"""The building blocks of the operation tables: what a request needs, and rules that say it.

A rule turns one request (its operation and input parameters, as the edge parsed them) into
the ``RequiredAccess`` entries AWS checks: each an IAM action on a resource ARN (or ``*``)
with the condition keys the service sets. An empty list means AWS checks no permission
(``sts:GetCallerIdentity``). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ContextValue = str | Sequence[str]


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a request is served: its region and account, and who signs it (the caller's
    ARN, for operations whose resource defaults to the caller: IAM ``GetUser``)."""

    region: str
    account: str
    caller_arn: str | None = None


@dataclass(frozen=True, slots=True)
class RequiredAccess:
    """One permission a request needs: ``action`` (``lambda:InvokeFunction``) on
    ``resource`` (an ARN or ``*``), with the service's condition keys."""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)


Params = Mapping[str, Any]
# (operation, params, scope) -> what the request needs.
Rule = Callable[[str, Params, Scope], list[RequiredAccess]]
# (params, scope) -> the resource ARN the request acts on.
ResourceOf = Callable[[Params, Scope], str]
# (params, scope) -> the condition keys the service sets.
ContextOf = Callable[[Params, Scope], Mapping[str, ContextValue]]


class UnmappedOperation(LookupError):
    """An operation no table maps: a gap in the tables, never a caller's mistake."""


def anywhere(params: Params, scope: Scope) -> str:
    """Operations that act on no resource of their own: ``*``."""
    return "*"


def free(operation: str, params: Params, scope: Scope) -> list[RequiredAccess]:
    """Operations AWS lets anyone call who is authenticated (no permission checked)."""
    return []


def on(
    resource: ResourceOf,
    prefix: str,
    action: str | None = None,
    context: ContextOf | None = None,
) -> Rule:
    """``<prefix>:<action or the operation's name>`` on ``resource``."""

    def rule(operation: str, params: Params, scope: Scope) -> list[RequiredAccess]:
        keys = context(params, scope) if context is not None else {}
        return [RequiredAccess(f"{prefix}:{action or operation}", resource(params, scope), keys)]

    return rule


def table(prefix: str, groups: Mapping[ResourceOf, str], **special: Rule) -> dict[str, Rule]:
    """A service's table: each resource function with the operations (space-separated
    names) whose action is ``<prefix>:<operation>`` on that resource, plus ``special``
    rules by operation name."""
    rules: dict[str, Rule] = {}
    for resource, names in groups.items():
        rule = on(resource, prefix)
        for name in names.split():
            if name in rules:
                raise ValueError(f"{prefix}: {name} listed twice")
            rules[name] = rule
    for name, rule in special.items():
        if name in rules:
            raise ValueError(f"{prefix}: {name} listed twice")
        rules[name] = rule
    return rules


def text(params: Params, name: str, default: str = "") -> str:
    """A string parameter, or ``default`` when absent or not a string."""
    value = params.get(name)
    return value if isinstance(value, str) and value else default


def arn_account(resource: str) -> str | None:
    """The account of an ARN (its fifth field); None for ``*`` and ARNs without one."""
    parts = resource.split(":", 5)
    return (parts[4] or None) if len(parts) == 6 else None


def arn_param(*names: str) -> ResourceOf:
    """The first of ``names`` that the request gives (an ARN), else ``*``."""

    def resource(params: Params, scope: Scope) -> str:
        for name in names:
            value = text(params, name)
            if value:
                return value
        return "*"

    return resource
