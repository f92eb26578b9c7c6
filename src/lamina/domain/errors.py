"""One error hierarchy for everything Lamina reports to a caller.

Each class carries what the wire needs: the AWS error code (the ``x-amzn-ErrorType``
header), the HTTP status, and the casing of the message member in the JSON body
(``message`` or ``Message``; see shared/docs/lambda-errors.md). The edge turns any
``LambdaError`` into the AWS envelope in one place (``lamina.api.wire``).

A function error (an exception raised by user code, a timeout, a crash) is *not* a
``LambdaError``: it is a value returned with HTTP 200 and ``X-Amz-Function-Error``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class Spliced:
    """A long text kept as its parts, joined only when read whole (``str``): a validation
    message echoing a request's long value (``names.LongValues``). Joining
    60 MB copies it with the GIL held, tens of milliseconds of a stalled event loop; the
    API edge renders the parts a piece at a time in a thread instead
    (``api.wire.error_response_off_loop``)."""

    parts: tuple[str, ...]

    def __len__(self) -> int:
        return sum(map(len, self.parts))

    def __str__(self) -> str:
        return "".join(self.parts)


class AwsError(Exception):
    """Base class of every service's errors: an error with an AWS wire representation.

    Each protocol's codec renders it (``lamina.api.protocols``): rest-json as Lambda does
    (``x-amzn-ErrorType`` + a body with ``Type`` and the message member), JSON 1.0/1.1 with
    ``__type`` (plus ``x-amzn-query-error`` when ``query_code`` is set), query as an XML
    ``ErrorResponse`` whose ``Code`` is ``query_code`` or ``code``.
    """

    code: ClassVar[str] = "ServiceException"
    status: ClassVar[int] = 500
    message_key: ClassVar[str] = "Message"
    # Whether the (rest-json) body carries ``"Type": "User"|"Service"``.
    typed: ClassVar[bool] = True
    # The legacy code of services that also speak the query protocol (SQS's
    # ``AWS.SimpleQueueService.NonExistentQueue``): clients read it as ``Error.Code``.
    query_code: ClassVar[str | None] = None

    @property
    def sender_fault(self) -> bool:
        """Whether the caller is at fault (query's ``Type``: ``Sender`` or ``Receiver``)."""
        return self.status < 500

    def __init__(self, message: str | Spliced, **extra: Any) -> None:
        super().__init__(message)
        self._text = message
        self.extra: dict[str, Any] = extra
        self.headers: dict[str, str] = {}

    @property
    def message(self) -> str:
        """The message, joined (once) if it was made of parts."""
        text = self._text
        if isinstance(text, Spliced):
            text = self._text = str(text)
        return text

    @message.setter
    def message(self, message: str) -> None:
        self._text = message

    @property
    def message_length(self) -> int:
        """The message's length, without joining its parts."""
        return len(self._text)

    def body(self, *, spliced: bool = False) -> dict[str, Any]:
        """The rest-json body; with ``spliced``, a message made of parts stays a ``Spliced``
        (for a renderer that writes the parts: ``rest_json.body_in_pieces``)."""
        out: dict[str, Any] = {}
        if self.typed:
            out["Type"] = "User" if self.status < 500 else "Service"
        out[self.message_key] = self._text if spliced else self.message
        out.update(self.extra)
        return out


# Lambda's errors are the hierarchy's first members; the name stays for them.
LambdaError = AwsError


# --- 400 -----------------------------------------------------------------------------


class ValidationException(LambdaError):
    """Request shape validation (the service's generic validator), e.g. bad name patterns."""

    code = "ValidationException"
    status = 400
    message_key = "message"
    typed = False


class InvalidParameterValueException(LambdaError):
    code = "InvalidParameterValueException"
    status = 400
    message_key = "message"


class UntypedInvalidParameterValueException(InvalidParameterValueException):
    """The few InvalidParameterValueExceptions whose body has no ``Type`` (recorded: CreateAlias
    of ``$LATEST`` with a routing configuration; the reserved/provisioned concurrency limit
    checks of PutFunctionConcurrency and PutProvisionedConcurrencyConfig)."""

    typed = False


class InvalidRequestContentException(LambdaError):
    code = "InvalidRequestContentException"
    status = 400
    message_key = "message"


class CodeStorageExceededException(LambdaError):
    code = "CodeStorageExceededException"
    status = 400
    message_key = "message"


class UnknownOperationException(LambdaError):
    code = "UnknownOperationException"
    status = 404
    message_key = "message"
    typed = False


# --- 403 -----------------------------------------------------------------------------------


class AccessDeniedException(LambdaError):
    """A function ARN naming another account (recorded for CreateFunction: HTTP 403, no
    ``Type``, and a message that botocore reports as ``None``: the body is ``{"Message": null}``).
    """

    code = "AccessDeniedException"
    status = 403
    message_key = "Message"
    typed = False

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or "")
        self.null_message = message is None

    def body(self, *, spliced: bool = False) -> dict[str, Any]:
        out = super().body(spliced=spliced)
        if self.null_message:
            out[self.message_key] = None
        return out


class AuthenticationError(LambdaError):
    """A request the authentication layer refuses before any operation runs (403,
    ``{"message": ...}``; shared/docs/events-http-iam.md §7.1)."""

    status = 403
    message_key = "message"
    typed = False


