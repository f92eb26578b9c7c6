"""REST API management answers compared with the recordings of real API Gateway
(tests/fixtures/aws-recorded/apigateway/test_apigateway_common)."""

from __future__ import annotations

import asyncio
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from lamina.api.apigateway_rest_api import stage_out
from lamina.services.apigateway.errors import BadRequestException
from lamina.services.apigateway.registry import ApiRegistry
from lamina.services.apigateway.rest_apis import Patch, RestApiService
from lamina.services.apigateway.rest_stages import RestStageService
from lamina.store.apigateway_store import SqliteApiStore

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "aws-recorded" / "apigateway"
REGION, ACCOUNT = "us-east-1", "000000000000"
URI = (
    f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
    f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f/invocations"
)


@cache
def _recorded(test: str) -> dict[str, Any]:
    data = json.loads((RECORDED / "test_apigateway_common.snapshot.json").read_text())
    validated = json.loads((RECORDED / "test_apigateway_common.validation.json").read_text())
    (key,) = [k for k in data if k.endswith("::" + test)]
    assert key in validated
    content: dict[str, Any] = data[key]["recorded-content"]
    return content


def _shape(value: Any) -> Any:
    """Keys (recursively), without the response metadata."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items() if k != "ResponseMetadata"}
    return type(value).__name__


def _services(tmp_path: Path) -> tuple[SqliteApiStore, RestApiService, RestStageService]:
    store = SqliteApiStore(tmp_path / "g.sqlite3")
    apis = RestApiService(store, ApiRegistry())
    return store, apis, RestStageService(store, apis)


async def _deployed(apis: RestApiService, stages: RestStageService) -> tuple[str, str]:
    api = await apis.create_api(REGION, ACCOUNT, "g")
    await apis.put_method(REGION, ACCOUNT, api.api_id, api.root_resource_id, "GET", "NONE")
    await apis.put_integration(
        REGION, ACCOUNT, api.api_id, api.root_resource_id, "GET", "AWS_PROXY", URI
    )
    deployment = await stages.create_deployment(REGION, ACCOUNT, api.api_id, None)
    return api.api_id, deployment.deployment_id


def test_stage_answers_have_the_recorded_members(tmp_path: Path) -> None:
    store, apis, stages = _services(tmp_path)

    async def scenario() -> None:
        api_id, deployment_id = await _deployed(apis, stages)
        stage = await stages.create_stage(REGION, ACCOUNT, api_id, "s1", deployment_id)
        recorded = _recorded("TestDeployments::test_create_delete_deployments[True]")
        assert _shape(stage_out(stage)) == {
            k: v for k, v in _shape(recorded["get-stages"]["item"][0]).items()
        } | {"createdDate": "int", "lastUpdatedDate": "int"}

    try:
        asyncio.run(scenario())
    finally:
        store.close()


def test_deleting_a_served_deployment_is_refused_as_recorded(tmp_path: Path) -> None:
    store, apis, stages = _services(tmp_path)
    recorded = _recorded("TestDeployments::test_create_delete_deployments[True]")

    async def scenario() -> None:
        api_id, deployment_id = await _deployed(apis, stages)
        await stages.create_stage(REGION, ACCOUNT, api_id, "s1", deployment_id)
        with pytest.raises(BadRequestException) as refused:
            await stages.delete_deployment(REGION, ACCOUNT, api_id, deployment_id)
        assert refused.value.message == recorded["delete-deployment-error-0"]["message"]
        newer = await stages.create_deployment(REGION, ACCOUNT, api_id, "s1")
        await stages.delete_deployment(REGION, ACCOUNT, api_id, deployment_id)
        assert [d.deployment_id for d in stages.list_deployments(REGION, ACCOUNT, api_id)] == [
            newer.deployment_id
        ]

    try:
        asyncio.run(scenario())
    finally:
        store.close()


def test_update_stage_patches_and_the_recorded_path_error(tmp_path: Path) -> None:
    store, apis, stages = _services(tmp_path)
    recorded = _recorded("TestStages::test_create_update_stages")

    async def scenario() -> None:
        api_id, deployment_id = await _deployed(apis, stages)
        await stages.create_stage(REGION, ACCOUNT, api_id, "s1", deployment_id, "my stage")
        stage = await stages.update_stage(
            REGION,
            ACCOUNT,
            api_id,
            "s1",
            [
                Patch("replace", "/description", "stage new"),
                Patch("replace", "/variables/var1", "test"),
                Patch("replace", "/variables/var2", "test2"),
                Patch("replace", "/tracingEnabled", "true"),
            ],
        )
        expected = recorded["update-stage"]
        out = stage_out(stage)
        for member in ("description", "variables", "tracingEnabled", "stageName"):
            assert out[member] == expected[member], member
        with pytest.raises(BadRequestException) as bad_path:
            await stages.update_stage(
                REGION,
                ACCOUNT,
                api_id,
                "s1",
                [
                    Patch("replace", "/description", "never applied"),
                    Patch("replace", "/documentation_version", "v2"),
                ],
            )
        assert bad_path.value.message == recorded["error-update-doc-version"]["message"]
        assert stages.get_stage(REGION, ACCOUNT, api_id, "s1").description == "stage new"

    try:
        asyncio.run(scenario())
    finally:
        store.close()
