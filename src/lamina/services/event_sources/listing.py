"""ListEventSourceMappings: which mappings a request selects, one page at a time. Pure.

Mappings of the caller's region and account, ordered by UUID, filtered by event source
and/or function (a qualified ``FunctionName`` selects that qualifier's mappings only, an
unqualified one every mapping of the function). ``Marker`` is the last UUID of the previous
page; ``MaxItems`` (1-10,000, default 100) bounds a page.
"""

from __future__ import annotations

from collections.abc import Iterable

from lamina.domain.context import RequestContext
from lamina.domain.event_source_mapping import EventSourceMapping
from lamina.domain.names import constraint_error, parse_function_name, validation_exception

DEFAULT_MAX_ITEMS = 100
MAX_ITEMS = 10_000


def list_page(
    mappings: Iterable[EventSourceMapping],
    ctx: RequestContext,
    *,
    event_source_arn: str | None = None,
    function_name: str | None = None,
    marker: str | None = None,
    max_items: int | None = None,
) -> tuple[list[EventSourceMapping], str | None]:
    """One page and the marker of the next one (None: this was the last)."""
    name: str | None = None
    qualifier: str | None = None
    if function_name:
        ref = parse_function_name(
            function_name,
            operation="ListEventSourceMappings",
            qualifier=None,
            region=ctx.region,
            account=ctx.account_id,
        )
        name, qualifier = ref.name, ref.qualifier
    if max_items is not None and not 1 <= max_items <= MAX_ITEMS:
        bound = (
            "greater than or equal to 1" if max_items < 1 else f"less than or equal to {MAX_ITEMS}"
        )
        raise validation_exception(
            [constraint_error("maxItems", max_items, f"Member must have value {bound}")]
        )
    limit = max_items or DEFAULT_MAX_ITEMS
    found = sorted(
        (
            m
            for m in mappings
            if (m.region, m.account_id) == (ctx.region, ctx.account_id)
            and (event_source_arn is None or m.event_source_arn == event_source_arn)
            and (name is None or m.function_name == name)
            and (qualifier is None or m.function_qualifier == qualifier)
            and (marker is None or m.uuid > marker)
        ),
        key=lambda m: m.uuid,
    )
    page = found[:limit]
    return page, (page[-1].uuid if len(found) > limit else None)
