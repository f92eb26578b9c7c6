"""An HTTP API's CORS configuration applied as API Gateway does: it answers preflights
itself (whatever the routes) and sets the CORS headers of every response, replacing those
the function returned."""

from __future__ import annotations

from lamina.services.apigateway.records import Cors
from lamina.services.apigateway.responses import GatewayResponse

_CORS_PREFIX = "access-control-"


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in headers if k == name), None)


def is_preflight(method: str, headers: list[tuple[str, str]]) -> bool:
    return (
        method == "OPTIONS"
        and _header(headers, "origin") is not None
        and _header(headers, "access-control-request-method") is not None
    )


def _allowed_origin(cors: Cors, origin: str | None) -> str | None:
    if origin is None:
        return None
    if "*" in cors.allow_origins:
        return origin if cors.allow_credentials else "*"
    return origin if origin in cors.allow_origins else None


def preflight(cors: Cors, headers: list[tuple[str, str]]) -> GatewayResponse:
    """204; with the configured grants when the origin is allowed."""
    response = GatewayResponse(204)
    origin = _allowed_origin(cors, _header(headers, "origin"))
    if origin is None:
        return response
    out = response.headers
    out.append(("access-control-allow-origin", origin))
    if cors.allow_methods:
        out.append(("access-control-allow-methods", ",".join(cors.allow_methods)))
    if cors.allow_headers:
        out.append(("access-control-allow-headers", ",".join(cors.allow_headers)))
    if cors.expose_headers:
        out.append(("access-control-expose-headers", ",".join(cors.expose_headers)))
    if cors.max_age is not None:
        out.append(("access-control-max-age", str(cors.max_age)))
    if cors.allow_credentials:
        out.append(("access-control-allow-credentials", "true"))
    return response


def decorate(cors: Cors, headers: list[tuple[str, str]], response: GatewayResponse) -> None:
    """Replace the response's CORS headers with the configuration's (for an allowed
    origin)."""
    response.headers = [
        (k, v) for k, v in response.headers if not k.lower().startswith(_CORS_PREFIX)
    ]
    origin = _allowed_origin(cors, _header(headers, "origin"))
    if origin is None:
        return
    response.headers.append(("access-control-allow-origin", origin))
    if cors.expose_headers:
        response.headers.append(("access-control-expose-headers", ",".join(cors.expose_headers)))
    if cors.allow_credentials:
        response.headers.append(("access-control-allow-credentials", "true"))
