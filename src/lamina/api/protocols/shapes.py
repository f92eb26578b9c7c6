"""botocore's service model (the ``service-2`` dict) as a small typed shape graph.

Codecs compile their parsers and renderers from this graph once, at start-up. A ``Ref`` is
a use of a shape (a structure member, a list element, a map key or value) with the
serialization traits in force there: botocore merges the shape's own traits with the
reference's, the reference winning (``botocore.model.Shape.serialization``), and so does
this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SCALAR_TYPES = frozenset(
    {"string", "integer", "long", "boolean", "double", "float", "blob", "timestamp"}
)


@dataclass(eq=False, slots=True)
class Shape:
    """One named shape. ``members`` (structures) keep the model's order."""

    name: str
    type: str
    members: dict[str, Ref] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    member: Ref | None = None  # list element
    key: Ref | None = None  # map key
    value: Ref | None = None  # map value
    document: bool = False  # a free-form JSON document
    timestamp_format: str | None = None


@dataclass(eq=False, slots=True)
class Ref:
    """A shape as used at one place, with the serialization traits in force there."""

    shape: Shape
    location_name: str | None
    flattened: bool
    timestamp_format: str | None

    def serialized_name(self, default: str) -> str:
        return self.location_name if self.location_name is not None else default


class ShapeGraph:
    """The shapes of one service model, resolved lazily and once (recursive shapes allowed)."""

    def __init__(self, model: Mapping[str, Any]) -> None:
        self.metadata: Mapping[str, Any] = model.get("metadata", {})
        self.operations: Mapping[str, Any] = model.get("operations", {})
        self._definitions: Mapping[str, Any] = model.get("shapes", {})
        self._shapes: dict[str, Shape] = {}

    def shape(self, name: str) -> Shape:
        existing = self._shapes.get(name)
        if existing is not None:
            return existing
        definition = self._definitions[name]
        kind = str(definition["type"])
        shape = Shape(
            name=name,
            type=kind,
            document=bool(definition.get("document")),
            timestamp_format=definition.get("timestampFormat"),
        )
        self._shapes[name] = shape  # before resolving children: recursion ends here
        if kind == "structure":
            shape.members = {
                member: self.ref(ref) for member, ref in definition.get("members", {}).items()
            }
            shape.required = tuple(definition.get("required", ()))
        elif kind == "list":
            shape.member = self.ref(definition["member"])
        elif kind == "map":
            shape.key = self.ref(definition["key"])
            shape.value = self.ref(definition["value"])
        return shape

    def ref(self, reference: Mapping[str, Any]) -> Ref:
        name = str(reference["shape"])
        definition = self._definitions[name]
        traits = {**definition, **reference}
        return Ref(
            shape=self.shape(name),
            location_name=traits.get("locationName"),
            flattened=bool(traits.get("flattened", False)),
            timestamp_format=traits.get("timestampFormat"),
        )

    def input_shape(self, operation: str) -> Shape | None:
        spec = self.operations[operation].get("input")
        return self.shape(spec["shape"]) if spec else None

    def output_shape(self, operation: str) -> Shape | None:
        spec = self.operations[operation].get("output")
        return self.shape(spec["shape"]) if spec else None

    def result_wrapper(self, operation: str) -> str | None:
        spec = self.operations[operation].get("output")
        return spec.get("resultWrapper") if spec else None
