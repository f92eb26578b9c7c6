"""The store ports: what services need from persistence, one ``Protocol`` per store.

Services annotate their stores with these types and never import an implementation; the
SQLite classes of ``store/`` implement them (each module proves it to mypy with a typed
assignment at its end), and another backend (PostgreSQL) would implement the same protocols
with the same contracts (docs/architecture.md). A protocol lists exactly the methods services
call. Unless a method says otherwise:

- every write is atomic: it happens entirely or not at all, and once it returns it is
  durable and seen by every later read;
- reads of something that does not exist return ``None`` (one item), an empty collection
  (several) or ``False`` (a write that needed it), never raise;
- methods are synchronous, except the ``async`` ones of the asynchronous queue and the SQS
  store (docs/architecture.md says from where each port is called);
- ``close`` releases the store's resources; the store is not used after it.

The function store owns the functions; the per-function stores (aliases, reserved and
provisioned concurrency, event invoke configurations) hold rows that belong to a function:
deleting the function deletes them in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from lamina.domain.aliases import Alias
from lamina.domain.event_source_mapping import EventSourceMapping
from lamina.domain.layers import LayerPolicy, LayerVersion
from lamina.domain.models import LATEST, FunctionConfig
from lamina.domain.provisioned import ProvisionedConfig
from lamina.store.log_records import (
    EventsPage,
    LogEvent,
    LogGroupInfo,
    LogStreamInfo,
    Page,
    StoredEvent,
)
from lamina.store.records import EventInvokeConfig, NewEvent, QueuedEvent, Retained
from lamina.store.sqs_records import (
    DedupEntry,
    MessageMove,
    MessageRecord,
    Payload,
    StoredMessages,
    StoredQueue,
)

# A layer version's policy change: the current policy (None: none) to the new one (None:
# remove it); raising leaves the policy as it was.
PolicyChange = Callable[[LayerPolicy | None], LayerPolicy | None]


class FunctionStore(Protocol):
    """Functions: each with its tags, its mutable ``$LATEST`` and its published versions."""

    def create(self, config: FunctionConfig, tags: dict[str, str], created_at: float) -> bool:
        """Insert a new function with ``config`` as its first version; False (nothing
        stored) if a function of that name exists."""

    def put_version(self, config: FunctionConfig) -> None:
        """Insert or replace one version of an existing function."""

    def next_version(self, name: str) -> str:
        """The number the function's next published version gets: one more than the highest
        ever handed out, so numbers of deleted versions are never reused ("1" at first)."""

    def publish(self, version: FunctionConfig, latest: FunctionConfig) -> None:
        """Store a new published version and the function's revised ``$LATEST`` together,
        and count ``version``'s number as handed out."""

    def get(self, name: str, version: str = LATEST) -> FunctionConfig | None:
        """One version of a function; None if the function or the version does not exist."""

    def list_latest(self, after: str | None, limit: int) -> list[FunctionConfig]:
        """The ``$LATEST`` of at most ``limit`` functions named after ``after``, by name."""

    def versions(self, name: str) -> list[str]:
        """A function's versions: ``$LATEST`` first, then published numbers ascending."""

    def delete_version(self, name: str, version: str) -> None:
        """Delete one version (nothing if it does not exist)."""

    def delete(self, name: str) -> bool:
        """Delete a function, its versions and every row that belongs to it (aliases,
        concurrency, provisioned and event invoke configurations); False if there was none."""

    def get_tags(self, name: str) -> dict[str, str] | None:
        """A function's tags; None if the function does not exist."""

    def set_tags(
        self, name: str, tags: dict[str, str], latest: FunctionConfig | None = None
    ) -> None:
        """Replace a function's tags; with ``latest``, store its new ``$LATEST`` in the same
        transaction (tagging changes the function's RevisionId)."""

    def code_usage(self) -> tuple[int, int]:
        """(number of functions, total code size in bytes of all their versions)."""

    def all_versions(self) -> list[FunctionConfig]:
        """Every version of every function."""

    def referenced_code(self) -> set[str]:
        """The sha256 of every package some version uses: its code and its layers'."""

    def close(self) -> None: ...


