"""Route keys and path templates, matched as API Gateway does.

A template is ``/items/{id}`` or ``/files/{proxy+}`` (a greedy variable, last segment only,
matching one or more segments). Among the templates that match a request, the most
specific wins: literal segments before variables (segment by segment, left to right), any
template before a greedy one, a method's own route before ``ANY``; an HTTP API's
``$default`` route is the last resort.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import unquote as _unquote

HTTP_METHODS = ("ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
DEFAULT_ROUTE = "$default"
_VARIABLE = re.compile(r"\{([A-Za-z0-9._-]+)(\+?)\}")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PathTemplate:
    """A parsed template: its segments, each ``(literal, None)`` or ``(None, name)``, and
    the greedy variable's name (the last segment) if any."""

    text: str
    segments: tuple[tuple[str | None, str | None], ...]
    greedy: str | None

    @classmethod
    def parse(cls, text: str) -> PathTemplate:
        """``ValueError`` for a template API Gateway refuses."""
        if not text.startswith("/"):
            raise ValueError("path must start with /")
        parts = [p for p in text.split("/")[1:]] if text != "/" else []
        segments: list[tuple[str | None, str | None]] = []
        greedy: str | None = None
        for index, part in enumerate(parts):
            if not part:
                raise ValueError("empty path segment")
            found = _VARIABLE.fullmatch(part)
            if found is None:
                if "{" in part or "}" in part:
                    raise ValueError("malformed path variable")
                segments.append((part, None))
            elif found.group(2):
                if index != len(parts) - 1:
                    raise ValueError("greedy variable must be last")
                greedy = found.group(1)
            else:
                segments.append((None, found.group(1)))
        return cls(text, tuple(segments), greedy)

    def match(self, parts: list[str], *, decode: bool = True) -> dict[str, str] | None:
        """The path parameters when ``parts`` (the request path's raw segments) match, else
        None; ``decode``: percent-decoded (HTTP APIs), else as sent (REST APIs)."""
        unquote = _unquote if decode else _as_is
        fixed = len(self.segments)
        if self.greedy is None and len(parts) != fixed:
            return None
        if self.greedy is not None and len(parts) <= fixed:
            return None
        params: dict[str, str] = {}
        for (literal, name), part in zip(self.segments, parts, strict=False):
            if literal is not None:
                if _unquote(part) != literal:
                    return None
            elif name is not None:
                if not part:
                    return None
                params[name] = unquote(part)
        if self.greedy is not None:
            rest = "/".join(parts[fixed:])
            if not rest:
                return None
            params[self.greedy] = unquote(rest)
        return params

    def rank(self) -> tuple[int, int, tuple[int, ...]]:
        """Sorts the more specific first: non-greedy before greedy (and the greedy with
        more segments before), then literal segments before variables."""
        shape = tuple(0 if literal is not None else 1 for literal, _ in self.segments)
        return (1, -len(shape), shape) if self.greedy else (0, 0, shape)


def _as_is(text: str) -> str:
    return text


def split_path(path: str) -> list[str]:
    """A request path's raw segments (``/a/b/`` and ``/a/b`` alike; ``/`` has none)."""
    trimmed = path.strip("/")
    return trimmed.split("/") if trimmed else []


def parse_route_key(key: str) -> tuple[str, PathTemplate] | None:
    """``(method, template)`` of ``"GET /items/{id}"``; None for ``$default``; ValueError
    for a key API Gateway refuses."""
    if key == DEFAULT_ROUTE:
        return None
    method, sep, path = key.partition(" ")
    if not sep or method not in HTTP_METHODS:
        raise ValueError("bad route key")
    return method, PathTemplate.parse(path)


@dataclass(frozen=True, slots=True)
class Candidate(Generic[T]):
    method: str  # a method or ANY
    template: PathTemplate
    value: T


@dataclass(frozen=True, slots=True)
class Matched(Generic[T]):
    value: T
    params: dict[str, str]


def best_match(
    candidates: Iterable[Candidate[T]], method: str, path: str, *, decode: bool = True
) -> Matched[T] | None:
    """The most specific candidate for ``method`` and ``path`` (``decode``: see
    ``PathTemplate.match``)."""
    parts = split_path(path)
    found: list[tuple[tuple[tuple[int, int, tuple[int, ...]], int], Matched[T]]] = []
    for candidate in candidates:
        if candidate.method not in (method, "ANY"):
            continue
        params = candidate.template.match(parts, decode=decode)
        if params is None:
            continue
        key = (candidate.template.rank(), 1 if candidate.method == "ANY" else 0)
        found.append((key, Matched(candidate.value, params)))
    if not found:
        return None
    found.sort(key=lambda item: item[0])
    return found[0][1]
