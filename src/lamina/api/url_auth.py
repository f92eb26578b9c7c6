"""Who may call a function URL (AWS's urls-auth).

- ``NONE``: anyone, but only when the function's resource-based policy grants
  ``lambda:InvokeFunctionUrl`` to ``*`` with ``lambda:FunctionUrlAuthType`` ``NONE``
  (``services.function_policies``); otherwise 403.
- ``AWS_IAM``: a SigV4 signature for service ``lambda`` in the URL's region. Keys the server
  knows are verified (the edge's key book: root, IAM users, STS sessions, live
  environments); other keys are accepted as the account's root under ``--auth off`` only.
"""

from __future__ import annotations

import time
from typing import Protocol

from lamina.api.sigv4 import SignedRequest, read_claim, verify
from lamina.api.url_event import IamCaller
from lamina.domain.errors import AwsError
from lamina.domain.identity import KeyBook
from lamina.runtime.credentials import issued_by_lamina

LAMBDA_SERVICE = "lambda"


class UrlPolicies(Protocol):
    """The resource-based policies of one region's functions (``FunctionPolicies``)."""

    def allows(
        self,
        name: str,
        qualifier: str | None,
        *,
        principal: str,
        action: str,
        function_url_auth_type: str | None = None,
        via_function_url: bool = False,
    ) -> bool: ...


def public_url_allowed(policies: UrlPolicies, function: str, qualifier: str | None) -> bool:
    """Whether the policy of the function (or of its alias) lets anyone invoke it through a
    ``NONE`` URL: ``lambda:InvokeFunctionUrl`` to ``*`` with
    ``lambda:FunctionUrlAuthType`` ``NONE``."""
    return policies.allows(
        function,
        qualifier,
        principal="*",
        action="lambda:InvokeFunctionUrl",
        function_url_auth_type="NONE",
        via_function_url=True,
    )


class UrlRefused(Exception):
    """The request may not invoke the URL (403)."""


def iam_caller(
    request: SignedRequest,
    region: str,
    account_id: str,
    keys: KeyBook,
    mode: str = "off",
) -> IamCaller:
    """The signer of an ``AWS_IAM`` URL's request, or ``UrlRefused``: a key the server
    knows (``keys``: root, IAM users, STS sessions, live environments) is verified; an
    unknown key is the account's root under ``--auth off`` (``mode``), refused otherwise."""
    query = _query_names(request.query_string)
    try:
        claim = read_claim(request.headers, query)
    except AwsError:
        raise UrlRefused() from None
    if claim.service != LAMBDA_SERVICE or claim.region != region:
        raise UrlRefused()
    key_id = claim.access_key_id
    key = keys.key(key_id)
    if key is None:
        if mode != "off" or issued_by_lamina(key_id):
            raise UrlRefused()
        return IamCaller(key_id, account_id, key_id, f"arn:aws:iam::{account_id}:root", account_id)
    if not key.active or (key.expires_at is not None and key.expires_at <= time.time()):
        raise UrlRefused()
    try:
        verify(
            claim,
            request,
            secret=key.secret_access_key,
            session_token=key.session_token,
            region=region,
            service=LAMBDA_SERVICE,
        )
    except AwsError:
        raise UrlRefused() from None
    principal = key.principal
    return IamCaller(
        key_id, principal.account_id, principal.unique_id, principal.arn, principal.unique_id
    )


def _query_names(query_string: str) -> dict[str, list[str]]:
    """The query's names (the presigned form is looked for by name)."""
    out: dict[str, list[str]] = {}
    for part in query_string.split("&"):
        if part:
            name, _, value = part.partition("=")
            out.setdefault(name, []).append(value)
    return out