class AliasStore(Protocol):
    """Aliases of functions (see ``FunctionStore.delete``)."""

    def all(self) -> list[Alias]:
        """Every alias of every function."""

    def create(self, alias: Alias) -> bool:
        """Insert a new alias; False (nothing stored) if its function has one of that name."""

    def put(self, alias: Alias) -> None:
        """Replace an existing alias (nothing if it does not exist)."""

    def delete(self, function: str, name: str) -> None:
        """Delete an alias (nothing if it does not exist)."""

    def close(self) -> None: ...


class LayerStore(Protocol):
    """Layers and their versions, each version with its resource policy. Version numbers of
    a layer are never reused, even after all its versions are deleted."""

    def publish(self, draft: LayerVersion) -> LayerVersion:
        """Store ``draft`` as the layer's next version (``draft.version`` is ignored); the
        version as stored."""

    def get(self, name: str, version: int) -> LayerVersion | None:
        """One version; None if it does not exist."""

    def versions(self, name: str) -> list[LayerVersion]:
        """A layer's live versions, newest first."""

    def all_versions(self, after_name: str = "") -> list[LayerVersion]:
        """Every live version of the layers named after ``after_name``: by name, then
        newest first."""

    def delete(self, name: str, version: int) -> LayerVersion | None:
        """Delete a version and its policy; the deleted version, or None if there was none."""

    def get_policy(self, name: str, version: int) -> LayerPolicy | None:
        """A version's policy; None if it has none or the version does not exist."""

    def change_policy(self, name: str, version: int, change: PolicyChange) -> LayerPolicy | None:
        """Replace a version's policy with ``change(current)`` in one transaction and return
        it; an exception from ``change`` leaves the policy as it was. ``LookupError`` if the
        version does not exist."""

    def referenced_code(self) -> set[str]:
        """The sha256 of every live layer version's package."""

    def total_code_size(self) -> int:
        """Bytes of all live layer versions' packages."""

    def close(self) -> None: ...


class ConcurrencyStore(Protocol):
    """Reserved concurrency: a value per function that has a reservation."""

    def put(self, name: str, reserved: int) -> bool:
        """Set a function's reservation; False (nothing stored) if the function does not
        exist (any more)."""

    def delete(self, name: str) -> None:
        """Remove a function's reservation (nothing if it has none)."""

    def all(self) -> dict[str, int]:
        """Every reservation, by function name."""

    def close(self) -> None: ...


class ProvisionedStore(Protocol):
    """Provisioned concurrency configurations, one per (function, qualifier)."""

    def all(self) -> list[ProvisionedConfig]:
        """Every configuration."""

    def put(self, config: ProvisionedConfig) -> bool:
        """Insert or replace a configuration; False (nothing stored) if the function does not
        exist (any more)."""

    def delete(self, function: str, qualifier: str) -> None:
        """Remove a configuration (nothing if there is none)."""

    def close(self) -> None: ...


class EventInvokeConfigStore(Protocol):
    """Asynchronous invocation configurations, one per (function, qualifier)."""

    def put(self, config: EventInvokeConfig) -> bool:
        """Insert or replace a configuration; False (nothing stored) if the function does not
        exist (any more)."""

    def delete(self, function: str, qualifier: str | None = None) -> None:
        """Remove one configuration, or with no qualifier every one of the function."""

    def all(self) -> list[EventInvokeConfig]:
        """Every configuration."""

    def close(self) -> None: ...


