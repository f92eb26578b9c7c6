"""PollerScaler: one poller first, growth on full batches (rate-limited), retirement."""

from __future__ import annotations

from lamina.services.event_sources.scaling import DEFAULT_MAXIMUM_POLLERS, PollerScaler


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_grows_on_full_batches_at_a_bounded_rate_up_to_the_maximum() -> None:
    clock = Clock()
    scaler = PollerScaler(3, clock, growth_interval=1.0)
    scaler.running = 1
    assert not scaler.should_grow(False, None)
    assert scaler.should_grow(True, None) and scaler.running == 2
    assert not scaler.should_grow(True, None)  # too soon
    clock.now = 1.0
    assert scaler.should_grow(True, None) and scaler.running == 3
    clock.now = 5.0
    assert not scaler.should_grow(True, None)  # at the maximum


def test_reserved_concurrency_lowers_the_limit() -> None:
    scaler = PollerScaler(None, Clock(), growth_interval=0.0)
    assert scaler.maximum == DEFAULT_MAXIMUM_POLLERS
    assert scaler.limit(2) == 2 and scaler.limit(None) == DEFAULT_MAXIMUM_POLLERS
    scaler.running = 2
    assert not scaler.should_grow(True, 2)
    scaler.running = 4
    assert scaler.should_retire(True, 2) and scaler.running == 3


def test_idle_pollers_retire_but_the_last_one_stays() -> None:
    scaler = PollerScaler(10, Clock())
    scaler.running = 2
    assert not scaler.should_retire(True, None)
    assert scaler.should_retire(False, None) and scaler.running == 1
    assert not scaler.should_retire(False, None)
    assert not scaler.should_retire(False, 0)  # reserved 0: one poller waits (receiving nothing)