class MissingAuthenticationTokenException(AuthenticationError):
    code = "MissingAuthenticationTokenException"
    # Query services (SNS, IAM, STS, SQS's legacy protocol) word each of these errors
    # without the ``Exception`` suffix, or by another name (shared/docs/events-http-iam.md).
    query_code = "MissingAuthenticationToken"

    def __init__(self, message: str = "Missing Authentication Token") -> None:
        super().__init__(message)


class IncompleteSignatureException(AuthenticationError):
    code = "IncompleteSignatureException"
    query_code = "IncompleteSignature"


class InvalidSignatureException(AuthenticationError):
    code = "InvalidSignatureException"
    query_code = "SignatureDoesNotMatch"


class UnrecognizedClientException(AuthenticationError):
    code = "UnrecognizedClientException"
    query_code = "InvalidClientTokenId"

    def __init__(
        self, message: str = "The security token included in the request is invalid."
    ) -> None:
        super().__init__(message)


class ExpiredTokenException(AuthenticationError):
    """Temporary credentials (an STS session's) used after their expiration."""

    code = "ExpiredTokenException"
    query_code = "ExpiredToken"

    def __init__(
        self, message: str = "The security token included in the request is expired"
    ) -> None:
        super().__init__(message)


# --- 404 / 409 / 412 / 413 / 415 / 429 --------------------------------------------------


class ResourceNotFoundException(LambdaError):
    code = "ResourceNotFoundException"
    status = 404
    message_key = "Message"


class ProvisionedConcurrencyConfigNotFoundException(LambdaError):
    """GetProvisionedConcurrencyConfig of a version or alias without one (recorded)."""

    code = "ProvisionedConcurrencyConfigNotFoundException"
    status = 404
    message_key = "message"


class ResourceConflictException(LambdaError):
    code = "ResourceConflictException"
    status = 409
    message_key = "message"


class PreconditionFailedException(LambdaError):
    code = "PreconditionFailedException"
    status = 412
    message_key = "message"


class RequestTooLargeException(LambdaError):
    code = "RequestTooLargeException"
    status = 413
    message_key = "message"


class RequestEntityTooLargeException(LambdaError):
    """Raised by the front door for whole request bodies over the API limit."""

    code = "RequestEntityTooLargeException"
    status = 413
    message_key = "message"


class UnsupportedMediaTypeException(LambdaError):
    code = "UnsupportedMediaTypeException"
    status = 415
    message_key = "message"


class TooManyRequestsException(LambdaError):
    code = "TooManyRequestsException"
    status = 429
    message_key = "message"

    def __init__(
        self,
        message: str,
        reason: str,
        retry_after_seconds: int = 1,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, Reason=reason)
        self.reason = reason
        # When capacity is expected back: Lamina's own retries (asynchronous invocations,
        # event source mappings) wait this long. It is not sent: AWS's throttles carry no
        # ``Retry-After`` header (botocore's ``retryAfterSeconds`` is absent in every
        # recorded throttle), so neither do Lamina's.
        self.retry_after = float(retry_after_seconds) if retry_after is None else retry_after


# --- 5xx ---------------------------------------------------------------------------------


class ServiceException(LambdaError):
    code = "ServiceException"
    status = 500
    message_key = "Message"


class InvalidRuntimeException(LambdaError):
    code = "InvalidRuntimeException"
    status = 502
    message_key = "Message"


class InvalidZipFileException(LambdaError):
    code = "InvalidZipFileException"
    status = 502
    message_key = "Message"


class ResourceNotReadyException(LambdaError):
    code = "ResourceNotReadyException"
    status = 502
    message_key = "message"


# The function's environment variables cannot be opened with its KMSKeyArn's key.
class KMSAccessDeniedException(LambdaError):
    code = "KMSAccessDeniedException"
    status = 502


class KMSDisabledException(LambdaError):
    code = "KMSDisabledException"
    status = 502


class KMSInvalidStateException(LambdaError):
    code = "KMSInvalidStateException"
    status = 502


class KMSNotFoundException(LambdaError):
    code = "KMSNotFoundException"
    status = 502


# --- errors common to every AWS service (other than Lambda's own) ---------------------


class InternalFailure(AwsError):
    """A bug in Lamina, as JSON and query services word it (the details stay in the log)."""

    code = "InternalFailure"
    status = 500
    message_key = "message"
    typed = False


class ServiceUnavailable(AwsError):
    """Retry later (Lamina: its data directory is out of disk space)."""

    code = "ServiceUnavailable"
    status = 503
    message_key = "message"
    typed = False


class UnknownOperation(AwsError):
    """An ``X-Amz-Target`` or ``Action`` the service does not have (an error of AWS's
    request framework: its namespace, and no legacy query code)."""

    code = "UnknownOperationException"
    status = 400
    message_key = "message"
    typed = False
    json_namespace: ClassVar[str | None] = "com.amazon.coral.service"


class RequestEntityTooLarge(AwsError):
    """A body larger than a JSON or query service takes (AWS's request framework answers
    before the service sees it)."""

    code = "RequestEntityTooLarge"
    status = 413
    message_key = "message"
    typed = False
    json_namespace: ClassVar[str | None] = "com.amazon.coral.service"
