"""HTTP APIs' rules: quotas, what a route key, target, integration URI and stage name may
be (API Gateway's errors otherwise), and how deployments are made and kept."""

from __future__ import annotations

import re
import time
from dataclasses import replace

from lamina.services.apigateway.errors import BadRequestException
from lamina.services.apigateway.ids import new_id
from lamina.services.apigateway.records import HttpApi, HttpDeployment
from lamina.services.apigateway.routes import parse_route_key
from lamina.services.apigateway.stage_variables import as_checked

# AWS's quotas (per account and region, per API).
MAX_HTTP_APIS = 600
MAX_ROUTES = 300
MAX_INTEGRATIONS = 300
MAX_STAGES = 10
# Deployments kept per API (those a stage serves are never dropped).
MAX_DEPLOYMENTS = 20
PAYLOAD_FORMATS = ("1.0", "2.0")
FUNCTION_ARN = re.compile(
    r"arn:aws:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9$_-]+)?"
)
STAGE_NAME = re.compile(r"\$default|[A-Za-z0-9_-]{1,128}")


def snapshot(api: HttpApi, *, auto: bool, description: str | None = None) -> HttpDeployment:
    deployment = HttpDeployment(
        new_id(6, api.deployments),
        time.time(),
        auto,
        description,
        [replace(r) for r in api.routes.values()],
        [replace(i) for i in api.integrations.values()],
        [replace(a, identity_source=list(a.identity_source)) for a in api.authorizers.values()],
    )
    api.deployments[deployment.deployment_id] = deployment
    return deployment


def auto_deploy(api: HttpApi) -> None:
    stages = [s for s in api.stages.values() if s.auto_deploy]
    if not stages:
        return
    deployment = snapshot(api, auto=True)
    for stage in stages:
        stage.deployment_id = deployment.deployment_id
        stage.updated = deployment.created
    trim_deployments(api)


def trim_deployments(api: HttpApi) -> None:
    """Keep at most ``MAX_DEPLOYMENTS``: the oldest that no stage serves go first."""
    if len(api.deployments) <= MAX_DEPLOYMENTS:
        return
    served = {s.deployment_id for s in api.stages.values()}
    for deployment in sorted(api.deployments.values(), key=lambda d: d.created):
        if len(api.deployments) <= MAX_DEPLOYMENTS:
            return
        if deployment.deployment_id not in served:
            del api.deployments[deployment.deployment_id]


def check_route_key(key: str) -> None:
    try:
        parse_route_key(key)
    except ValueError:
        raise BadRequestException(
            f"Unable to create route. The route key '{key}' is invalid: it must be $default"
            " or '<METHOD> /<path>'"
        ) from None


def check_target(api: HttpApi, target: str | None) -> None:
    if not target:
        return
    if not target.startswith("integrations/") or target[13:] not in api.integrations:
        raise BadRequestException(f"Invalid target specified: {target}")


def check_function_uri(uri: str | None) -> None:
    if not uri or not FUNCTION_ARN.fullmatch(_function_arn_of(as_checked(uri))):
        raise BadRequestException(
            "Invalid integration URI specified: expected a Lambda function ARN"
        )


def _function_arn_of(uri: str) -> str:
    """The function ARN of an integration URI: a function ARN or the
    ``arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<arn>/invocations``
    form."""
    marker = ":lambda:path/2015-03-31/functions/"
    if marker in uri and uri.endswith("/invocations"):
        return uri.split(marker, 1)[1].removesuffix("/invocations")
    return uri


def function_arn(uri: str) -> str:
    return _function_arn_of(uri)


def check_timeout(timeout_ms: int | None) -> None:
    if timeout_ms is not None and not 50 <= timeout_ms <= 30000:
        raise BadRequestException("TimeoutInMillis must be between 50 and 30000")


def check_authorization(
    api: HttpApi, authorization_type: str | None, authorizer_id: str | None
) -> None:
    """Routes are open (``NONE``) or use one of the API's Lambda authorizers (``CUSTOM``):
    JWT and IAM authorization are refused rather than accepted and not enforced."""
    if authorization_type in (None, "NONE"):
        if authorizer_id is not None and authorization_type == "NONE":
            raise BadRequestException("AuthorizerId must not be set with AuthorizationType NONE")
        return
    if authorization_type != "CUSTOM":
        raise BadRequestException(
            f"Lamina does not support AuthorizationType {authorization_type} yet: routes are"
            " NONE (open) or CUSTOM (a Lambda authorizer)"
        )
    if authorizer_id is None or authorizer_id not in api.authorizers:
        raise BadRequestException(f"Invalid authorizer identifier specified: {authorizer_id}")
