"""Lamina's API inside an environment's network namespace.

An environment with no network of its own still reaches Lamina (``AWS_ENDPOINT_URL``):
the sandbox creates a listening socket on 127.0.0.1:<Lamina's port> inside the
namespace, and the server relays each connection to its own edge, at the address the
server listens on (``Settings.connect_host``).

The edge must know which of its connections come through a relay: requests from inside an
environment need that environment's credentials and never reach ``/_lamina/*``. The relay
records the local address of every upstream connection it opens before it forwards a
single byte, and forgets it a few seconds after the edge closed that connection
(``RelayedConnections``); the edge looks the client address of each request up in that
set. When the environment stops sending, the relay only half-closes the upstream
connection, so every request it forwarded is looked up while its address is still known.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

# Seconds an upstream connection's address stays known after the edge closed it.
RELEASE_DELAY = 5.0


class RelayedConnections:
    """The (address, port) pairs the edge sees as clients of relayed connections."""

    def __init__(self) -> None:
        self._addresses: set[tuple[str, int]] = set()

    def __contains__(self, address: object) -> bool:
        return address in self._addresses

    def add(self, address: tuple[str, int]) -> None:
        self._addresses.add(address)

    def discard(self, address: tuple[str, int]) -> None:
        self._addresses.discard(address)

    def __len__(self) -> int:
        return len(self._addresses)


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, half_close: bool = False
) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(Exception):
            if half_close and writer.can_write_eof():
                writer.write_eof()
            else:
                writer.close()


async def serve_proxy(
    listener: socket.socket, host: str, port: int, relayed: RelayedConnections
) -> asyncio.AbstractServer:
    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
        except OSError:
            writer.close()
            return
        local = upstream_writer.get_extra_info("sockname")
        address = (str(local[0]), int(local[1]))
        relayed.add(address)
        try:
            await asyncio.gather(
                _pipe(reader, upstream_writer, half_close=True), _pipe(upstream_reader, writer)
            )
        finally:
            with contextlib.suppress(Exception):
                upstream_writer.close()
            asyncio.get_running_loop().call_later(RELEASE_DELAY, relayed.discard, address)

    listener.setblocking(False)
    return await asyncio.start_server(relay, sock=listener)
