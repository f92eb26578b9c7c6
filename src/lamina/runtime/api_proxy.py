"""Lamina's API inside an environment's network namespace.

An environment with no network of its own still reaches Lamina (``AWS_ENDPOINT_URL``):
the sandbox creates a listening socket on 127.0.0.1:<Lamina's port> inside the
namespace, and the server relays each connection to its own edge.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def serve_proxy(listener: socket.socket, host: str, port: int) -> asyncio.AbstractServer:
    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    listener.setblocking(False)
    return await asyncio.start_server(relay, sock=listener)
