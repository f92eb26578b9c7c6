"""Code signing configurations (CreateCodeSigningConfig ... ListFunctionsByCodeSigningConfig)
and what they mean for a zip upload.

Lamina has no signing service (AWS Signer), so "signed by a signing profile" is a label, not
cryptography: a zip package is **trusted** when its archive comment (the zip format's
end-of-archive comment, ``zip -z`` or ``ZipFile.comment``) is ``lamina-signed-by:<ARN>``
with ``<ARN>`` one of the configuration's ``AllowedPublishers.SigningProfileVersionArns``.
It lets a deployment pipeline be tested against both policies; it proves nothing about who
built the package. For a function with a configuration, CreateFunction and
UpdateFunctionCode check the zip they upload: an untrusted one is refused under
``Enforce`` (AWS's ``CodeVerificationFailedException``) and accepted with a warning log
line under ``Warn`` (the default). Container images are not checked (as on AWS).
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone

from lamina.domain.errors import (
    AwsError,
    InvalidParameterValueException,
    ResourceConflictException,
    ResourceNotFoundException,
)
from lamina.domain.ids import random_hex
from lamina.domain.names import StringShape, constraint_error, validation_exception
from lamina.services.function_catalog import FunctionCatalog
from lamina.store.code_signing_store import CodeSigningConfigRecord, SqliteCodeSigningStore

log = logging.getLogger("lamina.code_signing")

WARN = "Warn"
ENFORCE = "Enforce"
SIGNED_BY = "lamina-signed-by:"
# Code signing configurations per account and region (AWS's quota is adjustable; bounded).
MAX_CONFIGS = 1000
DEFAULT_PAGE = 50
CONFIG_ARN = StringShape(
    0,
    200,
    r"arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}"
    r":code-signing-config:csc-[a-z0-9]{17}",
)
PROFILE_ARN = StringShape(
    0,
    10000,
    r"arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+"
    r"-\d{1})?:(\d{12})?:(.*)",
)


class CodeSigningConfigNotFoundException(AwsError):
    code = "CodeSigningConfigNotFoundException"
    status = 404
    message_key = "Message"


class CodeVerificationFailedException(AwsError):
    code = "CodeVerificationFailedException"
    status = 400
    message_key = "Message"


class ConfigNotFound(ResourceNotFoundException):
    """A configuration the request names by ARN does not exist (no ``Type`` recorded)."""

    typed = False


@dataclass(frozen=True)
class ConfigChanges:
    """What CreateCodeSigningConfig sets or UpdateCodeSigningConfig changes (None: keep)."""

    description: str | None = None
    publishers: tuple[str, ...] | None = None
    policy: str | None = None


@dataclass(frozen=True)
class ConfigPage:
    configs: list[CodeSigningConfigRecord]
    next_marker: str | None


class CodeSigningService:
    """One region's code signing configurations and their functions."""

    def __init__(
        self, store: SqliteCodeSigningStore, catalog: FunctionCatalog, region: str, account: str
    ) -> None:
        self._store = store
        self._catalog = catalog
        self.region = region
        self.account = account

    def close(self) -> None:
        self._store.close()

    # --- configurations ---------------------------------------------------------------------

    def create(self, changes: ConfigChanges) -> CodeSigningConfigRecord:
        _check_changes(changes)
        if self._store.count() >= MAX_CONFIGS:
            raise InvalidParameterValueException(
                f"You have reached the maximum of {MAX_CONFIGS} code signing configurations."
            )
        config_id = "csc-" + random_hex(9)[:17]
        record = CodeSigningConfigRecord(
            arn=f"arn:aws:lambda:{self.region}:{self.account}:code-signing-config:{config_id}",
            config_id=config_id,
            description=changes.description or "",
            publishers=changes.publishers or (),
            policy=changes.policy or WARN,
            last_modified=_now(),
        )
        self._store.put(record)
        return record

    def get(self, arn: str) -> CodeSigningConfigRecord:
        return self._require(arn)

    def update(self, arn: str, changes: ConfigChanges) -> CodeSigningConfigRecord:
        current = self._require(arn)
        _check_changes(changes)
        if changes == ConfigChanges():
            return current
        record = CodeSigningConfigRecord(
            arn=current.arn,
            config_id=current.config_id,
            description=current.description if changes.description is None else changes.description,
            publishers=current.publishers if changes.publishers is None else changes.publishers,
            policy=current.policy if changes.policy is None else changes.policy,
            last_modified=_now(),
        )
        self._store.put(record)
        return record

    def delete(self, arn: str) -> None:
        self._require(arn)
        if not self._store.delete(arn):
            raise ResourceConflictException(
                f"The code signing configuration {arn} is used by one or more functions:"
                " detach it from them first."
            )

    def list_configs(self, marker: str | None, max_items: int | None) -> ConfigPage:
        configs = self._store.list_all()
        start = _start_of(marker, len(configs))
        size = max_items or DEFAULT_PAGE
        page = configs[start : start + size]
        more = start + size < len(configs)
        return ConfigPage(page, str(start + size) if more else None)

    def list_functions(
        self, arn: str, marker: str | None, max_items: int | None
    ) -> tuple[list[str], str | None]:
        self._require(arn)
        names = self._store.functions_of(arn)
        start = _start_of(marker, len(names))
        size = max_items or DEFAULT_PAGE
        arns = [self._function_arn(n) for n in names[start : start + size]]
        return arns, (str(start + size) if start + size < len(names) else None)

    # --- functions ---------------------------------------------------------------------------

    def put_function(self, name: str, arn: str) -> None:
        """Attach: the configuration is checked before the function (as AWS does)."""
        if self._store.get(_checked_arn(arn)) is None:
            raise _config_not_found(arn)
        self._catalog.require(name)
        if not self._store.attach(name, arn):
            self._catalog.require(name)  # the function went meanwhile: its 404
            raise _config_not_found(arn)

    def function_config(self, name: str) -> str | None:
        """The ARN of the function's configuration (None: none); 404 if no function."""
        self._catalog.require(name)
        return self._store.config_of(name)

    def delete_function(self, name: str) -> None:
        self._catalog.require(name)
        self._store.detach(name)

    def require_for_create(self, arn: str) -> CodeSigningConfigRecord:
        """CreateFunction's ``CodeSigningConfigArn``: the configuration, or AWS's 404."""
        found = self._store.get(_checked_arn(arn))
        if found is None:
            raise _config_not_found(arn)
        return found

    def attach_created(self, name: str, arn: str) -> None:
        """Link a function just created with ``CodeSigningConfigArn``."""
        self._store.attach(name, arn)

    def config_of(self, name: str) -> CodeSigningConfigRecord | None:
        arn = self._store.config_of(name)
        return self._store.get(arn) if arn else None

    def verify_upload(self, config: CodeSigningConfigRecord, zip_bytes: bytes, name: str) -> None:
        """Apply ``config``'s policy to a zip upload of function ``name`` (module doc)."""
        signer = signed_by(zip_bytes)
        if signer is not None and signer in config.publishers:
            return
        if config.policy == ENFORCE:
            raise CodeVerificationFailedException(
                "Lambda cannot deploy the function. The function or layer might be signed using"
                " a signature that the client is not configured to accept. Check the provided"
                f" signature for {self._function_arn(name)}."
            )
        log.warning(
            "function %s: the uploaded package is not signed by a profile of %s"
            " (UntrustedArtifactOnDeployment=Warn: deployed anyway)",
            name,
            config.arn,
        )

    # --- helpers -----------------------------------------------------------------------------

    def _require(self, arn: str) -> CodeSigningConfigRecord:
        found = self._store.get(_checked_arn(arn))
        if found is None:
            raise ConfigNotFound(f"The Lambda code signing configuration {arn} can not be found.")
        return found

    def _function_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"


