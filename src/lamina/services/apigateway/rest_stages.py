"""REST APIs' deployments and stages: a deployment is a snapshot of the resource tree; a
stage serves one deployment, with its stage variables. Every change is validated first,
then applied and stored before the answer."""

from __future__ import annotations

import copy
import re
import time

from lamina.services.apigateway.errors import (
    BadRequestException,
    ConflictException,
    LimitExceededException,
    NotFoundException,
)
from lamina.services.apigateway.ids import new_id
from lamina.services.apigateway.limits import check_description, check_stage_variables
from lamina.services.apigateway.ports import ApiStore
from lamina.services.apigateway.records import RestApi, RestDeployment, RestStage
from lamina.services.apigateway.rest_apis import Patch, RestApiService

MAX_STAGES = 10
MAX_DEPLOYMENTS = 20
STAGE_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")
ACTIVE_STAGES = "Active stages pointing to this deployment must be moved or deleted"
# UpdateStage's answer to a path it does not know (recorded against AWS).
STAGE_PATHS = (
    "[/deploymentId, /description, /cacheClusterEnabled, /cacheClusterSize,"
    " /clientCertificateId, /accessLogSettings, /accessLogSettings/destinationArn,"
    " /accessLogSettings/format, /{resourcePath}/{httpMethod}/metrics/enabled,"
    " /{resourcePath}/{httpMethod}/logging/dataTrace,"
    " /{resourcePath}/{httpMethod}/logging/loglevel,"
    " /{resourcePath}/{httpMethod}/throttling/burstLimit/{resourcePath}/{httpMethod}"
    "/throttling/rateLimit/{resourcePath}/{httpMethod}/caching/ttlInSeconds,"
    " /{resourcePath}/{httpMethod}/caching/enabled,"
    " /{resourcePath}/{httpMethod}/caching/dataEncrypted,"
    " /{resourcePath}/{httpMethod}/caching/requireAuthorizationForCacheControl,"
    " /{resourcePath}/{httpMethod}/caching/unauthorizedCacheControlHeaderStrategy,"
    " /*/*/metrics/enabled, /*/*/logging/dataTrace, /*/*/logging/loglevel,"
    " /*/*/throttling/burstLimit /*/*/throttling/rateLimit /*/*/caching/ttlInSeconds,"
    " /*/*/caching/enabled, /*/*/caching/dataEncrypted,"
    " /*/*/caching/requireAuthorizationForCacheControl,"
    " /*/*/caching/unauthorizedCacheControlHeaderStrategy, /variables/{variable_name},"
    " /tracingEnabled]"
)
_KNOWN_STAGE_PATH = re.compile(
    r"/(cacheClusterEnabled|cacheClusterSize|clientCertificateId|accessLogSettings(/.*)?"
    r"|[^/]+/[^/]+/(metrics|logging|throttling|caching)/.+)"
)


