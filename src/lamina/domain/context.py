"""Who asked what, where: the one value the edge builds per request and hands to services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from lamina.domain.callers import FunctionCaller
from lamina.domain.identity import Principal


# Made on every request: not frozen (a frozen dataclass's __init__ costs a call per field).
@dataclass(slots=True)
class RequestContext:
    """One API request's identity.

    ``region`` is the region of the request's signature (its credential scope), which is the
    region served: a client signed for ``eu-west-1`` gets ``eu-west-1`` ARNs and state.
    ``caller`` is the function whose execution-role credentials signed the request, or None
    for the account's own credentials. ``trace_header`` is the request's ``X-Amzn-Trace-Id``
    (an SDK inside a function sends its invocation's, with the recursion counter:
    ``services.recursion``), or None. ``principal`` is who signed the request
    (``domain.identity``), or None where the edge does not tell (internal calls).
    ``access_key_id`` is the key it signed with when the server knows that key, and
    ``temporary`` whether that key is temporary credentials (an STS session's or an
    execution environment's: GetSessionToken refuses them, as AWS does).
    """

    request_id: str
    account_id: str
    region: str
    caller: FunctionCaller | None = None
    trace_header: str | None = None
    principal: Principal | None = None
    access_key_id: str | None = None
    temporary: bool = False

    @classmethod
    def internal(cls, account_id: str, region: str) -> RequestContext:
        """A context for Lamina's own calls (pollers, destinations): the account itself."""
        return cls(str(uuid.uuid4()), account_id, region)
