"""CloudWatch Logs' limits on one event, shared by what splits a function's output into
events (runtime/log_lines.py), what buffers them (services/log_buffer.py) and what stores
them (store/log_store.py)."""

from __future__ import annotations

EVENT_OVERHEAD_BYTES = 26  # what CloudWatch counts per event beyond its message
MAX_EVENT_BYTES = 262_144 - EVENT_OVERHEAD_BYTES  # CloudWatch's largest event: 256 KB in all


def utf8_size(message: str) -> int:
    """Bytes of ``message`` in UTF-8 (without encoding it when it is ASCII)."""
    return len(message) if message.isascii() else len(message.encode())


def truncate_message(message: str, limit: int = MAX_EVENT_BYTES) -> str:
    """``message`` cut to at most ``limit`` bytes of UTF-8 (between characters)."""
    if len(message) * 4 <= limit or (message.isascii() and len(message) <= limit):
        return message
    data = message.encode()
    if len(data) <= limit:
        return message
    return data[:limit].decode("utf-8", "ignore")
