"""Layers: one layer version and its wire forms, request validation, permission statements.

A layer is a name with immutable, numbered versions (1, 2, ...; a number is never reused, even
after its version is deleted). Each version is a zip (stored by sha256 like function code) plus
metadata. Functions reference up to five layer versions by ARN; their content is merged, in
order, into the function's ``/opt``.

The messages and constraint texts here are AWS's as recorded (shared/aws-recorded/lambda,
``TestLambdaLayer``) unless marked unverified. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lamina.domain.arns import layer_arn
from lamina.domain.errors import InvalidParameterValueException, ValidationException
from lamina.domain.function_rules import MAX_UNZIPPED_BYTES, NEWER_RUNTIMES, SUPPORTED_RUNTIMES
from lamina.domain.names import StringShape, constraint_error, validation_exception
from lamina.domain.validation import S3_BUCKET, S3_KEY

ARCHITECTURES: tuple[str, ...] = ("x86_64", "arm64")
MAX_COMPATIBLE_RUNTIMES = 15
MAX_COMPATIBLE_ARCHITECTURES = 2
LIST_PAGE_LIMIT = 50

# The service's whole Runtime enum, exactly as ListLayers prints it for an unknown
# CompatibleRuntime (recorded 2026-01). PublishLayerVersion accepts all of these (deprecated
# runtimes included: test_layer_compatibilities) but prints only SUPPORTED_RUNTIMES.
RUNTIME_ENUM: tuple[str, ...] = (
    "ruby3.5", "ruby2.6", "dotnetcore1.0", "python3.7", "nodejs8.10", "nasa", "ruby2.7",
    "python2.7-greengrass", "dotnetcore2.0", "python3.8", "java21", "dotnet6", "dotnetcore2.1",
    "python3.9", "java11", "nodejs6.10", "provided", "dotnetcore3.1", "dotnet8", "java25",
    "java17", "nodejs", "nodejs4.3", "java8.al2", "go1.x", "dotnet10", "nodejs20.x", "go1.9",
    "byol", "nodejs10.x", "provided.al2023", "nodejs22.x", "python3.10", "java8", "nodejs12.x",
    "python3.11", "nodejs24.x", "nodejs8.x", "python3.12", "nodejs14.x", "nodejs8.9",
    "nodejs26.x", "python3.13", "python3.14", "nodejs16.x", "python3.15", "provided.al2",
    "nodejs4.3-edge", "nodejs18.x", "ruby3.2", "python3.4", "ruby3.3", "ruby3.4", "ruby2.5",
    "python3.6", "python2.7",
)  # fmt: skip
ACCEPTED_RUNTIMES: frozenset[str] = frozenset(RUNTIME_ENUM) | frozenset(NEWER_RUNTIMES)

_REGION = r"(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}"
LAYER_NAME_OR_ARN = StringShape(
    1,
    2048,
    rf"(arn:(aws[a-zA-Z-]*)?:lambda:{_REGION}:\d{{12}}:layer:[a-zA-Z0-9-_]{{1,140}}"
    r"|[a-zA-Z0-9-_]{1,140})",
)
LAYER_VERSION_ARN = StringShape(
    1,
    2048,
    rf"(arn:(aws[a-zA-Z-]*)?:lambda:{_REGION}:\d{{12}}:layer:[a-zA-Z0-9-_]+:[0-9]+)"
    r"|(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+)",
)
DESCRIPTION = StringShape(0, 256)
LICENSE_INFO = StringShape(0, 512, r".*")
STATEMENT_ID = StringShape(1, 100, r"([a-zA-Z0-9-_]+)")
ACTION = StringShape(0, 22, r"lambda:GetLayerVersion")
PRINCIPAL = StringShape(0, 10000, r"\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root")
ORGANIZATION_ID = StringShape(0, 34, r"o-[a-z0-9]{10,32}")

_ARN_PARTS = re.compile(
    r"arn:[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):layer:(?P<name>[a-zA-Z0-9-_]+)"
    r"(?::(?P<version>[0-9]+))?",
    re.ASCII,
)

NOT_FOUND = "The resource you requested does not exist."
VERSION_TOO_LOW = "Layer Version Cannot be less than 1"
NO_POLICY = "No policy is associated with the given resource."
POLICY_REVISION_MISMATCH = (
    "The Revision Id provided does not match the latest Revision Id. "
    "Call the GetLayerPolicy API to retrieve the latest Revision Id"
)


# --- the data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerVersion:
    """One published version. ``code_sha256`` is the zip's hex digest (its key in the code
    store); the wire's ``CodeSha256`` is the base64 form. ``None`` lists were never given (the
    wire omits them); empty lists were given empty (the wire shows ``[]``)."""

    name: str
    region: str
    account: str
    version: int
    code_sha256: str
    code_size: int
    unzipped_size: int
    created_date: str
    description: str = ""
    compatible_runtimes: tuple[str, ...] | None = None
    compatible_architectures: tuple[str, ...] | None = None
    license_info: str | None = None

    @property
    def layer_arn(self) -> str:
        return layer_arn(self.region, self.account, self.name)

    @property
    def version_arn(self) -> str:
        return layer_arn(self.region, self.account, self.name, self.version)

    @property
    def code_sha256_b64(self) -> str:
        import base64

        return base64.b64encode(bytes.fromhex(self.code_sha256)).decode()

    def matches(self, runtime: str | None, architecture: str | None) -> bool:
        """ListLayers/ListLayerVersions filters: the version names the runtime/architecture."""
        if runtime is not None and runtime not in (self.compatible_runtimes or ()):
            return False
        return architecture is None or architecture in (self.compatible_architectures or ())

    def to_list_item(self) -> dict[str, Any]:
        """``LayerVersionsListItem`` (ListLayerVersions, ListLayers' LatestMatchingVersion)."""
        out: dict[str, Any] = {
            "LayerVersionArn": self.version_arn,
            "Version": self.version,
            "Description": self.description,
            "CreatedDate": self.created_date,
        }
        self._add_optional(out)
        return out

    def to_wire(self, location: str) -> dict[str, Any]:
        """PublishLayerVersion / GetLayerVersion / GetLayerVersionByArn."""
        out: dict[str, Any] = {
            "Content": {
                "Location": location,
                "CodeSha256": self.code_sha256_b64,
                "CodeSize": self.code_size,
            },
            "LayerArn": self.layer_arn,
            "LayerVersionArn": self.version_arn,
            "Description": self.description,
            "CreatedDate": self.created_date,
            "Version": self.version,
        }
        self._add_optional(out)
        return out

    def _add_optional(self, out: dict[str, Any]) -> None:
        if self.compatible_runtimes is not None:
            out["CompatibleRuntimes"] = list(self.compatible_runtimes)
        if self.license_info is not None:
            out["LicenseInfo"] = self.license_info
        if self.compatible_architectures is not None:
            out["CompatibleArchitectures"] = list(self.compatible_architectures)


@dataclass(frozen=True)
class LayerPolicy:
    """A layer version's resource policy: its statements (rendered, in the order added) and the
    RevisionId that changes with every AddLayerVersionPermission/RemoveLayerVersionPermission."""

    revision_id: str
    statements: tuple[dict[str, Any], ...]

    def statement(self, sid: str) -> dict[str, Any] | None:
        return next((s for s in self.statements if s.get("Sid") == sid), None)

    def document(self) -> str:
        return compact({"Version": "2012-10-17", "Id": "default", "Statement": self.statements})


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def statement(
    sid: str, principal: str, resource: str, organization_id: str | None = None
) -> dict[str, Any]:
    """A layer permission statement as AWS renders it. An account id becomes its root ARN (as
    AddPermission's does; unverified for layers), and an organization a
    ``aws:PrincipalOrgID`` condition (spec §8.1)."""
    who: Any = principal
    if re.fullmatch(r"\d{12}", principal):
        who = {"AWS": f"arn:aws:iam::{principal}:root"}
    elif principal != "*":
        who = {"AWS": principal}
    out: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": who,
        "Action": "lambda:GetLayerVersion",
        "Resource": resource,
    }
    if organization_id:
        out["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": organization_id}}
    return out


