"""FunctionEventInvokeConfig requests (the list page is ``services.event_invoke_config``'s:
its items are store records).

A target's qualifier is None when the request named none (``$LATEST``)."""

from __future__ import annotations

from dataclasses import dataclass

from lamina.domain.destinations import DestinationConfig


@dataclass(frozen=True)
class EventInvokeTarget:
    function: str
    qualifier: str | None


@dataclass(frozen=True)
class PutEventInvokeConfig:
    """Replaces the whole configuration: what is not given takes AWS's default."""

    target: EventInvokeTarget
    max_retries: int | None = None
    max_age: int | None = None
    destinations: DestinationConfig = DestinationConfig()


@dataclass(frozen=True)
class UpdateEventInvokeConfig:
    """Changes what it names: ``None`` keeps the current setting; an ``on_*_given``
    destination replaces the current one (with ``None`` it removes it)."""

    target: EventInvokeTarget
    max_retries: int | None = None
    max_age: int | None = None
    destinations: DestinationConfig = DestinationConfig()
    on_success_given: bool = False
    on_failure_given: bool = False


@dataclass(frozen=True)
class ListEventInvokeConfigs:
    function: str
    marker: str | None = None
    max_items: int | None = None
