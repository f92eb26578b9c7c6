"""Event source mappings: Create/Get/List/Update/Delete and the pollers' lifecycle.

Mappings belong to the region and account of the request that made them
(``RequestContext``). Every change is written to the store (off the event loop) before it is
answered; then, after ``transition_delay`` seconds, the mapping settles (``Creating`` ->
``Enabled``, ``Disabling`` -> ``Disabled``, ``Deleting`` -> gone, ...) and its pollers start,
restart with the new settings, or stop. ``start`` resumes the pollers of enabled mappings
(a transitional state left by a stopped server is settled first); ``stop`` stops them all.

Deleting a function does not delete its mappings (recorded:
``test_event_source_mapping_lifecycle_delete_function``, the mapping stays ``Enabled``);
``function_deleted`` restarts their pollers, which receive nothing while the function is
missing (and resume if it comes back).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid as uuid_module
from collections.abc import Callable
from dataclasses import replace
from functools import partial

from lamina.domain import event_source_mapping as esm
from lamina.domain.arns import function_arn
from lamina.domain.context import RequestContext
from lamina.domain.errors import InvalidParameterValueException, ResourceConflictException
from lamina.domain.event_source_mapping import EventSourceMapping, MappingSettings
from lamina.domain.names import (
    TaggableResource,
    parse_function_name,
    tagged_resource_not_found,
    validate_tags,
    validate_untag_keys,
)
from lamina.services.event_sources.filters import compile_filters
from lamina.services.event_sources.invoker import FunctionInvoker, FunctionTarget
from lamina.services.event_sources.listing import list_page
from lamina.services.event_sources.poll_gate import PollGate
from lamina.services.event_sources.sqs_poller import LONG_POLL, MappingPoller
from lamina.services.queue_ports import QueueNotFound, QueueSource
from lamina.store.ports import MappingStore

log = logging.getLogger("lamina.event_sources")

TRANSITION_DELAY = 0.3
# Seconds ``stop`` lets batches being invoked finish before cancelling them.
SHUTDOWN_DRAIN = 5.0


class EventSourceMappingService:
    def __init__(
        self,
        store: MappingStore,
        source: QueueSource,
        invoker: FunctionInvoker,
        *,
        transition_delay: float = TRANSITION_DELAY,
        clock: Callable[[], float] = time.time,
        long_poll: float | None = None,
        poll_gate: PollGate | None = None,
    ) -> None:
        self.store = store
        # ``--iam enforce``: a mapping polls only while its role may (services/poll_gate.py).
        self.poll_gate = poll_gate
        self.source = source
        self.invoker = invoker
        self.transition_delay = transition_delay
        self.clock = clock
        self.long_poll = long_poll
        self._mappings: dict[str, EventSourceMapping] = {}
        self._pollers: dict[str, MappingPoller] = {}
        self._transitions: dict[str, asyncio.Task[None]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        self._stopped = False

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Load every mapping, settle transitional states, resume pollers of enabled ones."""
        self._stopped = False
        for mapping in await asyncio.to_thread(self.store.all):
            if mapping.state in esm.TRANSITIONAL:
                settled = esm.settled_state(mapping)
                if settled is None:
                    await asyncio.to_thread(self.store.delete, mapping.uuid)
                    continue
                mapping = replace(mapping, state=settled)
                await asyncio.to_thread(self.store.put, mapping)
            self._mappings[mapping.uuid] = mapping
            if mapping.polling:
                self._start_poller(mapping)

    async def stop(self) -> None:
        self._stopped = True
        for task in list(self._transitions.values()):
            task.cancel()
        for task in list(self._transitions.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._transitions.clear()
        for background in list(self._background):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await background
        for key in list(self._pollers):
            await self._stop_poller(key, drain=SHUTDOWN_DRAIN)

    def function_deleted(
        self, name: str, region: str | None = None, account_id: str | None = None
    ) -> None:
        """The function ``name`` was deleted (callable from synchronous code): the pollers of
        its mappings restart at once, so none holds a long poll that would receive for a
        missing function; they receive nothing until the function exists again."""
        affected = [
            m.uuid
            for m in self._mappings.values()
            if m.function_name == name
            and (region is None or m.region == region)
            and (account_id is None or m.account_id == account_id)
            and m.uuid in self._pollers
        ]
        if affected and not self._stopped:
            task = asyncio.ensure_future(self._restart_pollers(affected))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _restart_pollers(self, uuids: list[str]) -> None:
        async with self._lock:
            for uuid in uuids:
                await self._stop_poller(uuid)
                mapping = self._mappings.get(uuid)
                if mapping is not None and mapping.polling and not self._stopped:
                    self._start_poller(mapping)

    # --- operations ---------------------------------------------------------------------

    async def create(
        self,
        ctx: RequestContext,
        function_name: str,
        event_source_arn: str | None,
        settings: MappingSettings,
        tags: dict[str, str] | None = None,
    ) -> EventSourceMapping:
        ref = parse_function_name(
            function_name,
            operation="CreateEventSourceMapping",
            qualifier=None,
            region=ctx.region,
            account=ctx.account_id,
        )
        if event_source_arn is not None:
            esm.check_arn_shape(event_source_arn)
        esm.check_settings(settings)
        queue = esm.parse_sqs_arn(event_source_arn or "")
        if queue is None:
            raise InvalidParameterValueException(esm.UNRECOGNIZED_SOURCE)
        arn = function_arn(ctx.region, ctx.account_id, ref.name, ref.qualifier)
        target = FunctionTarget(ref.name, ref.qualifier, arn)
        if self.invoker.timeout_seconds(target) is None:
            raise InvalidParameterValueException(esm.FUNCTION_DOES_NOT_EXIST)
        enabled = True if settings.enabled is None else settings.enabled
        mapping = EventSourceMapping(
            uuid=str(uuid_module.uuid4()),
            region=ctx.region,
            account_id=ctx.account_id,
            event_source_arn=queue.arn,
            function_name=ref.name,
            function_qualifier=ref.qualifier,
            function_arn=arn,
            enabled=enabled,
            state=esm.state_after_create(enabled),
            last_modified=self.clock(),
            tags=dict(tags or {}),
        ).with_settings(replace(settings, enabled=None))
        esm.check_batching(mapping.batch_size, mapping.batching_window)
        compile_filters(mapping.filter_patterns)
        async with self._lock:
            self._check_duplicate(mapping, function_name)
            self._check_queue(queue.arn)
            await asyncio.to_thread(self.store.put, mapping)
            self._mappings[mapping.uuid] = mapping
            if mapping.state in esm.TRANSITIONAL:
                self._schedule_settle(mapping.uuid)
        return mapping

    def get(self, ctx: RequestContext, uuid: str) -> EventSourceMapping:
        mapping = self._mappings.get(uuid)
        if mapping is None or (mapping.region, mapping.account_id) != (
            ctx.region,
            ctx.account_id,
        ):
            raise esm.not_found()
        return mapping

    def list_mappings(
        self,
        ctx: RequestContext,
        *,
        event_source_arn: str | None = None,
        function_name: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> tuple[list[EventSourceMapping], str | None]:
        """ListEventSourceMappings (``listing.list_page``)."""
        return list_page(
            self._mappings.values(),
            ctx,
            event_source_arn=event_source_arn,
            function_name=function_name,
            marker=marker,
            max_items=max_items,
        )

    async def update(
        self,
        ctx: RequestContext,
        uuid: str,
        settings: MappingSettings,
        function_name: str | None = None,
    ) -> EventSourceMapping:
        esm.check_settings(settings)
        async with self._lock:
            current = self.get(ctx, uuid)
            state = esm.state_after_update(current, settings.enabled)
            changed = current.with_settings(settings)
            if function_name is not None:
                ref = parse_function_name(
                    function_name,
                    operation="UpdateEventSourceMapping",
                    qualifier=None,
                    region=ctx.region,
                    account=ctx.account_id,
                )
                arn = function_arn(ctx.region, ctx.account_id, ref.name, ref.qualifier)
                if (
                    self.invoker.timeout_seconds(FunctionTarget(ref.name, ref.qualifier, arn))
                    is None
                ):
                    raise InvalidParameterValueException(esm.FUNCTION_DOES_NOT_EXIST)
                changed = replace(
                    changed,
                    function_name=ref.name,
                    function_qualifier=ref.qualifier,
                    function_arn=arn,
                )
                self._check_duplicate(changed, function_name)
            esm.check_batching(changed.batch_size, changed.batching_window)
            compile_filters(changed.filter_patterns)
            changed = replace(changed, state=state, last_modified=self.clock())
            await asyncio.to_thread(self.store.put, changed)
            self._mappings[uuid] = changed
            self._schedule_settle(uuid)
        return changed

    async def delete(self, ctx: RequestContext, uuid: str) -> EventSourceMapping:
        async with self._lock:
            current = self.get(ctx, uuid)
            deleting = replace(current, state=esm.state_before_delete(current))
            await asyncio.to_thread(self.store.put, deleting)
            self._mappings[uuid] = deleting
            await self._stop_poller(uuid)
            self._schedule_settle(uuid)
        return deleting

    # --- tags (TagResource / UntagResource / ListTags of a mapping's ARN) ----------------

    def tags(self, ctx: RequestContext, uuid: str) -> dict[str, str]:
        return dict(self._tagged(ctx, uuid).tags)

    async def tag(self, ctx: RequestContext, uuid: str, tags: dict[str, str]) -> None:
        async with self._lock:
            mapping = self._tagged(ctx, uuid)
            validate_tags(tags, existing=mapping.tags, require_nonempty=True)
            await self._save(replace(mapping, tags={**mapping.tags, **tags}))

    async def untag(self, ctx: RequestContext, uuid: str, keys: list[str] | None) -> None:
        async with self._lock:
            mapping = self._tagged(ctx, uuid)
            validate_untag_keys(keys)
            kept = {k: v for k, v in mapping.tags.items() if k not in set(keys or ())}
            await self._save(replace(mapping, tags=kept))

    def _tagged(self, ctx: RequestContext, uuid: str) -> EventSourceMapping:
        mapping = self._mappings.get(uuid)
        if mapping is None or (mapping.region, mapping.account_id) != (
            ctx.region,
            ctx.account_id,
        ):
            arn = esm.mapping_arn(ctx.region, ctx.account_id, uuid)
            raise tagged_resource_not_found(TaggableResource("event-source-mapping", uuid, arn))
        return mapping

    async def _save(self, mapping: EventSourceMapping) -> None:
        await asyncio.to_thread(self.store.put, mapping)
        self._mappings[mapping.uuid] = mapping

    # --- internals ----------------------------------------------------------------------

    def _check_duplicate(self, mapping: EventSourceMapping, given_name: str) -> None:
        for other in self._mappings.values():
            if (
                other.uuid != mapping.uuid
                and other.event_source_arn == mapping.event_source_arn
                and other.function_arn == mapping.function_arn
            ):
                raise ResourceConflictException(
                    f'An event source mapping with SQS arn (" {mapping.event_source_arn} ") '
                    f'and function (" {given_name} ") already exists. Please update or delete '
                    f"the existing mapping with UUID {other.uuid}"
                )

    def _check_queue(self, arn: str) -> None:
        try:
            self.source.describe(arn)
        except QueueNotFound:
            raise InvalidParameterValueException(esm.QUEUE_DOES_NOT_EXIST) from None

    def _schedule_settle(self, uuid: str) -> None:
        previous = self._transitions.pop(uuid, None)
        if previous is not None:
            previous.cancel()
        task = asyncio.ensure_future(self._settle(uuid))
        self._transitions[uuid] = task
        task.add_done_callback(lambda done: self._forget_transition(uuid, done))

    def _forget_transition(self, uuid: str, task: asyncio.Task[None]) -> None:
        if self._transitions.get(uuid) is task:
            del self._transitions[uuid]

    async def _settle(self, uuid: str) -> None:
        await asyncio.sleep(self.transition_delay)
        async with self._lock:
            mapping = self._mappings.get(uuid)
            if mapping is None or mapping.state not in esm.TRANSITIONAL or self._stopped:
                return
            state = esm.settled_state(mapping)
            await self._stop_poller(uuid)
            if state is None:
                await asyncio.to_thread(self.store.delete, uuid)
                del self._mappings[uuid]
                return
            settled = replace(mapping, state=state)
            await asyncio.to_thread(self.store.put, settled)
            self._mappings[uuid] = settled
            if settled.polling:
                self._start_poller(settled)

    def _start_poller(self, mapping: EventSourceMapping) -> None:
        try:
            record_filter = compile_filters(mapping.filter_patterns)
        except InvalidParameterValueException:
            log.error("event source mapping %s: its filters no longer compile", mapping.uuid)
            return
        poller = MappingPoller(
            mapping,
            self.source,
            self.invoker,
            record_filter,
            long_poll=LONG_POLL if self.long_poll is None else self.long_poll,
            may_poll=None if self.poll_gate is None else partial(self._may_poll, mapping.uuid),
        )
        self._pollers[mapping.uuid] = poller
        poller.start()

    async def _stop_poller(self, uuid: str, drain: float = 0.0) -> None:
        """Stop a mapping's pollers; batches being invoked finish (in the background unless
        ``drain`` seconds are given to wait for them)."""
        poller = self._pollers.pop(uuid, None)
        if poller is not None:
            await poller.stop(drain)

    def _may_poll(self, uuid: str) -> bool:
        """Whether the mapping's role lets it poll now (its StateTransitionReason says why
        not while it does not)."""
        mapping = self._mappings.get(uuid)
        if mapping is None or self.poll_gate is None:
            return mapping is not None
        shown, allowed = self.poll_gate.gated(mapping)
        if shown is not mapping:
            self._mappings[uuid] = shown
        return allowed

    def poller(self, uuid: str) -> MappingPoller | None:
        """The running pollers of a mapping (status views, tests)."""
        return self._pollers.get(uuid)
