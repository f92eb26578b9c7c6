"""The API Gateway services over the SQLite store: validation (a rejected request changes
nothing), durability across a reopen, quotas, and the gateway's answers with fake
functions and grants."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from lamina.services.apigateway.errors import (
    BadRequestException,
    ConflictException,
    NotFoundException,
)
from lamina.services.apigateway.gateway import Gateway, StageRequest
from lamina.services.apigateway.http_apis import ApiSpec, HttpApiService, IntegrationSpec
from lamina.services.apigateway.http_rules import MAX_DEPLOYMENTS
from lamina.services.apigateway.http_stages import HttpStageService, StageSpec
from lamina.services.apigateway.ports import FunctionAnswer, FunctionInvokeFailed
from lamina.services.apigateway.records import Cors
from lamina.services.apigateway.registry import ApiRegistry
from lamina.services.apigateway.rest_apis import RestApiService
from lamina.services.apigateway.rest_stages import RestStageService
from lamina.store.apigateway_store import SqliteApiStore

REGION, ACCOUNT = "us-east-1", "000000000000"
FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:echo"
URI = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{FN}/invocations"


class Functions:
    def __init__(self) -> None:
        self.events: list[dict[str, object]] = []
        self.targets: list[str] = []
        self.answer = FunctionAnswer(b'{"statusCode": 200, "body": "ok"}')
        self.refuse = False

    async def invoke(self, function_arn: str, payload: bytes, request_id: str) -> FunctionAnswer:
        if self.refuse:
            raise FunctionInvokeFailed("throttled")
        self.events.append(json.loads(payload))
        self.targets.append(function_arn)
        return self.answer


class Grants:
    def __init__(self) -> None:
        self.granted: set[str] = set()
        self.asked: list[str] = []

    async def allows(self, function_arn: str, principal: str, source_arn: str) -> bool:
        assert principal == "apigateway.amazonaws.com"
        self.asked.append(source_arn)
        return function_arn in self.granted


class World:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.store = SqliteApiStore(path)
        self.registry = ApiRegistry(self.store.load())
        self.http = HttpApiService(self.store, self.registry)
        self.stages = HttpStageService(self.store, self.http)
        self.rest = RestApiService(self.store, self.registry)
        self.rest_stages = RestStageService(self.store, self.rest)
        self.functions = Functions()
        self.grants = Grants()
        self.gateway = Gateway(self.registry, self.functions, self.grants)

    def reopen(self) -> World:
        self.store.close()
        return World(self.path)


def request(
    path: str, method: str = "GET", headers: list[tuple[str, str]] | None = None
) -> StageRequest:
    return StageRequest(method, path, "", headers or [], b"", "127.0.0.1", "x.localhost", "rid")


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_http_api_survives_a_reopen_and_serves_its_deployment(tmp_path: Path) -> None:
    async def scenario() -> None:
        world = World(tmp_path / "a.sqlite3")
        api = await world.http.create_api(REGION, ACCOUNT, ApiSpec(name="a"), "HTTP")
        integration = await world.http.create_integration(
            REGION, ACCOUNT, api.api_id, IntegrationSpec("AWS_PROXY", FN, "2.0")
        )
        target = f"integrations/{integration.integration_id}"
        await world.http.create_route(REGION, ACCOUNT, api.api_id, "GET /x/{id}", target)
        await world.stages.create_stage(
            REGION, ACCOUNT, api.api_id, "prod", StageSpec(stage_variables={"v": "1"})
        )
        await world.stages.create_deployment(REGION, ACCOUNT, api.api_id, "prod", None)
        world = world.reopen()
        world.grants.granted.add(FN)
        response = await world.gateway.handle(api.api_id, request("/prod/x/7"))
        assert response is not None and (response.status, response.body) == (200, b"ok")
        event = world.functions.events[-1]
        assert event["pathParameters"] == {"id": "7"} and event["stageVariables"] == {"v": "1"}
        assert world.grants.asked == [
            f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api.api_id}/prod/GET/x/7"
        ]
        world.store.close()

    run(scenario())


def test_rejected_changes_leave_the_api_unchanged(tmp_path: Path) -> None:
    async def scenario() -> None:
        world = World(tmp_path / "b.sqlite3")
        api = await world.http.create_api(REGION, ACCOUNT, ApiSpec(name="b"), "HTTP", FN)
        before = api.to_doc()
        failures = [
            world.http.create_route(REGION, ACCOUNT, api.api_id, "$default", None),
            world.http.create_route(REGION, ACCOUNT, api.api_id, "GET x", None),
            world.http.create_route(REGION, ACCOUNT, api.api_id, "GET /x", "integrations/none"),
            world.http.create_integration(
                REGION, ACCOUNT, api.api_id, IntegrationSpec("HTTP_PROXY", "https://x", "1.0")
            ),
            world.http.create_integration(
                REGION, ACCOUNT, api.api_id, IntegrationSpec("AWS_PROXY", FN, "3.0")
            ),
            world.stages.create_stage(REGION, ACCOUNT, api.api_id, "$default", StageSpec()),
            world.stages.create_stage(REGION, ACCOUNT, api.api_id, "bad name", StageSpec()),
        ]
        errors = []
        for failure in failures:
            with pytest.raises((BadRequestException, ConflictException)) as caught:
                await failure
            errors.append(type(caught.value).__name__)
        assert errors == [
            "ConflictException",
            "BadRequestException",
            "BadRequestException",
            "BadRequestException",
            "BadRequestException",
            "ConflictException",
            "BadRequestException",
        ]
        assert api.to_doc() == before
        with pytest.raises(NotFoundException):
            world.http.get_api("eu-west-1", ACCOUNT, api.api_id)  # another region's
        world.store.close()

    run(scenario())


def test_quick_create_needs_no_grant_but_others_do(tmp_path: Path) -> None:
    async def scenario() -> None:
        world = World(tmp_path / "c.sqlite3")
        quick = await world.http.create_api(REGION, ACCOUNT, ApiSpec(name="q"), "HTTP", FN)
        response = await world.gateway.handle(quick.api_id, request("/anything"))
        assert response is not None and response.status == 200
        api = await world.http.create_api(REGION, ACCOUNT, ApiSpec(name="n"), "HTTP")
        integration = await world.http.create_integration(
            REGION, ACCOUNT, api.api_id, IntegrationSpec("AWS_PROXY", FN, "2.0")
        )
        await world.http.create_route(
            REGION, ACCOUNT, api.api_id, "$default", f"integrations/{integration.integration_id}"
        )
        await world.stages.create_stage(REGION, ACCOUNT, api.api_id, "$default", StageSpec(True))
        response = await world.gateway.handle(api.api_id, request("/"))
        assert response is not None
        assert (response.status, json.loads(response.body)) == (
            500,
            {"message": "Internal Server Error"},
        )
        assert world.grants.asked[-1].endswith(f"{api.api_id}/$default/$default")
        world.grants.granted.add(FN)
        world.functions.refuse = True
        response = await world.gateway.handle(api.api_id, request("/"))
        assert response is not None and response.status == 500
        world.functions.refuse = False
        world.functions.answer = FunctionAnswer(b'{"errorMessage": "x"}', "Unhandled")
        response = await world.gateway.handle(api.api_id, request("/"))
        assert response is not None and response.status == 500
        world.store.close()

    run(scenario())


def test_cors_preflight_is_answered_without_the_function(tmp_path: Path) -> None:
    async def scenario() -> None:
        world = World(tmp_path / "d.sqlite3")
        spec = ApiSpec(name="c", cors=Cors(allow_origins=["*"], allow_methods=["GET"]))
        api = await world.http.create_api(REGION, ACCOUNT, spec, "HTTP", FN)
        headers = [("origin", "https://a.example"), ("access-control-request-method", "GET")]
        response = await world.gateway.handle(api.api_id, request("/p", "OPTIONS", headers))
        assert response is not None and response.status == 204
        assert ("access-control-allow-origin", "*") in response.headers
        assert world.functions.events == []
        world.store.close()

    run(scenario())


def test_rest_api_deployment_snapshot_and_reopen(tmp_path: Path) -> None:
    async def scenario() -> None:
        world = World(tmp_path / "e.sqlite3")
        api = await world.rest.create_api(REGION, ACCOUNT, "r")
        with pytest.raises(BadRequestException) as empty:
            await world.rest_stages.create_deployment(REGION, ACCOUNT, api.api_id, "s")
        assert empty.value.message == "The REST API doesn't contain any methods"
        items = await world.rest.create_resource(
            REGION, ACCOUNT, api.api_id, api.root_resource_id, "items"
        )
        item = await world.rest.create_resource(
            REGION, ACCOUNT, api.api_id, items.resource_id, "{id}"
        )
        assert item.path == "/items/{id}"
        with pytest.raises(BadRequestException) as sibling:
            await world.rest.create_resource(
                REGION, ACCOUNT, api.api_id, items.resource_id, "{other}"
            )
        assert "only one is allowed" in sibling.value.message
        await world.rest.put_method(REGION, ACCOUNT, api.api_id, item.resource_id, "GET", "NONE")
        with pytest.raises(BadRequestException) as no_integration:
            await world.rest_stages.create_deployment(REGION, ACCOUNT, api.api_id, "s")
        assert no_integration.value.message == "No integration defined for method"
        for uri, message in [
            ("arn:aws:lambda:x", "AWS ARN for integration must contain path or action"),
            (f"arn:aws:apigateway:{REGION}:firehose:path/x", "Integrations of type 'AWS_PROXY'"),
        ]:
            with pytest.raises(BadRequestException) as bad_uri:
                await world.rest.put_integration(
                    REGION, ACCOUNT, api.api_id, item.resource_id, "GET", "AWS_PROXY", uri
                )
            assert bad_uri.value.message.startswith(message)
        await world.rest.put_integration(
            REGION, ACCOUNT, api.api_id, item.resource_id, "GET", "AWS_PROXY", URI
        )
        await world.rest_stages.create_deployment(
            REGION, ACCOUNT, api.api_id, "s", variables={"k": "v"}
        )
        # Changes after the deployment are not served until deployed.
        await world.rest.delete_resource(REGION, ACCOUNT, api.api_id, items.resource_id)
        world = world.reopen()
        world.grants.granted.add(FN)
        response = await world.gateway.handle(api.api_id, request("/s/items/a%40b"))
        assert response is not None and response.status == 200, response
        event = world.functions.events[-1]
        assert event["pathParameters"] == {"id": "a%40b"}
        assert event["resource"] == "/items/{id}" and event["stageVariables"] == {"k": "v"}
        response = await world.gateway.handle(api.api_id, request("/s/items"))
        assert response is not None and response.status == 403
        world.store.close()

    run(scenario())


def test_stage_variables_name_the_function_per_stage(tmp_path: Path) -> None:
    async def scenario() -> None:
        world = World(tmp_path / "f.sqlite3")
        world.grants.granted.update({FN + ":live", FN + ":beta"})
        api = await world.rest.create_api(REGION, ACCOUNT, "sv")
        root = api.root_resource_id
        await world.rest.put_method(REGION, ACCOUNT, api.api_id, root, "GET", "NONE")
        await world.rest.put_integration(
            REGION,
            ACCOUNT,
            api.api_id,
            root,
            "GET",
            "AWS_PROXY",
            URI.replace("function:echo", "function:echo:${stageVariables.alias}"),
        )
        for stage, alias in (("prod", "live"), ("dev", "beta")):
            await world.rest_stages.create_deployment(
                REGION, ACCOUNT, api.api_id, stage, variables={"alias": alias}
            )
        await world.rest_stages.create_deployment(REGION, ACCOUNT, api.api_id, "bare")
        for stage in ("prod", "dev"):
            response = await world.gateway.handle(api.api_id, request(f"/{stage}"))
            assert response is not None and response.status == 200
        assert world.functions.targets == [FN + ":live", FN + ":beta"]
        response = await world.gateway.handle(api.api_id, request("/bare"))
        assert response is not None and response.status == 500
        world.store.close()

    run(scenario())


def test_sizes_are_bounded(tmp_path: Path) -> None:
    async def scenario() -> None:
        world = World(tmp_path / "g.sqlite3")
        api = await world.http.create_api(REGION, ACCOUNT, ApiSpec(name="s"), "HTTP", FN)
        calls = [
            world.http.create_api(REGION, ACCOUNT, ApiSpec(name="x" * 129), "HTTP"),
            world.http.update_api(REGION, ACCOUNT, api.api_id, ApiSpec(description="d" * 1025)),
            world.http.create_api(
                REGION, ACCOUNT, ApiSpec(name="t", tags={f"k{i}": "v" for i in range(51)}), "HTTP"
            ),
            world.stages.create_stage(
                REGION, ACCOUNT, api.api_id, "big", StageSpec(stage_variables={"v": "x" * 2049})
            ),
            world.stages.create_stage(
                REGION, ACCOUNT, api.api_id, "bad", StageSpec(stage_variables={"a b": "x"})
            ),
            world.rest.create_api(REGION, ACCOUNT, "r" * 129),
        ]
        for call in calls:
            with pytest.raises(BadRequestException):
                await call
        assert [a.api_id for a in world.http.list_apis(REGION, ACCOUNT)] == [api.api_id]
        assert set(api.stages) == {"$default"} and api.description is None
        world.store.close()

    run(scenario())


def test_deployments_kept_are_bounded_and_served_ones_stay(tmp_path: Path) -> None:
    async def scenario() -> None:
        world = World(tmp_path / "h.sqlite3")
        api = await world.http.create_api(REGION, ACCOUNT, ApiSpec(name="d"), "HTTP")
        await world.stages.create_stage(REGION, ACCOUNT, api.api_id, "prod", StageSpec())
        served = await world.stages.create_deployment(REGION, ACCOUNT, api.api_id, "prod", None)
        for _ in range(MAX_DEPLOYMENTS + 5):
            await world.stages.create_deployment(REGION, ACCOUNT, api.api_id, None, None)
        kept = world.stages.list_deployments(REGION, ACCOUNT, api.api_id)
        assert len(kept) == MAX_DEPLOYMENTS
        assert served.deployment_id in {d.deployment_id for d in kept}
        world.store.close()

    run(scenario())
