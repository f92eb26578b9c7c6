"""End-to-end helpers: a real ``lamina server`` process and packaging helpers."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
ACCOUNT = "000000000000"
REGION = "us-east-1"
# What raw HTTP requests to the API must send: an AWS-style signature (checked for shape
# only for keys the server did not issue). boto3 and the AWS CLI send their own.
AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=test/20261206/us-east-1/lambda/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0000"
)
SIGNED = {"Authorization": AUTHORIZATION}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LaminaServer:
    data_dir: Path
    port: int = field(default_factory=free_port)
    idle_timeout: float = 60.0
    extra_args: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    # The address clients use (pass ``--host`` in ``extra_args`` to listen elsewhere).
    host: str = "127.0.0.1"

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self.log_path = self.data_dir.parent / f"server-{self.port}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - the server process owns it
        env = dict(os.environ)
        env.pop("LAMINA_PORT", None)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lamina.cli.main",
                "server",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--idle-timeout",
                str(self.idle_timeout),
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/_lamina/health", timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def stop(self, sig: int = 15) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise

    def client(self, service: str = "lambda", region: str = REGION, **config: Any) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1}, read_timeout=120, **config),
        )


def make_zip(files: dict[str, str | bytes], modes: dict[str, int] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = ((modes or {}).get(name, 0o644) & 0xFFFF) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buf.getvalue()


def unique(prefix: str = "fn") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create_python_function(
    client: Any,
    code: str,
    *,
    name: str | None = None,
    handler: str = "lambda_function.handler",
    runtime: str = "python3.11",
    **kwargs: Any,
) -> str:
    name = name or unique()
    client.create_function(
        FunctionName=name,
        Runtime=runtime,
        Role=ROLE,
        Handler=handler,
        Code={"ZipFile": make_zip({"lambda_function.py": code})},
        **kwargs,
    )
    client.get_waiter("function_active_v2").wait(FunctionName=name)
    return name


class Capture:
    """Keeps the raw HTTP response botocore is about to parse."""

    def __init__(self) -> None:
        self.last: dict[str, Any] = {}

    def __call__(self, response_dict: dict[str, Any], **_: Any) -> None:
        self.last = response_dict


AWS_CLI = Path(sys.executable).with_name("aws")


def aws_cli(
    server: LaminaServer,
    service: str,
    *args: str,
    check: bool = True,
    data_path: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``aws <service> <args> --endpoint-url <server>`` (the AWS CLI v1 of the venv), JSON
    output. ``data_path``: botocore models read first (``AWS_DATA_PATH``), e.g. an older SQS
    model that speaks the query protocol."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_PAGER": "",
    }
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_DATA_PATH"):
        env.pop(key, None)
    if data_path is not None:
        env["AWS_DATA_PATH"] = str(data_path)
    result = subprocess.run(
        [str(AWS_CLI), service, *args, "--endpoint-url", server.endpoint, "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result