# --- names, ARNs, version numbers ---------------------------------------------------------------


@dataclass(frozen=True)
class LayerName:
    """A validated ``LayerName`` path member: a bare name or a layer ARN."""

    name: str
    region: str | None = None
    account: str | None = None

    def is_here(self, region: str, account: str) -> bool:
        return self.region in (None, region) and self.account in (None, account)


def parse_layer_name(value: Any) -> LayerName:
    if not isinstance(value, str):
        raise validation_exception([constraint_error("layerName", None, "Member must not be null")])
    errors = LAYER_NAME_OR_ARN.errors("layerName", value)
    if errors:
        raise validation_exception(errors)
    match = _ARN_PARTS.fullmatch(value)
    if match is None:
        return LayerName(value)
    return LayerName(match["name"], match["region"], match["account"])


def parse_version_number(value: Any) -> int:
    """The ``{VersionNumber}`` path member (a string off the URI)."""
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,18}", value.strip()):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        # Unverified wording: boto3 cannot send a non-number here.
        raise ValidationException(
            validation_message_for("versionNumber", value, "Member must be a number")
        )
    if value < 1:
        raise InvalidParameterValueException(VERSION_TOO_LOW)
    return value


def validation_message_for(member: str, value: Any, constraint: str) -> str:
    return validation_exception([constraint_error(member, value, constraint)]).message


