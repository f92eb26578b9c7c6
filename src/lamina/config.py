"""Server settings: command-line flags, then environment variables, then defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

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
    # /tmp of isolated environments: memory (tmpfs) | disk (ext4 on a loop device).
    tmp_storage: str = "memory"
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

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

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
            "tmp_storage": env.get("LAMINA_TMP_STORAGE", "memory"),
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
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["data_dir"] = Path(str(values["data_dir"])).expanduser().resolve()
        return cls(**values)  # type: ignore[arg-type]
