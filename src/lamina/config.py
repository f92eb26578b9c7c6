"""Server settings: command-line flags, then environment variables, then defaults."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lamina.domain.log_retention import parse_retention_days
from lamina.runtime.cpu_policy import CPU_POLICIES, DEFAULT_CPU_POLICY

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
QUEUE_DURABILITY = ("kill", "power-loss")
# Permissions (docs/security.md "Permissions"): IAM policies are not evaluated (off), evaluated
# and their would-be denials logged (audit), or enforced with AWS's AccessDenied (enforce).
IAM_MODES = ("off", "audit", "enforce")
# Signatures (docs/security.md "Signatures"): off accepts any well-formed signature from a key
# the server does not know (as the account's root) and verifies the keys it knows; verify
# requires a known key and a valid signature. Default: off on loopback, else verify.
AUTH_MODES = ("off", "verify")
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
# Lines of its output one environment may log a second (runtime/runtime_output.py).
DEFAULT_LOG_LINES_PER_SECOND = 10_000


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
    # How isolated environments get their CPU share (runtime/cpu_policy.py,
    # docs/isolation.md): boost | burst | quota | weight.
    cpu_policy: str = DEFAULT_CPU_POLICY
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
    # Seconds an update of a function stays LastUpdateStatus InProgress before it applies.
    function_update_seconds: float = 0.0
    log_retention_days: int | None = None
    log_storage_mb: int = DEFAULT_LOG_STORAGE_MB
    log_lines_per_second: int = DEFAULT_LOG_LINES_PER_SECOND
    # Milliseconds after which a stall of the event loop is reported (0: not watched).
    stall_report_ms: int = 0
    queue_durability: str = "kill"
    queue_max_messages: int = 1_000_000
    iam: str = "off"
    # off | verify; empty: off when listening on loopback, else verify (``auth_mode``).
    auth: str = ""
    # The account root's access key (docs/security.md): given, else created at first start.
    root_access_key_id: str = ""
    root_secret_access_key: str = ""
    # The master key sealing secrets at rest (base64 of 32 bytes; docs/security.md); empty:
    # the data directory's master.key, created at first start. Never shown in a repr.
    kms_key: str = field(default="", repr=False)

    @property
    def auth_mode(self) -> str:
        if self.auth:
            return self.auth
        loopback = self.host in ("localhost", "::1") or self.host.startswith("127.")
        return "off" if loopback else "verify"

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
        """Each setting from ``overrides`` (parsed flags; None: not given), else its
        ``LAMINA_*`` environment variable, else its default. Raises ``SettingsError``
        naming the variable whose value is not valid."""
        values: dict[str, object] = {}
        for option in OPTIONS:
            text = os.environ.get(option.env, "")
            if text:
                try:
                    values[option.field] = option.parse(text)
                except ValueError as exc:
                    raise SettingsError(f"{option.env}={text!r}: {exc}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["log_retention_days"] = values.get("log_retention_days") or None  # 0: never
        data_dir = values.get("data_dir") or default_data_dir()
        values["data_dir"] = Path(str(data_dir)).expanduser().resolve()
        if bool(values.get("root_access_key_id")) != bool(values.get("root_secret_access_key")):
            raise SettingsError(
                "--root-access-key-id and --root-secret-access-key go together: give both"
            )
        return cls(**values)  # type: ignore[arg-type]


class SettingsError(ValueError):
    """A setting's environment variable holds a value it cannot take."""


# --- the table of settings: field, flag (--field-name), variable (LAMINA_FIELD_NAME) -----


def non_negative_int(text: str) -> int:
    return _at_least(int(text), 0)


def positive_int(text: str) -> int:
    return _at_least(int(text), 1)


