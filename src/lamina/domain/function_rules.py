"""The service rules of CreateFunction / UpdateFunctionConfiguration / UpdateFunctionCode, on
typed values (after shape validation, ``domain.validation``): AWS's
InvalidParameterValueException (one at a time, in AWS's order), the package limits (413 for
the zipped size) and the zip itself. Pure: no I/O.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

from lamina.domain.errors import (
    InvalidParameterValueException,
    RequestEntityTooLargeException,
    ValidationException,
)
from lamina.domain.names import validate_tags

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


def _enum_text(values: Sequence[str]) -> str:
    return f"Member must satisfy enum value set: [{', '.join(values)}]"


def check_runtime(runtime: Any) -> None:
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


def check_memory(memory: Any) -> None:
    if isinstance(memory, int) and MAX_MEMORY < memory <= 32768:
        raise ValidationException(
            "'MemorySize' value failed to satisfy constraint: Member must have value less than"
            f" or equal to {MAX_MEMORY}"
        )


def check_zipped_size(zip_bytes: Any, max_zipped: int) -> None:
    if isinstance(zip_bytes, (bytes, bytearray)) and len(zip_bytes) >= max_zipped:
        raise RequestEntityTooLargeException(f"Zipped size must be smaller than {max_zipped} bytes")


def validate_zip(
    zip_bytes: bytes, *, max_zipped: int = MAX_ZIPPED_BYTES, max_unzipped: int = MAX_UNZIPPED_BYTES
) -> int:
    """Check a deployment package; returns its unzipped size (sum of the entries' sizes, read
    from the central directory: entries are not decompressed)."""
    check_zipped_size(zip_bytes, max_zipped)
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


def check_create_rules(
    *,
    runtime: str | None,
    handler: str | None,
    package_type: str,
    environment: Mapping[str, str] | None,
    layers: Sequence[str] | None,
    memory_size: int | None,
    tags: Mapping[str, str],
    zip_file: bytes | None,
    region: str | None,
) -> None:
    """CreateFunction's service rules, one InvalidParameterValueException at a time, in
    AWS's order: runtime, Runtime/Handler presence, environment, layers, memory, tags, then
    the zip itself (unzippable, unzipped size). ``region``: the function's, for the
    layers-in-another-region check."""
    check_runtime(runtime)
    if package_type == "Zip" and (not runtime or not handler):
        raise InvalidParameterValueException(
            "Runtime and Handler are mandatory parameters for functions created with"
            " deployment packages."
        )
    check_settings_rules(environment, layers, memory_size, region)
    validate_tags(tags)
    if zip_file is not None:
        validate_zip(zip_file)


def check_settings_rules(
    environment: Mapping[str, str] | None,
    layers: Sequence[str] | None,
    memory_size: int | None,
    region: str | None,
) -> None:
    """The rules CreateFunction and UpdateFunctionConfiguration share (after the runtime's)."""
    check_environment(environment)
    check_layers(layers, region)
    check_memory(memory_size)


def check_update_code_rules(
    *, package_type: str | None, image_uri: str | None, zip_file: bytes | None
) -> None:
    """UpdateFunctionCode's rules for the function's package type (``Zip``/``Image``), then
    the zip itself."""
    if package_type == "Zip" and image_uri:
        raise InvalidParameterValueException(
            "Please don't provide ImageUri when updating a function with packageType Zip."
        )
    if package_type == "Image" and not image_uri:
        raise InvalidParameterValueException(
            "Please provide ImageUri when updating a function with packageType Image."
        )
    if zip_file is not None:
        validate_zip(zip_file)
