"""The concurrency decision: may this invocation start now, and if not, why not.

Concurrency is the number of invocations in flight. Each one holds a ``Lease`` from before it
gets an environment until it ends (however it ends). The limiter answers in O(1), with no I/O
and no locks (it lives on the event loop), and keeps only counters:

- the **account pool**: ``account_limit`` executions in all (default 1,000);
- **reserved concurrency** of a function: its own slice of the pool, which both guarantees
  and caps it (0 throttles every invocation). The rest, ``account_limit - sum(reserved)``,
  is the **unreserved pool** that all functions without a reservation share; a reservation
  may not leave it below ``unreserved_minimum`` (100, or the account limit when lower);
- **provisioned concurrency**: ``set_provisioned`` tells the limiter a function's
  provisioned total (over all its versions and aliases; ``check_provisioned`` validates it
  first). It is carved out of the function's reservation (or, without one, out of the
  unreserved pool), so on-demand invocations get what is left. An invocation served by a
  provisioned environment holds a *provisioned lease* (``acquire_provisioned``): it counts
  against that carve-out, never against the on-demand counters, and is never refused (the
  number of provisioned environments bounds it). When every provisioned environment is busy
  the invocation spills over to an ordinary on-demand lease;
- the **scaling rate**: a function may add at most ``scaling_burst`` new execution
  environments per ``scaling_window`` seconds beyond the ones it has: a token bucket of
  ``scaling_burst`` tokens refilled continuously, one token per new environment. Reusing a
  warm environment costs no token.

A refusal raises ``TooManyRequestsException`` with AWS's ``Reason``:
``ReservedFunctionConcurrentInvocationLimitExceeded`` (the function's reservation is used
up), ``ConcurrentInvocationLimitExceeded`` (the unreserved pool is used up),
``FunctionInvocationRateLimitExceeded`` / ``ReservedFunctionInvocationRateLimitExceeded``
(scaling too fast, without / with a reservation).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import NamedTuple

from lamina.domain.errors import (
    InvalidParameterValueException,
    TooManyRequestsException,
    UntypedInvalidParameterValueException,
)

DEFAULT_ACCOUNT_LIMIT = 1000
DEFAULT_UNRESERVED_MINIMUM = 100
DEFAULT_SCALING_BURST = 1000
DEFAULT_SCALING_WINDOW = 10.0

RESERVED_LIMIT = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT_LIMIT = "ConcurrentInvocationLimitExceeded"
RATE_LIMIT = "FunctionInvocationRateLimitExceeded"
RESERVED_RATE_LIMIT = "ReservedFunctionInvocationRateLimitExceeded"
THROTTLE_MESSAGE = "Rate Exceeded."
# Retry-After for a concurrency throttle: capacity frees when some invocation ends.
CONCURRENCY_RETRY_AFTER = 1.0


def throttled(
    reason: str, retry_after: float = CONCURRENCY_RETRY_AFTER
) -> TooManyRequestsException:
    """The 429 of a throttled invocation (``Retry-After`` in whole seconds, at least 1)."""
    return TooManyRequestsException(
        THROTTLE_MESSAGE, reason, max(1, math.ceil(retry_after)), retry_after=retry_after
    )


class _Function:
    """A function's counters."""

    __slots__ = ("in_flight", "provisioned", "provisioned_in_flight", "reserved", "stamp", "tokens")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.reserved: int | None = None
        self.provisioned = 0
        # On-demand invocations in flight (what reservations and the pool limit) and
        # invocations in flight on provisioned environments (limited by those environments).
        self.in_flight = 0
        self.provisioned_in_flight = 0
        self.tokens = tokens
        self.stamp = stamp


class FunctionFigures(NamedTuple):
    """A read-only snapshot of one function's counters (for metrics)."""

    name: str
    in_flight: int  # on-demand invocations in flight
    reserved: int | None
    provisioned: int
    provisioned_in_flight: int  # invocations in flight on provisioned environments


class Lease:
    """One invocation in flight. Release it exactly once (``ConcurrencyLimiter.release``)."""

    __slots__ = ("fn", "provisioned", "released", "unreserved")

    def __init__(self, fn: _Function, unreserved: bool, provisioned: bool = False) -> None:
        self.fn = fn
        self.unreserved = unreserved
        # Served by a provisioned environment: counts against the provisioned carve-out.
        self.provisioned = provisioned
        self.released = False


