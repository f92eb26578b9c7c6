"""AddPermission / GetPolicy / RemovePermission on the wire <-> typed requests and results."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lamina.api.lambda_wire.refs import function_ref
from lamina.domain import names
from lamina.domain import policies as rules
from lamina.domain.context import RequestContext
from lamina.domain.names import FunctionRef, validation_exception
from lamina.domain.policies import AddPermissionRequest, ResourcePolicy


def _checked_ref(
    ctx: RequestContext, params: Mapping[str, Any], operation: str, extra: list[str]
) -> FunctionRef:
    """Every shape error in one ValidationException (FunctionName's and Qualifier's first),
    then the function reference's own rules (``names.parse_function_name``)."""
    value = params.get("FunctionName")
    qualifier = params.get("Qualifier") or None
    errors = names.function_name_errors(
        value if isinstance(value, str) else "", operation, qualifier
    )
    errors += extra
    if errors:
        raise validation_exception(errors)
    return function_ref(ctx, params, operation)


def add_permission_request(ctx: RequestContext, params: Mapping[str, Any]) -> AddPermissionRequest:
    ref = _checked_ref(ctx, params, "AddPermission", rules.member_errors(params))
    return AddPermissionRequest(
        function=ref.name,
        qualifier=ref.qualifier,
        statement_id=params["StatementId"],
        action=params["Action"],
        principal=params["Principal"],
        source_arn=params.get("SourceArn"),
        source_account=params.get("SourceAccount"),
        event_source_token=params.get("EventSourceToken"),
        principal_org_id=params.get("PrincipalOrgID"),
        function_url_auth_type=params.get("FunctionUrlAuthType"),
        invoked_via_function_url=params.get("InvokedViaFunctionUrl") is True,
        revision_id=params.get("RevisionId"),
    )


def get_policy_ref(ctx: RequestContext, params: Mapping[str, Any]) -> FunctionRef:
    return _checked_ref(ctx, params, "GetPolicy", [])


def remove_permission_options(
    ctx: RequestContext, params: Mapping[str, Any]
) -> tuple[FunctionRef, str, str | None]:
    """``(function, statement id, revision id)`` of RemovePermission."""
    sid = params.get("StatementId")
    errors = rules.statement_id_errors(sid, rules.REMOVE_STATEMENT_ID)
    ref = _checked_ref(ctx, params, "RemovePermission", errors)
    return ref, str(sid), params.get("RevisionId") or None


def statement_to_wire(statement: Mapping[str, Any]) -> dict[str, Any]:
    return {"Statement": rules.compact(statement)}


def policy_to_wire(policy: ResourcePolicy) -> dict[str, Any]:
    return {"Policy": policy.document(), "RevisionId": policy.revision_id}
