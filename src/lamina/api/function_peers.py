"""Calls from functions that share the host's network (``--function-network host``).

Such a function reaches the API port directly, not through the relay of its own network
namespace. Each isolated environment runs as a uid of its own (runtime/sandbox_users.py),
so when a connection is accepted the kernel's socket tables (runtime/peer.py) tell whose
socket is at the other end: a connection owned by an environment's uid is treated exactly
as a relayed one (it must carry that environment's live credentials and never reaches
``/_lamina/*``, api/access.py). One lookup per connection (tens of microseconds through
netlink), made only in that network mode.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from lamina.runtime.api_proxy import RelayedConnections
from lamina.runtime.peer import peer_socket

log = logging.getLogger("lamina.edge")


class FunctionPeers:
    def __init__(self, relayed: RelayedConnections, is_function_uid: Callable[[int], bool]):
        self.relayed = relayed
        self.is_function_uid = is_function_uid

    def connected(self, transport: asyncio.BaseTransport) -> tuple[str, int] | None:
        """Marks the connection as a function's when its peer socket belongs to an
        environment's uid; returns the client address to forget on ``disconnected``."""
        local = transport.get_extra_info("sockname")
        remote = transport.get_extra_info("peername")
        if not _ipv4(local) or not _ipv4(remote):
            return None
        try:
            peer = peer_socket((local[0], local[1]), (remote[0], remote[1]))
        except OSError as exc:  # no socket diagnostics: nothing to tell it apart
            log.debug("peer lookup failed: %s", exc)
            return None
        if peer is None or not self.is_function_uid(peer.uid):
            return None
        address = (remote[0], remote[1])
        self.relayed.add(address)
        return address

    def disconnected(self, address: tuple[str, int]) -> None:
        self.relayed.discard(address)


def _ipv4(address: object) -> bool:
    return isinstance(address, tuple) and len(address) == 2 and "." in str(address[0])