class ConcurrencyLimiter:
    def __init__(
        self,
        account_limit: int = DEFAULT_ACCOUNT_LIMIT,
        *,
        unreserved_minimum: int = DEFAULT_UNRESERVED_MINIMUM,
        scaling_burst: int = DEFAULT_SCALING_BURST,
        scaling_window: float = DEFAULT_SCALING_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if account_limit < 0 or scaling_burst < 1 or scaling_window <= 0:
            raise ValueError("account_limit >= 0, scaling_burst >= 1 and scaling_window > 0")
        self.account_limit = account_limit
        self.unreserved_minimum = min(max(unreserved_minimum, 0), account_limit)
        self.scaling_burst = float(scaling_burst)
        self.refill_per_second = scaling_burst / scaling_window
        self._clock = clock
        self._functions: dict[str, _Function] = {}
        self._reserved_total = 0
        # Provisioned concurrency of functions without a reservation (carved out of the pool).
        self._provisioned_unreserved = 0
        self._unreserved_capacity = account_limit
        self._unreserved_in_flight = 0
        self._in_flight = 0

    # --- the decision (hot path) ----------------------------------------------------------

    def acquire(self, name: str, new_environment: bool = True) -> Lease:
        """A lease for one on-demand invocation of ``name``, or ``TooManyRequestsException``.

        ``new_environment``: no warm environment is free, so this invocation makes the
        function scale by one (it costs a scaling token)."""
        fn = self._functions.get(name)
        if fn is None:
            fn = self._functions[name] = _Function(self.scaling_burst, self._clock())
        reserved = fn.reserved
        if reserved is not None:
            if fn.in_flight >= reserved - fn.provisioned:
                raise throttled(RESERVED_LIMIT)
            unreserved = False
        elif self._unreserved_in_flight >= self._unreserved_capacity:
            raise throttled(ACCOUNT_LIMIT)
        else:
            unreserved = True
        if new_environment:
            now = self._clock()
            tokens = fn.tokens + (now - fn.stamp) * self.refill_per_second
            if tokens > self.scaling_burst:
                tokens = self.scaling_burst
            fn.stamp = now
            fn.tokens = tokens
            if tokens < 1.0:
                wait = (1.0 - tokens) / self.refill_per_second
                raise throttled(RATE_LIMIT if reserved is None else RESERVED_RATE_LIMIT, wait)
            fn.tokens = tokens - 1.0
        fn.in_flight += 1
        self._in_flight += 1
        if unreserved:
            self._unreserved_in_flight += 1
        return Lease(fn, unreserved)

    def acquire_provisioned(self, name: str) -> Lease:
        """A lease for one invocation served by a provisioned environment of ``name``. Never
        refused and costs no scaling token: the environment exists and was set aside for it."""
        fn = self._functions.get(name)
        if fn is None:
            fn = self._functions[name] = _Function(self.scaling_burst, self._clock())
        fn.provisioned_in_flight += 1
        self._in_flight += 1
        return Lease(fn, False, True)

    def release(self, lease: Lease) -> None:
        if lease.released:
            return
        lease.released = True
        self._in_flight -= 1
        if lease.provisioned:
            lease.fn.provisioned_in_flight -= 1
            return
        lease.fn.in_flight -= 1
        if lease.unreserved:
            self._unreserved_in_flight -= 1

    # --- figures --------------------------------------------------------------------------

    @property
    def unreserved_capacity(self) -> int:
        """What the functions without a reservation share: the account limit minus every
        reservation (and minus provisioned concurrency of functions without one)."""
        return self._unreserved_capacity

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def unreserved_in_flight(self) -> int:
        """Invocations in flight in the unreserved pool."""
        return self._unreserved_in_flight

    def functions(self) -> list[FunctionFigures]:
        """Every function the limiter knows, by name (read at scrape time, O(functions))."""
        return [
            FunctionFigures(
                name, fn.in_flight, fn.reserved, fn.provisioned, fn.provisioned_in_flight
            )
            for name, fn in sorted(self._functions.items())
        ]

    def function_in_flight(self, name: str) -> int:
        """On-demand invocations of ``name`` in flight."""
        fn = self._functions.get(name)
        return fn.in_flight if fn is not None else 0

    def provisioned_in_flight(self, name: str) -> int:
        """Invocations of ``name`` in flight on provisioned environments."""
        fn = self._functions.get(name)
        return fn.provisioned_in_flight if fn is not None else 0

    def reserved(self, name: str) -> int | None:
        fn = self._functions.get(name)
        return fn.reserved if fn is not None else None

    def provisioned(self, name: str) -> int:
        fn = self._functions.get(name)
        return fn.provisioned if fn is not None else 0

    # --- configuration ----------------------------------------------------------------------

    def check_reserved(self, name: str, value: int) -> None:
        """Whether ``value`` may become ``name``'s reserved concurrency (AWS's checks and
        messages; both bodies were recorded without ``Type``)."""
        fn = self._functions.get(name)
        provisioned = fn.provisioned if fn is not None else 0
        if value < provisioned:
            raise UntypedInvalidParameterValueException(
                f" ReservedConcurrentExecutions  {value} should not be lower than function's"
                f" total provisioned concurrency [{provisioned}]."
            )
        if self._capacity_with(name, value, provisioned) < self.unreserved_minimum:
            raise UntypedInvalidParameterValueException(
                "Specified ReservedConcurrentExecutions for function decreases account's"
                f" UnreservedConcurrentExecution below its minimum value of"
                f" [{self.unreserved_minimum}]."
            )

    def check_provisioned(self, name: str, total: int) -> None:
        """Seam for provisioned concurrency: whether ``name``'s provisioned total may become
        ``total`` (the messages are AWS's recorded ones)."""
        fn = self._functions.get(name)
        reserved = fn.reserved if fn is not None else None
        if reserved is not None:
            if total > reserved:
                raise InvalidParameterValueException(
                    "Requested Provisioned Concurrency should not be greater than the"
                    " reservedConcurrentExecution for function"
                )
            return
        available = self._capacity_with(name, None, 0)
        if total > available:
            raise UntypedInvalidParameterValueException(
                "Specified ConcurrentExecutions for function is greater than account's"
                f" unreserved concurrency [{available}]."
            )
        if available - total < self.unreserved_minimum:
            raise UntypedInvalidParameterValueException(
                "Specified ConcurrentExecutions for function decreases account's"
                " UnreservedConcurrentExecution below its minimum value of"
                f" [{self.unreserved_minimum}]."
            )

    def _capacity_with(self, name: str, reserved: int | None, provisioned: int) -> int:
        """The unreserved capacity if ``name`` had this reservation and provisioned total."""
        fn = self._functions.get(name)
        reserved_total = self._reserved_total
        provisioned_unreserved = self._provisioned_unreserved
        if fn is not None:
            if fn.reserved is not None:
                reserved_total -= fn.reserved
            else:
                provisioned_unreserved -= fn.provisioned
        if reserved is not None:
            reserved_total += reserved
        else:
            provisioned_unreserved += provisioned
        return self.account_limit - reserved_total - provisioned_unreserved

    def set_reserved(self, name: str, value: int | None) -> None:
        """Set (``None``: remove) a reservation. Validate with ``check_reserved`` first; this
        does not refuse, so reservations loaded from the store always apply."""
        fn = self._function(name)
        self._recount(fn, value, fn.provisioned)

    def set_provisioned(self, name: str, total: int) -> None:
        """Seam: the function's provisioned concurrency over all its versions and aliases."""
        fn = self._function(name)
        self._recount(fn, fn.reserved, max(total, 0))

    def forget(self, name: str) -> None:
        """The function was deleted: its reservation and provisioned share return to the
        pool. Leases still in flight release into their own counters."""
        fn = self._functions.pop(name, None)
        if fn is not None:
            self._recount(fn, None, 0)

    def _function(self, name: str) -> _Function:
        fn = self._functions.get(name)
        if fn is None:
            fn = self._functions[name] = _Function(self.scaling_burst, self._clock())
        return fn

    def _recount(self, fn: _Function, reserved: int | None, provisioned: int) -> None:
        if fn.reserved is not None:
            self._reserved_total -= fn.reserved
        else:
            self._provisioned_unreserved -= fn.provisioned
        fn.reserved, fn.provisioned = reserved, provisioned
        if reserved is not None:
            self._reserved_total += reserved
        else:
            self._provisioned_unreserved += provisioned
        self._unreserved_capacity = (
            self.account_limit - self._reserved_total - self._provisioned_unreserved
        )
