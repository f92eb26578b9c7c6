#!/usr/bin/env python3
"""Function URL benchmark: a warm URL request's latency beside its floor, same run.

    .venv/bin/python bench/url_bench.py            # ~15 s
    .venv/bin/python bench/url_bench.py --quick    # ~5 s

- **URL**: sequential POSTs through one keep-alive ``http.client`` connection (the way curl
  or a browser reuses its connection) to a warm echo function's URL (``AuthType NONE`` with
  its grant), by host. Target: p50 <= 1 ms.
- **Invoke**: the same function through the Invoke API, for reference.
- **floor**: a bare ASGI echo app on uvicorn (httptools, uvloop), same client.

Rounds alternate between the targets so that machine noise hits all alike. The script
always exits 0: it is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HOST = "127.0.0.1"
FUNCTION = "bench-url"
ROLE = "arn:aws:iam::000000000000:role/lambda-role"
AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=test/20261206/us-east-1/lambda/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0000"
)
TARGET_P50_MS = 1.0
BODY = b'{"name":"bench"}'
# A URL request's body comes back as the answer; an Invoke's payload as it came.
HANDLER = (
    "def handler(event, context):\n"
    "    if 'rawPath' in event:\n"
    "        return {'statusCode': 200, 'body': event.get('body', '')}\n"
    "    return event\n"
)
ECHO_SERVER = textwrap.dedent(
    """
    import sys
    import uvicorn

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    uvicorn.run(app, host=sys.argv[1], port=int(sys.argv[2]), http="httptools",
                loop="uvloop", lifespan="off", log_level="warning", access_log=False)
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Client:
    """One keep-alive connection doing sequential POSTs to one path with one Host."""

    def __init__(self, port: int, path: str, headers: dict[str, str]) -> None:
        self.conn = http.client.HTTPConnection(HOST, port)
        self.path = path
        self.headers = {"Content-Type": "application/json", **headers}

    def post(self) -> None:
        self.conn.request("POST", self.path, BODY, self.headers)
        response = self.conn.getresponse()
        body = response.read()
        if response.status != 200 or b"bench" not in body:
            raise RuntimeError(f"{self.path}: HTTP {response.status} {body[:200]!r}")

    def timed(self, n: int) -> list[float]:
        out: list[float] = []
        clock = time.perf_counter
        for _ in range(n):
            start = clock()
            self.post()
            out.append((clock() - start) * 1000)
        return out


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambda_function.py", HANDLER)
    return buffer.getvalue()


def set_up_url(port: int) -> str:
    import boto3
    from botocore.config import Config

    lam: Any = boto3.client(
        "lambda",
        endpoint_url=f"http://{HOST}:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )
    lam.create_function(
        FunctionName=FUNCTION,
        Runtime="python3.11",
        Role=ROLE,
        Handler="lambda_function.handler",
        Code={"ZipFile": function_zip()},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=FUNCTION)
    url: str = lam.create_function_url_config(FunctionName=FUNCTION, AuthType="NONE")["FunctionUrl"]
    lam.add_permission(
        FunctionName=FUNCTION,
        StatementId="url",
        Action="lambda:InvokeFunctionUrl",
        Principal="*",
        FunctionUrlAuthType="NONE",
    )
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    rounds, per_round = (5, 200) if args.quick else (10, 500)
    work = Path(tempfile.mkdtemp(prefix="url-bench-"))
    lamina_port, echo_port = free_port(), free_port()
    env = dict(os.environ)
    env.pop("LAMINA_PORT", None)
    log = open(work / "lamina.log", "ab")  # noqa: SIM115 - owned by the child
    lamina = subprocess.Popen(
        [sys.executable, "-m", "lamina.cli.main", "server", "--port", str(lamina_port)]
        + ["--data-dir", str(work / "data")],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    echo = subprocess.Popen(
        [sys.executable, "-c", ECHO_SERVER, HOST, str(echo_port)], stderr=subprocess.DEVNULL
    )
    try:
        wait_port(lamina_port, lamina)
        wait_port(echo_port, echo)
        url = set_up_url(lamina_port)
        host = urlsplit(url).netloc
        clients = {
            "URL": Client(lamina_port, "/", {"Host": host}),
            "Invoke API": Client(
                lamina_port,
                f"/2015-03-31/functions/{FUNCTION}/invocations",
                {"Authorization": AUTHORIZATION},
            ),
            "floor (uvicorn echo)": Client(echo_port, "/", {}),
        }
        for client in clients.values():
            client.timed(50)  # warm: the environment, the connections
        samples: dict[str, list[float]] = {name: [] for name in clients}
        for _ in range(rounds):
            for name, client in clients.items():
                samples[name] += client.timed(per_round)
        floor = statistics.median(samples["floor (uvicorn echo)"])
        print(f"{'measure':<22} {'p50 ms':>8} {'p99 ms':>8} {'vs floor':>9}")
        for name, values in samples.items():
            p50 = statistics.median(values)
            print(f"{name:<22} {p50:8.3f} {percentile(values, 0.99):8.3f} {p50 / floor:8.2f}x")
        url_p50 = statistics.median(samples["URL"])
        verdict = "pass" if url_p50 <= TARGET_P50_MS else "FAIL"
        print(f"target: URL p50 <= {TARGET_P50_MS} ms: {verdict} ({url_p50:.3f} ms)")
    finally:
        stop(echo)
        stop(lamina)
        log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
