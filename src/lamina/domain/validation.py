"""Validation of CreateFunction / UpdateFunctionConfiguration / UpdateFunctionCode requests.

Requests are the dicts botocore sends (model member names; ``Code.ZipFile`` / ``ZipFile``
already base64-decoded). Each ``validate_*`` runs, in order:

1. the zipped-size limit (413; AWS checks it before anything else),
2. shape validation: every failed member constraint, collected into one ValidationException
   (``N validation errors detected: a; b``), members in the model's order,
3. service rules (InvalidParameterValueException, one at a time): function name length,
   runtime, Runtime/Handler presence, environment (reserved keys, 4 KB), layers, memory, tags,
4. the zip itself (unzippable, unzipped size).

Pure: no I/O.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lamina.domain.errors import (
    InvalidParameterValueException,
    RequestEntityTooLargeException,
    ValidationException,
)
from lamina.domain.names import (
    StringShape,
    constraint_error,
    create_name_length_error,
    function_locator,
    function_name_errors,
    validate_tags,
    validation_exception,
)

# The enum list exactly as AWS prints it for an unknown runtime (recorded 2025-11).
SUPPORTED_RUNTIMES: tuple[str, ...] = (
    "nodejs20.x", "python3.14", "provided.al2023", "python3.12", "python3.13", "nodejs24.x",
    "nodejs22.x", "java25", "python3.10", "python3.11", "java21", "ruby3.3", "ruby3.4", "ruby3.2",
    "python3.8", "python3.9", "java17", "nodejs16.x", "dotnet10", "dotnet8", "java11", "dotnet6",
    "nodejs18.x", "provided.al2", "java8.al2",
)  # fmt: skip
# In botocore 1.43's Runtime enum but newer than the recording: accepted, not listed.
NEWER_RUNTIMES: tuple[str, ...] = ("ruby4.0",)
# In botocore's Runtime enum, no longer accepted for create/update.
DEPRECATED_RUNTIMES: tuple[str, ...] = (
    "nodejs", "nodejs4.3", "nodejs4.3-edge", "nodejs6.10", "nodejs8.10", "nodejs10.x",
    "nodejs12.x", "nodejs14.x", "java8", "python2.7", "python3.6", "python3.7", "dotnetcore1.0",
    "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1", "go1.x", "ruby2.5", "ruby2.7", "provided",
)  # fmt: skip

# Spec §1.6 (TZ is documented as settable, so it is not here).
RESERVED_ENV_KEYS: frozenset[str] = frozenset(
    {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    }
)  # fmt: skip

MAX_ZIPPED_BYTES = 50 * 1024 * 1024
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
MAX_ENV_BYTES = 4096
MAX_LAYERS = 5
MAX_MEMORY = 10240  # service limit; the model allows up to 32768 (managed instances)

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

    def string(self, member: str, value: Any, shape: StringShape) -> None:
        if isinstance(value, str):
            self.errors += shape.errors(member, value)

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
            raise validation_exception(self.errors)


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


def _check_runtime(runtime: Any) -> None:
    if runtime is None or runtime in SUPPORTED_RUNTIMES or runtime in NEWER_RUNTIMES:
        return
    if runtime in DEPRECATED_RUNTIMES:
        raise InvalidParameterValueException(
            f"The runtime parameter of {runtime} is no longer supported for creating or updating"
            " AWS Lambda functions. We recommend you use a supported runtime while creating or"
            " updating functions."
        )
    raise InvalidParameterValueException(
        f"Value {runtime} at 'runtime' failed to satisfy constraint: "
        f"{_enum_text(SUPPORTED_RUNTIMES)} or be a valid ARN"
    )


def check_environment(variables: Mapping[str, str] | None) -> None:
    """Reserved keys, then the 4 KB limit over the compact JSON of the map."""
    if not variables:
        return
    reserved = [k for k in variables if k in RESERVED_ENV_KEYS]
    if reserved:
        raise InvalidParameterValueException(
            "Lambda was unable to configure your environment variables because the environment"
            " variables you have provided contains reserved keys that are currently not supported"
            f" for modification. Reserved keys used in this request: {', '.join(reserved)}"
        )
    measured = json.dumps(dict(variables), separators=(",", ":"), ensure_ascii=False)
    if len(measured.encode()) > MAX_ENV_BYTES:
        raise InvalidParameterValueException(
            "Lambda was unable to configure your environment variables because the environment"
            f" variables you have provided exceeded the 4KB limit. String measured: {measured}"
        )


def check_layers(layers: Sequence[str] | None, region: str | None = None) -> None:
    if not layers:
        return
    if len(layers) > MAX_LAYERS:
        raise InvalidParameterValueException(f"Cannot reference more than {MAX_LAYERS} layers.")
    seen: dict[str, str] = {}
    for arn in layers:
        layer = arn.rsplit(":", 1)[0]
        if layer in seen:
            raise InvalidParameterValueException(
                "Two different versions of the same layer are not allowed to be referenced in the"
                f" same function. {seen[layer]} and {arn} are versions of the same layer."
            )
        seen[layer] = arn
    parts = [arn.split(":") for arn in layers]
    if region is not None and any(len(p) > 3 and p[3] not in ("", region) for p in parts):
        raise InvalidParameterValueException(
            "Layers are not in the same region as the function."
            f" Layers are expected to be in region {region}."
        )


def _check_memory(memory: Any) -> None:
    if isinstance(memory, int) and MAX_MEMORY < memory <= 32768:
        raise ValidationException(
            "'MemorySize' value failed to satisfy constraint: Member must have value less than"
            f" or equal to {MAX_MEMORY}"
        )


def _check_zipped_size(zip_bytes: Any, max_zipped: int) -> None:
    if isinstance(zip_bytes, (bytes, bytearray)) and len(zip_bytes) >= max_zipped:
        raise RequestEntityTooLargeException(f"Zipped size must be smaller than {max_zipped} bytes")


def validate_zip(
    zip_bytes: bytes, *, max_zipped: int = MAX_ZIPPED_BYTES, max_unzipped: int = MAX_UNZIPPED_BYTES
) -> int:
    """Check a deployment package; returns its unzipped size (sum of the entries' sizes, read
    from the central directory: entries are not decompressed)."""
    _check_zipped_size(zip_bytes, max_zipped)
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise InvalidParameterValueException(
            "Could not unzip uploaded file. Please check your file, then try to upload again."
        ) from None
    if total >= max_unzipped:
        raise InvalidParameterValueException(
            f"Unzipped size must be smaller than {max_unzipped} bytes"
        )
    return total


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
    _check_zipped_size(zip_bytes, MAX_ZIPPED_BYTES)
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
    _check_runtime(request.get("Runtime"))
    if request.get("PackageType", "Zip") == "Zip" and (
        not request.get("Runtime") or not request.get("Handler")
    ):
        raise InvalidParameterValueException(
            "Runtime and Handler are mandatory parameters for functions created with"
            " deployment packages."
        )
    _check_service_rules(request, region)
    validate_tags(request.get("Tags") or {})
    if isinstance(zip_bytes, (bytes, bytearray)):
        validate_zip(bytes(zip_bytes))


def _check_service_rules(request: Mapping[str, Any], region: str | None) -> None:
    env = request.get("Environment")
    check_environment(env.get("Variables") if isinstance(env, Mapping) else None)
    check_layers(request.get("Layers"), region)
    _check_memory(request.get("MemorySize"))


def validate_update_configuration(request: Mapping[str, Any], *, region: str | None = None) -> None:
    s = _Shapes()
    _check_function_name(s, request, "UpdateFunctionConfiguration")
    _check_config_shapes(s, request, create=False)
    s.raise_if_any()
    _check_runtime(request.get("Runtime"))
    _check_service_rules(request, region)


def validate_update_code(request: Mapping[str, Any], *, package_type: str | None = None) -> None:
    """``package_type``: the function's (``Zip``/``Image``), for the ImageUri rules."""
    zip_bytes = request.get("ZipFile")
    _check_zipped_size(zip_bytes, MAX_ZIPPED_BYTES)
    s = _Shapes()
    _check_function_name(s, request, "UpdateFunctionCode")
    s.string("s3Bucket", request.get("S3Bucket"), S3_BUCKET)
    s.string("s3Key", request.get("S3Key"), S3_KEY)
    s.string("s3ObjectVersion", request.get("S3ObjectVersion"), S3_KEY)
    _check_architectures(s, request.get("Architectures"))
    s.string("sourceKMSKeyArn", request.get("SourceKMSKeyArn"), ANY_ARN)
    s.raise_if_any()
    if package_type == "Zip" and request.get("ImageUri"):
        raise InvalidParameterValueException(
            "Please don't provide ImageUri when updating a function with packageType Zip."
        )
    if package_type == "Image" and not request.get("ImageUri"):
        raise InvalidParameterValueException(
            "Please provide ImageUri when updating a function with packageType Image."
        )
    if isinstance(zip_bytes, (bytes, bytearray)):
        validate_zip(bytes(zip_bytes))


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
