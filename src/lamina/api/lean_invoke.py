"""Invoke's wire form on the lean path (``api.http_protocol``): the parameters
``ServiceModel.parse_input`` makes of an Invoke request and the answer ``render_output``
makes of its output, with the operation's bindings looked up once instead of walked per
request (the generic model path costs ~9 µs of a warm invoke's ~100 µs of server CPU).

The bindings come from the model itself, so the two paths cannot drift: a test asserts
they agree on every input and output shape Invoke has. An answer this form does not make
(a payload that is not bytes) is rendered by the model.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from lamina.api.model import Operation, ServiceModel

WireResponse = tuple[int, list[tuple[bytes, bytes]], bytes]

INVOKE = "Invoke"


class InvokeWire:
    """Invoke's request parameters and answer, from the model's bindings."""

    def __init__(self, model: ServiceModel) -> None:
        operation = next(op for op in model.operations if op.name == INVOKE)
        bindings = (*operation.uri, *operation.query, *operation.headers)
        if any(b.type != "string" for b in bindings) or not operation.payload_is_blob:
            raise ValueError("Invoke's model has members this wire form does not parse")
        self.operation: Operation = operation
        self._model = model
        self._path = operation.path_regex
        self._labels = [(b.member, b.wire_name) for b in operation.uri]
        self._query = [(b.member, b.wire_name) for b in operation.query]
        self._headers = [(b.member, b.wire_name.lower()) for b in operation.headers]
        self._payload = operation.payload_member or ""
        self._out_headers = [(b.member, b.wire_name.encode()) for b in operation.out_headers]
        self._status = operation.out_status_member

    def params(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> dict[str, Any] | None:
        """``parse_input``'s parameters of an Invoke request; None if ``path`` is not
        Invoke's (the lean path's own pattern makes sure it is)."""
        found = self._path.match(path)
        if found is None:
            return None
        params: dict[str, Any] = {}
        for member, label in self._labels:
            params[member] = unquote(found[label])
        for member, name in self._query:
            values = query.get(name)
            if values is not None:
                params[member] = values[0]
        for member, name in self._headers:
            value = headers.get(name)
            if value is not None:
                params[member] = value
        params[self._payload] = body
        return params

    def answer(self, output: dict[str, Any]) -> WireResponse:
        """``render_output``'s answer to Invoke's output."""
        payload = output.get(self._payload)
        if payload is not None and not isinstance(payload, bytes):
            return self._model.render_output(self.operation, output)
        status = self.operation.response_code
        if self._status is not None and self._status in output:
            status = int(output[self._status])
        headers = [
            (name, str(output[member]).encode())
            for member, name in self._out_headers
            if output.get(member) is not None
        ]
        return status, headers, payload or b""
