"""Who may call the API: authentication of each request and the function access policy.

- Every Lambda and Logs request carries a SigV4 signature (``api.sigv4``). Keys the server
  did not issue are accepted on their shape (local development: any key, any secret).
- Keys issued to execution environments (``runtime.credentials``) are verified: the
  environment must be alive and the signature must match its secret. Such a call is the
  function's execution role acting, limited by ``--function-api-access`` (``domain.callers``).
- A connection relayed from inside an environment (its ``AWS_ENDPOINT_URL``) must carry a
  live environment's credentials; it never reaches ``/_lamina/*``.
- A request from a web page is accepted only with credentials the server verified.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from typing import Any

from lamina.api.guard import HostAllowList
from lamina.api.sigv4 import SignatureClaim, SignedRequest, read_claim, verify
from lamina.domain.callers import AccessDenied, FunctionApiPolicy, FunctionCaller
from lamina.domain.context import RequestContext
from lamina.domain.errors import AccessDeniedException, AwsError, UnrecognizedClientException
from lamina.runtime.credentials import (
    CredentialRegistry,
    EnvironmentCredentials,
    issued_by_lamina,
)

BROWSER_REFUSED = (
    "Requests from web pages are not accepted: Lamina's API takes requests from SDKs and "
    "tools, signed with AWS Signature Version 4."
)


class EdgeAccess:
    def __init__(
        self,
        hosts: HostAllowList,
        registry: CredentialRegistry,
        relayed: Container[tuple[str, int]],
        policy: FunctionApiPolicy,
        account_id: str,
        region: str,
    ) -> None:
        self.hosts = hosts
        self.registry = registry
        self.relayed = relayed
        self.policy = policy
        self.account_id = account_id
        self.region = region

    def is_relayed(self, client: Any) -> bool:
        return client is not None and tuple(client) in self.relayed

    def admit(
        self,
        headers: dict[str, str],
        query: dict[str, list[str]],
        *,
        relayed: bool,
        browser: bool,
    ) -> tuple[SignatureClaim, EnvironmentCredentials | None]:
        """Before the body is read: the signature claim and, for a key the server issued,
        the live environment's credentials (raises AWS's error otherwise)."""
        claim = read_claim(headers, query)
        if issued_by_lamina(claim.access_key_id):
            credentials = self.registry.lookup(claim.access_key_id)
            if credentials is None:
                raise UnrecognizedClientException()
            return claim, credentials
        if relayed:
            raise UnrecognizedClientException()
        if browser:
            raise AccessDeniedException(BROWSER_REFUSED)
        return claim, None

    def identify(
        self,
        claim: SignatureClaim,
        credentials: EnvironmentCredentials,
        request: SignedRequest,
        service: str,
    ) -> FunctionCaller:
        """After the body is read: verify an environment's signature; the caller it names."""
        verify(
            claim,
            request,
            secret=credentials.secret_access_key,
            session_token=credentials.session_token,
            # A function may call any region with its credentials, as on AWS.
            region=claim.region,
            service=service,
        )
        return FunctionCaller(
            credentials.function_name,
            credentials.role_arn,
            credentials.log_group,
            self.account_id,
            self.region,
        )

    def check_lambda(self, ctx: RequestContext, operation: str, params: dict[str, Any]) -> None:
        """A function's call of a Lambda operation, under the function access policy."""
        if ctx.caller is None:
            return
        try:
            self.policy.check_lambda(ctx.caller, operation, params)
        except AccessDenied as denied:
            raise AccessDeniedException(denied.message) from None

    def check_logs(self, ctx: RequestContext, operation: str, params: dict[str, Any]) -> None:
        """A function's call of a CloudWatch Logs operation, under the same policy."""
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
