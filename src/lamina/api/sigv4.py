"""AWS Signature Version 4 at the edge: the claim a request makes about its signer, and the
verification of that claim with the signer's secret (``api.sigv4_canonical`` computes the
canonical request as botocore does; shared/docs/events-http-iam.md §7.1).

Every API request must carry a SigV4 ``Authorization`` header or the presigned query form.
``verify`` checks, in AWS's order: the session token, the credential scope's service, the
clock (five minutes either way; a presigned URL's ``X-Amz-Expires``), then the signature
(header and presigned forms, ``UNSIGNED-PAYLOAD``, ``x-amz-content-sha256``, and
``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` bodies, whose chunks are verified and decoded).
"""

from __future__ import annotations

import hmac
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import unquote

from lamina.api.sigv4_canonical import (
    ALGORITHM,
    STREAMING_SIGNED,
    STREAMING_UNSIGNED_TRAILER,
    SigningKeys,
    canonical_request,
    payload_hash,
    sign,
    string_to_sign,
)
from lamina.api.sigv4_chunked import ChunkError, decode_chunks
from lamina.domain.errors import (
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)

MAX_CLOCK_SKEW = timedelta(minutes=5)
_SKEW_SECONDS = MAX_CLOCK_SKEW.total_seconds()
_HEX = re.compile(r"[0-9a-fA-F]+")
_HEX_DIGITS = "0123456789abcdefABCDEF"
_SDK_PREFIX = "AWS4-HMAC-SHA256 Credential="
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
# The longest a presigned URL may stay valid (seven days), as AWS allows.
MAX_PRESIGNED_EXPIRES = 604800
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


class SignatureClaim(NamedTuple):
    """What a request says about its signer."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: str  # as sent: "host;x-amz-date;..."
    signature: str
    presigned: bool

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def read_claim(headers: dict[str, str], query: dict[str, list[str]]) -> SignatureClaim:
    """The request's signature claim, or AWS's error for a missing or malformed one."""
    header = headers.get("authorization")
    if header is None:
        if "X-Amz-Signature" in query or "X-Amz-Credential" in query:
            return _presigned_claim(query)
        raise MissingAuthenticationTokenException()
    claim = _sdk_form(header)
    if claim is not None:
        return claim
    algorithm, _, rest = header.partition(" ")
    fields: dict[str, str] = {}
    if algorithm == ALGORITHM:
        for part in rest.split(","):
            part = part.strip()
            key, equal, value = part.partition("=")
            if not equal:
                raise IncompleteSignatureException(
                    f"'{part}' not a valid key=value pair (missing equal-sign) in "
                    f"Authorization header: '{header}'."
                )
            fields[key] = value
    missing = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not fields.get(name)
    ]
    if missing:
        # The date is verified with the signature (keys the server issued), not on its own.
        if "x-amz-date" not in headers and "date" not in headers:
            missing.append(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
                "header."
            )
        raise IncompleteSignatureException(" ".join(missing) + f" Authorization={header}")
    return _claim(fields["Credential"], fields["SignedHeaders"], fields["Signature"], False)


def _sdk_form(header: str) -> SignatureClaim | None:
    """The header as every SDK writes it, parsed with a few string operations (the hot
    path); None for anything else, which the general parser words errors for."""
    parts = header.split(", ")
    if len(parts) != 3:
        return None
    credential, signed, signature = parts
    if not (
        credential.startswith(_SDK_PREFIX)
        and signed.startswith("SignedHeaders=")
        and signature.startswith("Signature=")
    ):
        return None
    scope = credential[len(_SDK_PREFIX) :].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request" or "" in scope:
        return None
    signature = signature[len("Signature=") :]
    signed = signed[len("SignedHeaders=") :]
    if not signature or signature.strip(_HEX_DIGITS) or not signed:
        return None
    key, date, region, service, _ = scope
    return SignatureClaim(key, date, region, service, signed, signature, False)


def _presigned_claim(query: dict[str, list[str]]) -> SignatureClaim:
    def one(name: str) -> str:
        return query.get(name, [""])[0]

    missing = [
        name
        for name in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date")
        if not one(name)
    ]
    if missing or one("X-Amz-Algorithm") != ALGORITHM:
        raise IncompleteSignatureException(
            "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', "
            "'X-Amz-Signature', 'X-Amz-SignedHeaders' and 'X-Amz-Date'. "
            "Re-examine the query-string parameters."
        )
    return _claim(
        one("X-Amz-Credential"), one("X-Amz-SignedHeaders") or "host", one("X-Amz-Signature"), True
    )


def _claim(credential: str, signed: str, signature: str, presigned: bool) -> SignatureClaim:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts):
        raise IncompleteSignatureException(
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            f"keyid/date/region/service/term, got '{credential}'"
        )
    if not _HEX.fullmatch(signature):
        raise InvalidSignatureException(MISMATCH)
    key, date, region, service, _ = parts
    return SignatureClaim(key, date, region, service, signed, signature, presigned)


@dataclass(frozen=True)
class SignedRequest:
    """The parts of an HTTP request a signature covers (path and query as received)."""

    method: str
    raw_path: str
    query_string: str
    headers: dict[str, str]
    body: bytes


_SIGNING_KEYS = SigningKeys()


def verify(
    claim: SignatureClaim,
    request: SignedRequest,
    *,
    secret: str,
    session_token: str | None,
    region: str,
    service: str,
    now: datetime | None = None,
) -> bytes:
    """Raise AWS's error unless ``request`` is signed with ``secret`` for ``region`` and
    ``service``, within five minutes of ``now`` (a presigned URL: within its expiry), and
    carries ``session_token`` (None or empty: the key has none, and the request must not
    carry one). Returns the payload: the body, decoded when it was sent ``aws-chunked``."""
    query = _query_values(request.query_string) if claim.presigned else {}
    token = query.get("X-Amz-Security-Token", "") if claim.presigned else None
    if token is None:
        token = request.headers.get("x-amz-security-token", "")
    if not hmac.compare_digest(token.encode(), (session_token or "").encode()):
        raise UnrecognizedClientException()
    if claim.region != region:
        raise InvalidSignatureException(
            f"Credential should be scoped to a valid region, not '{claim.region}'. "
        )
    if claim.service != service:
        raise InvalidSignatureException(
            f"Credential should be scoped to correct service: '{service}'. "
        )
    if claim.presigned:
        amz_date = query.get("X-Amz-Date", "")
        moment = now or datetime.now(timezone.utc)
        _check_presigned_clock(amz_date, query.get("X-Amz-Expires", ""), moment)
    else:
        amz_date = _header_date(request.headers)
        _check_clock(amz_date, now)
    headers = request.headers
    body_hash = payload_hash(headers, request.body)
    canonical = canonical_request(
        request.method,
        request.raw_path,
        request.query_string,
        headers,
        claim.signed_headers,
        body_hash,
        presigned=claim.presigned,
    )
    key = _SIGNING_KEYS.key(secret, claim.date, claim.region, claim.service)
    expected = sign(key, string_to_sign(amz_date, claim.scope, canonical))
    if not hmac.compare_digest(expected, claim.signature.lower()):
        raise InvalidSignatureException(MISMATCH)
    if body_hash == STREAMING_SIGNED:
        return _decoded(request.body, key, amz_date, claim)
    if body_hash == STREAMING_UNSIGNED_TRAILER:
        return _decoded(request.body, None, amz_date, claim)
    return request.body


def unverified_payload(headers: dict[str, str], body: bytes) -> bytes:
    """The payload of a request whose signature is not verified (``--auth off``, a key the
    server does not know): an ``aws-chunked`` body decoded, chunk signatures unchecked."""
    if headers.get("x-amz-content-sha256") not in (STREAMING_SIGNED, STREAMING_UNSIGNED_TRAILER):
        return body
    try:
        return decode_chunks(body)
    except ChunkError:
        raise InvalidSignatureException(MISMATCH) from None


def _decoded(body: bytes, key: bytes | None, amz_date: str, claim: SignatureClaim) -> bytes:
    try:
        return decode_chunks(
            body,
            signing_key=key,
            amz_date=amz_date,
            scope=claim.scope,
            seed_signature=claim.signature,
        )
    except ChunkError:
        raise InvalidSignatureException(MISMATCH) from None


def _query_values(query_string: str) -> dict[str, str]:
    """The presigned form's parameters (names are plain; values percent-decoded)."""
    out: dict[str, str] = {}
    for part in query_string.split("&"):
        name, _, value = part.partition("=")
        if name.startswith("X-Amz-"):
            out.setdefault(name, unquote(value))
    return out


