"""What PublishVersion and ListVersionsByFunction ask and answer, typed."""

from __future__ import annotations

from dataclasses import dataclass

from lamina.domain.models import FunctionConfig


@dataclass(frozen=True)
class PublishVersionRequest:
    """``qualifier``: from the FunctionName (only ``$LATEST`` may be published);
    ``revision_id``/``code_sha256``: preconditions on ``$LATEST`` (None: not given)."""

    name: str
    qualifier: str | None = None
    description: str | None = None
    revision_id: str | None = None
    code_sha256: str | None = None
    publish_to: str | None = None


@dataclass(frozen=True)
class VersionPage:
    """One ListVersionsByFunction page: ``$LATEST`` first, then versions by number."""

    versions: list[FunctionConfig]
    next_marker: str | None
