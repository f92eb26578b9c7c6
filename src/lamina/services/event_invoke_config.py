"""Put/Get/Update/Delete/ListFunctionEventInvokeConfig(s): how asynchronous invocations of a
function version or alias are retried and where their records go.

Validation follows AWS's order (recorded: TestLambdaEventInvokeConfig): shape errors
(ValidationException) and "at least one setting" (``api.lambda_wire.event_invoke_config``),
then the function and qualifier, then the destinations (here). Every check runs before
anything is stored, so a rejected request changes nothing. Configurations are cached in
memory (the dispatcher reads them per attempt) and written through to SQLite. A
configuration goes with its function or version (the wiring connects ``function_changed``).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from lamina.domain.aliases import is_alias_name
from lamina.domain.arns import function_arn
from lamina.domain.context import RequestContext
from lamina.domain.destinations import (
    DEFAULT_MAX_EVENT_AGE,
    DEFAULT_MAX_RETRIES,
    DestinationConfig,
    arn_service,
    check_destination_services,
)
from lamina.domain.errors import InvalidParameterValueException, ResourceNotFoundException
from lamina.domain.models import LATEST
from lamina.domain.requests.event_invoke_config import (
    EventInvokeTarget,
    ListEventInvokeConfigs,
    PutEventInvokeConfig,
    UpdateEventInvokeConfig,
)
from lamina.services.alias_book import AliasBook
from lamina.services.function_catalog import FunctionCatalog
from lamina.store.ports import EventInvokeConfigStore
from lamina.store.records import EventInvokeConfig

LIST_LIMIT = 50
FUNCTION_MISSING = "The function doesn't exist."
SELF_DESTINATION = "You can't specify the function as a destination for itself."
LAMBDA_ARN = re.compile(
    r"arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:"
    r"(?P<name>[a-zA-Z0-9-_]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?"
)


@dataclass(frozen=True)
class EventInvokeConfigPage:
    configs: tuple[EventInvokeConfig, ...]
    # The marker of the next page; None on the last one.
    next_marker: str | None = None


class EffectiveConfig:
    """The settings an event is handled with (AWS's defaults where none are configured)."""

    __slots__ = ("destinations", "max_age", "max_retries")

    def __init__(self, config: EventInvokeConfig | None) -> None:
        self.max_retries = DEFAULT_MAX_RETRIES
        self.max_age = DEFAULT_MAX_EVENT_AGE
        self.destinations = DestinationConfig()
        if config is not None:
            if config.max_retries is not None:
                self.max_retries = config.max_retries
            if config.max_age is not None:
                self.max_age = config.max_age
            self.destinations = config.destinations


class EventInvokeConfigService:
    def __init__(
        self, store: EventInvokeConfigStore, catalog: FunctionCatalog, aliases: AliasBook
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.aliases = aliases
        self._configs: dict[tuple[str, str], EventInvokeConfig] = {}
        for config in store.all():
            self._configs[(config.function, config.qualifier)] = config

    def close(self) -> None:
        self.store.close()

    # --- what the dispatcher needs ----------------------------------------------------------

    def effective(self, name: str, qualifier: str | None) -> EffectiveConfig:
        return EffectiveConfig(self._configs.get((name, qualifier or LATEST)))

    def function_changed(self, name: str) -> None:
        """A function (or one of its versions) was deleted: its configurations go with it."""
        for key in [k for k in self._configs if k[0] == name]:
            if not self._exists(*key):
                del self._configs[key]
                self.store.delete(*key)

    # --- operations -------------------------------------------------------------------------

    def put(self, ctx: RequestContext, request: PutEventInvokeConfig) -> EventInvokeConfig:
        """Replace the configuration of an existing version or alias."""
        name, qualifier = self._existing(request.target)
        self._check_destinations(ctx, name, request.destinations)
        return self._store(
            EventInvokeConfig(
                function=name,
                qualifier=qualifier,
                max_retries=request.max_retries,
                max_age=request.max_age,
                destinations=request.destinations,
                last_modified=time.time(),
            )
        )

    def update(self, ctx: RequestContext, request: UpdateEventInvokeConfig) -> EventInvokeConfig:
        """Change what the request names in an existing configuration."""
        name, qualifier = self._existing(request.target)
        current = self._current(ctx, name, qualifier)
        given = request.destinations
        destinations = DestinationConfig(
            on_success=(
                given.on_success if request.on_success_given else current.destinations.on_success
            ),
            on_failure=(
                given.on_failure if request.on_failure_given else current.destinations.on_failure
            ),
        )
        self._check_destinations(ctx, name, destinations)
        retries = current.max_retries if request.max_retries is None else request.max_retries
        age = current.max_age if request.max_age is None else request.max_age
        return self._store(
            EventInvokeConfig(name, qualifier, retries, age, destinations, time.time())
        )

    def get(self, ctx: RequestContext, target: EventInvokeTarget) -> EventInvokeConfig:
        return self._current(ctx, target.function, target.qualifier or LATEST)

    def delete(self, ctx: RequestContext, target: EventInvokeTarget) -> None:
        name, qualifier = target.function, target.qualifier or LATEST
        self._current(ctx, name, qualifier)
        self.store.delete(name, qualifier)
        del self._configs[(name, qualifier)]

    def list_configs(
        self, ctx: RequestContext, request: ListEventInvokeConfigs
    ) -> EventInvokeConfigPage:
        """A function's configurations by qualifier, after ``marker``, at most ``max_items``."""
        if self.catalog.config(request.function) is None:
            raise ResourceNotFoundException(FUNCTION_MISSING)
        limit = request.max_items or LIST_LIMIT
        found = [
            (qualifier, config)
            for (function, qualifier), config in self._configs.items()
            if function == request.function and self._exists(function, qualifier)
        ]
        found.sort(key=lambda pair: pair[0])
        if request.marker is not None:
            found = [pair for pair in found if pair[0] > request.marker]
        page = tuple(config for _, config in found[:limit])
        return EventInvokeConfigPage(page, page[-1].qualifier if len(found) > limit else None)

    # --- helpers ------------------------------------------------------------------------------

    def _existing(self, target: EventInvokeTarget) -> tuple[str, str]:
        """Put/Update: the function and qualifier, which must exist."""
        qualifier = target.qualifier or LATEST
        if not self._exists(target.function, qualifier):
            raise ResourceNotFoundException(FUNCTION_MISSING)
        return target.function, qualifier

    def _current(self, ctx: RequestContext, name: str, qualifier: str) -> EventInvokeConfig:
        config = self._configs.get((name, qualifier))
        if config is None or not self._exists(name, qualifier):
            arn = function_arn(ctx.region, ctx.account_id, name, qualifier)
            raise ResourceNotFoundException(f"The function {arn} doesn't have an EventInvokeConfig")
        return config

    def _exists(self, name: str, qualifier: str) -> bool:
        if qualifier == LATEST or not is_alias_name(qualifier):
            return self.catalog.config(name, qualifier) is not None
        return self.aliases.lookup(name, qualifier) is not None

    def _check_destinations(
        self, ctx: RequestContext, name: str, destinations: DestinationConfig
    ) -> None:
        check_destination_services(destinations)
        for arn in (destinations.on_success, destinations.on_failure):
            if arn is None or arn_service(arn) != "lambda":
                continue
            match = LAMBDA_ARN.fullmatch(arn)
            if match is None or (match["region"], match["account"]) != (ctx.region, ctx.account_id):
                raise InvalidParameterValueException(f"The destination ARN {arn} is invalid.")
            if match["name"] == name:
                raise InvalidParameterValueException(SELF_DESTINATION)
            if not self._exists(match["name"], match["qualifier"] or LATEST):
                raise InvalidParameterValueException(f"The destination ARN {arn} is invalid.")

    def _store(self, config: EventInvokeConfig) -> EventInvokeConfig:
        if not self.store.put(config):
            raise ResourceNotFoundException(FUNCTION_MISSING)
        self._configs[(config.function, config.qualifier)] = config
        return config
