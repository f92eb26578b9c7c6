"""Validation of CreateFunction / UpdateFunctionConfiguration / UpdateFunctionCode requests.

The ``validate_*`` functions take the dicts botocore sends (model member names;
``Code.ZipFile`` / ``ZipFile`` already base64-decoded); the api layer runs their shape steps
(``validate_*_shapes``) and the services the rule steps on typed values
(``domain.function_rules``), which the ``validate_*`` functions share. In order:

1. the zipped-size limit (413; AWS checks it before anything else),
2. shape validation: every failed member constraint, collected into one ValidationException
   (``N validation errors detected: a; b``), members in the model's order,
3. service rules (InvalidParameterValueException, one at a time): function name length,
   runtime, Runtime/Handler presence, environment (reserved keys, 4 KB), layers, memory, tags,
4. the zip itself (unzippable, unzipped size).

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lamina.domain.errors import ValidationException

# The runtime lists and the package limits and check, as this module offered them before the
# rules moved to ``domain.function_rules``.
from lamina.domain.function_rules import (
    DEPRECATED_RUNTIMES as DEPRECATED_RUNTIMES,
)
from lamina.domain.function_rules import (
    MAX_UNZIPPED_BYTES as MAX_UNZIPPED_BYTES,
)
from lamina.domain.function_rules import (
    MAX_ZIPPED_BYTES,
    check_create_rules,
    check_runtime,
    check_settings_rules,
    check_update_code_rules,
    check_zipped_size,
)
from lamina.domain.function_rules import (
    SUPPORTED_RUNTIMES as SUPPORTED_RUNTIMES,
)
from lamina.domain.function_rules import (
    validate_zip as validate_zip,
)
from lamina.domain.names import (
    LongValues,
    StringShape,
    constraint_error,
    create_name_length_error,
    function_locator,
    function_name_errors,
)

ROLE = StringShape(pattern=r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+")
HANDLER = StringShape(0, 128, r"[^\s]+")
DESCRIPTION = StringShape(0, 256)
ANY_ARN = StringShape(pattern=r"(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()")
S3_BUCKET = StringShape(3, 63, r"[0-9A-Za-z\.\-_]*(?<!\.)")
S3_KEY = StringShape(1, 1024)
LOG_GROUP = StringShape(1, 512, r"[\.\-_/#A-Za-z0-9]+")
_LAYER = StringShape(
    1,
    2048,
    r"(arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}"
    r":layer:[a-zA-Z0-9-_]+:[0-9]+)|(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+)",
)
_SUBNET = StringShape(0, 1024, r"subnet-[0-9a-z]*")
_SECURITY_GROUP = StringShape(0, 1024, r"sg-[0-9a-zA-Z]*")
_ENV_KEY = r"[a-zA-Z]([a-zA-Z0-9_])+"
_LOGGING_ENUMS: dict[str, tuple[str, ...]] = {
    "LogFormat": ("JSON", "Text"),
    "ApplicationLogLevel": ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"),
    "SystemLogLevel": ("DEBUG", "INFO", "WARN"),
}


def _camel(member: str) -> str:
    """A model member name as the validator prints it (``KMSKeyArn`` -> ``kMSKeyArn``)."""
    return member[:1].lower() + member[1:]


def _enum_text(values: Sequence[str]) -> str:
    return f"Member must satisfy enum value set: [{', '.join(values)}]"


def _member_text(shape: StringShape, *, not_null: bool) -> str:
    parts = [
        f"Member must have length less than or equal to {shape.max_len}",
        f"Member must have length greater than or equal to {shape.min_len}",
        f"Member must satisfy regular expression pattern: {shape.pattern}",
    ]
    return ", ".join(parts + (["Member must not be null"] if not_null else []))


class _Shapes:
    """Collects shape-validation failures in the order the members are checked."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self._long = LongValues()  # a long value is echoed without a copy

    def string(self, member: str, value: Any, shape: StringShape) -> None:
        if isinstance(value, str):
            self.errors += shape.errors(member, value, self._long.shown(value))

    def integer(self, member: str, value: Any, low: int, high: int | None = None) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            return
        if value < low:
            self._add(member, value, f"Member must have value greater than or equal to {low}")
        elif high is not None and value > high:
            self._add(member, value, f"Member must have value less than or equal to {high}")

    def enum(self, member: str, value: Any, allowed: Sequence[str]) -> None:
        if value is not None and value not in allowed:
            self._add(member, value, _enum_text(allowed))

    def required(self, member: str, value: Any) -> None:
        if value is None:
            self._add(member, None, "Member must not be null")

    def items(
        self,
        member: str,
        values: Any,
        item_ok: Callable[[Any], bool],
        item_text: str,
        *,
        max_items: int | None = None,
        min_items: int | None = None,
    ) -> None:
        if not isinstance(values, (list, tuple)):
            return
        if max_items is not None and len(values) > max_items:
            self._add(member, values, f"Member must have length less than or equal to {max_items}")
        if min_items is not None and len(values) < min_items:
            self._add(
                member, values, f"Member must have length greater than or equal to {min_items}"
            )
        if not all(item_ok(v) for v in values):
            self._add(member, values, f"Member must satisfy constraint: [{item_text}]")

    def _add(self, member: str, value: Any, text: str) -> None:
        self.errors.append(constraint_error(member, value, text))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationException(self._long.message(self.errors))


