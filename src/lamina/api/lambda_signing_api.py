"""The nine code signing operations -> ``CodeSigningService``, and the check of a zip upload
of CreateFunction / UpdateFunctionCode against the function's configuration
(``with_code_signing`` wraps those two handlers)."""

from __future__ import annotations

from typing import Any

from lamina.api.endpoints import Handler
from lamina.api.lambda_wire.refs import function_ref
from lamina.domain.context import RequestContext
from lamina.domain.errors import AwsError
from lamina.services.code_signing import CodeSigningService, ConfigChanges
from lamina.store.code_signing_store import CodeSigningConfigRecord

Params = dict[str, Any]
Output = dict[str, Any]


def config_to_wire(record: CodeSigningConfigRecord) -> Output:
    return {
        "CodeSigningConfigId": record.config_id,
        "CodeSigningConfigArn": record.arn,
        "Description": record.description,
        "AllowedPublishers": {"SigningProfileVersionArns": list(record.publishers)},
        "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": record.policy},
        "LastModified": record.last_modified,
    }


def _changes(params: Params) -> ConfigChanges:
    publishers = params.get("AllowedPublishers")
    policies = params.get("CodeSigningPolicies")
    return ConfigChanges(
        description=params.get("Description"),
        publishers=(
            tuple(publishers.get("SigningProfileVersionArns") or ())
            if publishers is not None
            else None
        ),
        policy=policies.get("UntrustedArtifactOnDeployment") if policies is not None else None,
    )


def code_signing_handlers(signing: CodeSigningService) -> dict[str, Handler]:
    async def create(ctx: RequestContext, params: Params) -> Output:
        changes = _changes(params)
        if changes.publishers is None:
            changes = ConfigChanges(changes.description, (), changes.policy)
        return {"CodeSigningConfig": config_to_wire(signing.create(changes))}

    async def get(ctx: RequestContext, params: Params) -> Output:
        record = signing.get(params.get("CodeSigningConfigArn", ""))
        return {"CodeSigningConfig": config_to_wire(record)}

    async def update(ctx: RequestContext, params: Params) -> Output:
        record = signing.update(params.get("CodeSigningConfigArn", ""), _changes(params))
        return {"CodeSigningConfig": config_to_wire(record)}

    async def delete(ctx: RequestContext, params: Params) -> Output:
        signing.delete(params.get("CodeSigningConfigArn", ""))
        return {"StatusCode": 204}

    async def list_configs(ctx: RequestContext, params: Params) -> Output:
        page = signing.list_configs(params.get("Marker"), params.get("MaxItems"))
        out: Output = {"CodeSigningConfigs": [config_to_wire(c) for c in page.configs]}
        if page.next_marker is not None:
            out["NextMarker"] = page.next_marker
        return out

    async def list_functions(ctx: RequestContext, params: Params) -> Output:
        arns, marker = signing.list_functions(
            params.get("CodeSigningConfigArn", ""), params.get("Marker"), params.get("MaxItems")
        )
        out: Output = {"FunctionArns": arns}
        if marker is not None:
            out["NextMarker"] = marker
        return out

    async def put_function(ctx: RequestContext, params: Params) -> Output:
        ref = function_ref(ctx, params, "PutFunctionCodeSigningConfig")
        arn = params.get("CodeSigningConfigArn", "")
        signing.put_function(ref.name, arn)
        return {"CodeSigningConfigArn": arn, "FunctionName": ref.name}

    async def get_function(ctx: RequestContext, params: Params) -> Output:
        ref = function_ref(ctx, params, "GetFunctionCodeSigningConfig")
        arn = signing.function_config(ref.name)
        return {} if arn is None else {"CodeSigningConfigArn": arn, "FunctionName": ref.name}

    async def delete_function(ctx: RequestContext, params: Params) -> Output:
        ref = function_ref(ctx, params, "DeleteFunctionCodeSigningConfig")
        signing.delete_function(ref.name)
        return {"StatusCode": 204}

    return {
        "CreateCodeSigningConfig": create,
        "GetCodeSigningConfig": get,
        "UpdateCodeSigningConfig": update,
        "DeleteCodeSigningConfig": delete,
        "ListCodeSigningConfigs": list_configs,
        "ListFunctionsByCodeSigningConfig": list_functions,
        "PutFunctionCodeSigningConfig": put_function,
        "GetFunctionCodeSigningConfig": get_function,
        "DeleteFunctionCodeSigningConfig": delete_function,
    }


def with_code_signing(
    signing: CodeSigningService, handlers: dict[str, Handler]
) -> dict[str, Handler]:
    """CreateFunction and UpdateFunctionCode with the code signing check: CreateFunction's
    ``CodeSigningConfigArn`` must exist (AWS's 404 otherwise), the zip uploaded is verified
    against the function's configuration before the function changes (``Enforce`` refuses
    it), and a function created with a configuration is attached to it."""
    create = handlers["CreateFunction"]
    update_code = handlers["UpdateFunctionCode"]

    async def create_function(ctx: RequestContext, params: Params) -> Output:
        arn = params.get("CodeSigningConfigArn")
        if not arn:
            return await create(ctx, params)
        config = signing.require_for_create(arn)
        zip_bytes = (params.get("Code") or {}).get("ZipFile")
        name = str(params.get("FunctionName", ""))
        if isinstance(zip_bytes, bytes):
            signing.verify_upload(config, zip_bytes, name)
        out = await create(ctx, params)
        created = str(out.get("FunctionName") or name)
        signing.attach_created(created, arn)
        return out

    async def update_function_code(ctx: RequestContext, params: Params) -> Output:
        try:
            ref = function_ref(ctx, params, "UpdateFunctionCode")
        except AwsError:
            # A bad name: UpdateFunctionCode answers it in its own order (size first).
            return await update_code(ctx, params)
        config = signing.config_of(ref.name)
        zip_bytes = params.get("ZipFile")
        if config is not None and isinstance(zip_bytes, bytes):
            signing.verify_upload(config, zip_bytes, ref.name)
        return await update_code(ctx, params)

    return {
        **handlers,
        "CreateFunction": create_function,
        "UpdateFunctionCode": update_function_code,
    }
