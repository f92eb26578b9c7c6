"""The queue registry: every live queue in memory, the store (``SqsQueueStore``) as record.

Lookups (by URL, name or ARN) are dictionary reads: the message hot path never touches
the store for queue metadata. Changes are validated first (AWS's errors, nothing changed),
committed next, and only then applied to the in-memory ``Queue`` objects, which keep their
identity so the message engine may hold them. Mutations are serialised by one lock, so
check-then-commit sequences (a name taken, a dead-letter target present) cannot interleave.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

from lamina.domain.context import RequestContext
from lamina.domain.sqs import attributes as attrs
from lamina.domain.sqs.errors import (
    QueueDeletedRecently,
    QueueDoesNotExist,
    QueueNameExists,
)
from lamina.domain.sqs.names import (
    parse_queue_arn,
    parse_queue_url,
    queue_arn,
    queue_url,
    validate_queue_name,
)
from lamina.domain.sqs.pagination import Page as Page
from lamina.domain.sqs.pagination import paginate
from lamina.domain.sqs.queue import Queue, RedrivePolicy
from lamina.domain.sqs.redrive import invalid_target, parsed_text
from lamina.store.ports import SqsQueueStore

# How long a deleted queue's name stays unavailable (AWS: 60 seconds).
DELETED_RECENTLY_SECONDS = 60.0
# Bound of the URL cache (distinct spellings of queue URLs; cleared when full).
MAX_CACHED_URLS = 10_000

QueueKey = tuple[str, str, str]  # (region, account, name)
DeletedHook = Callable[[Queue], Awaitable[None] | None]


class QueueRegistry:
    """Create, find, change and delete queues of (region, account, name)."""

    def __init__(
        self, store: SqsQueueStore, base_url: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._base_url = base_url
        self._clock = clock
        self._by_key: dict[QueueKey, Queue] = {}
        self._by_arn: dict[str, Queue] = {}
        # (region, QueueUrl as sent) -> queue: the hot path skips parsing the URL.
        self._by_url: dict[tuple[str, str], Queue] = {}
        self._deleted_at: dict[QueueKey, float] = {}
        self._lock = asyncio.Lock()
        self._on_deleted: list[DeletedHook] = []

    # --- lifecycle and hooks ---------------------------------------------------------

    def load(self) -> None:
        """Rebuild the in-memory registry from the store (blocking: at start, off the loop)."""
        stored_queues = self._store.load_queues()
        self._by_key.clear()
        self._by_arn.clear()
        self._by_url.clear()
        for stored in stored_queues:
            queue = self._new_queue(
                stored.id,
                stored.region,
                stored.account_id,
                stored.name,
                stored.fifo,
                stored.attributes,
            )
            queue.tags = dict(stored.tags)
            queue.created = stored.created
            queue.last_modified = stored.last_modified
            self._index(queue)

    def on_deleted(self, hook: DeletedHook) -> None:
        """Call ``hook(queue)`` after a queue's deletion (its messages' included) is
        committed: forget its messages, wake its waiters; a coroutine function is awaited."""
        self._on_deleted.append(hook)

    # --- lookups (hot path: dictionary reads) ------------------------------------------

    def by_url(self, ctx: RequestContext, url: str) -> Queue:
        """The queue a ``QueueUrl`` names (any host; path ``/<account>/<name>``) in the
        request's region; ``InvalidAddress`` or ``QueueDoesNotExist`` otherwise."""
        cached = self._by_url.get((ctx.region, url))
        if cached is not None and not cached.deleted:
            return cached
        account, name = parse_queue_url(url)
        queue = self._by_key.get((ctx.region, account, name))
        if queue is None:
            raise QueueDoesNotExist()
        if len(self._by_url) >= MAX_CACHED_URLS:
            self._by_url.clear()
        self._by_url[(ctx.region, url)] = queue
        return queue

    def by_name(self, ctx: RequestContext, name: str, owner: str | None = None) -> Queue:
        """GetQueueUrl: the queue ``name`` of ``owner`` (default: the caller's account)."""
        queue = self._by_key.get((ctx.region, owner or ctx.account_id, name))
        if queue is None:
            raise QueueDoesNotExist()
        return queue

    def by_arn(self, arn: str) -> Queue | None:
        """The queue with this ARN, or None."""
        return self._by_arn.get(arn)

    def all_queues(self) -> list[Queue]:
        """Every live queue (for the message engine's start-up)."""
        return list(self._by_arn.values())

    def list(
        self,
        ctx: RequestContext,
        prefix: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> Page:
        """ListQueues: the caller's queues in its region by name, paginated when
        ``max_results`` is given (AWS: at most 1,000 without it, and no token)."""
        queues = sorted(
            (
                queue
                for (region, account, name), queue in self._by_key.items()
                if region == ctx.region
                and account == ctx.account_id
                and name.startswith(prefix or "")
            ),
            key=lambda queue: queue.name,
        )
        return paginate(queues, max_results, next_token)

    def dead_letter_sources(
        self, queue: Queue, max_results: int | None = None, next_token: str | None = None
    ) -> Page:
        """ListDeadLetterSourceQueues: queues whose RedrivePolicy targets ``queue``."""
        sources = sorted(
            (
                source
                for source in self._by_arn.values()
                if source.redrive_policy is not None
                and source.redrive_policy.dead_letter_target_arn == queue.arn
            ),
            key=lambda source: source.name,
        )
        return paginate(sources, max_results, next_token)

    # --- changes -------------------------------------------------------------------------

    async def create(
        self,
        ctx: RequestContext,
        name: str,
        attributes: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
    ) -> Queue:
        """CreateQueue: a new queue, or the existing one when every given attribute equals
        its value (``QueueNameExists`` names the first that differs)."""
        requested = dict(attributes or {})
        fifo = attrs.fifo_of_create(name, requested)
        validate_queue_name(name, fifo)
        async with self._lock:
            changes, redrive = attrs.validate(requested, fifo=fifo, creating=True)
            key = (ctx.region, ctx.account_id, name)
            existing = self._by_key.get(key)
            if existing is not None:
                for attribute, value in changes.items():
                    if attrs.current_value(existing.attributes, attribute) != value:
                        raise QueueNameExists(
                            "A queue already exists with the same name and a different value "
                            f"for attribute {attribute}"
                        )
                return existing
            self._check_deleted_recently(key)
            defaults = attrs.FIFO_DEFAULTS if fifo else attrs.STANDARD_DEFAULTS
            values = attrs.apply(defaults, changes)
            if redrive is not None:
                self._check_dead_letter_target(
                    ctx.region, ctx.account_id, redrive, requested["RedrivePolicy"]
                )
            now = self._clock()
            queue_tags = dict(tags or {})

            queue_id = await self._store.insert_queue(
                ctx.region,
                ctx.account_id,
                name,
                fifo=fifo,
                attributes=values,
                tags=queue_tags,
                created=now,
            )
            queue = self._new_queue(queue_id, ctx.region, ctx.account_id, name, fifo, values)
            queue.tags = queue_tags
            queue.created = queue.last_modified = now
            self._deleted_at.pop(key, None)
            self._index(queue)
            return queue

    async def set_attributes(self, queue: Queue, requested: dict[str, str]) -> None:
        """SetQueueAttributes: validate every attribute, then change them all at once."""
        async with self._lock:
            self._require_live(queue)
            changes, redrive = attrs.validate(requested, fifo=queue.fifo, creating=False)
            if not changes:
                return
            if redrive is not None:
                self._check_dead_letter_target(
                    queue.region, queue.account_id, redrive, requested["RedrivePolicy"]
                )
            values = attrs.apply(queue.attributes, changes)
            now = self._clock()
            await self._store.update_attributes(queue.id, values, now)
            queue.attributes = values
            queue.last_modified = now
            attrs.apply_typed_views(queue, _stored_redrive(values))

    async def replace_policy(self, queue: Queue, policy: str | None) -> None:
        """Set (or, with None, remove) the ``Policy`` attribute (AddPermission and
        RemovePermission; they leave LastModifiedTimestamp as it is)."""
        async with self._lock:
            self._require_live(queue)
            values = dict(queue.attributes)
            if policy is None:
                values.pop("Policy", None)
            else:
                values["Policy"] = policy
            await self._store.update_attributes(queue.id, values, queue.last_modified)
            queue.attributes = values

    async def replace_tags(self, queue: Queue, tags: dict[str, str]) -> None:
        """Store ``tags`` as the queue's whole tag set."""
        async with self._lock:
            self._require_live(queue)
            new_tags = dict(tags)
            await self._store.update_tags(queue.id, new_tags)
            queue.tags = new_tags

    async def delete(self, queue: Queue) -> None:
        """DeleteQueue: the queue and its messages go (one transaction); the name is
        unavailable for 60 seconds; hooks run after."""
        async with self._lock:
            self._require_live(queue)
            await self._store.delete_queue(queue.id)
            key = (queue.region, queue.account_id, queue.name)
            self._by_key.pop(key, None)
            self._by_arn.pop(queue.arn, None)
            self._by_url = {k: cached for k, cached in self._by_url.items() if cached is not queue}
            queue.deleted = True
            self._prune_deleted()
            self._deleted_at[key] = self._clock()
        for hook in self._on_deleted:
            result = hook(queue)
            if inspect.isawaitable(result):
                await result

    # --- helpers -----------------------------------------------------------------------

    def _new_queue(
        self,
        queue_id: int,
        region: str,
        account: str,
        name: str,
        fifo: bool,
        values: dict[str, str],
    ) -> Queue:
        queue = Queue(
            id=queue_id,
            region=region,
            account_id=account,
            name=name,
            arn=queue_arn(region, account, name),
            url=queue_url(self._base_url, account, name),
            fifo=fifo,
            attributes=values,
            tags={},
            created=0.0,
            last_modified=0.0,
        )
        attrs.apply_typed_views(queue, _stored_redrive(values))
        return queue

    def _index(self, queue: Queue) -> None:
        self._by_key[(queue.region, queue.account_id, queue.name)] = queue
        self._by_arn[queue.arn] = queue

    def _require_live(self, queue: Queue) -> None:
        if queue.deleted:
            raise QueueDoesNotExist()

    def _check_deleted_recently(self, key: QueueKey) -> None:
        deleted_at = self._deleted_at.get(key)
        if deleted_at is not None and self._clock() - deleted_at < DELETED_RECENTLY_SECONDS:
            raise QueueDeletedRecently(
                "You must wait 60 seconds after deleting a queue before you can create "
                "another with the same name."
            )

    def _prune_deleted(self) -> None:
        """Forget deletions older than the waiting period (keeps the map bounded)."""
        horizon = self._clock() - DELETED_RECENTLY_SECONDS
        for key in [key for key, at in self._deleted_at.items() if at < horizon]:
            del self._deleted_at[key]

    def _check_dead_letter_target(
        self, region: str, account: str, policy: RedrivePolicy, raw: str
    ) -> None:
        """The target of a (parsed, type-checked) redrive policy is a live queue of the
        source's account and region."""
        parsed = parse_queue_arn(policy.dead_letter_target_arn)
        if parsed is not None and parsed[1] != account:
            raise invalid_target(raw, "Dead-letter target owner should be same as the source.")
        target = self._by_arn.get(policy.dead_letter_target_arn)
        if target is None or parsed is None or parsed[0] != region:
            raise invalid_target(raw, "Dead letter target does not exist.")


def _stored_redrive(values: dict[str, str]) -> RedrivePolicy | None:
    text = values.get("RedrivePolicy")
    return parsed_text(text) if text else None
