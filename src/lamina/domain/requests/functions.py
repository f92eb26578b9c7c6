"""What the function operations ask and answer, typed.

A ``None`` field is a member the request did not set (an update leaves the setting as it
is); the api layer (``api.lambda_wire.functions``) builds these from the wire and renders the
results.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lamina.domain.models import FunctionConfig


@dataclass(frozen=True)
class CodeSource:
    """Where a deployment package comes from: its zip's bytes, an S3 object or an image
    (Lamina takes only the zip)."""

    zip_file: bytes | None = None
    s3_bucket: str | None = None
    s3_key: str | None = None
    image_uri: str | None = None


@dataclass(frozen=True)
class LoggingSettings:
    """``LoggingConfig``: each member None when not given."""

    log_format: str | None = None
    log_group: str | None = None
    application_log_level: str | None = None
    system_log_level: str | None = None


@dataclass(frozen=True)
class FunctionSettings:
    """The configuration CreateFunction and UpdateFunctionConfiguration share.

    ``environment``: the variables when ``Environment`` was given (empty for none);
    ``tracing_mode``: ``PassThrough`` when ``TracingConfig`` was given without a mode;
    ``layers``: layer version ARNs, resolved by the service; ``passthrough``: members Lamina
    stores and echoes without acting on them (VpcConfig, DeadLetterConfig...), by member name.
    """

    role: str | None = None
    handler: str | None = None
    runtime: str | None = None
    description: str | None = None
    timeout: int | None = None
    memory_size: int | None = None
    environment: Mapping[str, str] | None = None
    ephemeral_storage: int | None = None
    tracing_mode: str | None = None
    logging: LoggingSettings | None = None
    layers: tuple[str, ...] | None = None
    passthrough: Mapping[str, Any] = field(default_factory=dict)
    # SnapStart.ApplyOn when SnapStart was given ("None" when given without ApplyOn).
    snap_start_apply_on: str | None = None

    def apply_to(self, config: FunctionConfig) -> FunctionConfig:
        """``config`` with every given setting but the layers (which the service resolves)."""
        changes: dict[str, Any] = {}
        for name in ("role", "handler", "runtime", "description", "timeout", "memory_size"):
            value = getattr(self, name)
            if value is not None:
                changes[name] = value
        if self.environment is not None:
            changes["environment"] = dict(self.environment)
        if self.ephemeral_storage is not None:
            changes["ephemeral_storage"] = self.ephemeral_storage
        if self.tracing_mode is not None:
            changes["tracing_mode"] = self.tracing_mode
        if self.snap_start_apply_on is not None:
            changes["snap_start_apply_on"] = self.snap_start_apply_on
        if self.logging is not None:
            changes.update(_logging_changes(config, self.logging))
        passthrough = {**config.passthrough, **self.passthrough}
        if passthrough != config.passthrough:
            changes["passthrough"] = passthrough
        return config.replace(**changes) if changes else config


def _logging_changes(config: FunctionConfig, logging: LoggingSettings) -> dict[str, Any]:
    """JSON format carries both levels (default INFO, kept across updates); Text drops them;
    the log group changes only when given."""
    log_format = logging.log_format or config.log_format
    changes: dict[str, Any] = {"log_format": log_format}
    if logging.log_group is not None:
        changes["log_group"] = logging.log_group
    if log_format == "JSON":
        changes["application_log_level"] = (
            logging.application_log_level or config.application_log_level or "INFO"
        )
        changes["system_log_level"] = logging.system_log_level or config.system_log_level or "INFO"
    else:
        changes["application_log_level"] = None
        changes["system_log_level"] = None
    return changes


@dataclass(frozen=True)
class CreateFunctionRequest:
    name: str
    settings: FunctionSettings
    code: CodeSource
    architectures: tuple[str, ...] | None = None
    package_type: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    publish: bool = False


@dataclass(frozen=True)
class CreatedFunction:
    """CreateFunction's answer: ``$LATEST`` as created (``Pending``), and the version
    published with it (``Publish``)."""

    config: FunctionConfig
    published: FunctionConfig | None = None


@dataclass(frozen=True)
class UpdateFunctionCodeRequest:
    name: str
    qualifier: str | None
    code: CodeSource
    architectures: tuple[str, ...] | None = None
    publish: bool = False
    dry_run: bool = False
    revision_id: str | None = None


@dataclass(frozen=True)
class UpdateFunctionConfigurationRequest:
    name: str
    qualifier: str | None
    settings: FunctionSettings
    revision_id: str | None = None


@dataclass(frozen=True)
class FunctionDetails:
    """GetFunction's answer (the service's part: ``Concurrency`` is ConcurrencyService's).

    ``qualifier``: as asked (the configuration's FunctionArn is the one asked for);
    ``tags``: the function's, shown for ``$LATEST`` only (None otherwise or when it has none).
    """

    config: FunctionConfig
    qualifier: str | None
    code_location: str
    tags: Mapping[str, str] | None


@dataclass(frozen=True)
class FunctionPage:
    """One ListFunctions page: each function's ``$LATEST`` (followed by its published
    versions when all versions were asked for)."""

    configs: list[FunctionConfig]
    all_versions: bool
    next_marker: str | None


@dataclass(frozen=True)
class CodeUsage:
    """The account's code storage: ``total_code_size`` (every function and layer version's
    zip), ``function_count``, and the configured limit on what code takes on disk."""

    total_code_size: int
    function_count: int
    limit_bytes: int
