"""Published versions: PublishVersion and ListVersionsByFunction.

Publishing itself (shared with CreateFunction and UpdateFunctionCode with ``Publish``) is
``FunctionService.publish``: an immutable snapshot of ``$LATEST``, or the last published
version again when ``$LATEST`` has not changed since. Deleting a version is DeleteFunction with
a qualifier (``FunctionService.delete``).
"""

from __future__ import annotations

from typing import Any

from lamina.domain import names, versions
from lamina.domain.errors import InvalidParameterValueException
from lamina.domain.models import LATEST, FunctionConfig
from lamina.services.functions import FunctionService

# Unverified wording (UpdateFunctionCode's, recorded, for a qualified FunctionName).
LATEST_ONLY = (
    "Current operation does not support versions other than $LATEST. "
    "Please set the version to $LATEST or do not set a version in your request."
)


class VersionService:
    def __init__(self, functions: FunctionService) -> None:
        self.functions = functions

    def publish(self, params: dict[str, Any]) -> dict[str, Any]:
        value = params.get("FunctionName", "")
        errors = names.function_name_errors(value, "PublishVersion")
        errors += versions.publish_shape_errors(params)
        if errors:
            raise names.validation_exception(errors)
        ref = self.functions.ref(params, "PublishVersion")
        versions.check_publish_to(params)
        if ref.qualifier not in (None, LATEST):
            raise InvalidParameterValueException(LATEST_ONLY)
        latest = self.functions.require(ref.name)
        versions.check_publish_preconditions(
            latest, params.get("RevisionId"), params.get("CodeSha256")
        )
        published, _ = self.functions.publish(latest, params.get("Description"))
        return published.to_wire()

    def list_versions(self, params: dict[str, Any]) -> dict[str, Any]:
        ref = self.functions.ref(params, "ListVersionsByFunction")
        requested = versions.max_items(params.get("MaxItems"))
        limit = min(requested or versions.PAGE_LIMIT, versions.PAGE_LIMIT)
        # A missing function is named by its unqualified ARN (unverified).
        self.functions.require(ref.name)
        found: list[tuple[tuple[int, int], FunctionConfig]] = []
        for number in self.functions.store.versions(ref.name):
            config = self.functions.config(ref.name, number)
            if config is not None:
                found.append((versions.version_key(number), config))
        marker = params.get("Marker")
        page, more = versions.page_after(
            found, versions.version_key(marker) if marker else None, limit
        )
        out: dict[str, Any] = {
            "Versions": [config.to_wire(listing=True, qualified=True) for config in page]
        }
        if more:
            out["NextMarker"] = page[-1].version
        return out
