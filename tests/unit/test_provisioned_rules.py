"""Provisioned concurrency: the limiter's provisioned leases and the domain rules."""

from __future__ import annotations

import re

import pytest

from lamina.domain.errors import TooManyRequestsException
from lamina.domain.provisioned import (
    AllocationStatus,
    ProvisionedConfig,
    now_timestamp,
    requested_errors,
    split,
    to_wire,
)
from lamina.runtime.concurrency import RESERVED_LIMIT, ConcurrencyLimiter


def test_provisioned_leases_count_apart_from_on_demand() -> None:
    """Reserved 2 = provisioned 2: on-demand is throttled, provisioned leases are not, and
    releasing them gives nothing to on-demand."""
    lim = ConcurrencyLimiter(1000, scaling_burst=1)
    lim.set_reserved("f", 2)
    lim.set_provisioned("f", 2)
    leases = [lim.acquire_provisioned("f") for _ in range(2)]
    assert lim.provisioned_in_flight("f") == 2
    assert lim.function_in_flight("f") == 0
    assert lim.in_flight == 2
    with pytest.raises(TooManyRequestsException) as excinfo:
        lim.acquire("f", False)
    assert excinfo.value.reason == RESERVED_LIMIT
    for lease in leases:
        lim.release(lease)
        lim.release(lease)  # idempotent
    assert lim.provisioned_in_flight("f") == 0
    assert lim.in_flight == 0


def test_provisioned_leases_take_no_scaling_token_nor_unreserved_capacity() -> None:
    lim = ConcurrencyLimiter(10, unreserved_minimum=0, scaling_burst=1)
    lim.set_provisioned("g", 3)
    assert lim.unreserved_capacity == 7
    held = [lim.acquire_provisioned("g") for _ in range(5)]
    # The scaling bucket (1 token) and the unreserved pool are untouched.
    on_demand = lim.acquire("g", True)
    assert lim.function_in_flight("g") == 1
    lim.release(on_demand)
    for lease in held:
        lim.release(lease)


def test_requested_errors() -> None:
    member = "provisionedConcurrentExecutions"
    assert requested_errors(1) == []
    assert requested_errors(0) == [
        f"Value '0' at '{member}' failed to satisfy constraint: Member must have value greater"
        " than or equal to 1"
    ]
    assert requested_errors(None) == [
        f"Value null at '{member}' failed to satisfy constraint: Member must not be null"
    ]


@pytest.mark.parametrize(
    ("requested", "weights", "expected"),
    [
        (5, {}, {"1": 5}),
        (4, {"2": 0.5}, {"2": 2, "1": 2}),
        (3, {"2": 0.1}, {"1": 3}),
        (1, {"2": 0.6}, {"2": 1}),
        (10, {"2": 1.0}, {"2": 10}),
    ],
)
def test_split_over_an_alias_versions(
    requested: int, weights: dict[str, float], expected: dict[str, int]
) -> None:
    assert split(requested, "1", weights) == expected
    assert sum(split(requested, "1", weights).values()) == requested


def test_wire_form() -> None:
    stamp = now_timestamp()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000", stamp)
    config = ProvisionedConfig("f", "1", 2, stamp)
    assert to_wire(config, AllocationStatus("READY", 2, 2)) == {
        "RequestedProvisionedConcurrentExecutions": 2,
        "AvailableProvisionedConcurrentExecutions": 2,
        "AllocatedProvisionedConcurrentExecutions": 2,
        "Status": "READY",
        "LastModified": stamp,
    }
    failed = to_wire(config, AllocationStatus("FAILED", 0, 0, "FUNCTION_ERROR_INIT_FAILURE"))
    assert failed["StatusReason"] == "FUNCTION_ERROR_INIT_FAILURE"
