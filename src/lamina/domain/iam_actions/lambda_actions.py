"""Lambda's operations as IAM sees them (AWS's Service Authorization Reference, "Actions
defined by AWS Lambda"): ``Invoke`` is ``lambda:InvokeFunction`` on the function's ARN with
its qualifier, listings are on ``*``, event source mappings carry ``lambda:FunctionArn``.
"""

from __future__ import annotations

from collections.abc import Mapping

from lamina.domain.iam_actions.rules import (
    ContextValue,
    Params,
    RequiredAccess,
    Rule,
    Scope,
    anywhere,
    arn_param,
    on,
    table,
    text,
)
from lamina.domain.names import function_locator

PREFIX = "lambda"


def _head(scope: Scope) -> str:
    return f"arn:aws:lambda:{scope.region}:{scope.account}"


def function_resource_arn(value: str, qualifier: str | None, scope: Scope) -> str:
    """The ARN a FunctionName (name, partial or full ARN, maybe qualified) names, with
    ``qualifier`` when the name carries none."""
    try:
        name, own_qualifier, region, account = function_locator(value)
    except ValueError:
        return value if value.startswith("arn:") else f"{_head(scope)}:function:{value}"
    arn = f"arn:aws:lambda:{region or scope.region}:{account or scope.account}:function:{name}"
    qualifier = own_qualifier or qualifier
    return f"{arn}:{qualifier}" if qualifier else arn


def function(params: Params, scope: Scope) -> str:
    value = text(params, "FunctionName")
    if not value:
        return "*"
    return function_resource_arn(value, text(params, "Qualifier") or None, scope)


def layer(params: Params, scope: Scope) -> str:
    value = text(params, "LayerName")
    if not value:
        return "*"
    return value if value.startswith("arn:") else f"{_head(scope)}:layer:{value}"


def layer_version(params: Params, scope: Scope) -> str:
    base = layer(params, scope)
    version = params.get("VersionNumber")
    return f"{base}:{version}" if version is not None and base != "*" else base


def event_source_mapping(params: Params, scope: Scope) -> str:
    uuid = text(params, "UUID")
    return f"{_head(scope)}:event-source-mapping:{uuid}" if uuid else "*"


def capacity_provider(params: Params, scope: Scope) -> str:
    name = text(params, "CapacityProviderName")
    if not name:
        return "*"
    return name if name.startswith("arn:") else f"{_head(scope)}:capacity-provider:{name}"


def function_arn_key(params: Params, scope: Scope) -> Mapping[str, ContextValue]:
    """``lambda:FunctionArn``: the function an event source mapping operation names."""
    value = text(params, "FunctionName")
    return {"lambda:FunctionArn": function_resource_arn(value, None, scope)} if value else {}


def permission_keys(params: Params, scope: Scope) -> Mapping[str, ContextValue]:
    """AddPermission's ``lambda:Principal`` and ``lambda:FunctionUrlAuthType``."""
    keys: dict[str, ContextValue] = {}
    principal = text(params, "Principal")
    if principal:
        keys["lambda:Principal"] = principal
    auth_type = text(params, "FunctionUrlAuthType")
    if auth_type:
        keys["lambda:FunctionUrlAuthType"] = auth_type
    return keys


def role(params: Params, scope: Scope) -> str:
    return text(params, "Role", "*")


def _with_role(rule: Rule) -> Rule:
    """CreateFunction and UpdateFunctionConfiguration also pass the execution role:
    ``iam:PassRole`` on it, when the request names one."""
    pass_role = on(role, "iam", "PassRole")

    def combined(operation: str, params: Params, scope: Scope) -> list[RequiredAccess]:
        needs = rule(operation, params, scope)
        if text(params, "Role"):
            needs += pass_role(operation, params, scope)
        return needs

    return combined


