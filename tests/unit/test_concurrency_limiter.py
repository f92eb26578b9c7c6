"""The concurrency limiter (runtime/concurrency.py): every rule, with an injected clock."""

from __future__ import annotations

import pytest
from aws_recorded import assert_matches, recorded

from lamina.domain.errors import (
    InvalidParameterValueException,
    LambdaError,
    TooManyRequestsException,
)
from lamina.runtime.concurrency import (
    ACCOUNT_LIMIT,
    RATE_LIMIT,
    RESERVED_LIMIT,
    RESERVED_RATE_LIMIT,
    ConcurrencyLimiter,
    Lease,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(limit: int = 1000, **kwargs: object) -> tuple[ConcurrencyLimiter, Clock]:
    clock = Clock()
    return ConcurrencyLimiter(limit, clock=clock, **kwargs), clock  # type: ignore[arg-type]


def throttle_of(lim: ConcurrencyLimiter, name: str, new_environment: bool = True) -> str:
    with pytest.raises(TooManyRequestsException) as excinfo:
        lim.acquire(name, new_environment)
    exc = excinfo.value
    body = exc.body()
    assert exc.status == 429
    assert body == {"Type": "User", "message": "Rate Exceeded.", "Reason": body["Reason"]}
    # AWS's throttles carry no Retry-After header; Lamina's own retries wait retry_after.
    assert "Retry-After" not in exc.headers
    assert exc.retry_after > 0
    return exc.reason


def take(lim: ConcurrencyLimiter, name: str, n: int) -> list[Lease]:
    return [lim.acquire(name, False) for _ in range(n)]


# --- account pool ------------------------------------------------------------------------


def test_account_pool_is_shared_and_refills_on_release() -> None:
    lim, _ = limiter(3)
    leases = take(lim, "a", 2) + take(lim, "b", 1)
    assert lim.in_flight == 3
    assert throttle_of(lim, "a") == ACCOUNT_LIMIT
    assert throttle_of(lim, "c") == ACCOUNT_LIMIT
    lim.release(leases.pop())
    assert lim.in_flight == 2
    leases.append(lim.acquire("c", False))
    for lease in leases:
        lim.release(lease)
    assert lim.in_flight == 0 and lim.function_in_flight("a") == 0


def test_release_is_idempotent() -> None:
    lim, _ = limiter(1)
    lease = lim.acquire("a", False)
    lim.release(lease)
    lim.release(lease)
    assert lim.in_flight == 0
    other = lim.acquire("a", False)
    assert throttle_of(lim, "a") == ACCOUNT_LIMIT
    lim.release(other)


def test_zero_account_limit_throttles_everything() -> None:
    lim, _ = limiter(0)
    assert throttle_of(lim, "a") == ACCOUNT_LIMIT


# --- reserved concurrency -----------------------------------------------------------------


def test_reserved_caps_and_guarantees() -> None:
    lim, _ = limiter(110, unreserved_minimum=100)
    lim.check_reserved("r", 10)
    lim.set_reserved("r", 10)
    assert lim.unreserved_capacity == 100
    reserved = take(lim, "r", 10)
    assert throttle_of(lim, "r") == RESERVED_LIMIT
    # The reserved function's executions do not use the unreserved pool...
    unreserved = take(lim, "u", 100)
    assert throttle_of(lim, "u") == ACCOUNT_LIMIT
    # ...and the unreserved ones do not use the reservation.
    lim.release(reserved.pop())
    reserved.append(lim.acquire("r", False))
    for lease in reserved + unreserved:
        lim.release(lease)
    assert lim.in_flight == 0


def test_reserved_zero_throttles_every_invocation() -> None:
    lim, _ = limiter()
    lim.set_reserved("r", 0)
    assert throttle_of(lim, "r", new_environment=False) == RESERVED_LIMIT
    assert throttle_of(lim, "r", new_environment=True) == RESERVED_LIMIT
    lim.set_reserved("r", None)
    lim.release(lim.acquire("r"))


def test_reservation_change_while_in_flight() -> None:
    """Leases remember their pool: moving a function in or out of a reservation while it
    runs never corrupts the counters."""
    lim, _ = limiter(200)
    unreserved = take(lim, "f", 3)
    lim.set_reserved("f", 2)
    assert throttle_of(lim, "f") == RESERVED_LIMIT  # 3 in flight >= 2
    for lease in unreserved:
        lim.release(lease)
    reserved = take(lim, "f", 2)
    lim.set_reserved("f", None)
    more = take(lim, "f", 5)
    for lease in reserved + more:
        lim.release(lease)
    assert lim.in_flight == 0 and lim.function_in_flight("f") == 0
    assert lim.unreserved_capacity == 200
    # The unreserved counter is back to 0: the whole pool is usable.
    for lease in take(lim, "g", 200):
        lim.release(lease)


def test_forget_returns_the_reservation() -> None:
    lim, _ = limiter(300)
    lim.set_reserved("f", 150)
    lease = lim.acquire("f", False)
    assert lim.unreserved_capacity == 150
    lim.forget("f")
    assert lim.unreserved_capacity == 300
    assert lim.reserved("f") is None
    lim.release(lease)  # a lease of a forgotten function still releases cleanly
    assert lim.in_flight == 0


# --- validation of PutFunctionConcurrency -------------------------------------------------


def error_of(call: object) -> LambdaError:
    with pytest.raises(LambdaError) as excinfo:
        call()  # type: ignore[operator]
    return excinfo.value


def test_unreserved_minimum_messages_match_aws() -> None:
    """TestLambdaReservedConcurrency::test_function_concurrency_limits: more than the limit,
    and exactly the limit, both leave less than the minimum unreserved."""
    content = recorded("TestLambdaReservedConcurrency::test_function_concurrency_limits")
    lim, _ = limiter(1000)
    subs = {"<min_unreserved_concurrency>": "100"}
    for value, key in (
        (1001, "put_function_concurrency_account_limit_exceeded"),
        (1000, "put_function_concurrency_below_unreserved_min_value"),
        (901, "put_function_concurrency_below_unreserved_min_value"),
    ):
        exc = error_of(lambda value=value: lim.check_reserved("f", value))
        assert_matches(exc, content[key], subs)
        assert "Type" not in exc.body()
    lim.check_reserved("f", 900)
    lim.set_reserved("f", 900)
    # Changing a reservation counts the function's own reservation as freed.
    lim.check_reserved("f", 900)
    lim.check_reserved("f", 0)
    exc = error_of(lambda: lim.check_reserved("g", 1))
    assert isinstance(exc, InvalidParameterValueException)


def test_minimum_is_capped_at_small_limits() -> None:
    """An account below 100 keeps its whole limit unreserved: only 0 can be reserved."""
    lim, _ = limiter(10)
    assert lim.unreserved_minimum == 10
    lim.check_reserved("f", 0)
    exc = error_of(lambda: lim.check_reserved("f", 1))
    assert exc.message.endswith("below its minimum value of [10].")
    lim2, _ = limiter(10, unreserved_minimum=4)
    lim2.check_reserved("f", 6)
    assert error_of(lambda: lim2.check_reserved("f", 7)).message.endswith("[4].")


def test_provisioned_seam() -> None:
    """How provisioned concurrency counts: inside the reservation (on-demand gets the rest),
    else carved out of the pool."""
    content = recorded("test_reserved_provisioned_overlap", file="test_lambda")
    lim, _ = limiter(1000)
    lim.set_reserved("f", 2)
    lim.check_provisioned("f", 2)
    lim.set_provisioned("f", 2)
    exc = error_of(lambda: lim.check_reserved("f", 1))
    assert_matches(exc, content["reserved_lower_than_provisioned_exc"])
    assert "Type" not in exc.body()
    exc = error_of(lambda: lim.check_provisioned("f", 3))
    assert_matches(exc, content["reserved_equals_provisioned_another_provisioned_exc"])
    # Reserved == provisioned: on-demand invocations ($LATEST) are throttled, as recorded.
    assert throttle_of(lim, "f") == RESERVED_LIMIT
    # Without a reservation, provisioned concurrency comes out of the unreserved pool.
    lim.set_provisioned("g", 50)
    assert lim.unreserved_capacity == 1000 - 2 - 50
    limits = recorded("test_provisioned_concurrency_limits")
    exc = error_of(lambda: lim.check_provisioned("h", 949))
    assert_matches(
        exc,
        limits["put_provisioned_concurrency_account_limit_exceeded"],
        {"<unreserved_concurrency>": "948"},
    )
    exc = error_of(lambda: lim.check_provisioned("h", 900))
    assert_matches(
        exc,
        limits["put_provisioned_concurrency_below_unreserved_min_value"],
        {"<min_unreserved_concurrency>": "100"},
    )
    lim.check_provisioned("h", 848)
    lim.set_provisioned("g", 0)
    assert lim.unreserved_capacity == 998


# --- scaling rate ---------------------------------------------------------------------------


def test_scaling_rate_counts_new_environments_only() -> None:
    lim, clock = limiter(1000, scaling_burst=3, scaling_window=1.0)
    leases = [lim.acquire("f", True) for _ in range(3)]
    with pytest.raises(TooManyRequestsException) as excinfo:
        lim.acquire("f", True)
    assert excinfo.value.reason == RATE_LIMIT
    assert excinfo.value.retry_after == pytest.approx(1 / 3)
    assert "Retry-After" not in excinfo.value.headers
    # Warm environments are reused without a token.
    leases += [lim.acquire("f", False) for _ in range(5)]
    # Another function has its own bucket.
    leases.append(lim.acquire("g", True))
    # Refilled continuously: 3 tokens per second.
    clock.now += 0.34
    leases.append(lim.acquire("f", True))
    assert throttle_of(lim, "f") == RATE_LIMIT
    # No accrual beyond the burst.
    clock.now += 100
    leases += [lim.acquire("f", True) for _ in range(3)]
    assert throttle_of(lim, "f") == RATE_LIMIT
    for lease in leases:
        lim.release(lease)
    assert lim.in_flight == 0


def test_scaling_rate_with_reservation_names_the_reserved_reason() -> None:
    lim, _ = limiter(1000, scaling_burst=1, scaling_window=10.0)
    lim.set_reserved("f", 5)
    lease = lim.acquire("f", True)
    with pytest.raises(TooManyRequestsException) as excinfo:
        lim.acquire("f", True)
    assert excinfo.value.reason == RESERVED_RATE_LIMIT
    assert excinfo.value.retry_after == pytest.approx(10.0)
    assert "Retry-After" not in excinfo.value.headers
    lim.release(lease)


def test_concurrency_is_checked_before_the_rate() -> None:
    lim, _ = limiter(1, scaling_burst=1)
    lease = lim.acquire("f", True)
    assert throttle_of(lim, "f") == ACCOUNT_LIMIT
    lim.release(lease)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        ConcurrencyLimiter(-1)
    with pytest.raises(ValueError):
        ConcurrencyLimiter(10, scaling_burst=0)
    with pytest.raises(ValueError):
        ConcurrencyLimiter(10, scaling_window=0)
