"""Put/Get/Update/Delete/ListFunctionEventInvokeConfig(s): how asynchronous invocations of a
function version or alias are retried and where their records go.

Validation follows AWS's order (recorded: TestLambdaEventInvokeConfig): shape errors
(ValidationException), then "at least one setting", then the function and qualifier, then
the destinations. Every check runs before anything is stored, so a rejected request changes
nothing. Configurations are cached in memory (the dispatcher reads them per attempt) and
written through to SQLite. A configuration goes with its function, version or alias.
"""

from __future__ import annotations

import re
import time
from typing import Any

from lamina.domain import names
from lamina.domain.aliases import is_alias_name
from lamina.domain.arns import function_arn
from lamina.domain.destinations import (
    DEFAULT_MAX_EVENT_AGE,
    DEFAULT_MAX_RETRIES,
    MAX_EVENT_AGE,
    MAX_RETRIES,
    MIN_EVENT_AGE,
    DestinationConfig,
    arn_service,
    check_destination_services,
    destination_errors,
    parse_destination_config,
)
from lamina.domain.errors import InvalidParameterValueException, ResourceNotFoundException
from lamina.domain.models import LATEST
from lamina.services.functions import FunctionService
from lamina.store.ports import EventInvokeConfigStore
from lamina.store.records import EventInvokeConfig

PUT = "PutFunctionEventInvokeConfig"
UPDATE = "UpdateFunctionEventInvokeConfig"
GET = "GetFunctionEventInvokeConfig"
DELETE = "DeleteFunctionEventInvokeConfig"
LIST = "ListFunctionEventInvokeConfigs"
LIST_LIMIT = 50
SETTINGS = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
NOTHING_TO_SET = "You must specify at least one of error handling or destination setting."
FUNCTION_MISSING = "The function doesn't exist."
SELF_DESTINATION = "You can't specify the function as a destination for itself."
LAMBDA_ARN = re.compile(
    r"arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:"
    r"(?P<name>[a-zA-Z0-9-_]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?"
)


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
    def __init__(self, store: EventInvokeConfigStore, functions: FunctionService) -> None:
        self.store = store
        self.functions = functions
        self.region = functions.region
        self.account = functions.account
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

    def put(self, params: dict[str, Any]) -> dict[str, Any]:
        name, qualifier = self._target(params, PUT)
        destinations, _, _ = parse_destination_config(params.get("DestinationConfig"))
        self._check_destinations(name, destinations)
        return self._store(
            EventInvokeConfig(
                function=name,
                qualifier=qualifier,
                max_retries=params.get("MaximumRetryAttempts"),
                max_age=params.get("MaximumEventAgeInSeconds"),
                destinations=destinations,
                last_modified=time.time(),
            )
        )

    def update(self, params: dict[str, Any]) -> dict[str, Any]:
        name, qualifier = self._target(params, UPDATE)
        current = self._current(name, qualifier)
        given, success_given, failure_given = parse_destination_config(
            params.get("DestinationConfig")
        )
        destinations = DestinationConfig(
            on_success=given.on_success if success_given else current.destinations.on_success,
            on_failure=given.on_failure if failure_given else current.destinations.on_failure,
        )
        self._check_destinations(name, destinations)
        retries = params.get("MaximumRetryAttempts", current.max_retries)
        age = params.get("MaximumEventAgeInSeconds", current.max_age)
        return self._store(
            EventInvokeConfig(name, qualifier, retries, age, destinations, time.time())
        )

    def get(self, params: dict[str, Any]) -> dict[str, Any]:
        name, qualifier = self._locate(params, GET)
        return _to_wire(self._current(name, qualifier), self.region, self.account)

    def delete(self, params: dict[str, Any]) -> dict[str, Any]:
        name, qualifier = self._locate(params, DELETE)
        self._current(name, qualifier)
        self.store.delete(name, qualifier)
        del self._configs[(name, qualifier)]
        return {}

    def list_configs(self, params: dict[str, Any]) -> dict[str, Any]:
        value = params.get("FunctionName", "")
        errors = names.function_name_errors(value, LIST) + _max_items_errors(params.get("MaxItems"))
        if errors:
            raise names.validation_exception(errors)
        ref = self.functions.ref(params, LIST)
        if self.functions.config(ref.name) is None:
            raise ResourceNotFoundException(FUNCTION_MISSING)
        limit = params.get("MaxItems") or LIST_LIMIT
        found = [
            (qualifier, config)
            for (function, qualifier), config in self._configs.items()
            if function == ref.name and self._exists(function, qualifier)
        ]
        found.sort(key=lambda pair: pair[0])
        marker = params.get("Marker") or None
        if marker is not None:
            found = [pair for pair in found if pair[0] > marker]
        page = found[:limit]
        out: dict[str, Any] = {
            "FunctionEventInvokeConfigs": [
                _to_wire(config, self.region, self.account) for _, config in page
            ]
        }
        if len(found) > limit:
            out["NextMarker"] = page[-1][0]
        return out

    # --- helpers ------------------------------------------------------------------------------

    def _target(self, params: dict[str, Any], operation: str) -> tuple[str, str]:
        """Put/Update: validate the request's shape and settings, then the function and
        qualifier (which must exist)."""
        errors = names.function_name_errors(
            params.get("FunctionName", ""), operation, params.get("Qualifier") or None
        )
        errors += _setting_errors(params)
        if errors:
            raise names.validation_exception(errors)
        if not any(params.get(key) is not None for key in SETTINGS):
            raise InvalidParameterValueException(NOTHING_TO_SET)
        ref = self.functions.ref(params, operation)
        qualifier = ref.qualifier or LATEST
        if not self._exists(ref.name, qualifier):
            raise ResourceNotFoundException(FUNCTION_MISSING)
        return ref.name, qualifier

    def _locate(self, params: dict[str, Any], operation: str) -> tuple[str, str]:
        ref = self.functions.ref(params, operation)
        return ref.name, ref.qualifier or LATEST

    def _current(self, name: str, qualifier: str) -> EventInvokeConfig:
        config = self._configs.get((name, qualifier))
        if config is None or not self._exists(name, qualifier):
            arn = function_arn(self.region, self.account, name, qualifier)
            raise ResourceNotFoundException(f"The function {arn} doesn't have an EventInvokeConfig")
        return config

    def _exists(self, name: str, qualifier: str) -> bool:
        if qualifier == LATEST or not is_alias_name(qualifier):
            return self.functions.config(name, qualifier) is not None
        aliases = self.functions.aliases
        return aliases is not None and aliases.lookup(name, qualifier) is not None

    def _check_destinations(self, name: str, destinations: DestinationConfig) -> None:
        check_destination_services(destinations)
        for arn in (destinations.on_success, destinations.on_failure):
            if arn is None or arn_service(arn) != "lambda":
                continue
            match = LAMBDA_ARN.fullmatch(arn)
            if match is None or (match["region"], match["account"]) != (self.region, self.account):
                raise InvalidParameterValueException(f"The destination ARN {arn} is invalid.")
            if match["name"] == name:
                raise InvalidParameterValueException(SELF_DESTINATION)
            if not self._exists(match["name"], match["qualifier"] or LATEST):
                raise InvalidParameterValueException(f"The destination ARN {arn} is invalid.")

    def _store(self, config: EventInvokeConfig) -> dict[str, Any]:
        if not self.store.put(config):
            raise ResourceNotFoundException(FUNCTION_MISSING)
        self._configs[(config.function, config.qualifier)] = config
        return _to_wire(config, self.region, self.account)


