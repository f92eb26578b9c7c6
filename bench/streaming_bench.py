#!/usr/bin/env python3
"""Response streaming benchmark: how long after a function writes a chunk its bytes reach
an InvokeWithResponseStream client, beside the floor of the same measurement over a bare
loopback socket between two processes, in the same run.

    .venv/bin/python bench/streaming_bench.py            # ~15 s
    .venv/bin/python bench/streaming_bench.py --quick    # ~6 s

A custom runtime (``provided.al2023``, a Python ``bootstrap`` on the Runtime API) streams
chunks of a chunked ``Lambda-Runtime-Function-Response-Mode: streaming`` response, each
carrying the wall-clock time (ns) just before the runtime wrote it, 5 ms apart. The client
(http.client, one keep-alive connection) decodes the event stream as it arrives and takes,
for each ``PayloadChunk``, its arrival time minus the time in it. The floor: a child
process writing the same timestamps on a loopback TCP socket to this process.
Target: first-byte latency median <= 2 ms.

The script always exits 0: it is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from botocore.eventstream import EventStreamBuffer

HOST = "127.0.0.1"
FUNCTION = "bench-stream"
ROLE = "arn:aws:iam::000000000000:role/lambda-role"
AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=test/20261206/us-east-1/lambda/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0000"
)
TARGET_MS = 2.0
CHUNK_GAP = 0.005

BOOTSTRAP = r"""#!/usr/bin/env python3
import json, os, socket, time

host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
PREFIX = "/2018-06-01/runtime/invocation/"
sock = socket.create_connection((host, int(port)))
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
reader = sock.makefile("rb")


def read_reply():
    request_id, length = None, 0
    reader.readline()
    while True:
        line = reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
        elif name.lower() == "lambda-runtime-aws-request-id":
            request_id = value.strip()
    return request_id, reader.read(length)


while True:
    sock.sendall(f"GET {PREFIX}next HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    request_id, body = read_reply()
    event = json.loads(body)
    sock.sendall(
        f"POST {PREFIX}{request_id}/response HTTP/1.1\r\nHost: x\r\n"
        "Lambda-Runtime-Function-Response-Mode: streaming\r\n"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    for _ in range(event["chunks"]):
        time.sleep(event["gap"])
        stamp = str(time.time_ns()).encode()
        sock.sendall(b"%x\r\n%s\r\n" % (len(stamp), stamp))
    sock.sendall(b"0\r\n\r\n")
    read_reply()
"""

FLOOR_WRITER = r"""
import socket, sys, time
sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for _ in range(int(sys.argv[2])):
    time.sleep(float(sys.argv[3]))
    sock.sendall(str(time.time_ns()).encode().ljust(24))
sock.close()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def package() -> str:
    import base64

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        archive.writestr(info, BOOTSTRAP)
    return base64.b64encode(buffer.getvalue()).decode()


def request(
    conn: http.client.HTTPConnection, method: str, path: str, body: bytes
) -> tuple[int, bytes]:
    conn.request(method, path, body=body, headers={"Authorization": AUTHORIZATION})
    response = conn.getresponse()
    return response.status, response.read()


def streamed_latencies(conn: http.client.HTTPConnection, chunks: int) -> list[float]:
    """One invocation: each chunk's latency (ms), in order."""
    payload = json.dumps({"chunks": chunks, "gap": CHUNK_GAP}).encode()
    conn.request(
        "POST",
        f"/2021-11-15/functions/{FUNCTION}/response-streaming-invocations",
        body=payload,
        headers={"Authorization": AUTHORIZATION},
    )
    response = conn.getresponse()
    assert response.status == 200, response.read()
    buffer = EventStreamBuffer()
    out: list[float] = []
    while True:
        data = response.read1(65536)
        if not data:
            break
        arrived = time.time_ns()
        buffer.add_data(data)
        for message in buffer:
            if message.headers.get(":event-type") == "PayloadChunk":
                out.append((arrived - int(message.payload)) / 1e6)
    return out


def floor_latencies(count: int) -> list[float]:
    with socket.socket() as listener:
        listener.bind((HOST, 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        writer = subprocess.Popen(
            [sys.executable, "-c", FLOOR_WRITER, str(port), str(count), str(CHUNK_GAP)]
        )
        conn, _ = listener.accept()
        out: list[float] = []
        with conn:
            pending = b""
            while True:
                data = conn.recv(4096)
                if not data:
                    break
                arrived = time.time_ns()
                pending += data
                while len(pending) >= 24:
                    stamp, pending = pending[:24], pending[24:]
                    out.append((arrived - int(stamp)) / 1e6)
        writer.wait()
    return out


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[int(len(ordered) * 0.9)]
    return f"median {statistics.median(ordered):6.3f} ms  p90 {p90:6.3f} ms  (n={len(ordered)})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    invocations, chunks = (20, 10) if args.quick else (60, 20)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        port = free_port()
        log = open(Path(tmp) / "server.log", "wb")  # noqa: SIM115
        server = subprocess.Popen(
            [sys.executable, "-m", "lamina.cli.main", "server", "--port", str(port),
             "--data-dir", str(data)],
            stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ),
        )  # fmt: skip
        try:
            deadline = time.time() + 30
            while True:
                try:
                    probe = http.client.HTTPConnection(HOST, port, timeout=1)
                    request(probe, "GET", "/_lamina/health", b"")
                    break
                except OSError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.05)
            conn = http.client.HTTPConnection(HOST, port, timeout=30)
            body = {
                "FunctionName": FUNCTION,
                "Runtime": "provided.al2023",
                "Role": ROLE,
                "Handler": "bootstrap",
                "Code": {"ZipFile": package()},
            }
            status, out = request(conn, "POST", "/2015-03-31/functions", json.dumps(body).encode())
            assert status == 201, out
            streamed_latencies(conn, 2)  # warm-up: the cold start
            first: list[float] = []
            every: list[float] = []
            for _ in range(invocations):
                latencies = streamed_latencies(conn, chunks)
                first.append(latencies[0])
                every.extend(latencies)
            floor = floor_latencies(invocations * chunks)
        finally:
            server.terminate()
            server.wait(10)
            log.close()
    print("response streaming: function write -> client receipt")
    print(f"  first chunk   {summary(first)}")
    print(f"  every chunk   {summary(every)}")
    print(f"  floor (socket between two processes) {summary(floor)}")
    verdict = "met" if statistics.median(first) <= TARGET_MS else "NOT met"
    print(f"  target: first chunk median <= {TARGET_MS} ms: {verdict}")


if __name__ == "__main__":
    main()