@dataclass(frozen=True)
class LayerVersionRef:
    """A layer version ARN: ``None`` fields for AWS-managed ``awslayer`` ARNs."""

    arn: str
    region: str | None
    account: str | None
    name: str | None
    version: int | None


def parse_layer_version_arn(arn: Any, member: str = "arn") -> LayerVersionRef:
    if not isinstance(arn, str):
        raise validation_exception([constraint_error(member, None, "Member must not be null")])
    errors = LAYER_VERSION_ARN.errors(member, arn)
    if errors:
        raise validation_exception(errors)
    match = _ARN_PARTS.fullmatch(arn)
    if match is None or match["version"] is None:
        return LayerVersionRef(arn, None, None, None, None)
    return LayerVersionRef(
        arn, match["region"], match["account"], match["name"], int(match["version"])
    )


# --- request validation -------------------------------------------------------------------------


def _enum_text(values: Sequence[str]) -> str:
    return f"Member must satisfy enum value set: [{', '.join(values)}]"


_ARCH_ITEMS = (
    f"Member must satisfy constraint: [{_enum_text(ARCHITECTURES)}, Member must not be null]"
)


def validate_publish(request: Mapping[str, Any]) -> None:
    """PublishLayerVersion's shape constraints, every failure in one ValidationException
    (recorded: compatibleRuntimes before compatibleArchitectures)."""
    errors: list[str] = []
    description = request.get("Description")
    if isinstance(description, str):
        errors += DESCRIPTION.errors("description", description)
    content = request.get("Content")
    if content is None:
        errors.append(constraint_error("content", None, "Member must not be null"))
    elif isinstance(content, Mapping):
        for key, member, shape in (
            ("S3Bucket", "content.s3Bucket", S3_BUCKET),
            ("S3Key", "content.s3Key", S3_KEY),
            ("S3ObjectVersion", "content.s3ObjectVersion", S3_KEY),
        ):
            value = content.get(key)
            if isinstance(value, str):
                errors += shape.errors(member, value)
    runtimes = request.get("CompatibleRuntimes")
    if isinstance(runtimes, list):
        if len(runtimes) > MAX_COMPATIBLE_RUNTIMES:
            errors.append(
                constraint_error(
                    "compatibleRuntimes",
                    runtimes,
                    f"Member must have length less than or equal to {MAX_COMPATIBLE_RUNTIMES}",
                )
            )
        if any(r not in ACCEPTED_RUNTIMES for r in runtimes):
            errors.append(
                constraint_error("compatibleRuntimes", runtimes, _enum_text(SUPPORTED_RUNTIMES))
            )
    architectures = request.get("CompatibleArchitectures")
    if isinstance(architectures, list):
        if len(architectures) > MAX_COMPATIBLE_ARCHITECTURES:
            errors.append(
                constraint_error(
                    "compatibleArchitectures",
                    architectures,
                    f"Member must have length less than or equal to {MAX_COMPATIBLE_ARCHITECTURES}",
                )
            )
        if any(a not in ARCHITECTURES for a in architectures):
            errors.append(constraint_error("compatibleArchitectures", architectures, _ARCH_ITEMS))
    license_info = request.get("LicenseInfo")
    if isinstance(license_info, str):
        errors += LICENSE_INFO.errors("licenseInfo", license_info)
    if errors:
        raise validation_exception(errors)


