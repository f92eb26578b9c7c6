"""botocore's model of a rest-json service whose body members travel under their
``locationName`` (API Gateway v2: ``ApiId`` is ``"apiId"`` on the wire): requests are read
and answers written with those names; handlers see the model's member names as for every
other service."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from lamina.api.model import Operation, ServiceModel, Shape


class LocatedServiceModel(ServiceModel):
    def __init__(self, model: dict[str, Any]) -> None:
        super().__init__(_identifier_labels(model))

    def _from_json(self, value: Any, shape: Shape, path: str = "") -> Any:
        if shape["type"] == "structure" and isinstance(value, dict):
            renamed: dict[str, Any] = {}
            wire_names = {
                member.get("locationName", name): name
                for name, member in shape.get("members", {}).items()
                if not member.get("location")
            }
            for key, item in value.items():
                name = wire_names.get(key)
                if name is not None:
                    renamed[name] = item
            value = renamed
        return super()._from_json(value, shape, path)

    def render_output(
        self, op: Operation, output: dict[str, Any]
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        status, headers, body = super().render_output(op, output)
        if not body or op.output_shape is None or op.out_payload_member:
            return status, headers, body
        document = json.loads(body)
        renamed = self._to_wire(document, op.output_shape)
        return status, headers, json.dumps(renamed, separators=(",", ":")).encode()

    def _to_wire(self, value: Any, shape: Shape) -> Any:
        kind = shape["type"]
        if kind == "structure" and isinstance(value, dict):
            members = shape.get("members", {})
            out: dict[str, Any] = {}
            for key, item in value.items():
                member = members.get(key)
                if member is None:
                    out[key] = item
                    continue
                inner = self.shapes[member["shape"]]
                out[member.get("locationName", key)] = self._to_wire(item, inner)
            return out
        if kind == "list" and isinstance(value, list):
            inner = self.shapes[shape["member"]["shape"]]
            return [self._to_wire(v, inner) for v in value]
        if kind == "map" and isinstance(value, dict):
            inner = self.shapes[shape["value"]["shape"]]
            return {k: self._to_wire(v, inner) for k, v in value.items()}
        return value


def _identifier_labels(model: dict[str, Any]) -> dict[str, Any]:
    """The model with its URI labels usable as regex group names (``{resource-arn}`` becomes
    ``{resource_arn}``, in the request URI and in the member's ``locationName``)."""
    model = copy.deepcopy(model)

    def fix(label: str) -> str:
        return re.sub(r"[^A-Za-z0-9_]", "_", label)

    for operation in model["operations"].values():
        http = operation["http"]
        http["requestUri"] = re.sub(
            r"\{([^}+]+)(\+?)\}",
            lambda m: "{" + fix(m.group(1)) + m.group(2) + "}",
            http["requestUri"],
        )
        if "input" in operation:
            shape = model["shapes"][operation["input"]["shape"]]
            for member in shape.get("members", {}).values():
                if member.get("location") == "uri":
                    member["locationName"] = fix(member.get("locationName", ""))
    return model
