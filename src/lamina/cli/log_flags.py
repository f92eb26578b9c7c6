"""The ``lamina server`` flags that bound function logs (retention and storage size)."""

from __future__ import annotations

import argparse

from lamina.config import DEFAULT_LOG_STORAGE_MB
from lamina.domain.log_retention import parse_retention_days


def add_log_server_arguments(server: argparse.ArgumentParser) -> None:
    server.add_argument(
        "--log-retention-days",
        type=_retention_days,
        help="retentionInDays of the log groups Lamina creates for functions: one of "
        "CloudWatch's values (1, 3, 5, 7, 14, 30, ... 3653), or 0 to never expire "
        "(env LAMINA_LOG_RETENTION_DAYS; never, as on AWS)",
    )
    server.add_argument(
        "--log-storage-mb",
        type=_storage_mb,
        help="size logs.sqlite3 may reach before its oldest events are deleted, 0 for no cap "
        f"(env LAMINA_LOG_STORAGE_MB; {DEFAULT_LOG_STORAGE_MB})",
    )


def log_server_settings(args: argparse.Namespace) -> dict[str, int | None]:
    """The ``Settings`` overrides these flags give (None: not given)."""
    return {"log_retention_days": args.log_retention_days, "log_storage_mb": args.log_storage_mb}


def _retention_days(text: str) -> int:
    try:
        return parse_retention_days(text) or 0
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _storage_mb(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text}")
    return value