LAMBDA: dict[str, Rule] = table(
    PREFIX,
    {
        function: (
            "CreateAlias DeleteAlias DeleteFunction DeleteFunctionCodeSigningConfig "
            "DeleteFunctionConcurrency DeleteFunctionEventInvokeConfig DeleteFunctionUrlConfig "
            "DeleteProvisionedConcurrencyConfig GetAlias GetFunction GetFunctionCodeSigningConfig "
            "GetFunctionConcurrency GetFunctionConfiguration GetFunctionEventInvokeConfig "
            "GetFunctionRecursionConfig GetFunctionScalingConfig GetFunctionUrlConfig GetPolicy "
            "GetProvisionedConcurrencyConfig GetRuntimeManagementConfig ListAliases "
            "ListDurableExecutionsByFunction ListFunctionEventInvokeConfigs "
            "ListFunctionUrlConfigs ListProvisionedConcurrencyConfigs ListVersionsByFunction "
            "PublishVersion PutFunctionCodeSigningConfig PutFunctionConcurrency "
            "PutFunctionEventInvokeConfig PutFunctionRecursionConfig PutFunctionScalingConfig "
            "PutProvisionedConcurrencyConfig PutRuntimeManagementConfig RemovePermission "
            "UpdateAlias UpdateFunctionCode UpdateFunctionEventInvokeConfig "
            "UpdateFunctionUrlConfig CreateFunctionUrlConfig"
        ),
        anywhere: (
            "CreateCodeSigningConfig GetAccountSettings ListCapacityProviders "
            "ListCodeSigningConfigs ListFunctions ListLayers ListLayerVersions "
            # A callback names no execution: AWS checks it on the callback id's execution.
            "SendDurableExecutionCallbackFailure SendDurableExecutionCallbackHeartbeat "
            "SendDurableExecutionCallbackSuccess"
        ),
        layer_version: (
            "AddLayerVersionPermission DeleteLayerVersion GetLayerVersion GetLayerVersionPolicy "
            "RemoveLayerVersionPermission"
        ),
        layer: "PublishLayerVersion",
        arn_param("CodeSigningConfigArn"): (
            "DeleteCodeSigningConfig GetCodeSigningConfig ListFunctionsByCodeSigningConfig "
            "UpdateCodeSigningConfig"
        ),
        arn_param("Resource"): "ListTags TagResource UntagResource",
        arn_param("ResourceArn"): "DeleteResourcePolicy GetResourcePolicy PutResourcePolicy",
        capacity_provider: (
            "CreateCapacityProvider DeleteCapacityProvider GetCapacityProvider "
            "ListFunctionVersionsByCapacityProvider UpdateCapacityProvider"
        ),
        arn_param("DurableExecutionArn"): (
            "CheckpointDurableExecution DeleteDurableExecution GetDurableExecution "
            "GetDurableExecutionHistory GetDurableExecutionState PauseDurableExecution "
            "ResumeDurableExecution StopDurableExecution"
        ),
    },
    Invoke=on(function, PREFIX, "InvokeFunction"),
    InvokeWithResponseStream=on(function, PREFIX, "InvokeFunction"),
    InvokeAsync=on(function, PREFIX, "InvokeAsync"),
    GetLayerVersionByArn=on(arn_param("Arn"), PREFIX, "GetLayerVersion"),
    AddPermission=on(function, PREFIX, context=permission_keys),
    CreateFunction=_with_role(on(function, PREFIX)),
    UpdateFunctionConfiguration=_with_role(on(function, PREFIX)),
    CreateEventSourceMapping=on(anywhere, PREFIX, context=function_arn_key),
    ListEventSourceMappings=on(anywhere, PREFIX, context=function_arn_key),
    GetEventSourceMapping=on(event_source_mapping, PREFIX),
    UpdateEventSourceMapping=on(event_source_mapping, PREFIX, context=function_arn_key),
    DeleteEventSourceMapping=on(event_source_mapping, PREFIX),
)
