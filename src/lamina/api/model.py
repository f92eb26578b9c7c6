"""Request routing and (de)serialisation driven by botocore's Lambda service model.

botocore's ``service-2.json`` is the authority on paths, methods, where each member
travels (URI label, query string, header, body, payload) and its type. This module
compiles it once into ``Operation`` objects: a path regex plus the bindings needed to
turn an HTTP request into the operation's input dict and an output dict back into an
HTTP response.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, unquote

from lamina.api.large_body import LargeBase64, loads_leaving_blob
from lamina.domain.errors import InvalidRequestContentException

Shape = dict[str, Any]


# Paths remembered with the operation their request matched first (``ServiceModel.match``).
MATCH_CACHE_SIZE = 4096


@dataclass(frozen=True)
class Binding:
    member: str
    wire_name: str
    type: str
    list_member_type: str = "string"


@dataclass
class Operation:
    name: str
    method: str
    path_regex: re.Pattern[str]
    fixed_query: dict[str, str]
    response_code: int
    input_shape: Shape | None
    output_shape: Shape | None
    uri: list[Binding] = field(default_factory=list)
    query: list[Binding] = field(default_factory=list)
    headers: list[Binding] = field(default_factory=list)
    payload_member: str | None = None
    payload_is_blob: bool = False
    out_headers: list[Binding] = field(default_factory=list)
    out_status_member: str | None = None
    out_payload_member: str | None = None


class ServiceModel:
    def __init__(self, model: dict[str, Any]) -> None:
        self.shapes: dict[str, Shape] = model["shapes"]
        self.operations: list[Operation] = [
            self._compile(op) for op in model["operations"].values()
        ]
        # Operations with a fixed query (``?List=ALL``) must be tried before their siblings.
        self.operations.sort(key=lambda o: (-len(o.fixed_query), -len(o.path_regex.pattern)))
        # The same order, by HTTP method: a request is matched against its method's only.
        self._by_method: dict[str, list[Operation]] = {}
        for op in self.operations:
            self._by_method.setdefault(op.method, []).append(op)
        # (method, path) → the first operation whose path pattern matches it, and its labels
        # (bounded: cleared when full). Only the first pattern that matches is remembered, so
        # an earlier operation can never be the answer for another query.
        self._first_match: dict[tuple[str, str], tuple[Operation, dict[str, str]]] = {}

    def _compile(self, op: dict[str, Any]) -> Operation:
        http = op["http"]
        uri, _, fixed = http["requestUri"].partition("?")
        pattern = "^"
        for part in re.split(r"(\{[^}]+\})", uri):
            if part.startswith("{"):
                label = part[1:-1].rstrip("+")
                greedy = part.endswith("+}")
                pattern += f"(?P<{label}>{'.+' if greedy else '[^/]+'})"
            else:
                pattern += re.escape(part)
        pattern += "/?$"
        fixed_query = dict(parse_qsl(fixed, keep_blank_values=True)) if fixed else {}
        input_shape = self.shapes[op["input"]["shape"]] if "input" in op else None
        output_shape = self.shapes[op["output"]["shape"]] if "output" in op else None
        operation = Operation(
            name=op["name"],
            method=http["method"],
            path_regex=re.compile(pattern),
            fixed_query=fixed_query,
            response_code=int(http.get("responseCode", 200)),
            input_shape=input_shape,
            output_shape=output_shape,
        )
        if input_shape:
            for name, member in input_shape.get("members", {}).items():
                binding = self._binding(name, member)
                location = member.get("location")
                if location == "uri":
                    operation.uri.append(binding)
                elif location == "querystring":
                    operation.query.append(binding)
                elif location == "header":
                    operation.headers.append(binding)
            payload = input_shape.get("payload")
            if payload:
                operation.payload_member = payload
                target = self.shapes[input_shape["members"][payload]["shape"]]
                operation.payload_is_blob = target["type"] == "blob"
        if output_shape:
            for name, member in output_shape.get("members", {}).items():
                location = member.get("location")
                if location == "header":
                    operation.out_headers.append(self._binding(name, member))
                elif location == "statusCode":
                    operation.out_status_member = name
            operation.out_payload_member = output_shape.get("payload")
        return operation

    def _binding(self, name: str, member: dict[str, Any]) -> Binding:
        shape = self.shapes[member["shape"]]
        list_type = "string"
        if shape["type"] == "list":
            list_type = self.shapes[shape["member"]["shape"]]["type"]
        return Binding(name, member.get("locationName", name), shape["type"], list_type)

    def match(
        self, method: str, path: str, query: dict[str, list[str]]
    ) -> tuple[Operation, dict[str, str]] | None:
        remembered = self._first_match.get((method, path))
        if remembered is not None:
            op, labels = remembered
            if not any(query.get(k, [None])[0] != v for k, v in op.fixed_query.items()):
                return op, dict(labels)
        first = True
        for op in self._by_method.get(method, ()):
            found = op.path_regex.match(path)
            if not found:
                continue
            labels = found.groupdict()
            if first:
                first = False
                if len(self._first_match) >= MATCH_CACHE_SIZE:
                    self._first_match.clear()
                self._first_match[(method, path)] = (op, dict(labels))
            if any(query.get(k, [None])[0] != v for k, v in op.fixed_query.items()):
                continue
            return op, labels
        return None

    # --- input --------------------------------------------------------------------------

    def parse_input(
        self,
        op: Operation,
        labels: dict[str, str],
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for b in op.uri:
            if b.wire_name in labels:
                params[b.member] = unquote(labels[b.wire_name])
        for b in op.query:
            values = query.get(b.wire_name)
            if values is None:
                continue
            params[b.member] = (
                [_scalar(v, b.list_member_type) for v in values]
                if b.type == "list"
                else _scalar(values[0], b.type)
            )
        for b in op.headers:
            value = headers.get(b.wire_name.lower())
            if value is not None:
                params[b.member] = _scalar(value, b.type)
        if op.payload_member:
            if op.payload_is_blob:
                params[op.payload_member] = body
            elif body:
                params[op.payload_member] = self._decode_json(body)
        elif body and op.input_shape:
            document = self._decode_json(body)
            if not isinstance(document, dict):
                raise _wrong_type("", document, "an object")
            params.update(self._from_json(document, op.input_shape))
        return params

    @staticmethod
    def _decode_json(body: bytes) -> Any:
        try:
            return loads_leaving_blob(body)  # a package's base64 is decoded in chunks
        except (ValueError, RecursionError) as exc:
            raise InvalidRequestContentException(
                f"Could not parse request body into json: {exc}"
            ) from None

    def _from_json(self, value: Any, shape: Shape, path: str = "") -> Any:
        """A JSON body value as the model's type, coerced the way the service's (Jackson)
        deserializer does: scalars to strings, integral numbers and numeric strings to
        integers, "true"/"false" to booleans. ``null`` members count as absent. Anything
        else (an object where a string belongs, ...) is a 400, never a crash later on."""
        kind = shape["type"]
        if kind == "structure":
            if not isinstance(value, dict):
                raise _wrong_type(path, value, "an object")
            members = shape.get("members", {})
            out: dict[str, Any] = {}
            for key, item in value.items():
                member = members.get(key)
                if member is None or member.get("location") or item is None:
                    continue
                out[key] = self._from_json(item, self.shapes[member["shape"]], _join(path, key))
            return out
        if kind == "list":
            if not isinstance(value, list):
                raise _wrong_type(path, value, "an array")
            inner = self.shapes[shape["member"]["shape"]]
            return [self._from_json(v, inner, path) for v in value if v is not None]
        if kind == "map":
            if not isinstance(value, dict):
                raise _wrong_type(path, value, "an object")
            inner = self.shapes[shape["value"]["shape"]]
            return {
                k: self._from_json(v, inner, _join(path, k))
                for k, v in value.items()
                if v is not None
            }
        if kind == "blob":
            if not isinstance(value, str):
                raise _wrong_type(path, value, "a base64 string")
            try:
                if isinstance(value, LargeBase64):
                    return value.to_bytes()
                return base64.b64decode(value, validate=True)
            except ValueError:
                raise InvalidRequestContentException(
                    "Could not decode base64 blob in request body."
                ) from None
        if kind == "string":
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, (int, float)):
                return str(value)
            if not isinstance(value, str):
                raise _wrong_type(path, value, "a string")
            return value
        if kind in ("integer", "long"):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,18}", value.strip()):
                return int(value)
            if not isinstance(value, int) or isinstance(value, bool):
                raise _wrong_type(path, value, "an integer")
            return value
        if kind == "boolean":
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            if not isinstance(value, bool):
                raise _wrong_type(path, value, "a boolean")
            return value
        if kind == "double":
            if isinstance(value, str):
                try:
                    return float(value)
                except ValueError:
                    raise _wrong_type(path, value, "a number") from None
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise _wrong_type(path, value, "a number")
            return value
        return value

    # --- output -------------------------------------------------------------------------

    def render_output(
        self, op: Operation, output: dict[str, Any]
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        status = op.response_code
        headers: list[tuple[bytes, bytes]] = []
        body_members = dict(output)
        if op.out_status_member and op.out_status_member in body_members:
            status = int(body_members.pop(op.out_status_member))
        for b in op.out_headers:
            value = body_members.pop(b.member, None)
            if value is not None:
                headers.append((b.wire_name.encode(), str(value).encode()))
        if op.out_payload_member:
            payload = body_members.get(op.out_payload_member)
            if isinstance(payload, bytes | bytearray):
                return status, headers, bytes(payload)
            if payload is None:
                return status, headers, b""
            headers.append((b"content-type", b"application/json"))
            return status, headers, json.dumps(payload).encode()
        headers.append((b"content-type", b"application/json"))
        if status == 204 and not body_members:
            return status, headers, b""
        return status, headers, json.dumps(body_members, separators=(",", ":")).encode()


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _wrong_type(path: str, value: Any, expected: str) -> InvalidRequestContentException:
    """Unverified wording: AWS answers a body member of the wrong JSON type with a 400
    whose text comes from its deserializer; only the prefix is known."""
    if isinstance(value, bool):
        found = "a boolean"
    elif isinstance(value, (int, float)):
        found = "a number"
    elif isinstance(value, dict):
        found = "an object"
    elif isinstance(value, list):
        found = "an array"
    else:
        found = "a string"
    return InvalidRequestContentException(
        f"Could not parse request body into json: Cannot deserialize {found} as {expected}"
        f" at '{path or '$'}'"
    )


def _scalar(value: str, kind: str) -> Any:
    if kind in ("integer", "long"):
        try:
            return int(value)
        except ValueError:
            return value
    if kind == "boolean":
        return value.lower() == "true"
    return value


@lru_cache(maxsize=8)
def load_model(service: str) -> dict[str, Any]:
    """botocore's model of ``service`` (``service-2.json``), loaded once."""
    from botocore.loaders import Loader

    model: dict[str, Any] = Loader().load_service_model(service, "service-2")
    return model


@lru_cache(maxsize=1)
def lambda_model() -> ServiceModel:
    return ServiceModel(load_model("lambda"))
