"""The AWS query protocol (SQS's legacy clients; later SNS, IAM, STS).

A request is a form, ``Action=<Operation>&Version=<api version>&...``, in a POST body
(``application/x-www-form-urlencoded``) or a GET query string; the answer is XML:

    <OpResponse xmlns="..."><OpResult>...</OpResult>
    <ResponseMetadata><RequestId>..</RequestId></ResponseMetadata></OpResponse>

and an error is ``<ErrorResponse><Error><Type>Sender|Receiver</Type><Code>..</Code>
<Message>..</Message><Detail/></Error><RequestId>..</RequestId></ErrorResponse>`` whose
``Code`` is the error's ``query_code`` (else ``code``) and whose ``Message`` is its
``query_message`` when it has one (SQS words some errors differently per protocol), else
its ``message``. Member names come from the model, with ``QueryNames`` laid over it for
services whose model lost them (SQS).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from lamina.api.protocols.errors import (
    InvalidAction,
    InvalidQueryParameter,
    MissingAction,
    missing_parameter,
)
from lamina.api.protocols.query_form import (
    BadQueryValue,
    FormIndex,
    MissingQueryParameter,
    read_structure,
)
from lamina.api.protocols.query_names import QueryNames
from lamina.api.protocols.query_xml import escape, write_members
from lamina.api.protocols.shapes import ShapeGraph
from lamina.domain.errors import AwsError

WireResponse = tuple[int, list[tuple[bytes, bytes]], bytes]
MissingParameterFactory = Callable[[str, str], AwsError]
InvalidValueFactory = Callable[[str], AwsError]

CONTENT_TYPE = (b"content-type", b"text/xml")
_XML_DECLARATION = '<?xml version="1.0"?>'


def parse_form(body: bytes, query_string: bytes = b"") -> dict[str, list[str]]:
    """A request's form: the query string's parameters, then the body's (both kept when a
    name is in both, the query string's first). Blank values are kept (``Name=`` is an
    empty list); malformed escapes stay as they are, as ``parse_qs`` leaves them."""
    form: dict[str, list[str]] = {}
    for raw in (query_string, body):
        if raw:
            text = raw.decode("utf-8", errors="replace")
            for name, values in parse_qs(text, keep_blank_values=True).items():
                form.setdefault(name, []).extend(values)
    return form


class QueryCodec:
    """Parses forms and renders XML answers and errors of one query-protocol service."""

    def __init__(
        self,
        model: dict[str, Any],
        *,
        xml_namespace: str,
        names: QueryNames | None = None,
        missing_parameter: MissingParameterFactory = missing_parameter,
        invalid_value: InvalidValueFactory = InvalidQueryParameter,
    ) -> None:
        self._graph = ShapeGraph(names.apply(model) if names is not None else model)
        self.version: str = str(self._graph.metadata.get("apiVersion", ""))
        self._namespace = escape(xml_namespace)
        self._missing_parameter = missing_parameter
        self._invalid_value = invalid_value
        self._operations = frozenset(self._graph.operations)

    @property
    def operations(self) -> frozenset[str]:
        return self._operations

    def operation(self, form: Mapping[str, list[str]]) -> str:
        """The form's ``Action``; raises ``MissingAction`` or ``InvalidAction``."""
        actions = form.get("Action")
        if not actions or not actions[0]:
            raise MissingAction()
        if actions[0] not in self._operations:
            raise InvalidAction(actions[0])
        return actions[0]

    def parse(self, operation: str, form: Mapping[str, list[str]]) -> dict[str, Any]:
        """The form as the operation's input shape (``Action``/``Version`` and unknown
        parameters ignored)."""
        shape = self._graph.input_shape(operation)
        if shape is None:
            return {}
        try:
            return read_structure(shape, FormIndex(form), "")
        except BadQueryValue as exc:
            raise self._invalid_value(exc.message) from None
        except MissingQueryParameter as exc:
            raise self._missing_parameter(operation, exc.parameter) from None

    def render(self, operation: str, output: dict[str, Any], request_id: str) -> WireResponse:
        parts = [_XML_DECLARATION, f'<{operation}Response xmlns="{self._namespace}">']
        shape = self._graph.output_shape(operation)
        if shape is not None:
            wrapper = self._graph.result_wrapper(operation)
            if wrapper:
                parts.append(f"<{wrapper}>")
            write_members(parts, shape, output)
            if wrapper:
                parts.append(f"</{wrapper}>")
        parts.append(
            f"<ResponseMetadata><RequestId>{escape(request_id)}</RequestId>"
            f"</ResponseMetadata></{operation}Response>"
        )
        return 200, [CONTENT_TYPE], "".join(parts).encode("utf-8")

    def render_error(self, error: AwsError, request_id: str) -> WireResponse:
        message = getattr(error, "query_message", None) or error.message
        body = (
            f'{_XML_DECLARATION}<ErrorResponse xmlns="{self._namespace}"><Error>'
            f"<Type>{'Sender' if error.sender_fault else 'Receiver'}</Type>"
            f"<Code>{escape(error.query_code or error.code)}</Code>"
            f"<Message>{escape(message)}</Message><Detail/></Error>"
            f"<RequestId>{escape(request_id)}</RequestId></ErrorResponse>"
        )
        headers = [CONTENT_TYPE]
        headers.extend((k.encode(), v.encode()) for k, v in error.headers.items())
        return error.status, headers, body.encode("utf-8")
