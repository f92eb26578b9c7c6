"""Reserved concurrency (Put/Get/DeleteFunctionConcurrency) and the account's figures.

The decision itself is ``runtime.concurrency.ConcurrencyLimiter``; this service checks
requests (shape-validated and typed by ``api.lambda_wire.concurrency``) against the functions
and the account's limits the way AWS does, stores reservations (SQLite, so they survive a
restart), keeps the limiter in step and emits ``capacity_freed`` when a reservation changed.
Every check runs before anything is stored, so a rejected request changes nothing.
"""

from __future__ import annotations

from lamina.domain import names
from lamina.domain.context import RequestContext
from lamina.domain.models import LATEST
from lamina.domain.requests.concurrency import AccountConcurrency, PutFunctionConcurrency
from lamina.runtime.concurrency import ConcurrencyLimiter
from lamina.services.function_catalog import FunctionCatalog
from lamina.services.signals import LambdaSignals
from lamina.store.ports import ConcurrencyStore


class ConcurrencyService:
    def __init__(
        self,
        store: ConcurrencyStore,
        catalog: FunctionCatalog,
        limiter: ConcurrencyLimiter,
        signals: LambdaSignals,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.limiter = limiter
        self._signals = signals
        for name, reserved in store.all().items():
            if catalog.config(name) is None:
                store.delete(name)
            else:
                limiter.set_reserved(name, reserved)

    def close(self) -> None:
        self.store.close()

    def reserved(self, name: str) -> int | None:
        """A function's reserved concurrency (GetFunction's ``Concurrency``); None if none."""
        return self.limiter.reserved(name)

    def account_concurrency(self) -> AccountConcurrency:
        return AccountConcurrency(self.limiter.account_limit, self.limiter.unreserved_capacity)

    # --- operations ------------------------------------------------------------------------

    def put(self, ctx: RequestContext, request: PutFunctionConcurrency) -> int:
        """Reserve concurrency for a function's $LATEST (AWS's limits first); the value set."""
        name = request.function
        if self.catalog.config(name) is None:
            # Recorded: PutFunctionConcurrency names the function's $LATEST.
            raise names.function_not_found(ctx.region, ctx.account_id, name, LATEST)
        self.limiter.check_reserved(name, request.reserved)
        if not self.store.put(name, request.reserved):
            raise names.function_not_found(ctx.region, ctx.account_id, name, LATEST)
        self.limiter.set_reserved(name, request.reserved)
        self._signals.capacity_freed.emit()
        return request.reserved

    def get(self, ctx: RequestContext, function: str) -> int | None:
        self.catalog.require(function)
        return self.limiter.reserved(function)

    def delete(self, ctx: RequestContext, function: str) -> None:
        # Unverified: the message names the unqualified ARN, as GetFunctionConcurrency's does.
        self.catalog.require(function)
        self.store.delete(function)
        self.limiter.set_reserved(function, None)
        self._signals.capacity_freed.emit()

    # --- lifecycle ----------------------------------------------------------------------

    def function_changed(self, name: str) -> None:
        """A function was updated or deleted: a deleted one gives its reservation back."""
        if self.catalog.config(name) is None:
            self.store.delete(name)
            self.limiter.forget(name)
            self._signals.capacity_freed.emit()
