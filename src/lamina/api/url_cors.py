"""CORS for function URLs, answered from the URL's ``Cors`` configuration.

- A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) to a URL
  with CORS configured is answered here (200, empty body) without invoking the function:
  with ``Access-Control-Allow-Origin`` (the origin, or ``*`` when every origin is allowed),
  ``-Allow-Methods``, ``-Allow-Headers``, ``-Max-Age`` and ``-Allow-Credentials`` when the
  origin, the method and the headers asked for are allowed; without CORS headers otherwise
  (the browser then refuses the request).
- Every other answer of such a URL gets ``Access-Control-Allow-Origin``,
  ``-Allow-Credentials`` and ``-Expose-Headers`` when its ``Origin`` is allowed; they
  replace the function's own headers of the same names, as on AWS.

A URL without ``Cors`` adds nothing: its OPTIONS requests reach the function.
"""

from __future__ import annotations

from lamina.services.url_model import Cors

_CORS_PREFIX = "access-control-"
Headers = list[tuple[str, str]]


def is_preflight(method: str, origin: str | None, request_method: str | None) -> bool:
    return method == "OPTIONS" and origin is not None and request_method is not None


def allowed_origin(cors: Cors, origin: str | None) -> str | None:
    """The ``Access-Control-Allow-Origin`` value for ``origin`` or None when not allowed."""
    if origin is None:
        return None
    origins = cors.allow_origins or ()
    if "*" in origins:
        return "*" if not cors.allow_credentials else origin
    lowered = origin.lower()
    for allowed in origins:
        if allowed.lower() == lowered:
            return origin
    return None


def preflight_headers(
    cors: Cors, origin: str | None, request_method: str, request_headers: str | None
) -> Headers:
    """The CORS headers of a preflight's answer (empty: refused)."""
    allow_origin = allowed_origin(cors, origin)
    if allow_origin is None or not _method_allowed(cors, request_method):
        return []
    if not _headers_allowed(cors, request_headers):
        return []
    out: Headers = [("access-control-allow-origin", allow_origin)]
    if cors.allow_methods:
        out.append(("access-control-allow-methods", ",".join(cors.allow_methods)))
    if cors.allow_headers:
        out.append(("access-control-allow-headers", ",".join(cors.allow_headers)))
    if cors.allow_credentials:
        out.append(("access-control-allow-credentials", "true"))
    if cors.expose_headers:
        out.append(("access-control-expose-headers", ",".join(cors.expose_headers)))
    if cors.max_age:
        out.append(("access-control-max-age", str(cors.max_age)))
    if allow_origin != "*":
        out.append(("vary", "Origin"))
    return out


def with_cors(cors: Cors, origin: str | None, headers: Headers) -> Headers:
    """A normal answer's headers with the configured CORS headers replacing the function's."""
    allow_origin = allowed_origin(cors, origin)
    if allow_origin is None:
        return headers
    out = [(name, value) for name, value in headers if not name.startswith(_CORS_PREFIX)]
    out.append(("access-control-allow-origin", allow_origin))
    if cors.allow_credentials:
        out.append(("access-control-allow-credentials", "true"))
    if cors.expose_headers:
        out.append(("access-control-expose-headers", ",".join(cors.expose_headers)))
    if allow_origin != "*":
        out.append(("vary", "Origin"))
    return out


def _method_allowed(cors: Cors, method: str) -> bool:
    methods = [m.upper() for m in cors.allow_methods or ()]
    return "*" in methods or method.upper() in methods


def _headers_allowed(cors: Cors, requested: str | None) -> bool:
    if not requested:
        return True
    allowed = {h.strip().lower() for h in cors.allow_headers or ()}
    if "*" in allowed:
        return True
    asked = {h.strip().lower() for h in requested.split(",") if h.strip()}
    return asked <= allowed
