"""Cost of one authorization decision on the Invoke path (``--iam enforce``), beside the
cost of the edge's check under ``off``. Run: ``.venv/bin/python bench/authorizer_bench.py``."""

from __future__ import annotations

import timeit
from collections.abc import Mapping
from typing import Any

from lamina.api.authorization import Authorizer
from lamina.domain.context import RequestContext
from lamina.domain.identity import Principal

ACCOUNT = "123456789012"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function"
USER = Principal(f"arn:aws:iam::{ACCOUNT}:user/u", ACCOUNT, "user", "AIDAU", user_name="u")


def _policy(index: int) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": f"sqs:Send{i}{index}", "Resource": "*"} for i in range(3)
        ]
        + [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": f"{FN}:f{index}*"}],
    }


POLICIES = [_policy(i) for i in range(3)]  # 3 policies, 12 statements


class Identities:
    def policies_of(self, principal: Principal) -> list[Mapping[str, Any]]:
        return POLICIES  # type: ignore[return-value]


def main() -> None:
    authorizer = Authorizer("enforce", Identities())
    ctx = RequestContext("r", ACCOUNT, "us-east-1", principal=USER)
    params = {"FunctionName": "f2", "Payload": b"{}"}
    authorizer.authorize(ctx, "lambda", "Invoke", params)
    runs = 20000
    seconds = timeit.timeit(
        lambda: authorizer.authorize(ctx, "lambda", "Invoke", params), number=runs
    )
    print(f"enforce, Invoke allowed (3 policies, 12 statements): {seconds / runs * 1e6:.1f} µs")
    root = RequestContext("r", ACCOUNT, "us-east-1", principal=Principal.root(ACCOUNT))
    seconds = timeit.timeit(
        lambda: authorizer.authorize(root, "lambda", "Invoke", params), number=runs
    )
    print(f"enforce, root: {seconds / runs * 1e6:.2f} µs")
    off: Authorizer | None = None

    def check_off() -> None:
        if off is not None:
            off.authorize(ctx, "lambda", "Invoke", params)

    seconds = timeit.timeit(check_off, number=runs * 10)
    print(f"off (no authorizer): {seconds / runs / 10 * 1e6:.3f} µs")


if __name__ == "__main__":
    main()
