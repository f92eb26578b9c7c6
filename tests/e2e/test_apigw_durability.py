"""API Gateway's APIs survive a SIGKILL of the server: an acknowledged change is on disk."""

from __future__ import annotations

import http.client
import json
import signal
from collections.abc import Callable

from support import REGION, LaminaServer, create_python_function

ECHO = "def handler(event, context):\n    return {'route': event['routeKey']}\n"


def _get(server: LaminaServer, api_id: str, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request("GET", path, headers={"Host": f"{api_id}.execute-api.{REGION}.localhost"})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def test_apis_survive_sigkill(own_server: Callable[..., LaminaServer]) -> None:
    first = own_server()
    lam = first.client()
    name = create_python_function(lam, ECHO)
    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    v2 = first.client("apigatewayv2")
    api_id = v2.create_api(Name="kept", ProtocolType="HTTP", Target=arn, RouteKey="GET /k")["ApiId"]
    rest_id = first.client("apigateway").create_rest_api(name="kept-rest")["id"]
    assert _get(first, api_id, "/k")[0] == 200
    first.stop(signal.SIGKILL)
    second = own_server(data=first.data_dir)
    status, body = _get(second, api_id, "/k")
    assert (status, json.loads(body)) == (200, {"route": "GET /k"})
    assert second.client("apigateway").get_rest_api(restApiId=rest_id)["name"] == "kept-rest"
    assert [a["ApiId"] for a in second.client("apigatewayv2").get_apis()["Items"]] == [api_id]
