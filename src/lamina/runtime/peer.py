"""Who holds the other end of a loopback TCP connection.

With ``--function-network host`` an environment's Runtime API listens on the host's
loopback, where every local process can connect to it. The Runtime API server asks, once
per accepted connection, which socket is at the other end and whose it is: the kernel's
socket diagnostics (``NETLINK_SOCK_DIAG``, one ``inet_diag`` request by exact 4-tuple)
give the peer socket's owner uid and inode; if netlink is unavailable, ``/proc/net/tcp``
is read instead. ``held_by`` tells whether one of a set of processes has that socket open.

IPv4 only: the Runtime API listens on 127.0.0.1. These calls read kernel tables (tens of
microseconds with netlink; a scan of every socket or file descriptor otherwise): callers
run them off the event loop.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass

NETLINK_SOCK_DIAG = 4  # a.k.a. NETLINK_INET_DIAG
SOCK_DIAG_BY_FAMILY = 20
NLMSG_ERROR = 2
NLM_F_REQUEST = 0x01
INET_DIAG_NOCOOKIE = 0xFFFFFFFF
ALL_TCP_STATES = 0xFFFFFFFF
_NLMSG_HEADER = struct.Struct("=IHHII")  # length, type, flags, sequence, port id
# inet_diag_msg after the header: family, state, timer, retransmits, the 48-byte socket
# id, then expires, rqueue, wqueue, uid, inode.
_DIAG_MSG = struct.Struct("=BBBB48sIIIII")

Address = tuple[str, int]


@dataclass(frozen=True)
class PeerSocket:
    """The socket at the other end: its owner (the uid that created it) and its inode."""

    uid: int
    inode: int


def peer_socket(local: Address, remote: Address) -> PeerSocket | None:
    """The socket whose local address is ``remote`` and whose peer is ``local`` (our end's
    addresses, as ``getsockname``/``getpeername`` give them), or None if it is gone."""
    try:
        return _by_netlink(local, remote)
    except OSError:
        return _by_proc_net_tcp(local, remote)


def held_by(inode: int, pids: Iterable[int]) -> bool:
    """Whether one of ``pids`` has the socket ``inode`` among its open files."""
    target = f"socket:[{inode}]"
    for pid in pids:
        directory = f"/proc/{pid}/fd"
        try:
            names = os.listdir(directory)
        except OSError:
            continue  # exited meanwhile
        for name in names:
            try:
                if os.readlink(f"{directory}/{name}") == target:
                    return True
            except OSError:
                continue
    return False


def _by_netlink(local: Address, remote: Address) -> PeerSocket | None:
    socket_id = (
        struct.pack("!HH", remote[1], local[1])
        + socket.inet_aton(remote[0]).ljust(16, b"\0")
        + socket.inet_aton(local[0]).ljust(16, b"\0")
        + struct.pack("=III", 0, INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE)
    )
    request = (
        struct.pack("=BBBBI", socket.AF_INET, socket.IPPROTO_TCP, 0, 0, ALL_TCP_STATES) + socket_id
    )
    header = _NLMSG_HEADER.pack(
        _NLMSG_HEADER.size + len(request), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, 1, 0
    )
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as diag:
        diag.settimeout(1.0)
        diag.send(header + request)
        reply = diag.recv(8192)
    _, kind, _, _, _ = _NLMSG_HEADER.unpack_from(reply)
    if kind == NLMSG_ERROR:
        (error,) = struct.unpack_from("=i", reply, _NLMSG_HEADER.size)
        if error in (0, -errno.ENOENT):
            return None  # the socket is gone: its peer closed it
        raise OSError(-error, os.strerror(-error))
    if kind != SOCK_DIAG_BY_FAMILY or len(reply) < _NLMSG_HEADER.size + _DIAG_MSG.size:
        raise OSError("unexpected sock_diag reply")
    fields = _DIAG_MSG.unpack_from(reply, _NLMSG_HEADER.size)
    return _owned(PeerSocket(uid=fields[8], inode=fields[9]))


def _owned(peer: PeerSocket) -> PeerSocket | None:
    """None for a socket no process holds any more (closed, waiting out its TCP states)."""
    return peer if peer.inode else None


def _hex_address(address: Address) -> str:
    """An IPv4 address as ``/proc/net/tcp`` writes it (the 32-bit word in host order)."""
    (word,) = struct.unpack("=I", socket.inet_aton(address[0]))
    return f"{word:08X}:{address[1]:04X}"


def _by_proc_net_tcp(local: Address, remote: Address) -> PeerSocket | None:
    wanted_local, wanted_remote = _hex_address(remote), _hex_address(local)
    try:
        with open("/proc/net/tcp") as table:
            next(table, None)
            for line in table:
                fields = line.split()
                if len(fields) > 9 and fields[1] == wanted_local and fields[2] == wanted_remote:
                    return _owned(PeerSocket(uid=int(fields[7]), inode=int(fields[9])))
    except OSError:
        return None
    return None


def runtime_peer_check(handle: object) -> Callable[[PeerSocket], bool] | None:
    """How to tell an environment's runtime from other local processes, given its sandbox
    handle: the uid of its own when it has one (``SandboxHandle.uid``), else whether one
    of the processes of its cgroup holds the socket; None when neither is known (plain
    processes share the server's user and have no cgroup: anything local may connect)."""
    uid = getattr(handle, "uid", None)
    if isinstance(uid, int):
        return lambda peer: peer.uid == uid
    procs = getattr(getattr(handle, "cgroup", None), "procs", None)
    if callable(procs):
        return lambda peer: held_by(peer.inode, procs())
    return None
