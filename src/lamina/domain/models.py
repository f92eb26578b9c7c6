"""Pure data: the configuration of one function version, and its wire form."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from lamina.domain.arns import function_arn, runtime_version_arn

LATEST = "$LATEST"

DEFAULT_TIMEOUT = 3
DEFAULT_MEMORY = 128
DEFAULT_EPHEMERAL = 512


@dataclass(frozen=True)
class FunctionLayer:
    """A layer version a function uses, as resolved when the function was configured: the
    function keeps it (and its package) even if the layer version is deleted later, as AWS
    does. ``code_sha256`` is the package's hex digest in the code store."""

    arn: str
    code_size: int
    code_sha256: str

    def to_wire(self) -> dict[str, Any]:
        return {"Arn": self.arn, "CodeSize": self.code_size}


@dataclass(frozen=True)
class FunctionConfig:
    """One version of a function ($LATEST or a published number): code plus settings.

    ``code_sha256`` is the hex digest of the zip (the blob's key in the code store);
    the wire's ``CodeSha256`` is its base64 form.
    """

    name: str
    region: str
    account: str
    role: str
    runtime: str | None
    handler: str | None
    code_sha256: str
    code_size: int
    last_modified: str
    revision_id: str
    version: str = LATEST
    description: str = ""
    timeout: int = DEFAULT_TIMEOUT
    memory_size: int = DEFAULT_MEMORY
    # None: the request never set Environment (and the wire omits it).
    environment: dict[str, str] | None = None
    ephemeral_storage: int = DEFAULT_EPHEMERAL
    architectures: tuple[str, ...] = ("x86_64",)
    package_type: str = "Zip"
    tracing_mode: str = "PassThrough"
    log_format: str = "Text"
    log_group: str | None = None
    application_log_level: str | None = None
    system_log_level: str | None = None
    state: str = "Pending"
    state_reason: str | None = "The function is being created."
    state_reason_code: str | None = "Creating"
    last_update_status: str | None = None
    last_update_status_reason: str | None = None
    last_update_status_reason_code: str | None = None
    # Layers in order: merged into the environment's /opt (later ones overwrite earlier files).
    layers: tuple[FunctionLayer, ...] = ()
    # A published version: the fingerprint (``domain.versions.fingerprint``) of the $LATEST it
    # was published from, so PublishVersion with nothing changed answers this version again.
    published_from: str | None = None
    # SnapStart.ApplyOn: "None" or "PublishedVersions" (stored and echoed; versions published
    # with PublishedVersions report OptimizationStatus On, as on AWS; Lamina restores nothing).
    snap_start_apply_on: str = "None"
    # Wire members Lamina stores and echoes but does not act on yet
    # (VpcConfig, DeadLetterConfig, KMSKeyArn, FileSystemConfigs, ImageConfigResponse...).
    passthrough: dict[str, Any] = field(default_factory=dict)

    @cached_property  # asked on every invocation (frozen: computed once per version)
    def arn(self) -> str:
        return function_arn(self.region, self.account, self.name)

    @property
    def qualified_arn(self) -> str:
        return function_arn(self.region, self.account, self.name, self.version)

    @property
    def effective_log_group(self) -> str:
        return self.log_group or f"/aws/lambda/{self.name}"

    @property
    def code_sha256_b64(self) -> str:
        import base64

        return base64.b64encode(bytes.fromhex(self.code_sha256)).decode()

    def snap_start_to_wire(self) -> dict[str, str]:
        """``SnapStart``: ``OptimizationStatus`` is On only for a published version of a
        function whose ``ApplyOn`` is ``PublishedVersions`` ($LATEST is never optimized)."""
        optimized = self.snap_start_apply_on == "PublishedVersions" and self.version != LATEST
        status = "On" if optimized else "Off"
        return {"ApplyOn": self.snap_start_apply_on, "OptimizationStatus": status}

    def replace(self, **changes: Any) -> FunctionConfig:
        return dataclasses.replace(self, **changes)

    def to_wire(self, *, listing: bool = False, qualified: bool = False) -> dict[str, Any]:
        """The FunctionConfiguration shape, with AWS's defaults and member order.

        ``FunctionArn`` is unqualified for ``$LATEST`` unless ``qualified`` (the caller named
        ``$LATEST`` explicitly, or ListFunctions with ``FunctionVersion=ALL``), as AWS's is."""
        out: dict[str, Any] = {
            "FunctionName": self.name,
            "FunctionArn": (
                self.arn if self.version == LATEST and not qualified else self.qualified_arn
            ),
        }
        if self.runtime is not None:
            out["Runtime"] = self.runtime
        out["Role"] = self.role
        if self.handler is not None:
            out["Handler"] = self.handler
        out.update(
            {
                "CodeSize": self.code_size,
                "Description": self.description,
                "Timeout": self.timeout,
                "MemorySize": self.memory_size,
                "LastModified": self.last_modified,
                "CodeSha256": self.code_sha256_b64,
                "Version": self.version,
                "TracingConfig": {"Mode": self.tracing_mode},
                "RevisionId": self.revision_id,
                "PackageType": self.package_type,
                "Architectures": list(self.architectures),
                "EphemeralStorage": {"Size": self.ephemeral_storage},
                "SnapStart": self.snap_start_to_wire(),
            }
        )
        if self.environment is not None:
            out["Environment"] = {"Variables": dict(self.environment)}
        logging_config: dict[str, Any] = {"LogFormat": self.log_format}
        if self.application_log_level:
            logging_config["ApplicationLogLevel"] = self.application_log_level
        if self.system_log_level:
            logging_config["SystemLogLevel"] = self.system_log_level
        logging_config["LogGroup"] = self.effective_log_group
        out["LoggingConfig"] = logging_config
        if self.layers:
            out["Layers"] = [layer.to_wire() for layer in self.layers]
        # An empty KMSKeyArn is Lambda's default key, which AWS does not name.
        out.update((k, v) for k, v in self.passthrough.items() if v != "")
        if listing:
            return out
        out["State"] = self.state
        for key, value in (
            ("StateReason", self.state_reason),
            ("StateReasonCode", self.state_reason_code),
            ("LastUpdateStatus", self.last_update_status),
            ("LastUpdateStatusReason", self.last_update_status_reason),
            ("LastUpdateStatusReasonCode", self.last_update_status_reason_code),
        ):
            if value is not None:
                out[key] = value
        if self.runtime is not None:
            out["RuntimeVersionConfig"] = {
                "RuntimeVersionArn": runtime_version_arn(self.region, self.runtime)
            }
        return out

    def to_record(self) -> dict[str, Any]:
        """A JSON-able dict for the store."""
        record = dataclasses.asdict(self)
        record["architectures"] = list(self.architectures)
        record["layers"] = [dataclasses.asdict(layer) for layer in self.layers]
        if record["snap_start_apply_on"] == "None":
            # Left out at its default: records (and version fingerprints) stay as they were
            # before SnapStart was stored.
            del record["snap_start_apply_on"]
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> FunctionConfig:
        data = dict(record)
        data["architectures"] = tuple(data.get("architectures") or ("x86_64",))
        data["layers"] = tuple(FunctionLayer(**layer) for layer in data.get("layers") or ())
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
