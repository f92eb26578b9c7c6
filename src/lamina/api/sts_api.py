"""The edge's adapter of STS (query protocol, XML answers): GetCallerIdentity, AssumeRole
and GetSessionToken; a missing member is worded as STS's validator words it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from lamina.api.protocols import QueryCodec
from lamina.domain.context import RequestContext
from lamina.domain.errors import AwsError
from lamina.services.sts.errors import constraint
from lamina.services.sts.service import StsService

Handler = Callable[[RequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]

STS_XML_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"


def _missing(operation: str, parameter: str) -> AwsError:
    del operation
    member = parameter[:1].lower() + parameter[1:]
    return constraint("null", member, "Member must not be null").with_null()


class StsQueryCodec(QueryCodec):
    def __init__(self, model: dict[str, Any]) -> None:
        super().__init__(model, xml_namespace=STS_XML_NAMESPACE, missing_parameter=_missing)


def sts_handlers(service: StsService) -> dict[str, Handler]:
    async def get_caller_identity(ctx: RequestContext, params: Mapping[str, Any]) -> dict[str, Any]:
        del params
        return service.get_caller_identity(ctx)

    async def assume_role(ctx: RequestContext, params: Mapping[str, Any]) -> dict[str, Any]:
        return await service.assume_role(ctx, params)

    async def get_session_token(ctx: RequestContext, params: Mapping[str, Any]) -> dict[str, Any]:
        return await service.get_session_token(ctx, params)

    return {
        "GetCallerIdentity": get_caller_identity,
        "AssumeRole": assume_role,
        "GetSessionToken": get_session_token,
    }
