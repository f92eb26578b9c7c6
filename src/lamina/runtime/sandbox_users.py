"""A distinct unprivileged user for every isolated execution environment.

Each environment runs as a uid (and gid of the same number) of its own, taken from a
host range and given back when the environment has ended: environments never share a
uid, so they cannot signal, trace or read each other's processes, nor share a kernel
keyring. Uids never used go first, then those given back, oldest first: a uid is reused
as late as possible. Each server takes its range from its port (as its cgroups do), so
that two servers on one host never hand out the same uid either.
"""

from __future__ import annotations

from collections import deque

from lamina.runtime.sandbox import SandboxError

# Far above the uids distributions hand out (system < 1000, people < 60000) and above the
# first subordinate range (100000-165535).
FIRST_UID = 200000
# Per server: every port gets its own block, and the last block stays below 2**31 (some
# programs hold a uid in a signed int).
COUNT = 32000


class UsersExhausted(SandboxError):
    """Every uid of the range belongs to a live environment."""


class SandboxUsers:
    def __init__(self, first: int = FIRST_UID, count: int = COUNT) -> None:
        self.first = first
        self.count = count
        self._next = first  # never used yet: [_next, first + count)
        self._released: deque[int] = deque()
        self._taken: set[int] = set()

    def allocate(self) -> int:
        if self._next < self.first + self.count:
            uid = self._next
            self._next += 1
        elif self._released:
            uid = self._released.popleft()
        else:
            raise UsersExhausted(f"all {self.count} sandbox uids are in use")
        self._taken.add(uid)
        return uid

    def release(self, uid: int) -> None:
        """Give ``uid`` back once no process of its environment is left (idempotent)."""
        if uid in self._taken:
            self._taken.remove(uid)
            self._released.append(uid)

    def owns(self, uid: int) -> bool:
        """Whether ``uid`` is of this range (an environment's, live or not)."""
        return self.first <= uid < self.first + self.count

    @classmethod
    def for_port(cls, port: int) -> SandboxUsers:
        """The range of the server listening on ``port``."""
        return cls(FIRST_UID + port * COUNT, COUNT)
