"""Reserved concurrency (Put/Get/DeleteFunctionConcurrency) and the account's figures.

The decision itself is ``runtime.concurrency.ConcurrencyLimiter``; this service validates
requests the way AWS does, stores reservations (SQLite, so they survive a restart) and keeps
the limiter in step. Every check runs before anything is stored, so a rejected request
changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lamina.domain import names
from lamina.domain.models import LATEST
from lamina.runtime.concurrency import ConcurrencyLimiter
from lamina.services.functions import FunctionService
from lamina.store.ports import ConcurrencyStore

PUT = "PutFunctionConcurrency"
MEMBER = "reservedConcurrentExecutions"


class ConcurrencyService:
    def __init__(
        self,
        store: ConcurrencyStore,
        functions: FunctionService,
        limiter: ConcurrencyLimiter,
        on_capacity: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.functions = functions
        self.limiter = limiter
        # Called when a reservation changed (capacity may have freed for waiting events).
        self._on_capacity = on_capacity
        for name, reserved in store.all().items():
            if functions.config(name) is None:
                store.delete(name)
            else:
                limiter.set_reserved(name, reserved)

    def reserved(self, name: str) -> int | None:
        return self.limiter.reserved(name)

    # --- operations ------------------------------------------------------------------------

    def put(self, params: dict[str, Any]) -> dict[str, Any]:
        value = params.get("ReservedConcurrentExecutions")
        problems = _value_errors(value)
        if problems:
            name_errors = names.function_name_errors(params.get("FunctionName", ""), PUT)
            raise names.validation_exception(name_errors + problems)
        assert isinstance(value, int)
        ref = self.functions.ref(params, PUT)
        if self.functions.config(ref.name) is None:
            # Recorded: PutFunctionConcurrency names the function's $LATEST.
            raise names.function_not_found(
                self.functions.region, self.functions.account, ref.name, LATEST
            )
        self.limiter.check_reserved(ref.name, value)
        if not self.store.put(ref.name, value):
            raise names.function_not_found(
                self.functions.region, self.functions.account, ref.name, LATEST
            )
        self.limiter.set_reserved(ref.name, value)
        self._changed()
        return {"ReservedConcurrentExecutions": value}

    def get(self, params: dict[str, Any]) -> dict[str, Any]:
        ref = self.functions.ref(params, "GetFunctionConcurrency")
        self.functions.require(ref.name)
        reserved = self.limiter.reserved(ref.name)
        return {} if reserved is None else {"ReservedConcurrentExecutions": reserved}

    def delete(self, params: dict[str, Any]) -> dict[str, Any]:
        ref = self.functions.ref(params, "DeleteFunctionConcurrency")
        # Unverified: the message names the unqualified ARN, as GetFunctionConcurrency's does.
        self.functions.require(ref.name)
        self.store.delete(ref.name)
        self.limiter.set_reserved(ref.name, None)
        self._changed()
        return {}

    def account_settings(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.functions.account_settings(
            self.limiter.account_limit, self.limiter.unreserved_capacity
        )

    # --- lifecycle ----------------------------------------------------------------------

    def function_changed(self, name: str) -> None:
        """A function was updated or deleted: a deleted one gives its reservation back."""
        if self.functions.config(name) is None:
            self.store.delete(name)
            self.limiter.forget(name)
            self._changed()

    def _changed(self) -> None:
        if self._on_capacity is not None:
            self._on_capacity()


def _value_errors(value: object) -> list[str]:
    if value is None:
        return [names.constraint_error(MEMBER, None, "Member must not be null")]
    if not isinstance(value, int) or isinstance(value, bool):
        # The edge coerces JSON to the model's integer; anything else was refused there.
        return [names.constraint_error(MEMBER, value, "Member must be an integer")]
    if value < 0:
        minimum = "Member must have value greater than or equal to 0"
        return [names.constraint_error(MEMBER, value, minimum)]
    return []
