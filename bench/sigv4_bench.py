"""Cost of verifying a SigV4 signature at the edge, beside botocore's own cost of signing
the same request (the floor: a verifier recomputes what the signer computed).

The request is an Invoke as boto3 sends it: a qualified function ARN in the path, a 1 KiB
JSON payload, a session token (an execution environment's credentials). Three figures:

- ``edge: admit + identify``: what the edge does per request (``EdgeAccess``: the claim
  parsed, the key looked up in the composed key book, the signature verified, the
  principal answered), signing key cached;
- ``verify only``: ``api.sigv4.verify`` alone;
- ``botocore SigV4Auth.add_auth``: botocore signing the same request.

Target (issue 15): at most 40 µs per verification on the Invoke path.

    .venv/bin/python bench/sigv4_bench.py            # about 5 s
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from lamina.api.access import EdgeAccess
from lamina.api.guard import HostAllowList
from lamina.api.sigv4 import SignedRequest, read_claim, verify
from lamina.domain.callers import FunctionApiPolicy
from lamina.domain.identity import Principal, SigningKey
from lamina.runtime.credentials import CredentialRegistry
from lamina.services.keys.key_book import KeyBooks, StaticKeys

HOST = "127.0.0.1:9000"
PATH = (
    "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Abench%3A1"
    "/invocations"
)
TARGET_US = 40.0


def invoke_request(credentials: Credentials) -> AWSRequest:
    return AWSRequest(
        method="POST",
        url=f"http://{HOST}{PATH}",
        data=b'{"payload": "' + b"x" * 1000 + b'"}',
        headers={
            "X-Amz-Invocation-Type": "RequestResponse",
            "X-Amz-Log-Type": "None",
            "User-Agent": "Boto3/1.43 md/Botocore#1.43 ua/2.1 os/linux lang/python#3.11",
            "Content-Type": "application/json",
        },
    )


def per_call_us(run: Callable[[], object], seconds: float) -> float:
    """The best of five rounds of ``seconds``/5 each, in µs per call."""
    best = float("inf")
    for _ in range(5):
        count = 0
        started = time.perf_counter()
        deadline = started + seconds / 5
        while True:
            for _ in range(200):
                run()
            count += 200
            now = time.perf_counter()
            if now >= deadline:
                break
        best = min(best, (now - started) / count * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.5, help="time per figure")
    seconds = parser.parse_args().seconds

    registry = CredentialRegistry()
    env = registry.issue("bench", "arn:aws:iam::000000000000:role/bench-role", "/aws/lambda/bench")
    credentials = Credentials(env.access_key_id, env.secret_access_key, env.session_token)
    root = SigningKey("AKIAROOTROOTROOTROOT", "r" * 40, Principal.root("000000000000"))
    keys = KeyBooks([StaticKeys([root]), registry])
    access = EdgeAccess(
        HostAllowList("127.0.0.1", ""),
        registry,
        frozenset(),
        FunctionApiPolicy("account"),
        "000000000000",
        "us-east-1",
        keys=keys,
        mode="verify",
    )

    request = invoke_request(credentials)
    SigV4Auth(credentials, "lambda", "us-east-1").add_auth(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers["host"] = HOST
    body = bytes(request.body)
    signed = SignedRequest("POST", PATH, "", headers, body)

    def edge() -> object:
        claim, key = access.admit(headers, {}, relayed=False, browser=False)
        assert key is not None
        return access.identify(claim, key, signed, "lambda")

    claim = read_claim(headers, {})

    def verify_only() -> object:
        return verify(
            claim,
            signed,
            secret=env.secret_access_key,
            session_token=env.session_token,
            region="us-east-1",
            service="lambda",
        )

    def botocore_sign() -> object:
        fresh = invoke_request(credentials)
        SigV4Auth(credentials, "lambda", "us-east-1").add_auth(fresh)
        return fresh

    edge()  # warm the signing-key cache
    figures = [
        ("edge: admit + identify (Invoke)", per_call_us(edge, seconds)),
        ("verify only", per_call_us(verify_only, seconds)),
        ("botocore SigV4Auth.add_auth (floor)", per_call_us(botocore_sign, seconds)),
    ]
    print(f"{'figure':<40} {'µs/request':>11}")
    for name, value in figures:
        print(f"{name:<40} {value:>11.1f}")
    verdict = "meets" if figures[0][1] <= TARGET_US else "misses"
    print(f"target ≤ {TARGET_US:.0f} µs per verification on the Invoke path: {verdict}")


if __name__ == "__main__":
    main()
