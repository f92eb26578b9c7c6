"""Who may call the API: authentication of each request and the function access policy.

- Every API request carries a SigV4 signature (``api.sigv4``). Its key is looked up in the
  key book (``domain.identity.KeyBook``: the account root's key, IAM users' keys, STS
  sessions, live execution environments' credentials); a known key's signature is verified
  and its principal goes on the request's context.
- A key the server does not know: refused under ``--auth verify``; under ``--auth off``
  accepted on its shape as the account's root (local development: any key, any secret).
  A key shaped like one Lamina issues (``ASIALAMINA…``) that is not known is a dead
  environment's or an expired session's: always refused.
- Temporary credentials past their expiration answer AWS's ``ExpiredToken``.
- A call made with an execution environment's credentials is the function's execution role
  acting, limited by ``--function-api-access`` (``domain.callers``).
- A connection relayed from inside an environment (its ``AWS_ENDPOINT_URL``) must carry a
  key the server knows; it never reaches ``/_lamina/*``.
- A request from a web page is accepted only with credentials the server verified.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Container
from typing import TYPE_CHECKING, Any

from lamina.api.guard import HostAllowList
from lamina.api.sigv4 import SignatureClaim, SignedRequest, read_claim, verify
from lamina.domain.callers import AccessDenied, FunctionApiPolicy, FunctionCaller
from lamina.domain.context import RequestContext
from lamina.domain.errors import (
    AccessDeniedException,
    AwsError,
    ExpiredTokenException,
    UnrecognizedClientException,
)
from lamina.domain.identity import KeyBook, Principal, SigningKey
from lamina.runtime.credentials import CredentialRegistry, issued_by_lamina

if TYPE_CHECKING:
    from lamina.api.authorization import Authorizer

BROWSER_REFUSED = (
    "Requests from web pages are not accepted: Lamina's API takes requests from SDKs and "
    "tools, signed with AWS Signature Version 4."
)
AUTH_OFF, AUTH_VERIFY = "off", "verify"


class EdgeAccess:
    # IAM policies (``--iam audit|enforce``, ``api.authorization``): None under ``off``.
    authorizer: Authorizer | None = None

    def __init__(
        self,
        hosts: HostAllowList,
        registry: CredentialRegistry,
        relayed: Container[tuple[str, int]],
        policy: FunctionApiPolicy,
        account_id: str,
        region: str,
        *,
        keys: KeyBook | None = None,
        mode: str = AUTH_OFF,
    ) -> None:
        self.hosts = hosts
        self.registry = registry
        self.relayed = relayed
        self.policy = policy
        self.account_id = account_id
        self.region = region
        self.keys: KeyBook = keys if keys is not None else registry
        self.mode = mode
        self.root = Principal.root(account_id)

    def is_relayed(self, client: Any) -> bool:
        return client is not None and tuple(client) in self.relayed

    def admit(
        self,
        headers: dict[str, str],
        query: dict[str, list[str]],
        *,
        relayed: bool,
        browser: bool,
    ) -> tuple[SignatureClaim, SigningKey | None]:
        """Before the body is read: the signature claim and the key it names (None: a key
        the server does not know, accepted under ``--auth off``); AWS's error otherwise."""
        claim = read_claim(headers, query)
        key_id = claim.access_key_id
        key = self.keys.key(key_id)
        if key is None:
            if self.mode != AUTH_OFF or relayed or issued_by_lamina(key_id):
                raise UnrecognizedClientException()
            if browser:
                raise AccessDeniedException(BROWSER_REFUSED)
            return claim, None
        if not key.active:
            raise UnrecognizedClientException()
        if key.expires_at is not None and key.expires_at <= time.time():
            raise ExpiredTokenException()
        return claim, key

    def identify(
        self,
        claim: SignatureClaim,
        key: SigningKey,
        request: SignedRequest,
        service: str,
    ) -> tuple[Principal, FunctionCaller | None, bytes]:
        """After the body is read: verify the signature with the key's secret. Returns who
        signed, the function whose environment's key it is (if any), and the payload (the
        body, decoded when it was sent ``aws-chunked``)."""
        payload = verify(
            claim,
            request,
            secret=key.secret_access_key,
            session_token=key.session_token,
            # Any region may be called with a key, as on AWS (the region is the one served).
            region=claim.region,
            service=service,
        )
        credentials = self.registry.lookup(claim.access_key_id)
        caller = None
        if credentials is not None:
            caller = FunctionCaller(
                credentials.function_name,
                credentials.role_arn,
                credentials.log_group,
                self.account_id,
                self.region,
            )
        return key.principal, caller, payload

    def check_lambda(self, ctx: RequestContext, operation: str, params: dict[str, Any]) -> None:
        """A function's call of a Lambda operation, under the function access policy."""
        if self.authorizer is not None:
            self.authorizer.authorize(ctx, "lambda", operation, params)
        if ctx.caller is None:
            return
        try:
            self.policy.check_lambda(ctx.caller, operation, params)
        except AccessDenied as denied:
            raise AccessDeniedException(denied.message) from None

    def check_logs(self, ctx: RequestContext, operation: str, params: dict[str, Any]) -> None:
        """A function's call of a CloudWatch Logs operation, under the same policy."""
        if self.authorizer is not None:
            self.authorizer.authorize(ctx, "logs", operation, params)
        if ctx.caller is None:
            return
        try:
            self.policy.check_logs(ctx.caller, operation, params)
        except AccessDenied as denied:
            raise JsonAccessDenied(denied.message) from None

    def checker(self, service: str) -> Callable[[RequestContext, str, dict[str, Any]], None]:
        """The check of another service's operations: ``account`` allows them, ``self`` and
        ``none`` deny them (a function owns no resource of theirs)."""

        def check(ctx: RequestContext, operation: str, params: dict[str, Any]) -> None:
            if self.authorizer is not None:
                self.authorizer.authorize(ctx, service, operation, params)
            if ctx.caller is None:
                return
            try:
                self.policy.check_other(ctx.caller, f"{service}:{operation}")
            except AccessDenied as denied:
                raise JsonAccessDenied(denied.message) from None

        return check


class JsonAccessDenied(AwsError):
    """An implicit deny, as JSON and query services word it."""

    code = "AccessDeniedException"
    status = 400
    message_key = "message"
    typed = False
    query_code = "AccessDenied"