class LogStore(Protocol):
    """CloudWatch Logs groups, streams and events. Errors are ``store.log_records``'
    (``ResourceNotFound``, ``ResourceAlreadyExists``, ``InvalidParameter``), whose ``code``
    is the CloudWatch Logs error; pagination tokens are opaque strings."""

    def append(self, events: Sequence[LogEvent]) -> None:
        """Store events, creating their groups and streams as needed; an event that cannot
        be stored is skipped (and logged) without losing the others."""

    def create_log_group(self, name: str) -> None:
        """Create an empty group; ``ResourceAlreadyExists`` if it exists."""

    def delete_log_group(self, name: str) -> None:
        """Delete a group, its streams and events; ``ResourceNotFound`` if there is none."""

    def put_retention_policy(self, name: str, days: int | None) -> None:
        """Set (or with None remove) a group's retention; ``ResourceNotFound`` if none."""

    def expire_events(self, now_ms: int | None = None) -> int:
        """Delete the events older than their group's retention; how many."""

    def enforce_size_limit(self, limit_bytes: int) -> int:
        """Over ``limit_bytes`` of storage, delete the oldest events (of any group) until
        under 90 % of it; how many were deleted."""

    def describe_log_groups(
        self,
        prefix: str | None = None,
        limit: int = 50,
        token: str | None = None,
        pattern: str | None = None,
    ) -> Page[LogGroupInfo]:
        """Groups by name; ``pattern`` is a case-insensitive substring."""

    def describe_log_streams(
        self,
        group: str,
        prefix: str | None = None,
        order_by: str = "LogStreamName",
        descending: bool = False,
        limit: int = 50,
        token: str | None = None,
    ) -> Page[LogStreamInfo]:
        """A group's streams by name or last event time; ``ResourceNotFound`` if no group."""

    def get_log_events(
        self,
        group: str,
        stream: str,
        start: int | None = None,
        end: int | None = None,
        limit: int | None = None,
        start_from_head: bool = False,
        next_token: str | None = None,
    ) -> EventsPage:
        """One stream's events in time order (``start`` inclusive, ``end`` exclusive), at
        most 10,000 and 1 MB; ``ResourceNotFound`` if the group or stream does not exist."""

    def filter_log_events(
        self,
        group: str,
        stream_names: Sequence[str] | None = None,
        stream_prefix: str | None = None,
        start: int | None = None,
        end: int | None = None,
        filter_pattern: str | None = None,
        limit: int | None = None,
        next_token: str | None = None,
    ) -> Page[StoredEvent]:
        """A group's events matching ``filter_pattern`` in time order (``end`` inclusive); a
        page may be empty yet carry a token when the scan stopped early."""

    def close(self) -> None: ...


class AsyncQueue(Protocol):
    """The durable queue of asynchronous invocations and deliveries. Each ``async`` write
    returns only once committed durably (an event acknowledged with 202 survives a crash).

    An event is *due* once its ``due_at`` has passed; ``claim`` leases due events until a
    visibility deadline, after which they are claimable again; ``finish`` deletes one,
    ``reschedule`` releases it for later."""

    async def enqueue(self, event: NewEvent) -> int:
        """Store an event; its id. On a full disk: ``TooManyRequestsException`` (nothing
        stored; the caller's SDK retries)."""

    async def release_leases(self) -> dict[str, int]:
        """Release every lease (their holder, a previous server, is gone); how many per
        function."""

    async def claim(
        self, now: float, limit: int, visibility: float, exclude: set[str]
    ) -> list[QueuedEvent]:
        """Lease up to ``limit`` due, unleased events (earliest due first), skipping
        ``exclude``'s functions, until ``now + visibility``; counts a claim on each."""

    async def next_due(self, exclude: set[str]) -> float | None:
        """When the earliest unleased event (not of ``exclude``'s functions) is due; None if
        there is none."""

    async def finish(
        self, event_id: int, follow: list[NewEvent], retain: list[Retained] | None = None
    ) -> None:
        """Delete the event and insert what follows it (deliveries, retained items) in one
        transaction."""

    async def reschedule(self, event: QueuedEvent) -> None:
        """Release the event's lease and store its counters and ``due_at``."""

    async def retain(self, item: Retained) -> None:
        """Keep an item that cannot be delivered."""

    def counts(self, now: float) -> dict[str, dict[str, int]]:
        """Per function: ``pending``, ``in_flight``, ``retrying``, ``deliveries`` and
        ``retained`` counts (a read that never waits for the writer)."""

    def retained(self, function: str | None, limit: int) -> list[dict[str, Any]]:
        """The most recent retained items (of one function, or all), newest first, as JSON
        objects for ``GET /_lamina/async``."""

    def close(self) -> None: ...


