"""Published versions: PublishVersion and ListVersionsByFunction.

Publishing itself (shared with CreateFunction and UpdateFunctionCode with ``Publish``) is
``FunctionCatalog.publish``: an immutable snapshot of ``$LATEST``, or the last published
version again when ``$LATEST`` has not changed since. Deleting a version is DeleteFunction with
a qualifier (``FunctionService.delete``).
"""

from __future__ import annotations

from lamina.domain import function_states, versions
from lamina.domain.errors import InvalidParameterValueException
from lamina.domain.models import LATEST, FunctionConfig
from lamina.domain.requests.versions import PublishVersionRequest, VersionPage
from lamina.services.function_catalog import FunctionCatalog

# Unverified wording (UpdateFunctionCode's, recorded, for a qualified FunctionName).
LATEST_ONLY = (
    "Current operation does not support versions other than $LATEST. "
    "Please set the version to $LATEST or do not set a version in your request."
)


class VersionService:
    def __init__(self, catalog: FunctionCatalog) -> None:
        self._catalog = catalog

    def publish(self, request: PublishVersionRequest) -> FunctionConfig:
        """The new version (or the last one, when ``$LATEST`` has not changed since)."""
        versions.check_publish_to(request.publish_to)
        if request.qualifier not in (None, LATEST):
            raise InvalidParameterValueException(LATEST_ONLY)
        latest = self._catalog.require(request.name)
        versions.check_publish_preconditions(latest, request.revision_id, request.code_sha256)
        # AWS refuses to publish while an update of $LATEST is in progress.
        function_states.check_not_updating(latest)
        published, _ = self._catalog.publish(latest, request.description)
        return published

    def list_versions(self, name: str, marker: str | None, max_items: int | None) -> VersionPage:
        """A page (at most 50) of the function's versions after ``marker`` (a version)."""
        limit = min(max_items or versions.PAGE_LIMIT, versions.PAGE_LIMIT)
        # A missing function is named by its unqualified ARN (unverified).
        self._catalog.require(name)
        found = [
            (versions.version_key(config.version), config)
            for config in self._catalog.all_versions(name)
        ]
        page, more = versions.page_after(
            found, versions.version_key(marker) if marker else None, limit
        )
        return VersionPage(page, page[-1].version if more else None)
