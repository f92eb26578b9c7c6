"""API Gateway stages on Lamina's port (an ``HttpTrigger``).

- by host: ``http://<api-id>.execute-api.<region>.localhost:<port>/<path>`` (an HTTP API's
  ``$default`` stage at the root, named stages under ``/<stage>/``; a REST API's stages
  under ``/<stage>/``), as on AWS with ``.amazonaws.com`` replaced;
- by path, for clients that cannot set a host:
  ``http://127.0.0.1:<port>/execute-api/<api-id>/<path>`` (the same path as by host; no
  AWS API path starts with ``/execute-api/``).
"""

from __future__ import annotations

import re

from lamina.api.http_triggers import TriggerRequest, TriggerResponse
from lamina.domain.ids import new_uuid
from lamina.services.apigateway.gateway import Gateway, StageRequest
from lamina.services.apigateway.registry import ApiRegistry

PATH_PREFIX = "/execute-api/"
HOST = re.compile(r"([a-z0-9]{10})\.execute-api\.([a-z0-9-]+)\.localhost")
# API Gateway's payload quota (10 MB).
MAX_BODY = 10 * 1024 * 1024
_NOT_FOUND = b'{"message":"Not Found"}'


class ApiGatewayTrigger:
    max_body = MAX_BODY

    def __init__(self, gateway: Gateway, registry: ApiRegistry) -> None:
        self._gateway = gateway
        self._apis = registry

    def claims(self, host: str, path: str) -> bool:
        return (
            host.endswith(".localhost") and ".execute-api." in host or path.startswith(PATH_PREFIX)
        )

    def too_large(self) -> TriggerResponse:
        return TriggerResponse(
            413, [("content-type", "application/json")], b'{"message":"Request Entity Too Large"}'
        )

    async def handle(self, request: TriggerRequest) -> TriggerResponse:
        host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
        found = HOST.fullmatch(host)
        if found is not None:
            api_id, region, path = found.group(1), found.group(2), request.raw_path
        elif request.raw_path.startswith(PATH_PREFIX):
            api_id, _, rest = request.raw_path[len(PATH_PREFIX) :].partition("/")
            region, path = None, "/" + rest
        else:
            return _not_found()
        api = self._apis.http(api_id) or self._apis.rest(api_id)
        if api is None or (region is not None and api.region != region):
            return _not_found()
        domain = f"{api_id}.execute-api.{api.region}.localhost"
        stage_request = StageRequest(
            method=request.method,
            path=path or "/",
            query_string=request.query_string,
            headers=request.headers,
            body=request.body,
            source_ip=request.client[0] if request.client else "127.0.0.1",
            domain_name=domain,
            request_id=new_uuid(),
        )
        response = await self._gateway.handle(api_id, stage_request)
        if response is None:
            return _not_found()
        return TriggerResponse(response.status, response.headers, response.body)


def _not_found() -> TriggerResponse:
    return TriggerResponse(404, [("content-type", "application/json")], _NOT_FOUND)


def endpoint_url(base_url: str, api_id: str, region: str) -> str:
    """An API's invoke URL on this server: its host form, on the server's port."""
    scheme, _, rest = base_url.partition("://")
    port = rest.rsplit(":", 1)[1] if ":" in rest else ""
    suffix = f":{port}" if port else ""
    return f"{scheme}://{api_id}.execute-api.{region}.localhost{suffix}"
