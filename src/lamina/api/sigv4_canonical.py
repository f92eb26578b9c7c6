"""SigV4's arithmetic over a request as received: the canonical request, the string to sign,
derived signing keys, and the signature, computed as botocore's ``SigV4Auth`` computes them
for every service but S3 (shared/docs/events-http-iam.md §7.1).

- The canonical URI is the path as sent (still percent-encoded), dot segments and empty
  segments removed, then URI-encoded again (``%`` becomes ``%25``), ``/`` and ``~`` kept.
- The canonical query is the query string as sent, split on ``&`` and ``=``, sorted by
  name then value (botocore does not re-encode a URL's query); a presigned request's
  ``X-Amz-Signature`` is left out.
- The canonical headers are the signed ones only, lower-case, values trimmed with inner
  runs of white space squeezed.
- The payload hash is ``x-amz-content-sha256`` when it names a special payload
  (``UNSIGNED-PAYLOAD``, ``STREAMING-…``), else the SHA-256 of the body as received.

Derived signing keys are cached per secret, date, region and service: deriving one costs
four HMACs, the rest of a verification two hashes and one HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
# Payload hashes that are names, not digests of the body.
LITERAL_PAYLOADS = frozenset(
    {
        UNSIGNED_PAYLOAD,
        STREAMING_SIGNED,
        STREAMING_UNSIGNED_TRAILER,
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    }
)
PRESIGNED_SIGNATURE = "X-Amz-Signature"
_SIGNING_KEYS_MAX = 4096


@lru_cache(maxsize=4096)
def canonical_uri(raw_path: str) -> str:
    """The path as botocore canonicalises it (``raw_path``: the bytes sent, as latin-1)."""
    if not raw_path:
        return "/"
    segments = [s for s in raw_path.split("/") if s and s != "."]
    kept: list[str] = []
    for segment in segments:
        if segment == "..":
            if kept:
                kept.pop()
        else:
            kept.append(segment)
    path = ("/" if raw_path[0] == "/" else "") + "/".join(kept)
    if raw_path[-1] == "/" and kept:
        path += "/"
    return quote(path.encode("latin-1"), safe="/~")


def canonical_query(query_string: str, *, presigned: bool = False) -> str:
    """The query string's pairs sorted (``presigned``: without ``X-Amz-Signature``)."""
    if not query_string:
        return ""
    pairs: list[tuple[str, str]] = []
    for pair in query_string.split("&"):
        name, _, value = pair.partition("=")
        if presigned and name == PRESIGNED_SIGNATURE:
            continue
        pairs.append((name, value))
    pairs.sort()
    return "&".join(f"{name}={value}" for name, value in pairs)


def canonical_headers(headers: dict[str, str], signed_headers: str) -> str:
    """``name:value`` lines of the signed headers (names as listed, already sorted by the
    signer), each followed by a newline."""
    lines = []
    for name in signed_headers.split(";"):
        value = headers.get(name, "")
        lines.append(f"{name}:{' '.join(value.split())}\n")
    return "".join(lines)


def payload_hash(headers: dict[str, str], body: bytes) -> str:
    """What the canonical request ends with: a special payload's name, else the body's
    SHA-256 (a claimed ``x-amz-content-sha256`` that differs from the body makes the
    signature fail, as it must)."""
    claimed = headers.get("x-amz-content-sha256")
    if claimed in LITERAL_PAYLOADS:
        return claimed
    if not body:
        return EMPTY_SHA256
    return hashlib.sha256(body).hexdigest()


def canonical_request(
    method: str,
    raw_path: str,
    query_string: str,
    headers: dict[str, str],
    signed_headers: str,
    body_hash: str,
    *,
    presigned: bool = False,
) -> str:
    return "\n".join(
        (
            method.upper(),
            canonical_uri(raw_path),
            canonical_query(query_string, presigned=presigned),
            canonical_headers(headers, signed_headers),
            signed_headers,
            body_hash,
        )
    )


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


class SigningKeys:
    """Derived signing keys by (secret, date, region, service), bounded."""

    def __init__(self, limit: int = _SIGNING_KEYS_MAX) -> None:
        self._keys: dict[tuple[str, str, str, str], bytes] = {}
        self._limit = limit

    def key(self, secret: str, date: str, region: str, service: str) -> bytes:
        cache_key = (secret, date, region, service)
        found = self._keys.get(cache_key)
        if found is None:
            found = derive_signing_key(secret, date, region, service)
            if len(self._keys) >= self._limit:
                self._keys.clear()
            self._keys[cache_key] = found
        return found


def derive_signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(f"AWS4{secret}".encode(), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def sign(signing_key: bytes, text: str) -> str:
    return hmac.new(signing_key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()