def signed_by(zip_bytes: bytes) -> str | None:
    """The signing profile ARN a zip's archive comment names, or None."""
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            comment = archive.comment.decode("utf-8", "replace").strip()
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    return comment[len(SIGNED_BY) :].strip() if comment.startswith(SIGNED_BY) else None


def _checked_arn(arn: str) -> str:
    errors = CONFIG_ARN.errors("codeSigningConfigArn", arn)
    if errors:
        raise validation_exception(errors)
    return arn


def _check_changes(changes: ConfigChanges) -> None:
    errors: list[str] = []
    if changes.description is not None and len(changes.description) > 256:
        errors.append(
            constraint_error(
                "description",
                changes.description,
                "Member must have length less than or equal to 256",
            )
        )
    if changes.publishers is not None:
        count = len(changes.publishers)
        if count > 20 or count < 1:
            bound = "less than or equal to 20" if count > 20 else "greater than or equal to 1"
            errors.append(
                constraint_error(
                    "allowedPublishers.signingProfileVersionArns",
                    list(changes.publishers),
                    f"Member must have length {bound}",
                )
            )
        for arn in changes.publishers:
            if PROFILE_ARN.failed(arn):
                raise InvalidParameterValueException(f"Invalid signing profile version ARN: {arn}")
    if changes.policy is not None and changes.policy not in (WARN, ENFORCE):
        errors.append(
            constraint_error(
                "codeSigningPolicies.untrustedArtifactOnDeployment",
                changes.policy,
                "Member must satisfy enum value set: [Enforce, Warn]",
            )
        )
    if errors:
        raise validation_exception(errors)


def _config_not_found(arn: str) -> CodeSigningConfigNotFoundException:
    return CodeSigningConfigNotFoundException(
        "The code signing configuration cannot be found. Check that the provided configuration"
        f" is not deleted: {arn}."
    )


def _start_of(marker: str | None, total: int) -> int:
    if marker is None:
        return 0
    if not re.fullmatch(r"\d{1,9}", marker) or int(marker) > total:
        raise InvalidParameterValueException("Invalid marker")
    return int(marker)


def _now() -> str:
    moment = datetime.now(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"