def _to_wire(config: EventInvokeConfig, region: str, account: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "LastModified": config.last_modified,
        "FunctionArn": function_arn(region, account, config.function, config.qualifier),
    }
    if config.max_retries is not None:
        out["MaximumRetryAttempts"] = config.max_retries
    if config.max_age is not None:
        out["MaximumEventAgeInSeconds"] = config.max_age
    out["DestinationConfig"] = config.destinations.to_wire()
    return out


def _range_error(member: str, value: Any, low: int, high: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, int) or isinstance(value, bool):
        return [names.constraint_error(member, value, "Member must be an integer")]
    if value < low:
        text = f"Member must have value greater than or equal to {low}"
    elif value > high:
        text = f"Member must have value less than or equal to {high}"
    else:
        return []
    return [names.constraint_error(member, value, text)]


def _setting_errors(params: dict[str, Any]) -> list[str]:
    return (
        _range_error("maximumRetryAttempts", params.get("MaximumRetryAttempts"), 0, MAX_RETRIES)
        + _range_error(
            "maximumEventAgeInSeconds",
            params.get("MaximumEventAgeInSeconds"),
            MIN_EVENT_AGE,
            MAX_EVENT_AGE,
        )
        + destination_errors(params.get("DestinationConfig"))
    )


def _max_items_errors(value: Any) -> list[str]:
    return _range_error("maxItems", value, 1, LIST_LIMIT)
