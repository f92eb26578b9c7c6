"""Whether an event source mapping may poll (``--iam enforce``): its function's execution
role must be allowed what the poller does with the queue (``api.execution_role_checks``).

A mapping whose role lacks a permission does not poll; its ``StateTransitionReason`` says
why (the words AWS answers CreateEventSourceMapping with) until the role is allowed again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from lamina.domain.event_source_mapping import USER_INITIATED, EventSourceMapping

# A mapping -> why it may not poll, or None.
BlockReason = Callable[[EventSourceMapping], str | None]
# How every reason ``check`` gives begins (so a reason no longer true is cleared).
BLOCKED_PREFIX = "The provided execution role"


class PollGate:
    """Installed once at start (``check``: None under ``--iam off|audit``)."""

    def __init__(self) -> None:
        self.check: BlockReason | None = None

    def gated(self, mapping: EventSourceMapping) -> tuple[EventSourceMapping, bool]:
        """``(the mapping as it should be shown, whether it may poll)``."""
        check = self.check
        reason = check(mapping) if check is not None else None
        if reason is not None:
            if mapping.state_transition_reason == reason:
                return mapping, False
            return replace(mapping, state_transition_reason=reason), False
        if mapping.state_transition_reason.startswith(BLOCKED_PREFIX):
            return replace(mapping, state_transition_reason=USER_INITIATED), True
        return mapping, True
