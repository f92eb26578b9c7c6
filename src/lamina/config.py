"""Server settings: command-line flags, then environment variables, then defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lamina.domain.log_retention import parse_retention_days

DEFAULT_PORT = 9000
DEFAULT_HOST = "127.0.0.1"
DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"
DEFAULT_IDLE_TIMEOUT = 300.0
# Concurrency (see docs/concurrency.md): executions in flight per account, the part that
# must stay unreserved, and how fast one function may add execution environments.
DEFAULT_CONCURRENCY_LIMIT = 1000
DEFAULT_UNRESERVED_MINIMUM = 100
DEFAULT_SCALING_RATE = 1000
DEFAULT_SCALING_WINDOW = 10.0
# Asynchronous invocation (docs/async.md): multiplies AWS's retry delays, backoffs and
# MaximumEventAgeInSeconds (1.0 = AWS's schedule; 0.01 = a hundred times faster).
DEFAULT_ASYNC_DELAY_SCALE = 1.0
# Code storage (docs/security.md): AWS's 75 GB account quota, counted on disk (packages
# and their unpacked trees).
DEFAULT_CODE_STORAGE_LIMIT_MB = 76800
# The API port (docs/security.md): what functions may call through their relayed API
# (none | self | account), idle keep-alive seconds, and the connection cap.
FUNCTION_API_ACCESS = ("none", "self", "account")
DEFAULT_FUNCTION_API_ACCESS = "account"
DEFAULT_KEEP_ALIVE_TIMEOUT = 30
DEFAULT_MAX_CONNECTIONS = 4096
# Host admission (docs/concurrency.md, runtime/admission.py): the environments' MemorySize
# and CPU shares may add up to the host's memory and cores times these; environments
# initialising at once (0: eight per core); seconds a synchronous invocation waits for room.
DEFAULT_HOST_MEMORY_OVERCOMMIT = 2.0
DEFAULT_HOST_CPU_OVERCOMMIT = 8.0
DEFAULT_MAX_COLD_STARTS = 0
DEFAULT_ADMISSION_WAIT = 10.0
# Logs (docs/security.md): retentionInDays of the log groups Lamina creates (None: never
# expire, as on AWS) and the size logs.sqlite3 may reach before its oldest events go (0: no cap).
DEFAULT_LOG_STORAGE_MB = 1024


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return Path(base) / "lamina"


@dataclass(frozen=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    data_dir: Path = Path(".")
    account_id: str = DEFAULT_ACCOUNT
    region: str = DEFAULT_REGION
    # Seconds an idle execution environment is kept warm before it is stopped.
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    # auto | linux | process: see runtime/isolation.py.
    isolation: str = "auto"
    # Outbound network of functions: none (own network namespace) | host.
    function_network: str = "none"
    # /tmp of isolated environments: disk (an ext4 on a loop device, as on AWS) | memory
    # (a tmpfs counted against the function's memory).
    tmp_storage: str = "disk"
    # Public base URL clients use to reach the server (for Code.Location, AWS_ENDPOINT_URL).
    public_url: str = ""
    # Concurrent executions of the account (AccountLimit.ConcurrentExecutions).
    concurrency_limit: int = DEFAULT_CONCURRENCY_LIMIT
    # Reservations must leave this much unreserved (capped at concurrency_limit).
    unreserved_minimum: int = DEFAULT_UNRESERVED_MINIMUM
    # New execution environments a function may add per scaling_window seconds.
    scaling_rate: int = DEFAULT_SCALING_RATE
    scaling_window: float = DEFAULT_SCALING_WINDOW
    async_delay_scale: float = DEFAULT_ASYNC_DELAY_SCALE
    code_storage_limit_mb: int = DEFAULT_CODE_STORAGE_LIMIT_MB
    function_api_access: str = DEFAULT_FUNCTION_API_ACCESS
    keep_alive_timeout: int = DEFAULT_KEEP_ALIVE_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    host_memory_overcommit: float = DEFAULT_HOST_MEMORY_OVERCOMMIT
    host_cpu_overcommit: float = DEFAULT_HOST_CPU_OVERCOMMIT
    max_cold_starts: int = DEFAULT_MAX_COLD_STARTS
    admission_wait: float = DEFAULT_ADMISSION_WAIT
    log_retention_days: int | None = None
    log_storage_mb: int = DEFAULT_LOG_STORAGE_MB

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def connect_host(self) -> str:
        """The address Lamina's own relay connects to (a wildcard means loopback)."""
        if self.host in ("0.0.0.0", ""):
            return "127.0.0.1"
        return "::1" if self.host == "::" else self.host

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        values: dict[str, object] = {
            "host": env.get("LAMINA_HOST", DEFAULT_HOST),
            "port": int(env.get("LAMINA_PORT", DEFAULT_PORT)),
            "data_dir": Path(env.get("LAMINA_DATA_DIR") or default_data_dir()),
            "account_id": env.get("LAMINA_ACCOUNT_ID", DEFAULT_ACCOUNT),
            "region": env.get("LAMINA_REGION", DEFAULT_REGION),
            "idle_timeout": float(env.get("LAMINA_IDLE_TIMEOUT", DEFAULT_IDLE_TIMEOUT)),
            "public_url": env.get("LAMINA_PUBLIC_URL", ""),
            "isolation": env.get("LAMINA_ISOLATION", "auto"),
            "function_network": env.get("LAMINA_FUNCTION_NETWORK", "none"),
            "tmp_storage": env.get("LAMINA_TMP_STORAGE", "disk"),
            "concurrency_limit": int(
                env.get("LAMINA_CONCURRENCY_LIMIT", DEFAULT_CONCURRENCY_LIMIT)
            ),
            "unreserved_minimum": int(
                env.get("LAMINA_UNRESERVED_MINIMUM", DEFAULT_UNRESERVED_MINIMUM)
            ),
            "scaling_rate": int(env.get("LAMINA_SCALING_RATE", DEFAULT_SCALING_RATE)),
            "scaling_window": float(env.get("LAMINA_SCALING_WINDOW", DEFAULT_SCALING_WINDOW)),
            "async_delay_scale": float(
                env.get("LAMINA_ASYNC_DELAY_SCALE", DEFAULT_ASYNC_DELAY_SCALE)
            ),
            "code_storage_limit_mb": int(
                env.get("LAMINA_CODE_STORAGE_LIMIT_MB", DEFAULT_CODE_STORAGE_LIMIT_MB)
            ),
            "function_api_access": env.get(
                "LAMINA_FUNCTION_API_ACCESS", DEFAULT_FUNCTION_API_ACCESS
            ),
            "keep_alive_timeout": int(
                env.get("LAMINA_KEEP_ALIVE_TIMEOUT", DEFAULT_KEEP_ALIVE_TIMEOUT)
            ),
            "max_connections": int(env.get("LAMINA_MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS)),
            "host_memory_overcommit": float(
                env.get("LAMINA_HOST_MEMORY_OVERCOMMIT", DEFAULT_HOST_MEMORY_OVERCOMMIT)
            ),
            "host_cpu_overcommit": float(
                env.get("LAMINA_HOST_CPU_OVERCOMMIT", DEFAULT_HOST_CPU_OVERCOMMIT)
            ),
            "max_cold_starts": int(env.get("LAMINA_MAX_COLD_STARTS", DEFAULT_MAX_COLD_STARTS)),
            "admission_wait": float(env.get("LAMINA_ADMISSION_WAIT", DEFAULT_ADMISSION_WAIT)),
            "log_retention_days": parse_retention_days(env.get("LAMINA_LOG_RETENTION_DAYS", "")),
            "log_storage_mb": int(env.get("LAMINA_LOG_STORAGE_MB", DEFAULT_LOG_STORAGE_MB)),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["log_retention_days"] = values["log_retention_days"] or None  # 0: never expire
        values["data_dir"] = Path(str(values["data_dir"])).expanduser().resolve()
        return cls(**values)  # type: ignore[arg-type]
