"""Who may call a function URL (AWS's urls-auth).

- ``NONE``: anyone, but only when the function's resource-based policy grants
  ``lambda:InvokeFunctionUrl`` to ``*`` with ``lambda:FunctionUrlAuthType`` ``NONE``
  (``services.function_policies``); otherwise 403.
- ``AWS_IAM``: a SigV4 signature for service ``lambda`` in the URL's region. Keys the server
  issued to execution environments are verified (live environment, matching signature);
  other keys are checked for shape only until IAM users exist (issue 15).
"""

from __future__ import annotations

from typing import Protocol

from lamina.api.sigv4 import SignedRequest, read_claim, verify
from lamina.api.url_event import IamCaller
from lamina.domain.errors import AwsError
from lamina.runtime.credentials import CredentialRegistry, issued_by_lamina

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
    registry: CredentialRegistry,
) -> IamCaller:
    """The signer of an ``AWS_IAM`` URL's request, or ``UrlRefused``."""
    query = _query_names(request.query_string)
    try:
        claim = read_claim(request.headers, query)
    except AwsError:
        raise UrlRefused() from None
    if claim.service != LAMBDA_SERVICE or claim.region != region:
        raise UrlRefused()
    key = claim.access_key_id
    if not issued_by_lamina(key):
        return IamCaller(key, account_id, key, f"arn:aws:iam::{account_id}:root", account_id)
    credentials = registry.lookup(key)
    if credentials is None:
        raise UrlRefused()
    try:
        verify(
            claim,
            request,
            secret=credentials.secret_access_key,
            session_token=credentials.session_token,
            region=region,
            service=LAMBDA_SERVICE,
        )
    except AwsError:
        raise UrlRefused() from None
    role = credentials.role_arn.rsplit("/", 1)[-1]
    session = credentials.function_name
    user_id = f"{key}:{session}"
    arn = f"arn:aws:sts::{account_id}:assumed-role/{role}/{session}"
    return IamCaller(key, account_id, user_id, arn, user_id)


def _query_names(query_string: str) -> dict[str, list[str]]:
    """The query's names (the presigned form is looked for by name)."""
    out: dict[str, list[str]] = {}
    for part in query_string.split("&"):
        if part:
            name, _, value = part.partition("=")
            out.setdefault(name, []).append(value)
    return out