def non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise ValueError(f"must be >= 0: {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError(f"must be > 0: {text}")
    return value


def retention_days(text: str) -> int:
    return parse_retention_days(text) or 0


def _at_least(value: int, minimum: int) -> int:
    if value < minimum:
        raise ValueError(f"must be >= {minimum}: {value}")
    return value


def _one_of(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return text

    parse.__name__ = "choice"
    return parse


@dataclass(frozen=True)
class Option:
    """One server setting: its ``Settings`` field, how its text is read (flag or
    environment variable; raises ValueError), its help and the default shown there."""

    field: str
    parse: Callable[[str], object]
    help: str
    default_text: str = ""
    choices: tuple[str, ...] | None = None
    has_flag: bool = True

    @property
    def flag(self) -> str:
        return "--" + self.field.replace("_", "-")

    @property
    def env(self) -> str:
        return "LAMINA_" + self.field.upper()

    @property
    def full_help(self) -> str:
        """The help, the variable, and the default (``default_text``, else the field's)."""
        default = self.default_text or _shown(getattr(Settings, self.field, ""))
        return f"{self.help} (env {self.env}{'; ' + default if default else ''})"


def _shown(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _choice(field: str, choices: tuple[str, ...], help: str) -> Option:
    return Option(field, _one_of(*choices), help, choices=choices)


OPTIONS: tuple[Option, ...] = (
    Option("host", str, "address to listen on"),
    Option("port", positive_int, "port to listen on"),
    Option("data_dir", str, "state directory", "~/.local/share/lamina"),
    Option("account_id", str, "account id in ARNs"),
    Option("region", str, "the default region: served to requests signed for no AWS region"),
    Option("public_url", str, "URL functions and Code.Location use", has_flag=False),
    Option("idle_timeout", positive_float, "seconds an idle environment stays warm"),
    _choice(
        "isolation",
        ("auto", "linux", "process"),
        "run functions isolated (linux), not (process), or isolated when possible (auto)",
    ),
    _choice(
        "function_network",
        ("none", "host"),
        "functions' outbound network: none (their own namespace, only Lamina is reachable) or host",
    ),
    _choice(
        "tmp_storage",
        ("memory", "disk"),
        "/tmp of isolated environments: disk (an ext4 of EphemeralStorage on a loop device, "
        "as on AWS: files in /tmp do not count against the function's memory; prepared "
        "ahead of need, so starts pay nothing for it) or memory (a tmpfs that counts "
        "against the function's memory)",
    ),
    _choice(
        "cpu_policy",
        CPU_POLICIES,
        "how isolated environments get their CPU share (MemorySize/1769 vCPU): boost (each "
        "invocation's first 10 ms run with up to one CPU, then burst's share: short "
        "invocations are never throttled), burst (the "
        "share over any few periods, 100 ms each at 128 MB, with CPU left unused while idle "
        "spent at full speed, up to 14.4 ms at once; needs Linux 5.14+, else quota), quota (a "
        "hard quota with a 10-14 ms period, no burst) or weight (no cap: full speed on an "
        "idle host, shares in proportion to memory only under contention)",
    ),
    Option("concurrency_limit", non_negative_int, "concurrent executions of the account"),
    Option(
        "unreserved_minimum",
        non_negative_int,
        "concurrency that reservations must leave unreserved, at most the limit",
    ),
    Option(
        "scaling_rate",
        positive_int,
        "new execution environments a function may add per scaling window",
    ),
    Option("scaling_window", positive_float, "seconds of the scaling window"),
    Option(
        "async_delay_scale",
        positive_float,
        "multiply the retry delays, backoffs and maximum event age of asynchronous "
        "invocations: 1 = AWS's schedule, 0.01 = a hundred times faster",
    ),
    Option(
        "code_storage_limit_mb",
        positive_int,
        "disk that code may take (packages, unpacked trees, merged layers): uploads beyond "
        "it get CodeStorageExceededException",
        f"{DEFAULT_CODE_STORAGE_LIMIT_MB}, AWS's 75 GB",
    ),
    _choice(
        "function_api_access",
        FUNCTION_API_ACCESS,
        "what functions may do with Lamina's API using their own credentials: nothing, "
        "operations on themselves, or everything in the account",
    ),
    Option("keep_alive_timeout", positive_int, "seconds an idle API connection stays open"),
    Option(
        "max_connections",
        positive_int,
        "open API connections at most; beyond it the longest-idle one is closed",
        f"{DEFAULT_MAX_CONNECTIONS}, at most half the open-files limit",
    ),
    Option(
        "host_memory_overcommit",
        positive_float,
        "the MemorySize of live environments may add up to the host's memory times this",
    ),
    Option(
        "host_cpu_overcommit",
        positive_float,
        "the CPU shares of live environments (MemorySize/1769 vCPU each) may add up to the "
        "host's cores times this",
    ),
    Option("max_cold_starts", positive_int, "environments initialising at once", "eight per core"),
    Option(
        "function_update_seconds",
        non_negative_float,
        "seconds an update of a function stays LastUpdateStatus InProgress (a version "
        "published with it Pending) before it applies, as AWS's take seconds",
        "0: milliseconds",
    ),
    Option(
        "admission_wait",
        non_negative_float,
        "seconds a synchronous invocation waits for room on the host before its 429",
    ),
    Option(
        "log_retention_days",
        retention_days,
        "retentionInDays of the log groups Lamina creates for functions: one of "
        "CloudWatch's values (1, 3, 5, 7, 14, 30, ... 3653), or 0 to never expire",
        "never, as on AWS",
    ),
    _choice(
        "queue_durability",
        QUEUE_DURABILITY,
        "what an acknowledged SQS message survives: kill (a SIGKILL or crash of the server; "
        "the commit reaches the operating system before the answer) or power-loss (also an "
        "operating-system crash or power cut: each commit waits for an fsync, about 0.2 ms more)",
    ),
    Option(
        "queue_max_messages",
        positive_int,
        "messages the queue service holds at most, all queues together (each costs about "
        "0.5 KB of memory); beyond it SendMessage answers a retryable RequestThrottled",
    ),
    Option(
        "log_storage_mb",
        non_negative_int,
        "size logs.sqlite3 may reach before its oldest events are deleted, 0 for no cap",
    ),
    Option(
        "log_lines_per_second",
        non_negative_int,
        "lines of its output each environment may log a second (one second's worth saved "
        "for bursts); a function writing faster waits on its output, 0 for no bound",
    ),
    _choice(
        "iam",
        IAM_MODES,
        "IAM policies: not evaluated (off), evaluated with each would-be denial logged "
        "(audit), or enforced with AWS's AccessDenied (enforce)",
    ),
    Option(
        "auth",
        _one_of(*AUTH_MODES),
        "signatures: off (a key the server does not know is accepted, as the account's root; "
        "known keys are verified) or verify (a known key and a valid signature are required)",
        "off on loopback, else verify",
        choices=AUTH_MODES,
    ),
    Option(
        "root_access_key_id",
        str,
        "the account root's access key id (with --root-secret-access-key)",
        "created at first start in the data directory",
    ),
    Option(
        "root_secret_access_key",
        str,
        "the account root's secret access key",
        "created at first start in the data directory",
    ),
    Option(
        "kms_key",
        str,
        "master key sealing environment variables and KMS keys at rest: the base64 of 32 "
        "random bytes (prefer the variable: a flag shows in the process list)",
        "the data directory's master.key, created at first start",
    ),
    Option(
        "stall_report_ms",
        non_negative_int,
        "a diagnostic: when the event loop is held this many milliseconds, every thread's "
        "stack is written to stderr (what held it up), 0 for off",
    ),
)
