"""What the layer operations ask and answer, typed (``LayerVersion``/``LayerPolicy`` are
``domain.layers``')."""

from __future__ import annotations

from dataclasses import dataclass

from lamina.domain.layers import LayerName, LayerVersion
from lamina.domain.requests.functions import CodeSource


@dataclass(frozen=True)
class PublishLayerVersionRequest:
    """``None`` lists were not given (the answer omits them); empty ones were given empty."""

    layer: LayerName
    content: CodeSource
    description: str = ""
    compatible_runtimes: tuple[str, ...] | None = None
    compatible_architectures: tuple[str, ...] | None = None
    license_info: str | None = None


@dataclass(frozen=True)
class LayerVersionDetails:
    """A layer version and where its package can be downloaded."""

    version: LayerVersion
    code_location: str


@dataclass(frozen=True)
class LayerFilter:
    """ListLayers/ListLayerVersions: the compatibility filters, the marker as sent and the
    page size (already checked against the limits)."""

    runtime: str | None = None
    architecture: str | None = None
    marker: str | None = None
    limit: int = 50


@dataclass(frozen=True)
class LayerPage:
    """ListLayers: each layer's latest matching version; ListLayerVersions: a layer's
    matching versions, newest first. ``next_marker``: where the next page starts."""

    versions: list[LayerVersion]
    next_marker: str | None


@dataclass(frozen=True)
class AddLayerPermissionRequest:
    """AddLayerVersionPermission (the action is always ``lambda:GetLayerVersion``)."""

    layer: LayerName
    version: int
    statement_id: str
    principal: str
    organization_id: str | None = None
    revision_id: str | None = None


@dataclass(frozen=True)
class LayerPermission:
    """The statement added (compact JSON, as AWS answers it) and the policy's new
    RevisionId."""

    statement: str
    revision_id: str
