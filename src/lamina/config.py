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
    # Public base URL clients use to reach the server (for Code.Location, AWS_ENDPOINT_URL).
    public_url: str = ""

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
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["data_dir"] = Path(str(values["data_dir"])).expanduser().resolve()
        return cls(**values)  # type: ignore[arg-type]
