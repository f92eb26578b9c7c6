"""HTTP APIs' stages and deployments: a stage serves a deployment (a snapshot of the
routes and integrations); an ``AutoDeploy`` stage is redeployed after every change."""

from __future__ import annotations

import time
from dataclasses import dataclass

from lamina.services.apigateway.errors import (
    BadRequestException,
    ConflictException,
    LimitExceededException,
    NotFoundException,
)
from lamina.services.apigateway.http_apis import HttpApiService
from lamina.services.apigateway.http_rules import (
    MAX_STAGES,
    STAGE_NAME,
    auto_deploy,
    snapshot,
    trim_deployments,
)
from lamina.services.apigateway.limits import check_description, check_stage_variables
from lamina.services.apigateway.ports import ApiStore
from lamina.services.apigateway.records import HttpDeployment, HttpStage


@dataclass(slots=True)
class StageSpec:
    auto_deploy: bool | None = None
    deployment_id: str | None = None
    description: str | None = None
    stage_variables: dict[str, str] | None = None


class HttpStageService:
    def __init__(self, store: ApiStore, apis: HttpApiService) -> None:
        self._store = store
        self._apis = apis

    async def create_stage(
        self, region: str, account: str, api_id: str, name: str | None, spec: StageSpec
    ) -> HttpStage:
        api = self._apis.get_api(region, account, api_id)
        if not name or not STAGE_NAME.fullmatch(name):
            raise BadRequestException("Stage name only allows a-zA-Z0-9_- or $default")
        check_stage_variables(spec.stage_variables)
        check_description(spec.description)
        if name in api.stages:
            raise ConflictException(f"Stage {name} already exists")
        if len(api.stages) >= MAX_STAGES:
            raise LimitExceededException("Stages limit exceeded")
        if spec.deployment_id is not None and spec.deployment_id not in api.deployments:
            raise NotFoundException(f"Invalid Deployment identifier specified {spec.deployment_id}")
        now = time.time()
        stage = HttpStage(name, now, now)
        _apply_stage_spec(stage, spec)
        api.stages[name] = stage
        if stage.auto_deploy:
            auto_deploy(api)
        await self._store.put_http(api)
        return stage

    def get_stage(self, region: str, account: str, api_id: str, name: str) -> HttpStage:
        api = self._apis.get_api(region, account, api_id)
        stage = api.stages.get(name)
        if stage is None:
            raise NotFoundException(f"Invalid stage identifier specified {name}")
        return stage

    async def update_stage(
        self, region: str, account: str, api_id: str, name: str, spec: StageSpec
    ) -> HttpStage:
        api = self._apis.get_api(region, account, api_id)
        stage = self.get_stage(region, account, api_id, name)
        check_stage_variables(spec.stage_variables)
        check_description(spec.description)
        if spec.deployment_id is not None and spec.deployment_id not in api.deployments:
            raise NotFoundException(f"Invalid Deployment identifier specified {spec.deployment_id}")
        _apply_stage_spec(stage, spec)
        stage.updated = time.time()
        if spec.auto_deploy:
            auto_deploy(api)
        await self._store.put_http(api)
        return stage

    async def delete_stage(self, region: str, account: str, api_id: str, name: str) -> None:
        api = self._apis.get_api(region, account, api_id)
        self.get_stage(region, account, api_id, name)
        del api.stages[name]
        await self._store.put_http(api)

    async def create_deployment(
        self,
        region: str,
        account: str,
        api_id: str,
        stage_name: str | None,
        description: str | None,
    ) -> HttpDeployment:
        api = self._apis.get_api(region, account, api_id)
        stage = None
        if stage_name is not None:
            stage = self.get_stage(region, account, api_id, stage_name)
            if stage.auto_deploy:
                raise BadRequestException(
                    f"Stage {stage_name} has AutoDeploy enabled: it is deployed on every change"
                )
        deployment = snapshot(api, auto=False, description=description)
        if stage is not None:
            stage.deployment_id = deployment.deployment_id
            stage.updated = time.time()
        trim_deployments(api)
        await self._store.put_http(api)
        return deployment

    def list_deployments(self, region: str, account: str, api_id: str) -> list[HttpDeployment]:
        api = self._apis.get_api(region, account, api_id)
        return sorted(api.deployments.values(), key=lambda d: d.created)

    def get_deployment(
        self, region: str, account: str, api_id: str, deployment_id: str
    ) -> HttpDeployment:
        api = self._apis.get_api(region, account, api_id)
        deployment = api.deployments.get(deployment_id)
        if deployment is None:
            raise NotFoundException(f"Invalid Deployment identifier specified {deployment_id}")
        return deployment


def _apply_stage_spec(stage: HttpStage, spec: StageSpec) -> None:
    if spec.auto_deploy is not None:
        stage.auto_deploy = spec.auto_deploy
    if spec.deployment_id is not None:
        stage.deployment_id = spec.deployment_id
    if spec.description is not None:
        stage.description = spec.description
    if spec.stage_variables is not None:
        stage.stage_variables = dict(spec.stage_variables)
