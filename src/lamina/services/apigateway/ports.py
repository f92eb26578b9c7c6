"""What the API Gateway services need from outside: a store for their APIs, a way to
invoke a function synchronously, and the functions' resource policies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from lamina.services.apigateway.records import HttpApi, RestApi


@dataclass(frozen=True, slots=True)
class StoredApis:
    http: list[HttpApi]
    rest: list[RestApi]


class ApiStore(Protocol):
    """Each API is one record; a write returns once it is durable (committed)."""

    def load(self) -> StoredApis:
        """Every stored API (at start, before any write; blocks)."""
        ...

    async def put_http(self, api: HttpApi) -> None: ...

    async def put_rest(self, api: RestApi) -> None: ...

    async def delete(self, api_id: str) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class FunctionAnswer:
    """A synchronous invocation's outcome: the function's response (or error document
    when ``function_error`` is set)."""

    payload: bytes
    function_error: str | None = None


class FunctionInvokeFailed(Exception):
    """The invocation did not run: no such function, throttled, payload too large...
    (API Gateway answers its internal error)."""


class FunctionInvoker(Protocol):
    async def invoke(self, function_arn: str, payload: bytes, request_id: str) -> FunctionAnswer:
        """Invoke ``function_arn`` (qualified or not) synchronously in its region, as Invoke
        does (concurrency, throttles, logs, metrics); ``FunctionInvokeFailed`` when Lambda
        refuses the invocation."""
        ...


class InvokeGrants(Protocol):
    async def allows(self, function_arn: str, principal: str, source_arn: str) -> bool:
        """Whether the function's resource policy lets ``principal`` (a service principal
        such as ``apigateway.amazonaws.com``) invoke it (``lambda:InvokeFunction``) on
        behalf of ``source_arn``. False for a function that does not exist."""
        ...
