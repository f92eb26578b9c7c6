"""Published versions: what makes two snapshots "the same", PublishVersion's request rules,
and the ordering and pagination of version lists.

A published version is an immutable copy of ``$LATEST``'s code and configuration. PublishVersion
while ``$LATEST`` is unchanged since the last published version answers that version instead of
a new one; "unchanged" compares the configuration Lamina stores (code, settings, layers...),
not its bookkeeping (revision, timestamps, states). Version numbers grow monotonically per
function and are never reused, even after the highest version is deleted. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, TypeVar

from lamina.domain.errors import (
    InvalidParameterValueException,
    PreconditionFailedException,
)
from lamina.domain.models import LATEST, FunctionConfig
from lamina.domain.names import StringShape, constraint_error, validation_exception

DESCRIPTION = StringShape(0, 256)
PUBLISH_TO = ("LATEST_PUBLISHED",)
MAX_LIST_ITEMS = 10000
# ListVersionsByFunction returns at most 50 versions per page, whatever MaxItems says.
PAGE_LIMIT = 50

# FunctionConfig fields that are bookkeeping, not configuration.
_NOT_CONFIGURATION = frozenset(
    {
        "version",
        "revision_id",
        "last_modified",
        "state",
        "state_reason",
        "state_reason_code",
        "last_update_status",
        "last_update_status_reason",
        "last_update_status_reason_code",
        "published_from",
    }
)


class _Ordered(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...
    def __gt__(self, other: Any, /) -> bool: ...


K = TypeVar("K", bound=_Ordered)
T = TypeVar("T")

REVISION_MISMATCH = (
    "The Revision Id provided does not match the latest Revision Id. "
    "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
)


def fingerprint(config: FunctionConfig) -> str:
    """A digest of a version's code and configuration (what PublishVersion compares)."""
    record = {k: v for k, v in config.to_record().items() if k not in _NOT_CONFIGURATION}
    encoded = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


def version_key(version: str) -> tuple[int, int]:
    """Sort key: ``$LATEST`` first, then published versions by number."""
    return (0, 0) if version == LATEST else (1, int(version) if version.isdigit() else 0)


def publish_shape_errors(params: Mapping[str, Any]) -> list[str]:
    """PublishVersion's member constraints after ``FunctionName``'s: Description's length,
    PublishTo's enum."""
    errors: list[str] = []
    description = params.get("Description")
    if isinstance(description, str):
        errors += DESCRIPTION.errors("description", description)
    publish_to = params.get("PublishTo")
    if publish_to is not None and publish_to not in PUBLISH_TO:
        text = f"Member must satisfy enum value set: [{', '.join(PUBLISH_TO)}]"
        errors.append(constraint_error("publishTo", publish_to, text))
    return errors


def check_publish_to(publish_to: str | None) -> None:
    """PublishVersion's ``PublishTo``: Lamina has no capacity providers."""
    if publish_to is not None:
        # Unverified wording: $LATEST.PUBLISHED belongs to functions on capacity providers
        # (Lambda Managed Instances), which Lamina does not have.
        raise InvalidParameterValueException(
            "PublishTo LATEST_PUBLISHED is only supported for functions with a capacity provider."
        )


def check_publish_preconditions(
    latest: FunctionConfig, revision_id: str | None, code_sha256: str | None
) -> None:
    """RevisionId (412), then CodeSha256 (recorded wording; compared with the base64 digest)."""
    if revision_id is not None and revision_id != latest.revision_id:
        raise PreconditionFailedException(REVISION_MISMATCH)
    current = latest.code_sha256_b64
    if code_sha256 is not None and code_sha256 != current:
        raise InvalidParameterValueException(
            f"CodeSHA256 ({code_sha256}) is different from current CodeSHA256 in $LATEST "
            f"({current}). Please try again with the CodeSHA256 in $LATEST."
        )


def max_items(value: Any) -> int | None:
    """Validate a list operation's ``MaxItems`` (1-10000)."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        # The query string did not parse as an integer (unverified wording).
        raise validation_exception(
            [constraint_error("maxItems", value, "Member must be an integer")]
        )
    if value < 1:
        text = "Member must have value greater than or equal to 1"
    elif value > MAX_LIST_ITEMS:
        text = f"Member must have value less than or equal to {MAX_LIST_ITEMS}"
    else:
        return value
    raise validation_exception([constraint_error("maxItems", value, text)])


def page_after(items: Iterable[tuple[K, T]], marker: K | None, limit: int) -> tuple[list[T], bool]:
    """One page of ``(key, item)`` pairs sorted by key: the items whose key is greater than
    ``marker`` (the key of the last item of the previous page, so paging stays exact even if
    that item was deleted meanwhile), at most ``limit``; and whether more remain."""
    pairs = sorted(items, key=lambda pair: pair[0])
    if marker is not None:
        pairs = [pair for pair in pairs if pair[0] > marker]
    return [item for _, item in pairs[:limit]], len(pairs) > limit
