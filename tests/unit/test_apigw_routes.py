"""Route keys and path templates matched as API Gateway does."""

from __future__ import annotations

import pytest

from lamina.services.apigateway.records import HttpDeployment, Integration, Route
from lamina.services.apigateway.route_tables import RouteTables
from lamina.services.apigateway.routes import (
    Candidate,
    PathTemplate,
    best_match,
    parse_route_key,
)


def _candidates(*keys: str) -> list[Candidate[str]]:
    out = []
    for key in keys:
        parsed = parse_route_key(key)
        assert parsed is not None
        out.append(Candidate(parsed[0], parsed[1], key))
    return out


ROUTES = _candidates(
    "GET /items/{id}",
    "GET /items/special",
    "ANY /items/{id}",
    "GET /{proxy+}",
    "GET /files/{proxy+}",
    "POST /",
)


@pytest.mark.parametrize(
    ("method", "path", "route", "params"),
    [
        ("GET", "/items/special", "GET /items/special", {}),
        ("GET", "/items/42", "GET /items/{id}", {"id": "42"}),
        ("PUT", "/items/42", "ANY /items/{id}", {"id": "42"}),
        ("GET", "/files/a/b", "GET /files/{proxy+}", {"proxy": "a/b"}),
        ("GET", "/other/x", "GET /{proxy+}", {"proxy": "other/x"}),
        ("GET", "/items/a%20b", "GET /items/{id}", {"id": "a b"}),
        ("POST", "/", "POST /", {}),
        ("GET", "/items/42/", "GET /items/{id}", {"id": "42"}),
    ],
)
def test_most_specific_route_wins(
    method: str, path: str, route: str, params: dict[str, str]
) -> None:
    matched = best_match(ROUTES, method, path)
    assert matched is not None
    assert (matched.value, matched.params) == (route, params)


@pytest.mark.parametrize(("method", "path"), [("GET", "/"), ("DELETE", "/files/x"), ("POST", "/x")])
def test_no_match(method: str, path: str) -> None:
    assert best_match(ROUTES, method, path) is None


def test_rest_parameters_stay_encoded() -> None:
    template = PathTemplate.parse("/{proxy+}")
    assert template.match(["a%2Bb", "", "c"], decode=False) == {"proxy": "a%2Bb//c"}


@pytest.mark.parametrize(
    "key",
    ["GET", "FETCH /x", "GET x", "GET /a/{proxy+}/b", "GET /a//b", "GET /{a"],
)
def test_bad_route_keys(key: str) -> None:
    with pytest.raises(ValueError):
        parse_route_key(key)


def test_default_route_key() -> None:
    assert parse_route_key("$default") is None


def test_route_tables_are_bounded_and_compiled_once() -> None:
    tables = RouteTables(limit=2)
    deployments = [
        HttpDeployment(
            f"d{i}",
            float(i),
            False,
            routes=[Route("r1", "GET /a/{id}", "integrations/i1"), Route("r2", "$default")],
            integrations=[Integration("i1", "AWS_PROXY", "arn", "2.0")],
        )
        for i in range(3)
    ]
    first = tables.http("api", deployments[0])
    assert tables.http("api", deployments[0]) is first
    assert first.default is not None and first.default.route_id == "r2"
    assert [c.value.route_id for c in first.candidates] == ["r1"]
    assert set(first.integrations) == {"i1"}
    tables.http("api", deployments[1])
    tables.http("api", deployments[2])
    assert len(tables) == 2
    assert tables.http("api", deployments[0]) is not first  # dropped, compiled again
