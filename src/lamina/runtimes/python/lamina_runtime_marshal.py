"""Event and result (de)serialisation of Lamina's built-in Python runtime (see ``bootstrap.py``).

JSON as the AWS Python runtime interface client marshals it; failures are reported as
``Runtime.MarshalError`` / ``Runtime.UnmarshalError``.

Standard library only, CPython 3.8 to 3.13 (see ``bootstrap.py``).
"""

# ruff: noqa: UP006, UP007, UP035

from __future__ import annotations

import json
import os
import re
import sys

from lamina_runtime_errors import FaultException

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time (it costs milliseconds at start)
    from typing import Any, List, Optional, Tuple

# Python runtimes whose AWS runtime marshals JSON with ensure_ascii=False.
_NON_ASCII_JSON_RUNTIME = re.compile(r"AWS_Lambda_python3\.(1[2-9]|[2-9]\d)$")


class Marshaller:
    """JSON encoding as AWS's runtime does it (simplejson there; stdlib here).

    Beyond ``json.dumps``: ``Decimal`` is written as its exact text (NaN as ``NaN``) and
    ``bytes`` inside a structure are decoded as UTF-8. ``ensure_ascii`` is off for python3.12+.
    """

    def __init__(self, ensure_ascii: bool) -> None:
        self._raw: List[str] = []
        self._marker = "@@lamina-raw-json-%s-" % os.urandom(8).hex()
        self._marker_re = re.compile('"' + re.escape(self._marker) + r'(\d+)@@"')
        self._encode = json.JSONEncoder(
            ensure_ascii=ensure_ascii, allow_nan=True, default=self._default
        ).encode

    def _default(self, obj: Any) -> Any:
        if isinstance(obj, (bytes, bytearray)):
            return bytes(obj).decode("utf-8")
        decimal = sys.modules.get("decimal")  # a Decimal can only exist if decimal is imported
        if decimal is not None and isinstance(obj, decimal.Decimal):
            if obj.is_nan():
                return float("nan")
            self._raw.append(str(obj))
            return "%s%d@@" % (self._marker, len(self._raw) - 1)
        raise TypeError("Object of type %s is not JSON serializable" % obj.__class__.__name__)

    def to_json(self, obj: Any) -> str:
        raw = self._raw
        del raw[:]
        try:
            text = self._encode(obj)
            if raw:
                text = self._marker_re.sub(lambda m: raw[int(m.group(1))], text)
            return text
        finally:
            del raw[:]

    def marshal_response(self, response: Any) -> Tuple[bytes, bytes]:
        """The response body and its content type."""
        if isinstance(response, bytes):
            return response, b"application/unknown"
        try:
            return self.to_json(response).encode("utf-8"), b"application/json"
        except Exception as e:
            raise FaultException(
                FaultException.MARSHAL_ERROR, "Unable to marshal response: %s" % e
            ) from None

    @staticmethod
    def unmarshal_request(body: bytes, content_type: Optional[str]) -> Any:
        # AWS's runtime hands non-JSON payloads over as bytes; RAPID always sends a content
        # type (application/json by default), so a missing one is treated as JSON.
        if content_type is not None and content_type != "application/json":
            return body
        try:
            return json.loads(body)
        except Exception as e:
            raise FaultException(
                FaultException.UNMARSHAL_ERROR, "Unable to unmarshal input: %s" % e
            ) from None


def non_ascii_json(environ: Any) -> bool:
    """Whether the emulated runtime (``AWS_EXECUTION_ENV``) writes JSON with ensure_ascii off."""
    return _NON_ASCII_JSON_RUNTIME.match(environ.get("AWS_EXECUTION_ENV", "")) is not None