def validate_list_filters(request: Mapping[str, Any]) -> int:
    """ListLayers/ListLayerVersions filters and MaxItems; returns the page size."""
    errors: list[str] = []
    runtime = request.get("CompatibleRuntime")
    if runtime is not None and runtime not in ACCEPTED_RUNTIMES:
        errors.append(constraint_error("compatibleRuntime", runtime, _enum_text(RUNTIME_ENUM)))
    architecture = request.get("CompatibleArchitecture")
    if architecture is not None and architecture not in ARCHITECTURES:
        errors.append(
            constraint_error("compatibleArchitecture", architecture, _enum_text(ARCHITECTURES))
        )
    max_items = request.get("MaxItems")
    if max_items is not None:
        if not isinstance(max_items, int) or max_items < 1:
            errors.append(
                constraint_error(
                    "maxItems", max_items, "Member must have value greater than or equal to 1"
                )
            )
        elif max_items > LIST_PAGE_LIMIT:
            errors.append(
                constraint_error(
                    "maxItems",
                    max_items,
                    f"Member must have value less than or equal to {LIST_PAGE_LIMIT}",
                )
            )
    if errors:
        raise validation_exception(errors)
    return int(max_items) if isinstance(max_items, int) else LIST_PAGE_LIMIT


def validate_permission(request: Mapping[str, Any]) -> None:
    """AddLayerVersionPermission's members (recorded: a bad Action)."""
    errors: list[str] = []
    for key, member, shape in (
        ("StatementId", "statementId", STATEMENT_ID),
        ("Action", "action", ACTION),
        ("Principal", "principal", PRINCIPAL),
    ):
        value = request.get(key)
        if value is None:
            errors.append(constraint_error(member, None, "Member must not be null"))
        elif isinstance(value, str):
            errors += shape.errors(member, value)
    organization = request.get("OrganizationId")
    if isinstance(organization, str):
        errors += ORGANIZATION_ID.errors("organizationId", organization)
    if errors:
        raise validation_exception(errors)


def validate_statement_id(value: Any) -> str:
    if not isinstance(value, str):
        raise validation_exception(
            [constraint_error("statementId", None, "Member must not be null")]
        )
    errors = STATEMENT_ID.errors("statementId", value)
    if errors:
        raise validation_exception(errors)
    return value


# --- functions using layers -----------------------------------------------------------------------


def layer_version_missing(arn: str) -> InvalidParameterValueException:
    """A function names a layer version that does not exist (recorded)."""
    return InvalidParameterValueException(f"Layer version {arn} does not exist.")


def check_combined_size(function_unzipped: int, layers_unzipped: Sequence[int]) -> None:
    """The 250 MB unzipped limit over a function's package plus its layers. The wording is
    AWS's (reported by users; not recorded here): the layers alone, then the total."""
    layers_total = sum(layers_unzipped)
    if layers_total > MAX_UNZIPPED_BYTES:
        raise InvalidParameterValueException(
            f"Layers consume more than the available size of {MAX_UNZIPPED_BYTES} bytes"
        )
    total = function_unzipped + layers_total
    if total > MAX_UNZIPPED_BYTES:
        raise InvalidParameterValueException(
            "Function code combined with layers exceeds the maximum allowed size of "
            f"{MAX_UNZIPPED_BYTES} bytes. The actual size is {total} bytes."
        )


def opt_key(layer_shas: Sequence[str]) -> str:
    """The name of the merged ``/opt`` tree of an ordered list of layer packages."""
    return hashlib.sha256("\n".join(layer_shas).encode()).hexdigest()
