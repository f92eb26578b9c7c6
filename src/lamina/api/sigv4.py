"""AWS Signature Version 4 at the edge: the shape of a request's signature, and its
verification for credentials whose secret the server knows (execution environments').

Every API request must carry a SigV4 ``Authorization`` header (or the presigned query
form). Keys the server did not issue are checked for shape only (any secret works, as on
LocalStack); keys it issued are verified with botocore's signer, which computes the
canonical request exactly as the SDKs do (shared/docs/events-http-iam.md §7.1).
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from lamina.domain.errors import (
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_CLOCK_SKEW = timedelta(minutes=5)
_HEX = re.compile(r"[0-9a-fA-F]+")
_HEX_DIGITS = "0123456789abcdefABCDEF"
_SDK_PREFIX = "AWS4-HMAC-SHA256 Credential="
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


class SignatureClaim(NamedTuple):
    """What a request says about its signer."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: str  # as sent: "host;x-amz-date;..."
    signature: str
    presigned: bool


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
        raise InvalidSignatureException(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. "
            "Consult the service documentation for details."
        )
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


def verify(
    claim: SignatureClaim,
    request: SignedRequest,
    *,
    secret: str,
    session_token: str,
    region: str,
    service: str,
    now: datetime | None = None,
) -> None:
    """Raise AWS's error unless ``request`` is signed with ``secret`` for ``region`` and
    ``service``, within five minutes of ``now``, and carries ``session_token``."""
    if claim.presigned:
        raise InvalidSignatureException(
            "Lamina verifies execution-role credentials in the Authorization header only."
        )
    token = request.headers.get("x-amz-security-token", "")
    if not hmac.compare_digest(token.encode(), session_token.encode()):
        raise UnrecognizedClientException()
    if claim.region != region:
        raise InvalidSignatureException(
            f"Credential should be scoped to a valid region, not '{claim.region}'. "
        )
    if claim.service != service:
        raise InvalidSignatureException(
            f"Credential should be scoped to correct service: '{service}'. "
        )
    amz_date = request.headers.get("x-amz-date", "")
    _check_clock(amz_date, now or datetime.now(timezone.utc))
    expected = _expected_signature(claim, request, secret, session_token, amz_date)
    if not hmac.compare_digest(expected, claim.signature):
        raise InvalidSignatureException(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. "
            "Consult the service documentation for details."
        )


def _check_clock(amz_date: str, now: datetime) -> None:
    try:
        signed_at = datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=timezone.utc)
    except ValueError:
        raise IncompleteSignatureException(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        ) from None
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


def _expected_signature(
    claim: SignatureClaim, request: SignedRequest, secret: str, token: str, amz_date: str
) -> str:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    signed = {name: request.headers.get(name, "") for name in claim.signed_headers.split(";")}
    url = f"http://{request.headers.get('host', '')}{request.raw_path}"
    if request.query_string:
        url += f"?{request.query_string}"
    aws_request = AWSRequest(method=request.method, url=url, data=request.body, headers=signed)
    aws_request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(claim.access_key_id, secret, token), claim.service, claim.region)
    canonical = signer.canonical_request(aws_request)
    string_to_sign = signer.string_to_sign(aws_request, canonical)
    signature: str = signer.signature(string_to_sign, aws_request)
    return signature
