"""The layer operations' wire forms (shape checks: ``domain.layers``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lamina.domain import layers as rules
from lamina.domain.layers import LayerName, LayerPolicy, LayerVersionRef
from lamina.domain.requests.functions import CodeSource
from lamina.domain.requests.layers import (
    AddLayerPermissionRequest,
    LayerFilter,
    LayerPage,
    LayerPermission,
    LayerVersionDetails,
    PublishLayerVersionRequest,
)


def _tuple(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


def publish_request(params: Mapping[str, Any]) -> PublishLayerVersionRequest:
    name = rules.parse_layer_name(params.get("LayerName"))
    rules.validate_publish(params)
    content = params["Content"]
    return PublishLayerVersionRequest(
        layer=name,
        content=CodeSource(
            zip_file=content.get("ZipFile"),
            s3_bucket=content.get("S3Bucket"),
            s3_key=content.get("S3Key"),
        ),
        description=params.get("Description") or "",
        compatible_runtimes=_tuple(params.get("CompatibleRuntimes")),
        compatible_architectures=_tuple(params.get("CompatibleArchitectures")),
        license_info=params.get("LicenseInfo"),
    )


def layer_version(params: Mapping[str, Any]) -> tuple[LayerName, int]:
    """``LayerName`` and ``VersionNumber`` (in that order of validation)."""
    name = rules.parse_layer_name(params.get("LayerName"))
    return name, rules.parse_version_number(params.get("VersionNumber"))


def version_arn(params: Mapping[str, Any]) -> LayerVersionRef:
    return rules.parse_layer_version_arn(params.get("Arn"))


def list_filter(params: Mapping[str, Any]) -> LayerFilter:
    limit = rules.validate_list_filters(params)
    marker = params.get("Marker")
    return LayerFilter(
        runtime=params.get("CompatibleRuntime"),
        architecture=params.get("CompatibleArchitecture"),
        marker=None if marker is None else str(marker),
        limit=limit,
    )


def list_versions_options(params: Mapping[str, Any]) -> tuple[LayerName, LayerFilter]:
    name = rules.parse_layer_name(params.get("LayerName"))
    return name, list_filter(params)


def add_permission_request(params: Mapping[str, Any]) -> AddLayerPermissionRequest:
    name = rules.parse_layer_name(params.get("LayerName"))
    rules.validate_permission(params)
    number = rules.parse_version_number(params.get("VersionNumber"))
    return AddLayerPermissionRequest(
        layer=name,
        version=number,
        statement_id=params["StatementId"],
        principal=params["Principal"],
        organization_id=params.get("OrganizationId"),
        revision_id=params.get("RevisionId"),
    )


def remove_permission_options(
    params: Mapping[str, Any],
) -> tuple[LayerName, int, str, str | None]:
    """``(layer, version, statement id, revision id)`` of RemoveLayerVersionPermission."""
    name = rules.parse_layer_name(params.get("LayerName"))
    sid = rules.validate_statement_id(params.get("StatementId"))
    number = rules.parse_version_number(params.get("VersionNumber"))
    return name, number, sid, params.get("RevisionId")


# --- results --------------------------------------------------------------------------------


def details_to_wire(details: LayerVersionDetails) -> dict[str, Any]:
    return details.version.to_wire(details.code_location)


def layers_page_to_wire(page: LayerPage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Layers": [
            {
                "LayerName": version.name,
                "LayerArn": version.layer_arn,
                "LatestMatchingVersion": version.to_list_item(),
            }
            for version in page.versions
        ]
    }
    if page.next_marker is not None:
        out["NextMarker"] = page.next_marker
    return out


def versions_page_to_wire(page: LayerPage) -> dict[str, Any]:
    out: dict[str, Any] = {"LayerVersions": [v.to_list_item() for v in page.versions]}
    if page.next_marker is not None:
        out["NextMarker"] = page.next_marker
    return out


def permission_to_wire(permission: LayerPermission) -> dict[str, Any]:
    return {"Statement": permission.statement, "RevisionId": permission.revision_id}


def policy_to_wire(policy: LayerPolicy) -> dict[str, Any]:
    return {"Policy": policy.document(), "RevisionId": policy.revision_id}
