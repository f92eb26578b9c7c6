"""The Runtime API server's bounds and peer checks, against a stand-in environment.

The end-to-end attacks are in ``tests/e2e/test_hardening_runtime_api.py``; these cover
what is hard to provoke from inside a function: back-pressure on a runtime that never
reads its replies, connections that are not the runtime's, and the peer lookup itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from lamina.runtime.peer import PeerSocket, _by_netlink, _by_proc_net_tcp, peer_socket
from lamina.runtime.peer import runtime_peer_check as peer_check_for
from lamina.runtime.runtime_api import ACCEPTED, ApiReply, NextEvent, RuntimeApiServer

BIG_EVENT = b"e" * (1024 * 1024)


class StandIn:
    """Hands out 1 MB events; records what the server reported."""

    def __init__(self) -> None:
        self.abused: list[str] = []
        self.next_calls = 0
        self.oversized = 0
        # Set: /next waits on it (no invocation yet).
        self.long_poll: asyncio.Future[None] | None = None

    async def next_event(self) -> NextEvent | ApiReply:
        self.next_calls += 1
        if self.long_poll is not None:
            await self.long_poll
        return ApiReply(200, BIG_EVENT)

    def post_response(self, request_id: str, body: bytes) -> ApiReply:
        return ACCEPTED

    def post_oversized_response(self, request_id: str) -> ApiReply:
        self.oversized += 1
        return ApiReply(413)

    def post_error(self, request_id: str, body: bytes, error_type: str | None) -> ApiReply:
        return ACCEPTED

    def post_init_error(self, body: bytes, error_type: str | None) -> ApiReply:
        return ACCEPTED

    def runtime_api_abused(self, reason: str) -> None:
        self.abused.append(reason)


Scenario = Callable[[RuntimeApiServer, StandIn], Awaitable[None]]


def serve(scenario: Scenario) -> StandIn:
    stand_in = StandIn()

    async def main() -> None:
        server = RuntimeApiServer(stand_in)
        await server.start()
        try:
            await scenario(server, stand_in)
        finally:
            server.close()

    asyncio.run(main())
    return stand_in


def connect(server: RuntimeApiServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=5)


def exchange(sock: socket.socket, request: bytes) -> bytes:
    sock.sendall(request)
    sock.settimeout(5)
    return sock.recv(65536)


def test_a_runtime_that_never_reads_its_replies_is_held_back() -> None:
    async def scenario(server: RuntimeApiServer, stand_in: StandIn) -> None:
        sock = connect(server)
        request = b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n"
        for sent in range(500):
            # One request at a time (each is handled before the next is sent), 1 MB replies
            # of which none is read.
            await asyncio.to_thread(sock.sendall, request)
            for _ in range(50):
                if stand_in.next_calls > sent:
                    break
                await asyncio.sleep(0.01)
            else:
                break  # not handled within 0.5 s: the server stopped reading
        # Its output backed up, the server stopped taking requests instead of buffering
        # 500 MB of replies.
        assert 0 < stand_in.next_calls < 40, stand_in.next_calls
        assert stand_in.abused == []
        sock.close()

    serve(scenario)


def test_a_runtime_closing_its_connection_during_a_long_next_is_noticed() -> None:
    async def scenario(server: RuntimeApiServer, stand_in: StandIn) -> None:
        stand_in.long_poll = asyncio.get_running_loop().create_future()
        for _ in range(20):  # more than the connection limit, one after the other
            with connect(server) as sock:
                sock.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n")
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.01)
        assert stand_in.next_calls == 20
        assert server.open_connections == 0
        assert stand_in.abused == []

    serve(scenario)


def test_an_oversized_response_is_discarded_and_answered_413() -> None:
    async def scenario(server: RuntimeApiServer, stand_in: StandIn) -> None:
        body = b"x" * (7 * 1024 * 1024)
        request = (
            b"POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        ) + body
        with connect(server) as sock:
            reply = await asyncio.to_thread(exchange, sock, request)
            assert reply.startswith(b"HTTP/1.1 413 ")
            # The connection still serves its runtime.
            pong = await asyncio.to_thread(exchange, sock, b"GET /ping HTTP/1.1\r\n\r\n")
            assert pong.endswith(b"pong")
        assert stand_in.oversized == 1
        assert stand_in.abused == []

    serve(scenario)


def test_too_many_headers_break_a_limit() -> None:
    async def scenario(server: RuntimeApiServer, stand_in: StandIn) -> None:
        headers = b"".join(b"X-%d: 1\r\n" % n for n in range(101))
        with connect(server) as sock:
            reply = await asyncio.to_thread(
                exchange, sock, b"GET /ping HTTP/1.1\r\n" + headers + b"\r\n"
            )
        assert reply == b""  # dropped
        assert stand_in.abused == ["more than 100 headers"]
        assert server.broken == "more than 100 headers"

    serve(scenario)


def test_a_foreign_connection_is_refused_and_cannot_break_the_runtimes_limits() -> None:
    async def scenario(server: RuntimeApiServer, stand_in: StandIn) -> None:
        server.check_peers()
        asked: list[PeerSocket] = []

        def nobody(peer: PeerSocket) -> bool:
            asked.append(peer)
            return False

        with connect(server) as early:
            # A connection made before the runtime is known waits for it.
            early.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n")
            await asyncio.sleep(0.1)
            assert stand_in.next_calls == 0
            server.admit_peers(nobody)
            reply = await asyncio.to_thread(early.recv, 65536)
            assert reply.startswith(b"HTTP/1.1 403 Forbidden")
            assert b"AccessDeniedException" in reply
        with connect(server) as flood, contextlib.suppress(OSError):
            big = b"GET /ping HTTP/1.1\r\nX: " + b"a" * (1024 * 1024)
            await asyncio.to_thread(flood.sendall, big)
        await asyncio.sleep(0.1)
        assert stand_in.next_calls == 0
        assert stand_in.abused == []
        assert server.broken is None
        assert asked and asked[0].uid == os.getuid()

    serve(scenario)


def test_the_runtime_is_admitted_by_its_check() -> None:
    async def scenario(server: RuntimeApiServer, stand_in: StandIn) -> None:
        server.check_peers()
        server.admit_peers(lambda peer: peer.uid == os.getuid())
        with connect(server) as sock:
            reply = await asyncio.to_thread(exchange, sock, b"GET /ping HTTP/1.1\r\n\r\n")
        assert reply.endswith(b"pong")

    serve(scenario)


def test_too_many_connections_break_a_limit() -> None:
    async def scenario(server: RuntimeApiServer, stand_in: StandIn) -> None:
        held = [connect(server) for _ in range(17)]
        await asyncio.sleep(0.1)
        assert stand_in.abused == ["more than 16 connections"]
        for sock in held:
            sock.close()

    serve(scenario)


def test_peer_socket_names_the_other_end() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
        ours = accepted.getsockname(), accepted.getpeername()
        expected = PeerSocket(uid=os.getuid(), inode=os.fstat(client.fileno()).st_ino)
        assert peer_socket(*ours) == expected
        assert _by_netlink(*ours) == expected
        assert _by_proc_net_tcp(*ours) == expected
        client.close()
        assert peer_socket(*ours) is None
        accepted.close()


@dataclass
class _Cgroup:
    pids: list[int]

    def procs(self) -> list[int]:
        return self.pids


@dataclass
class _IsolatedHandle:
    cgroup: _Cgroup
    uid: int | None = None


def test_runtime_peer_check_prefers_the_uid_then_the_cgroup() -> None:
    with socket.socket() as held:
        mine = PeerSocket(uid=200001, inode=os.fstat(held.fileno()).st_ino)
        by_uid = peer_check_for(_IsolatedHandle(_Cgroup([]), uid=200001))
        assert by_uid is not None and by_uid(mine)
        assert not by_uid(PeerSocket(uid=200002, inode=mine.inode))
        by_cgroup = peer_check_for(_IsolatedHandle(_Cgroup([os.getpid()])))
        assert by_cgroup is not None and by_cgroup(mine)
        elsewhere = peer_check_for(_IsolatedHandle(_Cgroup([1])))
        assert elsewhere is not None and not elsewhere(mine)
    assert peer_check_for(object()) is None
