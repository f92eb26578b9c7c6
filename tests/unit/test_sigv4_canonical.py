"""The edge's SigV4 arithmetic against botocore's own signer: many generated requests
(methods, odd paths, repeated query keys, empty values, unicode, special payloads), each
signed by botocore's ``SigV4Auth``/``SigV4QueryAuth`` and verified by ``api.sigv4``."""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from lamina.api import sigv4_canonical
from lamina.api.sigv4 import SignedRequest, read_claim, verify
from lamina.api.sigv4_canonical import EMPTY_SHA256, derive_signing_key, sign
from lamina.api.sigv4_chunked import CHUNK_ALGORITHM, ChunkError, decode_chunks
from lamina.domain.errors import (
    IncompleteSignatureException,
    InvalidSignatureException,
    UnrecognizedClientException,
)

HOST = "127.0.0.1:9000"
KEY, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SEGMENTS = [
    "2015-03-31",
    "functions",
    "arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af%3A1",
    "a%20b",
    "%E2%9C%93",
    "~tilde",
    "x.y",
    "plus+sign",
    "%2F",
    "..",
    ".",
    "",
]
QUERY_VALUES = ["", "a b+c", "é✓", "1", "x=y&z", "~-_.", "/path/", "*"]


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")


def _random_request(rng: random.Random) -> tuple[str, str, str, dict[str, str], bytes]:
    method = rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"])
    path = "/" + "/".join(rng.choice(SEGMENTS) for _ in range(rng.randint(0, 5)))
    if rng.random() < 0.3:
        path += "/"
    pairs = [
        (
            _encode(rng.choice(["Marker", "a", "A", "b", "ü", "x y"])),
            _encode(rng.choice(QUERY_VALUES)),
        )
        for _ in range(rng.randint(0, 4))
    ]
    query = "&".join(f"{k}={v}" for k, v in pairs)
    headers = {
        "Content-Type": rng.choice(["application/json", "application/x-amz-json-1.0"]),
        "X-Amz-Target": rng.choice(["AmazonSQS.SendMessage", "Logs_20140328.PutLogEvents"]),
        "X-Custom": rng.choice(["  spaced   value  ", "ünïcode", "", "a,b"]),
    }
    body = rng.choice([b"", b'{"a": 1}', "é".encode() * rng.randint(1, 50), bytes(range(256))])
    return method, path, query, headers, body


