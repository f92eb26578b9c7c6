"""``AsyncFunctionSink`` over the regions' Lambda: the function's region is the one its ARN
names (built on first use, like a request signed for it), the event goes to that region's
durable asynchronous queue exactly as ``Invoke`` with ``InvocationType=Event`` would put it."""

from __future__ import annotations

from lamina.domain.errors import LambdaError
from lamina.domain.ids import new_uuid
from lamina.domain.models import LATEST
from lamina.domain.tracing import new_trace_id
from lamina.runtime.invocation import Invocation
from lamina.services.function_ports import FunctionNotFound, FunctionRejected
from lamina.services.invoke import ASYNC_PAYLOAD_LIMIT
from lamina.wiring.host import served_regions
from lamina.wiring.regions import Regions


def split_function_arn(arn: str) -> tuple[str, str, str, str | None]:
    """(region, account, name, qualifier) of ``arn:aws:lambda:<region>:<account>:function:
    <name>[:<qualifier>]``; ValueError when it is no function ARN."""
    parts = arn.split(":")
    if len(parts) not in (7, 8) or parts[:3] != ["arn", "aws", "lambda"] or parts[5] != "function":
        raise ValueError(f"not a Lambda function ARN: {arn!r}")
    qualifier = parts[7] if len(parts) == 8 else None
    if not parts[6] or qualifier == "":
        raise ValueError(f"not a Lambda function ARN: {arn!r}")
    return parts[3], parts[4], parts[6], qualifier


class RegionsFunctionSink:
    def __init__(self, regions: Regions, account_id: str) -> None:
        self._regions = regions
        self._account = account_id
        self._served = served_regions() | {regions.default.region}

    async def invoke_async(
        self, function_arn: str, payload: bytes, *, trace_header: str | None = None
    ) -> str:
        try:
            region, account, name, qualifier = split_function_arn(function_arn)
        except ValueError as exc:
            raise FunctionNotFound(str(exc)) from None
        if account != self._account or region not in self._served:
            raise FunctionNotFound(f"Function not found: {function_arn}")
        regional = await self._regions.get(region)
        try:
            config = regional.catalog.require(name, qualifier or LATEST, route=True)
        except LambdaError as exc:
            raise FunctionNotFound(exc.message) from None
        if len(payload) > ASYNC_PAYLOAD_LIMIT:
            raise FunctionRejected(
                f"Request must be smaller than {ASYNC_PAYLOAD_LIMIT} bytes for the "
                "InvokeFunction operation"
            )
        request_id = new_uuid()
        invoked_arn = config.arn if qualifier is None else f"{config.arn}:{qualifier}"
        invocation = Invocation(
            request_id=request_id,
            payload=payload,
            invoked_arn=invoked_arn,
            client_context=None,
            trace_id=trace_header or new_trace_id(),
        )
        await regional.async_invoke.enqueue(config, qualifier, invocation)
        return request_id
