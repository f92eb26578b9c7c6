"""The handler's ``context`` object in Lamina's built-in Python runtime (see ``bootstrap.py``).

``LambdaContext`` and its parts, as the AWS Python runtime interface client builds them from the
``Lambda-Runtime-*`` headers of an invocation.

Standard library only, CPython 3.8 to 3.13 (see ``bootstrap.py``).
"""

# ruff: noqa: UP006, UP007, UP035

from __future__ import annotations

import json
import logging
import sys
import time

from lamina_runtime_errors import FaultException

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time (it costs milliseconds at start)
    from typing import Any, Dict, Optional, Tuple


class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, identity_id: Any = None, pool_id: Any = None) -> None:
        self.cognito_identity_id = identity_id
        self.cognito_identity_pool_id = pool_id

    def __repr__(self) -> str:
        return "%s([cognito_identity_id=%s,cognito_identity_pool_id=%s])" % (
            self.__class__.__name__,
            self.cognito_identity_id,
            self.cognito_identity_pool_id,
        )


class Client:
    __slots__ = (
        "installation_id",
        "app_title",
        "app_version_name",
        "app_version_code",
        "app_package_name",
    )

    def __init__(self, data: Dict[str, Any]) -> None:
        for field in self.__slots__:
            setattr(self, field, data.get(field))

    def __repr__(self) -> str:
        return "%s([%s])" % (
            self.__class__.__name__,
            ",".join("%s=%s" % (field, getattr(self, field)) for field in self.__slots__),
        )


class ClientContext:
    __slots__ = ("custom", "env", "client")

    def __init__(self, data: Dict[str, Any]) -> None:
        self.custom = data.get("custom")
        self.env = data.get("env")
        client = data.get("client")
        self.client = Client(client) if client is not None else None

    def __repr__(self) -> str:
        return "%s([custom=%s,env=%s,client=%s])" % (
            self.__class__.__name__,
            self.custom,
            self.env,
            self.client,
        )


_W3C_FIELDS = ("traceparent", "tracestate", "baggage")
_NO_W3C_FIELDS: Dict[str, str] = {}  # never changed: ``w3c()`` returns a copy


class LambdaContext:
    """The ``context`` argument of the handler."""

    def __init__(
        self,
        invoke_id: str,
        client_context: Any,
        cognito_identity: Any,
        epoch_deadline_time_in_ms: int,
        invoked_function_arn: Optional[str],
        tenant_id: Optional[str],
        function_env: Tuple[Optional[str], ...],
    ) -> None:
        self.aws_request_id = invoke_id
        (
            self.log_group_name,
            self.log_stream_name,
            self.function_name,
            self.memory_limit_in_mb,  # a string, as on AWS (it comes from the environment)
            self.function_version,
        ) = function_env
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        if client_context is None:
            self._w3c_fields = _NO_W3C_FIELDS
            self.client_context = None
        else:
            self._w3c_fields = _pop_w3c(client_context)
            self.client_context = ClientContext(client_context)
        if cognito_identity is None:
            self.identity = CognitoIdentity()
        else:
            self.identity = CognitoIdentity(
                cognito_identity.get("cognitoIdentityId"),
                cognito_identity.get("cognitoIdentityPoolId"),
            )
        self._epoch_deadline_time_in_ms = epoch_deadline_time_in_ms

    def get_remaining_time_in_millis(self) -> int:
        remaining = self._epoch_deadline_time_in_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def w3c(self) -> Dict[str, str]:
        """The W3C trace context (traceparent, tracestate, baggage) sent in the client context."""
        return dict(self._w3c_fields)

    def log(self, msg: Any) -> None:
        for handler in logging.getLogger().handlers:
            sink = getattr(handler, "log_sink", None)
            if sink is not None:
                sink.log(str(msg))
                return
        sys.stdout.write(str(msg))

    def __repr__(self) -> str:
        return (
            "%s([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,function_name=%s,"
            "memory_limit_in_mb=%s,function_version=%s,invoked_function_arn=%s,"
            "client_context=%s,identity=%s,tenant_id=%s])"
            % (
                self.__class__.__name__,
                self.aws_request_id,
                self.log_group_name,
                self.log_stream_name,
                self.function_name,
                self.memory_limit_in_mb,
                self.function_version,
                self.invoked_function_arn,
                self.client_context,
                self.identity,
                self.tenant_id,
            )
        )


def _pop_w3c(client_context: Any) -> Dict[str, str]:
    """Remove ``w3c`` from the client context; keep its allowed string fields."""
    if not isinstance(client_context, dict) or "w3c" not in client_context:
        return {}
    raw = client_context.pop("w3c")
    if not isinstance(raw, dict):
        return {}
    return {key: raw[key] for key in _W3C_FIELDS if isinstance(raw.get(key), str)}


def parse_json_header(value: str, name: str) -> Any:
    """The JSON value of a ``Lambda-Runtime-Client-Context``/``-Cognito-Identity`` header."""
    try:
        return json.loads(value)
    except Exception as e:
        raise FaultException(
            FaultException.LAMBDA_CONTEXT_UNMARSHAL_ERROR,
            "Unable to parse %s JSON: %s" % (name, e),
        ) from None