class RestStageService:
    def __init__(self, store: ApiStore, apis: RestApiService) -> None:
        self._store = store
        self._apis = apis

    async def create_deployment(
        self,
        region: str,
        account: str,
        api_id: str,
        stage_name: str | None,
        description: str | None = None,
        variables: dict[str, str] | None = None,
    ) -> RestDeployment:
        api = self._apis.get_api(region, account, api_id)
        check_stage_variables(variables)
        check_description(description)
        methods = [m for r in api.resources.values() for m in r.methods.values()]
        if not methods:
            raise BadRequestException("The REST API doesn't contain any methods")
        if any(m.integration is None for m in methods):
            raise BadRequestException("No integration defined for method")
        if stage_name is not None and not STAGE_NAME.fullmatch(stage_name):
            raise BadRequestException(
                "Stage name only allows a-zA-Z0-9_- and must be at most 128 characters"
            )
        if (
            stage_name is not None
            and stage_name not in api.stages
            and len(api.stages) >= MAX_STAGES
        ):
            raise LimitExceededException("Stages limit exceeded")
        now = time.time()
        deployment = RestDeployment(
            new_id(6, api.deployments),
            now,
            description,
            copy.deepcopy(list(api.resources.values())),
            copy.deepcopy(list(api.authorizers.values())),
        )
        api.deployments[deployment.deployment_id] = deployment
        if stage_name is not None:
            stage = api.stages.get(stage_name)
            if stage is None:
                api.stages[stage_name] = RestStage(
                    stage_name, deployment.deployment_id, now, now, variables=dict(variables or {})
                )
            else:
                stage.deployment_id = deployment.deployment_id
                stage.updated = now
                if variables is not None:
                    stage.variables.update(variables)
        _trim_deployments(api)
        await self._store.put_rest(api)
        return deployment

    def list_deployments(self, region: str, account: str, api_id: str) -> list[RestDeployment]:
        api = self._apis.get_api(region, account, api_id)
        return sorted(api.deployments.values(), key=lambda d: d.created)

    def get_deployment(
        self, region: str, account: str, api_id: str, deployment_id: str
    ) -> RestDeployment:
        api = self._apis.get_api(region, account, api_id)
        deployment = api.deployments.get(deployment_id)
        if deployment is None:
            raise NotFoundException("Invalid Deployment identifier specified")
        return deployment

    async def create_stage(
        self,
        region: str,
        account: str,
        api_id: str,
        stage_name: str | None,
        deployment_id: str | None,
        description: str | None = None,
        variables: dict[str, str] | None = None,
    ) -> RestStage:
        api = self._apis.get_api(region, account, api_id)
        check_stage_variables(variables)
        check_description(description)
        if not stage_name or not STAGE_NAME.fullmatch(stage_name):
            raise BadRequestException(
                "Stage name only allows a-zA-Z0-9_- and must be at most 128 characters"
            )
        if not deployment_id or deployment_id not in api.deployments:
            raise NotFoundException("Invalid deployment identifier specified")
        if stage_name in api.stages:
            raise ConflictException("Stage already exists")
        if len(api.stages) >= MAX_STAGES:
            raise LimitExceededException("Stages limit exceeded")
        now = time.time()
        stage = RestStage(stage_name, deployment_id, now, now, description, dict(variables or {}))
        api.stages[stage_name] = stage
        await self._store.put_rest(api)
        return stage

    def get_stage(self, region: str, account: str, api_id: str, stage_name: str) -> RestStage:
        api = self._apis.get_api(region, account, api_id)
        stage = api.stages.get(stage_name)
        if stage is None:
            raise NotFoundException("Invalid Stage identifier specified")
        return stage

    def list_stages(
        self, region: str, account: str, api_id: str, deployment_id: str | None = None
    ) -> list[RestStage]:
        api = self._apis.get_api(region, account, api_id)
        stages = sorted(api.stages.values(), key=lambda s: s.created)
        if deployment_id is not None:
            stages = [s for s in stages if s.deployment_id == deployment_id]
        return stages

    async def update_stage(
        self,
        region: str,
        account: str,
        api_id: str,
        stage_name: str,
        patches: list[Patch],
    ) -> RestStage:
        """Apply every patch or none."""
        api = self._apis.get_api(region, account, api_id)
        stage = self.get_stage(region, account, api_id, stage_name)
        updated = copy.deepcopy(stage)
        for patch in patches:
            _apply_stage_patch(api, updated, patch)
        check_stage_variables(updated.variables)
        check_description(updated.description)
        updated.updated = time.time()
        api.stages[stage_name] = updated
        await self._store.put_rest(api)
        return updated

    async def delete_deployment(
        self, region: str, account: str, api_id: str, deployment_id: str
    ) -> None:
        api = self._apis.get_api(region, account, api_id)
        self.get_deployment(region, account, api_id, deployment_id)
        if any(s.deployment_id == deployment_id for s in api.stages.values()):
            raise BadRequestException(ACTIVE_STAGES)
        del api.deployments[deployment_id]
        await self._store.put_rest(api)

    async def delete_stage(self, region: str, account: str, api_id: str, stage_name: str) -> None:
        api = self._apis.get_api(region, account, api_id)
        self.get_stage(region, account, api_id, stage_name)
        del api.stages[stage_name]
        await self._store.put_rest(api)


def _apply_stage_patch(api: RestApi, stage: RestStage, patch: Patch) -> None:
    """One patch operation on ``stage`` (a copy: the caller keeps it only if all apply)."""
    path, value = patch.path, patch.value
    if patch.op not in ("replace", "add", "remove"):
        raise BadRequestException(
            "Invalid patch operation specified. Must be one of: [replace, add, remove]"
        )
    if path == "/deploymentId" and patch.op == "replace":
        if value not in api.deployments:
            raise BadRequestException("Deployment id does not exist")
        stage.deployment_id = str(value)
    elif path == "/description" and patch.op != "remove":
        stage.description = value
    elif path == "/tracingEnabled" and patch.op == "replace":
        stage.tracing_enabled = str(value).lower() == "true"
    elif path.startswith("/variables/") and len(path) > len("/variables/"):
        name = path[len("/variables/") :]
        if patch.op == "remove":
            stage.variables.pop(name, None)
        else:
            stage.variables[name] = value or ""
    elif _KNOWN_STAGE_PATH.fullmatch(path):
        raise BadRequestException(f"Lamina does not support the stage setting {path} yet")
    else:
        raise BadRequestException(
            f"Invalid method setting path: {path}. Must be one of: {STAGE_PATHS}"
        )


def _trim_deployments(api: RestApi) -> None:
    if len(api.deployments) <= MAX_DEPLOYMENTS:
        return
    served = {s.deployment_id for s in api.stages.values()}
    for deployment in sorted(api.deployments.values(), key=lambda d: d.created):
        if len(api.deployments) <= MAX_DEPLOYMENTS:
            return
        if deployment.deployment_id not in served:
            del api.deployments[deployment.deployment_id]
