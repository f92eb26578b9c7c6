"""Stage variables in integration URIs: ``arn:…:function:fn:${stageVariables.alias}`` names
the function (or alias) per stage, resolved at each request."""

from __future__ import annotations

import re

_REFERENCE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")
# What a reference stands for while the URI is checked before any stage resolves it.
_PLACEHOLDER = "stagevariable"


def has_references(uri: str) -> bool:
    return _REFERENCE.search(uri) is not None


def as_checked(uri: str) -> str:
    """The URI with each reference replaced by a valid name (for the checks at PutIntegration
    or CreateIntegration)."""
    return _REFERENCE.sub(_PLACEHOLDER, uri)


def resolve(uri: str, variables: dict[str, str]) -> str:
    """The URI with the stage's values (a missing variable: empty, which the ARN check then
    refuses)."""
    return _REFERENCE.sub(lambda m: variables.get(m.group(1), ""), uri)