def _shape_ok(shape: StringShape) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, str) and not shape.failed(v)


def _check_architectures(s: _Shapes, value: Any) -> None:
    arches = ("x86_64", "arm64")
    text = f"{_enum_text(arches)}, Member must not be null"
    s.items("architectures", value, lambda v: v in arches, text, max_items=1, min_items=1)


def _check_config_shapes(s: _Shapes, r: Mapping[str, Any], *, create: bool) -> None:
    """The configuration members CreateFunction and UpdateFunctionConfiguration share."""
    if create:
        s.required("role", r.get("Role"))
    s.string("role", r.get("Role"), ROLE)
    s.string("handler", r.get("Handler"), HANDLER)
    if create:
        code = r.get("Code")
        s.required("code", code)
        if isinstance(code, Mapping):
            s.string("code.s3Bucket", code.get("S3Bucket"), S3_BUCKET)
            s.string("code.s3Key", code.get("S3Key"), S3_KEY)
            s.string("code.s3ObjectVersion", code.get("S3ObjectVersion"), S3_KEY)
            s.string("code.sourceKMSKeyArn", code.get("SourceKMSKeyArn"), ANY_ARN)
    s.string("description", r.get("Description"), DESCRIPTION)
    s.integer("timeout", r.get("Timeout"), 1, 900)
    s.integer("memorySize", r.get("MemorySize"), 128, 32768)
    vpc = r.get("VpcConfig")
    for key, item, most in (("SubnetIds", _SUBNET, 16), ("SecurityGroupIds", _SECURITY_GROUP, 5)):
        if isinstance(vpc, Mapping):
            text = _member_text(item, not_null=False)
            member = f"vpcConfig.{_camel(key)}"
            s.items(member, vpc.get(key), _shape_ok(item), text, max_items=most)
    if create:
        s.enum("packageType", r.get("PackageType"), ("Zip", "Image"))
    dlq = r.get("DeadLetterConfig")
    if isinstance(dlq, Mapping):
        s.string("deadLetterConfig.targetArn", dlq.get("TargetArn"), ANY_ARN)
    env = r.get("Environment")
    variables = env.get("Variables") if isinstance(env, Mapping) else None
    if isinstance(variables, Mapping) and not all(
        isinstance(k, str) and re.fullmatch(_ENV_KEY, k, re.ASCII) for k in variables
    ):
        text = f"Member must satisfy regular expression pattern: {_ENV_KEY}"
        s.errors.append(
            constraint_error(
                "environment.variables",
                variables,
                f"Map keys must satisfy constraint: [{text}]",
                sensitive=True,
            )
        )
    s.string("kMSKeyArn", r.get("KMSKeyArn"), ANY_ARN)
    tracing = r.get("TracingConfig")
    if isinstance(tracing, Mapping):
        s.enum("tracingConfig.mode", tracing.get("Mode"), ("Active", "PassThrough"))
    s.items("layers", r.get("Layers"), _shape_ok(_LAYER), _member_text(_LAYER, not_null=True))
    if create:
        _check_architectures(s, r.get("Architectures"))
    storage = r.get("EphemeralStorage")
    if isinstance(storage, Mapping):
        s.required("ephemeralStorage.size", storage.get("Size"))
        s.integer("ephemeralStorage.size", storage.get("Size"), 512, 10240)
    snap = r.get("SnapStart")
    if isinstance(snap, Mapping):
        s.enum("snapStart.applyOn", snap.get("ApplyOn"), ("PublishedVersions", "None"))
    logging = r.get("LoggingConfig")
    if isinstance(logging, Mapping):
        for key, allowed in _LOGGING_ENUMS.items():
            s.enum(f"loggingConfig.{_camel(key)}", logging.get(key), allowed)
        s.string("loggingConfig.logGroup", logging.get("LogGroup"), LOG_GROUP)


def _check_function_name(s: _Shapes, r: Mapping[str, Any], operation: str) -> None:
    name = r.get("FunctionName")
    s.required("functionName", name)
    if isinstance(name, str):
        s.errors += function_name_errors(name, operation)


