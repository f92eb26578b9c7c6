"""The function operations' wire forms: inputs (botocore member names) to typed requests,
after their shape validation (``domain.validation``: every failed member constraint in one
ValidationException); typed results to the output shapes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lamina.api.lambda_wire.refs import function_ref
from lamina.domain import function_rules, names, validation
from lamina.domain.context import RequestContext
from lamina.domain.errors import ValidationException
from lamina.domain.models import FunctionConfig
from lamina.domain.requests.functions import (
    CodeSource,
    CodeUsage,
    CreatedFunction,
    CreateFunctionRequest,
    FunctionDetails,
    FunctionPage,
    FunctionSettings,
    LoggingSettings,
    UpdateFunctionCodeRequest,
    UpdateFunctionConfigurationRequest,
)

# Members Lamina stores and echoes without acting on them.
PASSTHROUGH_MEMBERS = ("VpcConfig", "DeadLetterConfig", "KMSKeyArn", "FileSystemConfigs")
_SCALARS = {
    "Role": "role",
    "Handler": "handler",
    "Runtime": "runtime",
    "Description": "description",
    "Timeout": "timeout",
    "MemorySize": "memory_size",
}


def _code(members: Mapping[str, Any]) -> CodeSource:
    return CodeSource(
        zip_file=members.get("ZipFile"),
        s3_bucket=members.get("S3Bucket"),
        s3_key=members.get("S3Key"),
        image_uri=members.get("ImageUri"),
    )


def _tuple(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


def settings_of(params: Mapping[str, Any]) -> FunctionSettings:
    """The configuration members of CreateFunction / UpdateFunctionConfiguration (shapes
    already validated)."""
    scalars = {
        field: params[member]
        for member, field in _SCALARS.items()
        if params.get(member) is not None
    }
    for key in ("timeout", "memory_size"):
        if key in scalars:
            scalars[key] = int(scalars[key])
    environment = None
    if "Environment" in params:
        environment = dict((params["Environment"] or {}).get("Variables") or {})
    storage = None
    if "EphemeralStorage" in params:
        storage = int(params["EphemeralStorage"]["Size"])
    tracing = None
    if "TracingConfig" in params:
        tracing = (params["TracingConfig"] or {}).get("Mode") or "PassThrough"
    snap_start = None
    if "SnapStart" in params:
        snap_start = (params["SnapStart"] or {}).get("ApplyOn") or "None"
    logging = None
    if "LoggingConfig" in params:
        given = params["LoggingConfig"] or {}
        logging = LoggingSettings(
            log_format=given.get("LogFormat"),
            log_group=given.get("LogGroup"),
            application_log_level=given.get("ApplicationLogLevel"),
            system_log_level=given.get("SystemLogLevel"),
        )
    return FunctionSettings(
        **scalars,
        environment=environment,
        ephemeral_storage=storage,
        tracing_mode=tracing,
        logging=logging,
        layers=tuple(params["Layers"] or ()) if "Layers" in params else None,
        passthrough={k: params[k] for k in PASSTHROUGH_MEMBERS if k in params},
        snap_start_apply_on=snap_start,
    )


# --- requests -------------------------------------------------------------------------------


def create_request(ctx: RequestContext, params: Mapping[str, Any]) -> CreateFunctionRequest:
    # Shapes first (a bad name is reported with every other bad member), then the name's
    # account/region and length.
    validation.validate_create_shapes(params)
    ref = function_ref(ctx, params, "CreateFunction")
    return CreateFunctionRequest(
        name=ref.name,
        settings=settings_of(params),
        code=_code(params.get("Code") or {}),
        architectures=_tuple(params.get("Architectures")),
        package_type=params.get("PackageType"),
        tags=dict(params.get("Tags") or {}),
        publish=bool(params.get("Publish")),
    )


def update_code_request(
    ctx: RequestContext, params: Mapping[str, Any]
) -> UpdateFunctionCodeRequest:
    validation.validate_update_code_shapes(params)
    ref = function_ref(ctx, params, "UpdateFunctionCode")
    return UpdateFunctionCodeRequest(
        name=ref.name,
        qualifier=ref.qualifier,
        code=_code(params),
        architectures=_tuple(params.get("Architectures")) or None,
        publish=bool(params.get("Publish")),
        dry_run=bool(params.get("DryRun")),
        revision_id=params.get("RevisionId"),
    )


def update_configuration_request(
    ctx: RequestContext, params: Mapping[str, Any]
) -> UpdateFunctionConfigurationRequest:
    validation.validate_update_configuration_shapes(params)
    ref = function_ref(ctx, params, "UpdateFunctionConfiguration")
    return UpdateFunctionConfigurationRequest(
        name=ref.name,
        qualifier=ref.qualifier,
        settings=settings_of(params),
        revision_id=params.get("RevisionId"),
    )


def list_functions_options(params: Mapping[str, Any]) -> tuple[bool, str | None, int | None]:
    """``(all_versions, marker, max_items)`` of ListFunctions."""
    version = params.get("FunctionVersion")
    if version is not None and version != "ALL":
        raise ValidationException(
            f"1 validation error detected: Value '{version}' at 'functionVersion' failed "
            "to satisfy constraint: Member must satisfy enum value set: [ALL]"
        )
    max_items = params.get("MaxItems")
    if max_items is not None and (not isinstance(max_items, int) or not max_items >= 1):
        raise ValidationException(
            f"1 validation error detected: Value '{max_items}' at 'maxItems' failed to "
            "satisfy constraint: Member must have value greater than or equal to 1"
        )
    return version == "ALL", params.get("Marker"), max_items


def tagged_function(ctx: RequestContext, params: Mapping[str, Any]) -> str:
    """The function a TagResource/UntagResource/ListTags ``Resource`` names."""
    return names.parse_resource_arn_for_tags(params.get("Resource", ""), ctx.region, ctx.account_id)


def untag_keys(params: Mapping[str, Any]) -> list[str]:
    keys = params.get("TagKeys")
    names.validate_untag_keys(keys)
    return list(keys or [])


# --- results --------------------------------------------------------------------------------


def as_named(config: FunctionConfig, qualifier: str | None) -> dict[str, Any]:
    """A configuration as read through ``qualifier``: the FunctionArn is the one asked for (an
    alias's ARN for an alias; recorded in TestLambdaAlias::test_alias_lifecycle)."""
    out = config.to_wire(qualified=qualifier is not None)
    if qualifier is not None:
        out["FunctionArn"] = f"{config.arn}:{qualifier}"
    return out


def created_to_wire(created: CreatedFunction) -> dict[str, Any]:
    out = created.config.to_wire()
    if created.published is not None:
        out["Version"] = created.published.version
    return out


def details_to_wire(details: FunctionDetails, reserved: int | None) -> dict[str, Any]:
    """GetFunction: the configuration, the code's location, tags, and the reserved
    concurrency (ConcurrencyService's)."""
    out: dict[str, Any] = {
        "Configuration": as_named(details.config, details.qualifier),
        "Code": {"RepositoryType": "S3", "Location": details.code_location},
    }
    if details.tags:
        out["Tags"] = dict(details.tags)
    if reserved is not None:
        out["Concurrency"] = {"ReservedConcurrentExecutions": reserved}
    return out


def page_to_wire(page: FunctionPage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Functions": [
            config.to_wire(listing=True, qualified=page.all_versions) for config in page.configs
        ]
    }
    if page.next_marker is not None:
        out["NextMarker"] = page.next_marker
    return out


def account_settings_to_wire(
    usage: CodeUsage, concurrency_limit: int, unreserved: int
) -> dict[str, Any]:
    return {
        "AccountLimit": {
            "TotalCodeSize": usage.limit_bytes,
            "CodeSizeUnzipped": function_rules.MAX_UNZIPPED_BYTES,
            "CodeSizeZipped": function_rules.MAX_ZIPPED_BYTES,
            "ConcurrentExecutions": concurrency_limit,
            "UnreservedConcurrentExecutions": unreserved,
        },
        "AccountUsage": {
            "TotalCodeSize": usage.total_code_size,
            "FunctionCount": usage.function_count,
        },
    }
