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

try:
    from _json import make_encoder as _c_make_encoder
except ImportError:  # an interpreter without the C accelerator
    _c_make_encoder = None

from lamina_runtime_errors import FaultException

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time (it costs milliseconds at start)
    from typing import Any, Dict, List, Optional, Tuple

# A JSON text starting with one of these is decoded by the scanner directly (see
# ``unmarshal_request``); its UTF-8 bytes cannot be taken for UTF-16/32 by json.loads.
_FAST_JSON_STARTS = (b"{", b"[")
_scan_json = json.JSONDecoder().scan_once

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
        encoder = json.JSONEncoder(ensure_ascii=ensure_ascii, allow_nan=True, default=self._default)
        self._encode = encoder.encode
        # ``encoder.encode`` builds a C encoder on every call; this one is built once, with
        # the same arguments (``JSONEncoder.iterencode``), and its circular-reference markers
        # are cleared before each use.
        self._markers: Dict[int, Any] = {}
        self._c_encode = (
            _c_make_encoder(
                self._markers,
                encoder.default,
                json.encoder.encode_basestring_ascii
                if ensure_ascii
                else json.encoder.encode_basestring,
                None,
                encoder.key_separator,
                encoder.item_separator,
                False,
                False,
                True,
            )
            if _c_make_encoder is not None
            else None
        )

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
            c_encode = self._c_encode
            if c_encode is not None:
                self._markers.clear()
                text = "".join(c_encode(obj, 0))
            else:
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
        """The event: ``json.loads(body)`` (bytes for a content type other than JSON)."""
        # AWS's runtime hands non-JSON payloads over as bytes; RAPID always sends a content
        # type (application/json by default), so a missing one is treated as JSON.
        if content_type is not None and content_type != "application/json":
            return body
        if body[:1] in _FAST_JSON_STARTS:
            # What json.loads does for an object or array in UTF-8 with nothing around it,
            # minus its Python-level steps; anything else is left to json.loads.
            try:
                text = body.decode("utf-8", "surrogatepass")
                value, end = _scan_json(text, 0)
                if end == len(text):
                    return value
            except Exception:  # json.loads below gives the error (or the value)
                pass
        try:
            return json.loads(body)
        except Exception as e:
            raise FaultException(
                FaultException.UNMARSHAL_ERROR, "Unable to unmarshal input: %s" % e
            ) from None


def non_ascii_json(environ: Any) -> bool:
    """Whether the emulated runtime (``AWS_EXECUTION_ENV``) writes JSON with ensure_ascii off."""
    return _NON_ASCII_JSON_RUNTIME.match(environ.get("AWS_EXECUTION_ENV", "")) is not None
