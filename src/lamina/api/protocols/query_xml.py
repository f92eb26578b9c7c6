"""Writing an output shape as query-protocol XML, as botocore's ``QueryParser`` reads it.

A member is an element named by its ``locationName`` (else its member name; a flattened list
whose elements have a name uses that name); a list is ``<Name><member>..</member></Name>``
(the element name, else ``member``) or, flattened, repeated ``<Name>`` elements; a map is
``<Name><entry><key>..</key><value>..</value></entry></Name>`` or, flattened, repeated
``<Name><Key>..</Key><Value>..</Value></Name>`` with the model's entry names. Booleans are
``true``/``false``, blobs base64, timestamps ISO 8601 (UTC). ``None`` members are left out.

Text is XML-escaped. ``\\r`` is written ``&#xD;`` (SQS does so: a parser would otherwise turn
it into ``\\n``); characters XML 1.0 cannot carry at all (most C0 controls, lone surrogates,
U+FFFE/U+FFFF: SQS refuses them in messages) become U+FFFD so the document stays readable.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime, timezone
from typing import Any

from lamina.api.protocols.shapes import Ref, Shape

_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape(text: str) -> str:
    """``text`` as XML character data."""
    if _SPECIAL.search(text) is None:
        return text
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("\r", "&#xD;")
    return _NOT_XML.sub("\ufffd", text)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")[:-6] + "Z"
    return escape(str(value))


def _element_name(member: str, ref: Ref) -> str:
    element = ref.shape.member
    if ref.shape.type == "list" and ref.flattened and element and element.location_name:
        return element.location_name
    return ref.serialized_name(member)


def write_members(parts: list[str], shape: Shape, value: dict[str, Any]) -> None:
    """Append the members of structure ``value`` (no enclosing element)."""
    for member, ref in shape.members.items():
        item = value.get(member)
        if item is not None:
            _write(parts, ref, _element_name(member, ref), item)


def _write(parts: list[str], ref: Ref, tag: str, value: Any) -> None:
    shape = ref.shape
    kind = shape.type
    if kind == "structure" and not shape.document:
        parts.append(f"<{tag}>")
        write_members(parts, shape, value)
        parts.append(f"</{tag}>")
    elif kind == "list":
        element = shape.member
        assert element is not None
        if ref.flattened:
            for item in value:
                _write(parts, element, tag, item)
        else:
            parts.append(f"<{tag}>")
            name = element.location_name or "member"
            for item in value:
                _write(parts, element, name, item)
            parts.append(f"</{tag}>")
    elif kind == "map":
        _write_map(parts, ref, tag, value)
    else:
        parts.append(f"<{tag}>{_text(value)}</{tag}>")


def _write_map(parts: list[str], ref: Ref, tag: str, value: dict[Any, Any]) -> None:
    key_ref, value_ref = ref.shape.key, ref.shape.value
    assert key_ref is not None and value_ref is not None
    key_name = key_ref.location_name or "key"
    value_name = value_ref.location_name or "value"
    if not ref.flattened:
        parts.append(f"<{tag}>")
    for key, item in value.items():
        parts.append(f"<{tag}>" if ref.flattened else "<entry>")
        parts.append(f"<{key_name}>{_text(key)}</{key_name}>")
        _write(parts, value_ref, value_name, item)
        parts.append(f"</{tag}>" if ref.flattened else "</entry>")
    if not ref.flattened:
        parts.append(f"</{tag}>")
