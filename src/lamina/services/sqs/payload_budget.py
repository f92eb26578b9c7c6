"""How many bytes of message bodies and attributes the engine keeps in memory.

Every message's metadata is in memory (the index needs it); its payload (body and
attributes, up to 1 MiB each) is kept only while the total stays within the budget. A message
admitted beyond it keeps its payload in the store only, and a receive reads it from there
(``SqsMessageStore.load_payloads``). Messages loaded at start are never cached: a long backlog
costs its metadata, not its bodies.
"""

from __future__ import annotations

from lamina.store.sqs_records import MessageRecord

DEFAULT_BUDGET_BYTES = 128 * 1024 * 1024


def payload_size(message: MessageRecord) -> int:
    size = len(message.body)
    for name, (data_type, text, binary) in message.message_attributes.items():
        size += len(name) + len(data_type) + len(text or "") + len(binary or b"")
    return size


class PayloadBudget:
    """The bytes of payloads held in memory, against a limit; and how many messages the
    engine holds (each costs its metadata in memory, whether its payload is cached or not)."""

    def __init__(self, limit_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.limit = limit_bytes
        self.used = 0
        self.messages = 0

    def admit(self, message: MessageRecord) -> None:
        """Count a message, and its payload if cached (dropped from memory over budget)."""
        self.messages += 1
        if not message.cached:
            return
        size = payload_size(message)
        if self.used + size > self.limit:
            message.body = ""
            message.message_attributes = {}
            message.cached = False
            message.payload_size = 0
            return
        message.payload_size = size
        self.used += size

    def release(self, message: MessageRecord) -> None:
        """A message leaving memory (deleted, expired, moved out)."""
        self.messages -= 1
        if message.cached:
            self.used -= message.payload_size
            message.payload_size = 0
