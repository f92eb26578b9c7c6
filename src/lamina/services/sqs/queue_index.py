"""One queue's messages in memory: which are visible, delayed or in flight, and in what order.

The index is the hot path of every message operation: it never touches the store (the engine
records each change durably around it). Time is passed in explicitly (milliseconds), so the
rules are plain functions of the state.

- A message is *delayed* until its first delivery time, *visible* when it may be received,
  *in flight* between a receive and its visibility timeout. Messages that are not visible sit
  in a heap by the time they become visible; ``promote`` moves the due ones (lazily, on every
  read), so no timer runs per message.
- Standard queues hand out visible messages oldest-visible first.
- FIFO queues keep each message group in send order and hand a group's messages out from
  its head, in order, up to the first one that is not visible: a group whose head is in
  flight (or delayed) is locked. A head made visible again (its visibility timeout expired
  or was changed to 0) is received again even while later messages of its group are in
  flight (recorded: test_fifo_group_visibility_extends_with_change_message_visibility).
"""

from __future__ import annotations

import contextlib
import heapq
from collections import deque

from lamina.services.sqs.payload_budget import PayloadBudget
from lamina.services.sqs.waiters import Waiters
from lamina.store.sqs_records import MessageRecord

VISIBLE = 0
DELAYED = 1
IN_FLIGHT = 2


class QueueIndex:
    """The in-memory state of one queue's messages."""

    def __init__(self, queue_id: int, fifo: bool, budget: PayloadBudget | None = None) -> None:
        self.queue_id = queue_id
        self.fifo = fifo
        self.budget = budget if budget is not None else PayloadBudget()
        # Every message by id, in the order they entered the queue.
        self.messages: dict[str, MessageRecord] = {}
        self._ready: dict[int, MessageRecord] = {}  # standard queues: visible, by seq
        self._hidden: list[tuple[int, int, int, MessageRecord]] = []  # (due, seq, version, m)
        self._groups: dict[str, deque[MessageRecord]] = {}
        self.visible = 0
        self.delayed = 0
        self.in_flight = 0
        self.waiters = Waiters()

    # --- placing messages -----------------------------------------------------------------

    def _place(self, message: MessageRecord, now_ms: int) -> None:
        if message.visible_at_ms <= now_ms:
            message.state = VISIBLE
            self.visible += 1
            if not self.fifo:
                self._ready[message.seq] = message
            return
        if message.receive_count == 0:
            message.state = DELAYED
            self.delayed += 1
        else:
            message.state = IN_FLIGHT
            self.in_flight += 1
        heapq.heappush(self._hidden, (message.visible_at_ms, message.seq, message.version, message))

    def _unplace(self, message: MessageRecord) -> None:
        message.version += 1  # invalidates its heap entry, if any
        if message.state == VISIBLE:
            self.visible -= 1
            self._ready.pop(message.seq, None)
        elif message.state == DELAYED:
            self.delayed -= 1
        else:
            self.in_flight -= 1

    def add(self, message: MessageRecord, now_ms: int) -> None:
        """A message entering the queue (sent, moved in, or loaded at start)."""
        self.messages[message.message_id] = message
        self.budget.admit(message)
        if self.fifo:
            group = message.group_id or ""
            queue = self._groups.get(group)
            if queue is None:
                queue = self._groups[group] = deque()
            queue.append(message)
        self._place(message, now_ms)

    def remove(self, message: MessageRecord) -> None:
        """A message leaving the queue (deleted, expired, purged, moved out)."""
        if self.messages.pop(message.message_id, None) is None:
            return
        self.budget.release(message)
        self._unplace(message)
        if self.fifo:
            group = message.group_id or ""
            queue = self._groups.get(group)
            if queue is not None:
                if queue and queue[0] is message:
                    queue.popleft()
                else:
                    with contextlib.suppress(ValueError):
                        queue.remove(message)
                if not queue:
                    del self._groups[group]

    def set_visible_at(self, message: MessageRecord, visible_at_ms: int, now_ms: int) -> None:
        """Hide a message until ``visible_at_ms`` (a receive, a visibility change)."""
        self._unplace(message)
        message.visible_at_ms = visible_at_ms
        self._place(message, now_ms)

    # --- time -----------------------------------------------------------------------------

    def promote(self, now_ms: int) -> int:
        """Make every message whose time has come visible; returns how many."""
        count = 0
        hidden = self._hidden
        while hidden and hidden[0][0] <= now_ms:
            _, _, version, message = heapq.heappop(hidden)
            if version != message.version or message.state == VISIBLE:
                continue
            if self.messages.get(message.message_id) is not message:
                continue
            self._unplace(message)
            self._place(message, now_ms)
            count += 1
        return count

    def next_due_ms(self) -> int | None:
        """When the next hidden message becomes visible (None: none is hidden)."""
        hidden = self._hidden
        while hidden:
            _, _, version, message = hidden[0]
            if version == message.version and self.messages.get(message.message_id) is message:
                return hidden[0][0]
            heapq.heappop(hidden)
        return None

    # --- receiving ------------------------------------------------------------------------

    def receivable(self, limit: int) -> list[MessageRecord]:
        """Up to ``limit`` messages a receive may take now (call ``promote`` first).

        FIFO: the visible messages at the head of each group, a group's messages together
        and in order, groups oldest first.
        """
        out: list[MessageRecord] = []
        if limit <= 0:
            return out
        if not self.fifo:
            for message in self._ready.values():
                out.append(message)
                if len(out) >= limit:
                    break
            return out
        for queue in self._groups.values():
            for message in queue:
                if message.state != VISIBLE:
                    break
                out.append(message)
                if len(out) >= limit:
                    return out
        return out

    def has_receivable(self) -> bool:
        return bool(self.receivable(1))

    def oldest(self) -> MessageRecord | None:
        return next(iter(self.messages.values()), None)

    def clear(self) -> list[MessageRecord]:
        """Remove every message; returns them."""
        gone = list(self.messages.values())
        self.messages.clear()
        self._ready.clear()
        self._hidden.clear()
        self._groups.clear()
        self.visible = self.delayed = self.in_flight = 0
        for message in gone:
            message.version += 1
            self.budget.release(message)
        return gone