def _as_received(request: AWSRequest) -> tuple[dict[str, str], str, str]:
    """Headers (lower-case, as ASGI gives them), raw path and raw query of the request."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers["host"] = HOST
    parts = urlsplit(request.url)
    return headers, parts.path, parts.query


@pytest.mark.parametrize("seed", range(300))
def test_header_signatures_from_botocore_verify(seed: int) -> None:
    rng = random.Random(seed)
    method, path, query, extra, body = _random_request(rng)
    token = rng.choice([None, "session-token/+=="])
    service = rng.choice(["lambda", "sqs", "logs", "sts", "iam", "events"])
    region = rng.choice(["us-east-1", "eu-west-1"])
    url = f"http://{HOST}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, data=body, headers=extra)
    if rng.random() < 0.2:
        request.headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
    SigV4Auth(Credentials(KEY, SECRET, token), service, region).add_auth(request)
    headers, raw_path, raw_query = _as_received(request)
    claim = read_claim(headers, {})
    signed = SignedRequest(method, raw_path, raw_query, headers, body)
    payload = verify(
        claim, signed, secret=SECRET, session_token=token, region=region, service=service
    )
    assert payload == body
    with pytest.raises(InvalidSignatureException):
        verify(
            claim,
            signed,
            secret=SECRET + "x",
            session_token=token,
            region=region,
            service=service,
        )


@pytest.mark.parametrize("seed", range(100))
def test_canonical_request_is_botocores(seed: int) -> None:
    """The canonical request itself, text for text (the signature follows from it)."""
    rng = random.Random(1000 + seed)
    method, path, query, extra, body = _random_request(rng)
    url = f"http://{HOST}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, data=body, headers=extra)
    signer = SigV4Auth(Credentials(KEY, SECRET), "lambda", "us-east-1")
    signer.add_auth(request)
    headers, raw_path, raw_query = _as_received(request)
    signed_headers = read_claim(headers, {}).signed_headers
    del request.headers["Authorization"]  # as when botocore computed it
    expected = signer.canonical_request(request)
    got = sigv4_canonical.canonical_request(
        method,
        raw_path,
        raw_query,
        headers,
        signed_headers,
        sigv4_canonical.payload_hash(headers, body),
    )
    assert got == expected


@pytest.mark.parametrize("seed", range(40))
def test_presigned_urls_from_botocore_verify(seed: int) -> None:
    rng = random.Random(2000 + seed)
    _, path, query, _, _ = _random_request(rng)
    token = rng.choice([None, "tok"])
    url = f"http://{HOST}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method="GET", url=url)
    SigV4QueryAuth(Credentials(KEY, SECRET, token), "sts", "us-east-1", expires=60).add_auth(
        request
    )
    headers, raw_path, raw_query = _as_received(request)
    claim = read_claim(headers, parse_qs(raw_query, keep_blank_values=True))
    assert claim.presigned
    signed = SignedRequest("GET", raw_path, raw_query, headers, b"")
    verify(claim, signed, secret=SECRET, session_token=token, region="us-east-1", service="sts")
    later = datetime.now(timezone.utc) + timedelta(minutes=2)
    with pytest.raises(InvalidSignatureException, match="^Signature expired: "):
        verify(
            claim,
            signed,
            secret=SECRET,
            session_token=token,
            region="us-east-1",
            service="sts",
            now=later,
        )


def test_a_token_must_match_and_a_long_term_key_carries_none() -> None:
    request = AWSRequest(method="GET", url=f"http://{HOST}/", data=b"")
    SigV4Auth(Credentials(KEY, SECRET, "tok"), "lambda", "us-east-1").add_auth(request)
    headers, raw_path, raw_query = _as_received(request)
    claim = read_claim(headers, {})
    signed = SignedRequest("GET", raw_path, raw_query, headers, b"")
    for expected_token in (None, "other"):
        with pytest.raises(UnrecognizedClientException):
            verify(
                claim,
                signed,
                secret=SECRET,
                session_token=expected_token,
                region="us-east-1",
                service="lambda",
            )
    with pytest.raises(InvalidSignatureException, match="scoped to correct service: 'sqs'"):
        verify(claim, signed, secret=SECRET, session_token="tok", region="us-east-1", service="sqs")


def _chunked(payload: bytes, chunk: int, amz_date: str, scope: str, seed: str, key: bytes) -> bytes:
    out = []
    previous = seed
    pieces = [payload[i : i + chunk] for i in range(0, len(payload), chunk)] + [b""]
    for piece in pieces:
        text = "\n".join(
            (
                CHUNK_ALGORITHM,
                amz_date,
                scope,
                previous,
                EMPTY_SHA256,
                hashlib.sha256(piece).hexdigest(),
            )
        )
        previous = sign(key, text)
        out.append(f"{len(piece):x};chunk-signature={previous}\r\n".encode() + piece + b"\r\n")
    return b"".join(out)


def test_streaming_signed_payload_is_verified_and_decoded() -> None:
    payload = b"0123456789" * 1000
    request = AWSRequest(
        method="PUT",
        url=f"http://{HOST}/upload",
        headers={
            "X-Amz-Content-SHA256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            "Content-Encoding": "aws-chunked",
            "X-Amz-Decoded-Content-Length": str(len(payload)),
        },
    )
    signer = SigV4Auth(Credentials(KEY, SECRET), "lambda", "us-east-1")
    signer.add_auth(request)
    headers, raw_path, raw_query = _as_received(request)
    claim = read_claim(headers, {})
    key = derive_signing_key(SECRET, claim.date, claim.region, claim.service)
    amz_date = headers["x-amz-date"]
    body = _chunked(payload, 8192, amz_date, claim.scope, claim.signature, key)
    signed = SignedRequest("PUT", raw_path, raw_query, headers, body)
    decoded = verify(
        claim, signed, secret=SECRET, session_token=None, region="us-east-1", service="lambda"
    )
    assert decoded == payload
    tampered = body.replace(b"0123", b"9123", 1)
    with pytest.raises(InvalidSignatureException):
        verify(
            claim,
            SignedRequest("PUT", raw_path, raw_query, headers, tampered),
            secret=SECRET,
            session_token=None,
            region="us-east-1",
            service="lambda",
        )


@pytest.mark.parametrize("chunk", [8192, 20000, 4096, 1])
def test_only_the_last_chunk_may_be_under_8_kb(chunk: int) -> None:
    """AWS's minimum chunk size: a body cut finer (one byte a chunk: a 70 MB body would take
    millions of steps to decode) is refused."""
    payload = bytes(range(256)) * 80  # 20,480 bytes
    body = b"".join(
        f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        for piece in [payload[i : i + chunk] for i in range(0, len(payload), chunk)] + [b""]
    )
    if chunk >= 8192:
        assert decode_chunks(body) == payload
    else:
        with pytest.raises(ChunkError, match="under 8192 bytes"):
            decode_chunks(body)


def test_a_body_that_differs_from_its_claimed_hash_fails() -> None:
    request = AWSRequest(method="POST", url=f"http://{HOST}/", data=b"signed body")
    request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(b"signed body").hexdigest()
    SigV4Auth(Credentials(KEY, SECRET), "lambda", "us-east-1").add_auth(request)
    headers, raw_path, raw_query = _as_received(request)
    claim = read_claim(headers, {})
    ok = SignedRequest("POST", raw_path, raw_query, headers, b"signed body")
    verify(claim, ok, secret=SECRET, session_token=None, region="us-east-1", service="lambda")
    swapped = SignedRequest("POST", raw_path, raw_query, headers, b"other body")
    with pytest.raises(InvalidSignatureException):
        verify(
            claim, swapped, secret=SECRET, session_token=None, region="us-east-1", service="lambda"
        )


def test_a_request_without_a_date_is_incomplete() -> None:
    request = AWSRequest(method="GET", url=f"http://{HOST}/")
    SigV4Auth(Credentials(KEY, SECRET), "lambda", "us-east-1").add_auth(request)
    headers, raw_path, raw_query = _as_received(request)
    del headers["x-amz-date"]
    claim = read_claim(headers, {})
    with pytest.raises(IncompleteSignatureException):
        verify(
            claim,
            SignedRequest("GET", raw_path, raw_query, headers, b""),
            secret=SECRET,
            session_token=None,
            region="us-east-1",
            service="lambda",
        )
