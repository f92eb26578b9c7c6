"""X-Ray trace headers (``_X_AMZN_TRACE_ID``) for invocations that arrive without one."""

from __future__ import annotations

import time

from lamina.domain.ids import random_hex


def new_trace_id() -> str:
    """``Root=1-<epoch hex>-<96 random bits>;Parent=<64 random bits>;Sampled=0``."""
    digits = random_hex(20)  # the root's 24 digits, then the parent's 16
    return f"Root=1-{int(time.time()):08x}-{digits[:24]};Parent={digits[24:]};Sampled=0"