class MappingStore(Protocol):
    """Event source mappings by UUID, of every region and account (read once at start, then
    served from memory). Calls block: services make them off the event loop."""

    def put(self, mapping: EventSourceMapping) -> None:
        """Insert or replace a whole mapping."""

    def delete(self, uuid: str) -> None:
        """Delete a mapping (nothing if there is none)."""

    def all(self) -> list[EventSourceMapping]:
        """Every mapping, least recently modified first."""

    def close(self) -> None: ...


class SqsQueueStore(Protocol):
    """The queues of the SQS-compatible service, of every region and account.

    Each ``async`` write returns once committed durably (as ``--queue-durability`` defines
    it); writes of many callers may share one transaction (group commit) but each is atomic
    on its own and one that fails changes nothing. Queue ids are never reused, even after a
    deletion. A write naming a queue id that does not exist changes nothing and does not
    raise (the queue registry, which checks existence in memory, is the judge)."""

    def load_queues(self) -> list[StoredQueue]:
        """Every stored queue, oldest first. Blocks: call it off the event loop (at start)."""

    async def insert_queue(
        self,
        region: str,
        account_id: str,
        name: str,
        *,
        fifo: bool,
        attributes: dict[str, str],
        tags: dict[str, str],
        created: float,
    ) -> int:
        """Store a new queue (``created`` is also its last modification); its id. The caller
        ensures no stored queue has this (region, account, name): one that does makes the
        call raise with nothing stored."""

    async def update_attributes(
        self, queue_id: int, attributes: dict[str, str], last_modified: float
    ) -> None:
        """Replace a queue's attributes and its last modification time together."""

    async def update_tags(self, queue_id: int, tags: dict[str, str]) -> None:
        """Replace a queue's tags (the last modification time stays)."""

    async def delete_queue(self, queue_id: int) -> None:
        """Delete a queue with its messages and deduplication ids, in one transaction."""


class SqsMessageStore(Protocol):
    """The messages of the SQS-compatible service and the deduplication ids of its FIFO
    queues. A message is named by its ``seq`` (unique across queues; the engine assigns it,
    greater than ``StoredMessages.last_seq``).

    Each ``async`` write is atomic and returns once committed durably (see
    ``SqsQueueStore``); a message ``seq`` that is not stored (deleted meanwhile) is skipped
    without error. The blocking loaders see only committed writes and may be called from
    any thread but the event loop's."""

    def load_messages(self, now_ms: int) -> StoredMessages:
        """Every stored message (without payloads), the deduplication ids live after
        ``now_ms`` and the highest ``seq`` ever stored, as of one moment. Blocks: call it
        off the event loop (at start)."""

    def load_payloads(self, seqs: list[int]) -> dict[int, Payload]:
        """The bodies and message attributes of these messages by ``seq`` (messages gone are
        absent). Blocks: call it off the event loop."""

    async def insert_messages(self, messages: list[MessageRecord], dedup: list[DedupEntry]) -> None:
        """Store new messages (payloads included) and the deduplication ids they claim
        (replacing an expired claim of the same queue, scope and id), together."""

    async def record_receives(
        self, received: list[MessageRecord], dead_lettered: list[MessageMove]
    ) -> None:
        """Store the receive state of ``received`` (visibility, receive count, first
        receive, receipt token) and move ``dead_lettered`` to their dead-letter queues, in
        one transaction."""

    async def move_messages(self, moves: list[MessageMove]) -> None:
        """Move messages to other queues (their new ``seq``, queue and receive state; body
        and attributes stay), in one transaction."""

    async def set_visibility(self, changes: list[tuple[int, int]]) -> None:
        """Store ``(seq, visible_at_ms)`` pairs, together."""

    async def delete_messages(self, seqs: list[int]) -> None:
        """Delete these messages, together."""

    async def purge_queue(self, queue_id: int, up_to_seq: int) -> None:
        """Delete a queue's messages whose ``seq`` is at most ``up_to_seq`` (messages sent
        after the purge began stay)."""

    async def expire_dedup(self, now_ms: int) -> None:
        """Forget the deduplication ids that expired at or before ``now_ms``."""


class SqsStore(SqsQueueStore, SqsMessageStore, Protocol):
    """The SQS service's whole store: queues and messages in one database, so deleting a
    queue takes its messages in the same transaction."""

    def close(self) -> None:
        """Commit every write already requested, then release the store."""