def validate_create_function(request: Mapping[str, Any], *, region: str | None = None) -> None:
    """``region`` (the function's) enables the layers-in-another-region check."""
    validate_create_shapes(request)
    validate_create_rules(request, region=region)


def validate_create_shapes(request: Mapping[str, Any]) -> None:
    """Steps 1 and 2 for CreateFunction: the zipped-size limit, then every shape failure."""
    code = request.get("Code")
    zip_bytes = code.get("ZipFile") if isinstance(code, Mapping) else None
    check_zipped_size(zip_bytes, MAX_ZIPPED_BYTES)
    s = _Shapes()
    _check_function_name(s, request, "CreateFunction")
    _check_config_shapes(s, request, create=True)
    s.raise_if_any()


def validate_create_rules(request: Mapping[str, Any], *, region: str | None = None) -> None:
    """Steps 3 and 4 for CreateFunction (after ``validate_create_shapes``)."""
    code = request.get("Code")
    zip_bytes = code.get("ZipFile") if isinstance(code, Mapping) else None
    name_value = request.get("FunctionName")
    if isinstance(name_value, str):
        too_long = create_name_length_error(name_value, function_locator(name_value)[0])
        if too_long is not None:
            raise too_long
    env = request.get("Environment")
    check_create_rules(
        runtime=request.get("Runtime"),
        handler=request.get("Handler"),
        package_type=request.get("PackageType", "Zip"),
        environment=env.get("Variables") if isinstance(env, Mapping) else None,
        layers=request.get("Layers"),
        memory_size=request.get("MemorySize"),
        tags=request.get("Tags") or {},
        zip_file=bytes(zip_bytes) if isinstance(zip_bytes, (bytes, bytearray)) else None,
        region=region,
    )


def validate_update_configuration(request: Mapping[str, Any], *, region: str | None = None) -> None:
    validate_update_configuration_shapes(request)
    check_runtime(request.get("Runtime"))
    env = request.get("Environment")
    check_settings_rules(
        env.get("Variables") if isinstance(env, Mapping) else None,
        request.get("Layers"),
        request.get("MemorySize"),
        region,
    )


def validate_update_configuration_shapes(request: Mapping[str, Any]) -> None:
    """UpdateFunctionConfiguration's shape failures, all in one ValidationException."""
    s = _Shapes()
    _check_function_name(s, request, "UpdateFunctionConfiguration")
    _check_config_shapes(s, request, create=False)
    s.raise_if_any()


def validate_update_code(request: Mapping[str, Any], *, package_type: str | None = None) -> None:
    """``package_type``: the function's (``Zip``/``Image``), for the ImageUri rules."""
    validate_update_code_shapes(request)
    zip_bytes = request.get("ZipFile")
    check_update_code_rules(
        package_type=package_type,
        image_uri=request.get("ImageUri"),
        zip_file=bytes(zip_bytes) if isinstance(zip_bytes, (bytes, bytearray)) else None,
    )


def validate_update_code_shapes(request: Mapping[str, Any]) -> None:
    """UpdateFunctionCode's zipped-size limit (413), then its shape failures."""
    check_zipped_size(request.get("ZipFile"), MAX_ZIPPED_BYTES)
    s = _Shapes()
    _check_function_name(s, request, "UpdateFunctionCode")
    s.string("s3Bucket", request.get("S3Bucket"), S3_BUCKET)
    s.string("s3Key", request.get("S3Key"), S3_KEY)
    s.string("s3ObjectVersion", request.get("S3ObjectVersion"), S3_KEY)
    _check_architectures(s, request.get("Architectures"))
    s.string("sourceKMSKeyArn", request.get("SourceKMSKeyArn"), ANY_ARN)
    s.raise_if_any()


def resolve_logging_config(
    update: Mapping[str, str] | None, current: Mapping[str, str] | None, *, function_name: str
) -> dict[str, str]:
    """The LoggingConfig after a create (``current=None``) or an update, as AWS reports it:
    JSON format carries both levels (default INFO, kept across partial updates), Text format
    drops them; the log group defaults to ``/aws/lambda/<name>`` and persists."""
    update, current = update or {}, current or {}
    fmt = update.get("LogFormat") or current.get("LogFormat") or "Text"
    out: dict[str, str] = {"LogFormat": fmt}
    if fmt == "JSON":
        for key in ("ApplicationLogLevel", "SystemLogLevel"):
            out[key] = update.get(key) or current.get(key) or "INFO"
    default_group = f"/aws/lambda/{function_name}"
    out["LogGroup"] = update.get("LogGroup") or current.get("LogGroup") or default_group
    return out
