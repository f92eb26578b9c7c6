"""``aws-chunked`` bodies: the payload of a request signed with
``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` (each chunk signed, chained to the seed signature)
or sent with ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` (chunks unsigned, trailing headers).

A chunk is ``<hex size>[;chunk-signature=<64 hex>]\\r\\n<data>\\r\\n``; the last has size 0
and, with a trailer, is followed by ``name:value\\r\\n`` lines and an empty line. Every chunk
but the last two holds at least 8 KB (AWS's minimum), so decoding takes one step per 8 KB at
most, not one per byte. A signed chunk's string to sign is::

    AWS4-HMAC-SHA256-PAYLOAD\\n<amz date>\\n<scope>\\n<previous signature>\\n
    <sha256 of "">\\n<sha256 of the chunk's data>
"""

from __future__ import annotations

import hashlib
import hmac

from lamina.api.sigv4_canonical import EMPTY_SHA256, sign

CHUNK_ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD"
MIN_CHUNK_BYTES = 8192
_SIGNATURE_FIELD = "chunk-signature="


class ChunkError(Exception):
    """A chunked body that is malformed, or whose chunk signature does not match."""


def decode_chunks(
    body: bytes,
    *,
    signing_key: bytes | None = None,
    amz_date: str = "",
    scope: str = "",
    seed_signature: str = "",
) -> bytes:
    """The payload of an ``aws-chunked`` body; with ``signing_key``, each chunk's signature
    is verified in turn (raises ``ChunkError``)."""
    out: list[bytes] = []
    previous = seed_signature
    at = 0
    short = False  # the chunk before was under the minimum: it must have been the last
    while True:
        end = body.find(b"\r\n", at)
        if end < 0:
            raise ChunkError("a chunk header is not terminated")
        header = body[at:end].decode("latin-1")
        size_text, _, extension = header.partition(";")
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ChunkError(f"a chunk size is not hexadecimal: {size_text!r}") from None
        start = end + 2
        data = body[start : start + size]
        if len(data) != size:
            raise ChunkError("a chunk is shorter than its size")
        if signing_key is not None:
            if not extension.startswith(_SIGNATURE_FIELD):
                raise ChunkError("a chunk carries no signature")
            claimed = extension[len(_SIGNATURE_FIELD) :]
            text = "\n".join(
                (
                    CHUNK_ALGORITHM,
                    amz_date,
                    scope,
                    previous,
                    EMPTY_SHA256,
                    hashlib.sha256(data).hexdigest(),
                )
            )
            expected = sign(signing_key, text)
            if not hmac.compare_digest(expected, claimed):
                raise ChunkError("a chunk signature does not match")
            previous = claimed
        if size == 0:
            return b"".join(out)  # trailing headers (checksums), if any, are not payload
        if short:
            raise ChunkError(f"a chunk other than the last is under {MIN_CHUNK_BYTES} bytes")
        short = size < MIN_CHUNK_BYTES
        out.append(data)
        at = start + size
        if body[at : at + 2] != b"\r\n":
            raise ChunkError("a chunk is longer than its size")
        at += 2