def _header_date(headers: dict[str, str]) -> str:
    """``X-Amz-Date``, else the ``Date`` header in SigV4's format ('' for neither)."""
    amz_date = headers.get("x-amz-date")
    if amz_date is not None:
        return amz_date
    date = headers.get("date")
    if not date:
        return ""
    try:
        return parsedate_to_datetime(date).astimezone(timezone.utc).strftime(_AMZ_DATE)
    except (TypeError, ValueError):
        return ""


@lru_cache(maxsize=256)
def _signed_at(amz_date: str) -> datetime:
    """``X-Amz-Date`` as a time (cached: a second's requests share it)."""
    try:
        return datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=timezone.utc)
    except ValueError:
        raise IncompleteSignatureException(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        ) from None


def _check_clock(amz_date: str, now: datetime | None) -> None:
    signed_at = _signed_at(amz_date)
    if now is None:
        skew = time.time() - signed_at.timestamp()
        if -_SKEW_SECONDS <= skew <= _SKEW_SECONDS:
            return  # the common case, without formatting any time
        now = datetime.now(timezone.utc)
    stamp = now.strftime(_AMZ_DATE)
    if signed_at < now - MAX_CLOCK_SKEW:
        earliest = (now - MAX_CLOCK_SKEW).strftime(_AMZ_DATE)
        raise InvalidSignatureException(
            f"Signature expired: {amz_date} is now earlier than {earliest} ({stamp} - 5 min.)"
        )
    if signed_at > now + MAX_CLOCK_SKEW:
        latest = (now + MAX_CLOCK_SKEW).strftime(_AMZ_DATE)
        raise InvalidSignatureException(
            f"Signature not yet current: {amz_date} is still later than {latest} ({stamp} + 5 min.)"
        )


def _check_presigned_clock(amz_date: str, expires: str, now: datetime) -> None:
    """A presigned URL is valid from five minutes before its date to its expiry."""
    signed_at = _signed_at(amz_date)
    if not expires.isdigit() or not 0 < int(expires) <= MAX_PRESIGNED_EXPIRES:
        raise IncompleteSignatureException(
            f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGNED_EXPIRES}"
        )
    stamp = now.strftime(_AMZ_DATE)
    if signed_at > now + MAX_CLOCK_SKEW:
        latest = (now + MAX_CLOCK_SKEW).strftime(_AMZ_DATE)
        raise InvalidSignatureException(
            f"Signature not yet current: {amz_date} is still later than {latest} ({stamp} + 5 min.)"
        )
    expiry = signed_at + timedelta(seconds=int(expires))
    if now > expiry:
        raise InvalidSignatureException(
            f"Signature expired: {expiry.strftime(_AMZ_DATE)} is now earlier than {stamp}"
        )
