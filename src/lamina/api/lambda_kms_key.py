"""CreateFunction's and UpdateFunctionConfiguration's ``KMSKeyArn``, checked as Lambda checks
it: Lambda grants the function's role the use of the key (KMS CreateGrant), and a key it
cannot grant fails the request with ``InvalidParameterValueException``, whose message
carries KMS's own error. An empty ``KMSKeyArn`` restores Lambda's default key.

Lamina seals environment variables under its own master key whatever the function names
(docs/security.md): the key is checked and echoed, as AWS's configuration is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from lamina.api.endpoints import Handler
from lamina.domain import validation
from lamina.domain.context import RequestContext
from lamina.domain.errors import (
    AwsError,
    InvalidParameterValueException,
    KMSAccessDeniedException,
    KMSDisabledException,
    KMSInvalidStateException,
    KMSNotFoundException,
)
from lamina.services.kms.errors import KmsError
from lamina.services.kms.service import KmsService, Scope

Params = dict[str, Any]
Output = dict[str, Any]
_CHECKED: dict[str, Callable[[Mapping[str, Any]], None]] = {
    "CreateFunction": validation.validate_create_shapes,
    "UpdateFunctionConfiguration": validation.validate_update_configuration_shapes,
}
_GRANT_FAILED = (
    "Lambda was unable to configure access to your environment variables because the KMS key"
    " is invalid for CreateGrant. Please check your KMS key settings."
)


def grant_error(code: str, message: str) -> InvalidParameterValueException:
    return InvalidParameterValueException(
        f"{_GRANT_FAILED} KMS Exception: {code} KMS Message: {message}"
    )


def check_kms_key_arn(kms: KmsService, scope: Scope, arn: str) -> None:
    """InvalidParameterValueException unless KMS could grant the use of the key ``arn``."""
    if ":alias/" in arn:
        raise grant_error(
            "InvalidArnException", "Key Aliases are not supported for this operation."
        )
    try:
        kms.grantable_key(scope, arn)
    except KmsError as exc:
        raise grant_error(exc.code, exc.message) from None


_DECRYPT_FAILED = {
    "NotFoundException": (KMSNotFoundException, "the KMS key was not found"),
    "DisabledException": (KMSDisabledException, "the KMS key used is disabled"),
    "KMSInvalidStateException": (
        KMSInvalidStateException,
        "the KMS key used is in an invalid state for Decrypt",
    ),
}


def decrypt_error(code: str, message: str) -> AwsError:
    """Invoke's 502 when the function's key cannot decrypt its environment variables."""
    error, reason = _DECRYPT_FAILED.get(code, (KMSAccessDeniedException, "KMS access was denied"))
    return error(
        f"Lambda was unable to decrypt the environment variables because {reason}. Please"
        f" check the function's KMS key settings. KMS Exception: {code}KMS Message: {message}"
    )


def invoke_key_check(kms: KmsService, account: str) -> Callable[[str, str], Awaitable[None]]:
    """The check an invocation of a function with a ``KMSKeyArn`` makes before it runs:
    its key must be able to decrypt (enabled, not pending deletion)."""

    async def check(region: str, arn: str) -> None:
        try:
            await asyncio.to_thread(kms.decrypting_key, Scope(region, account), arn)
        except KmsError as exc:
            raise decrypt_error(exc.code, exc.message) from None

    return check


def with_kms_key_check(kms: KmsService, handlers: dict[str, Handler]) -> dict[str, Handler]:
    """``handlers`` with CreateFunction and UpdateFunctionConfiguration checking their
    ``KMSKeyArn`` after the request's shapes and before anything changes."""
    out = dict(handlers)
    for operation, validate in _CHECKED.items():
        out[operation] = _checked(kms, handlers[operation], validate)
    return out


def _checked(
    kms: KmsService, inner: Handler, validate: Callable[[Mapping[str, Any]], None]
) -> Handler:
    async def handler(ctx: RequestContext, params: Params) -> Output:
        arn = params.get("KMSKeyArn")
        if isinstance(arn, str) and arn:
            validate(params)  # a malformed request answers its ValidationException first
            scope = Scope(ctx.region, ctx.account_id)
            await asyncio.to_thread(check_kms_key_arn, kms, scope, arn)  # a SQLite read
        return await inner(ctx, params)

    return handler
