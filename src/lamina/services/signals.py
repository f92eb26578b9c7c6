"""Signals: how a service tells others that something happened, without knowing them.

A service takes the signals it emits in its constructor; the wiring (``lamina.wiring``)
connects listeners. This replaces setting callbacks on constructed objects: construction
follows dependencies, and "who reacts to what" is read in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, ParamSpec

P = ParamSpec("P")


class Signal(Generic[P]):
    """Listeners called in the order they connected, synchronously, on ``emit``."""

    def __init__(self) -> None:
        self._listeners: list[Callable[P, None]] = []

    def connect(self, listener: Callable[P, None]) -> None:
        self._listeners.append(listener)

    def emit(self, *args: P.args, **kwargs: P.kwargs) -> None:
        for listener in self._listeners:
            listener(*args, **kwargs)


def _function_signal() -> Signal[[str]]:
    return Signal()


def _alias_signal() -> Signal[[str, str]]:
    return Signal()


def _bare_signal() -> Signal[[]]:
    return Signal()


@dataclass
class LambdaSignals:
    """The events of one region's Lambda service."""

    # A function's configuration or code changed, or it was deleted (its name).
    function_changed: Signal[[str]] = field(default_factory=_function_signal)
    # A function was deleted (its name): what belongs to it goes (mappings, aliases...).
    function_deleted: Signal[[str]] = field(default_factory=_function_signal)
    # An alias was updated or deleted: (function name, alias name).
    alias_changed: Signal[[str, str]] = field(default_factory=_alias_signal)
    # Concurrency may have freed (a lease released, a reservation changed, an environment
    # idled): queued events and pollers may run.
    capacity_freed: Signal[[]] = field(default_factory=_bare_signal)
