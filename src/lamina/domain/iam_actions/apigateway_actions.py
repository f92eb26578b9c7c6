"""API Gateway's operations as IAM sees them: the HTTP method as the action
(``apigateway:GET``, ``apigateway:POST``, ``PATCH``, ``PUT``, ``DELETE``) on the path of the
management resource, ``arn:aws:apigateway:<region>::/restapis/<id>/stages/<name>``
(HTTP APIs: ``/apis/<id>/...``, without the API's ``/v2`` prefix).

The method and path of each operation come from botocore's model (its ``requestUri``), with
the request's members in place of the labels: every operation of both models is mapped.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any
from urllib.parse import quote

from lamina.domain.iam_actions.rules import Params, RequiredAccess, Rule, Scope

_LABEL = re.compile(r"\{([^}+]+)\+?\}")


def _operation_rule(method: str, uri: str, members: dict[str, str]) -> Rule:
    path = uri.split("?", 1)[0]
    if path.startswith("/v2/"):
        path = path[3:]

    def rule(operation: str, params: Params, scope: Scope) -> list[RequiredAccess]:
        def fill(match: re.Match[str]) -> str:
            value = params.get(members.get(match[1], match[1]))
            return quote(str(value), safe="") if value is not None else "*"

        return [
            RequiredAccess(
                f"apigateway:{method}",
                f"arn:aws:apigateway:{scope.region}::{_LABEL.sub(fill, path)}",
            )
        ]

    return rule


@cache
def _table(service: str) -> dict[str, Rule]:
    from botocore.loaders import Loader

    model: dict[str, Any] = Loader().load_service_model(service, "service-2")
    shapes = model["shapes"]
    rules: dict[str, Rule] = {}
    for name, operation in model["operations"].items():
        members: dict[str, str] = {}
        shape_name = operation.get("input", {}).get("shape")
        if shape_name:
            for member, spec in shapes[shape_name].get("members", {}).items():
                if spec.get("location") == "uri":
                    members[spec.get("locationName", member)] = member
        http = operation["http"]
        rules[name] = _operation_rule(http["method"], http["requestUri"], members)
    return rules


def apigateway_table() -> dict[str, Rule]:
    """REST APIs (``apigateway``, 2015-07-09)."""
    return _table("apigateway")


def apigatewayv2_table() -> dict[str, Rule]:
    """HTTP APIs (``apigatewayv2``, 2018-11-29)."""
    return _table("apigatewayv2")
