"""Policy documents: checked when written, URL-encoded in answers as IAM encodes them.

The grammar is ``lamina.domain.iam_policy.validate_policy_document``: its
``PolicyGrammarError`` becomes IAM's ``MalformedPolicyDocument`` (or ``LimitExceeded`` for a
document over its size quota) with the grammar's message. A document is kept exactly as the
caller wrote it: IAM answers it so (URL-encoded; botocore decodes it and parses it back into
a dict).
"""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import quote

from lamina.domain.iam_policy import PolicyGrammarError, validate_policy_document
from lamina.services.iam.errors import IamError, LimitExceeded, MalformedPolicyDocument

Kind = Literal["identity", "resource", "trust"]
# Inline policies' quotas (characters without white space) and IAM's words for them.
INLINE_QUOTAS = {"role": 10240, "user": 2048}


def check(
    text: str, kind: Kind = "identity", *, inline_of: tuple[str, str] | None = None
) -> dict[str, Any]:
    """The parsed document, or IAM's error. ``inline_of``: (``role``/``user``, its name)
    for an inline policy, whose quota is the entity's."""
    max_size = size_message = None
    if inline_of is not None:
        entity, name = inline_of
        max_size = INLINE_QUOTAS[entity]
        size_message = f"Maximum policy size of {max_size} bytes exceeded for {entity} {name}"
    try:
        return validate_policy_document(text, kind, max_size=max_size, size_message=size_message)
    except PolicyGrammarError as exc:
        error: IamError = (
            LimitExceeded(exc.message)
            if exc.code == "LimitExceeded"
            else MalformedPolicyDocument(exc.message)
        )
        raise error from None


def parsed(text: str) -> dict[str, Any]:
    """A stored document as a dict (stored documents were checked when written)."""
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


def encoded(text: str) -> str:
    """A document as IAM's XML carries it: percent-encoded (RFC 3986)."""
    return quote(text, safe="")
