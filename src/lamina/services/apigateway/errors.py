"""API Gateway's errors: rest-json with ``x-amzn-ErrorType`` and a body ``{"message": ...}``
(both the v1 and the v2 API answer this way)."""

from __future__ import annotations

from lamina.domain.errors import AwsError


class ApiGatewayError(AwsError):
    message_key = "message"
    typed = False


class BadRequestException(ApiGatewayError):
    code = "BadRequestException"
    status = 400


class NotFoundException(ApiGatewayError):
    code = "NotFoundException"
    status = 404


class ConflictException(ApiGatewayError):
    code = "ConflictException"
    status = 409


class LimitExceededException(ApiGatewayError):
    code = "LimitExceededException"
    status = 429
