"""Get/PutRuntimeManagementConfig: a function version's runtime update mode.

Lamina runs each runtime on the host's interpreter and never updates it behind a function's
back, so the mode is stored and answered as AWS does but changes nothing about how the
function runs. ``Auto`` (the default) and ``FunctionUpdate`` answer no runtime version ARN;
``Manual`` requires one (AWS's runtime version ARN pattern) and answers it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lamina.domain.errors import InvalidParameterValueException
from lamina.domain.models import LATEST
from lamina.domain.names import constraint_error, validation_exception
from lamina.services.function_catalog import FunctionCatalog
from lamina.store.function_options_store import SqliteFunctionOptionsStore

AUTO = "Auto"
MANUAL = "Manual"
MODES = ("Auto", "Manual", "FunctionUpdate")
RUNTIME_VERSION_ARN = re.compile(
    r"((arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}::"
    r"runtime:.+)|(arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+"
    r"-\d{1}:\d{12}:runtime/[A-Za-z0-9_.-]{1,128}/version/[A-Za-z0-9_.-]{1,128}))"
)


@dataclass(frozen=True)
class RuntimeManagementConfig:
    update_runtime_on: str
    function_arn: str
    runtime_version_arn: str | None

    def to_wire(self) -> dict[str, str]:
        out = {"UpdateRuntimeOn": self.update_runtime_on, "FunctionArn": self.function_arn}
        if self.runtime_version_arn is not None:
            out["RuntimeVersionArn"] = self.runtime_version_arn
        return out


class RuntimeManagementService:
    def __init__(self, store: SqliteFunctionOptionsStore, catalog: FunctionCatalog) -> None:
        self._store = store
        self._catalog = catalog

    def get(self, name: str, qualifier: str | None) -> RuntimeManagementConfig:
        config = self._catalog.require(name, qualifier)
        stored = self._store.runtime_management(name, config.version)
        mode, arn = stored if stored is not None else (AUTO, None)
        return RuntimeManagementConfig(mode, _arn_of(config.arn, qualifier), arn)

    def put(
        self, name: str, qualifier: str | None, mode: str, runtime_version_arn: str | None
    ) -> RuntimeManagementConfig:
        errors: list[str] = []
        if mode not in MODES:
            errors.append(
                constraint_error(
                    "updateRuntimeOn",
                    mode,
                    "Member must satisfy enum value set: [Auto, Manual, FunctionUpdate]",
                )
            )
        if runtime_version_arn is not None:
            arn = runtime_version_arn
            if len(arn) > 2048:
                errors.append(
                    constraint_error(
                        "runtimeVersionArn",
                        arn,
                        "Member must have length less than or equal to 2048",
                    )
                )
            elif len(arn) < 26:
                errors.append(
                    constraint_error(
                        "runtimeVersionArn",
                        arn,
                        "Member must have length greater than or equal to 26",
                    )
                )
            if not RUNTIME_VERSION_ARN.fullmatch(arn):
                errors.append(
                    constraint_error(
                        "runtimeVersionArn",
                        arn,
                        "Member must satisfy regular expression pattern: "
                        + RUNTIME_VERSION_ARN.pattern,
                    )
                )
        if errors:
            raise validation_exception(errors)
        config = self._catalog.require(name, qualifier)
        if mode == MANUAL and runtime_version_arn is None:
            raise InvalidParameterValueException(
                "RuntimeVersionArn must be provided when UpdateRuntimeOn is Manual."
            )
        if mode != MANUAL and runtime_version_arn is not None:
            raise InvalidParameterValueException(
                "RuntimeVersionArn can only be provided when UpdateRuntimeOn is Manual,"
                f" not {mode}."
            )
        if not self._store.put_runtime_management(name, config.version, mode, runtime_version_arn):
            self._catalog.require(name, qualifier)  # gone meanwhile: its 404
        return RuntimeManagementConfig(mode, _arn_of(config.arn, qualifier), runtime_version_arn)


def _arn_of(function_arn: str, qualifier: str | None) -> str:
    return function_arn if qualifier in (None, LATEST) else f"{function_arn}:{qualifier}"
