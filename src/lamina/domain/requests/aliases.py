"""Alias requests (Create/Get/Update/Delete/ListAliases) and the ListAliases page.

Each request names the function by its resolved name (the wire layer has validated and
parsed ``FunctionName``; a qualifier in it is ignored by the alias operations)."""

from __future__ import annotations

from dataclasses import dataclass, field

from lamina.domain.aliases import Alias


@dataclass(frozen=True)
class AliasKey:
    """One alias of one function (GetAlias, DeleteAlias)."""

    function: str
    name: str


@dataclass(frozen=True)
class CreateAlias:
    function: str
    name: str
    function_version: str
    description: str = ""
    # The additional version and its share of invocations (at most one entry).
    weights: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateAlias:
    """``None`` keeps the alias's current value; ``weights={}`` removes its routing."""

    function: str
    name: str
    function_version: str | None = None
    description: str | None = None
    weights: dict[str, float] | None = None
    # Optimistic concurrency: the update applies only to this revision.
    revision_id: str | None = None


@dataclass(frozen=True)
class ListAliases:
    function: str
    # Only aliases whose primary version is this one.
    function_version: str | None = None
    marker: str | None = None
    max_items: int | None = None


@dataclass(frozen=True)
class AliasPage:
    aliases: tuple[Alias, ...]
    # The marker of the next page; None on the last one.
    next_marker: str | None = None
