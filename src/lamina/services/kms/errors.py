"""KMS's errors (JSON 1.1: ``{"__type": <code>, "message": ...}``), with AWS's wording where it
is known (each message's source is the recorded or documented answer of KMS)."""

from __future__ import annotations

from lamina.domain.errors import AwsError


class KmsError(AwsError):
    """A KMS error: HTTP 400, the message in ``message``."""

    status = 400
    message_key = "message"
    typed = False


class NotFoundException(KmsError):
    code = "NotFoundException"


class DisabledException(KmsError):
    code = "DisabledException"


class KMSInvalidStateException(KmsError):
    code = "KMSInvalidStateException"


class InvalidCiphertextException(KmsError):
    """AWS answers it without a message (the ciphertext, its key or its encryption context
    do not match: it does not say which)."""

    code = "InvalidCiphertextException"

    def __init__(self) -> None:
        super().__init__("")


class IncorrectKeyException(KmsError):
    code = "IncorrectKeyException"

    def __init__(self) -> None:
        super().__init__(
            "The key ID in the request does not identify a CMK that can perform this operation."
        )


class InvalidKeyUsageException(KmsError):
    code = "InvalidKeyUsageException"


class AlreadyExistsException(KmsError):
    code = "AlreadyExistsException"


class KmsValidationException(KmsError):
    code = "ValidationException"


class UnsupportedOperationException(KmsError):
    """An operation or a kind of key Lamina's KMS does not have: HTTP 501, which botocore
    does not retry, so a client sees it at once."""

    code = "UnsupportedOperationException"
    status = 501


def key_not_found(arn: str) -> NotFoundException:
    return NotFoundException(f"Key '{arn}' does not exist")


def invalid_key_id(key_id: str) -> NotFoundException:
    return NotFoundException(f"Invalid keyId '{key_id}'")


def alias_not_found(alias_arn: str) -> NotFoundException:
    return NotFoundException(f"Alias {alias_arn} is not found.")


def disabled(arn: str) -> DisabledException:
    return DisabledException(f"{arn} is disabled.")


def pending_deletion(arn: str) -> KMSInvalidStateException:
    return KMSInvalidStateException(f"{arn} is pending deletion.")
