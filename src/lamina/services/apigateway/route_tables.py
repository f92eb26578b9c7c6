"""A deployment's routes compiled for matching, once per deployment: deployments are
snapshots that never change, so their parsed templates are cached (a bounded number, the
least recently used dropped first)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from lamina.services.apigateway.records import (
    Authorizer,
    HttpDeployment,
    Integration,
    RestAuthorizer,
    RestDeployment,
    RestMethod,
    RestResource,
    Route,
)
from lamina.services.apigateway.routes import Candidate, PathTemplate, parse_route_key

# Compiled deployments kept (each is small: at most 300 routes or resources).
MAX_TABLES = 512


@dataclass(frozen=True, slots=True)
class HttpRouteTable:
    candidates: list[Candidate[Route]]
    default: Route | None
    integrations: dict[str, Integration]
    authorizers: dict[str, Authorizer]


@dataclass(frozen=True, slots=True)
class RestRouteTable:
    candidates: list[Candidate[tuple[RestResource, RestMethod]]]
    authorizers: dict[str, RestAuthorizer]


def _compile_http(deployment: HttpDeployment) -> HttpRouteTable:
    candidates: list[Candidate[Route]] = []
    default = None
    for route in deployment.routes:
        parsed = parse_route_key(route.route_key)
        if parsed is None:
            default = route
        else:
            candidates.append(Candidate(parsed[0], parsed[1], route))
    integrations = {i.integration_id: i for i in deployment.integrations}
    authorizers = {a.authorizer_id: a for a in deployment.authorizers}
    return HttpRouteTable(candidates, default, integrations, authorizers)


def _compile_rest(deployment: RestDeployment) -> RestRouteTable:
    candidates: list[Candidate[tuple[RestResource, RestMethod]]] = []
    for resource in deployment.resources:
        template = PathTemplate.parse(resource.path)
        for verb, method in resource.methods.items():
            candidates.append(Candidate(verb, template, (resource, method)))
    return RestRouteTable(candidates, {a.authorizer_id: a for a in deployment.authorizers})


class RouteTables:
    def __init__(self, limit: int = MAX_TABLES) -> None:
        self._limit = limit
        self._tables: OrderedDict[tuple[str, str, float], HttpRouteTable | RestRouteTable] = (
            OrderedDict()
        )

    def http(self, api_id: str, deployment: HttpDeployment) -> HttpRouteTable:
        key = (api_id, deployment.deployment_id, deployment.created)
        table = self._get(key)
        if not isinstance(table, HttpRouteTable):
            table = _compile_http(deployment)
            self._put(key, table)
        return table

    def rest(self, api_id: str, deployment: RestDeployment) -> RestRouteTable:
        key = (api_id, deployment.deployment_id, deployment.created)
        table = self._get(key)
        if not isinstance(table, RestRouteTable):
            table = _compile_rest(deployment)
            self._put(key, table)
        return table

    def __len__(self) -> int:
        return len(self._tables)

    def _get(self, key: tuple[str, str, float]) -> HttpRouteTable | RestRouteTable | None:
        table = self._tables.get(key)
        if table is not None:
            self._tables.move_to_end(key)
        return table

    def _put(self, key: tuple[str, str, float], table: HttpRouteTable | RestRouteTable) -> None:
        self._tables[key] = table
        while len(self._tables) > self._limit:
            self._tables.popitem(last=False)
