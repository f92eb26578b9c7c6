"""IAM's records: roles, users, access keys and managed policies with their versions.

Records are immutable: an operation builds the changed record, stores it, then puts it in
the in-memory state (``state.py``), so a failed write leaves the state as it was. Each record
is stored as one JSON document (``to_doc``/``from_doc``). Times are epoch seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Tags = tuple[tuple[str, str], ...]


def _tags(raw: Any) -> Tags:
    return tuple((str(key), str(value)) for key, value in raw or ())


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    path: str
    role_id: str
    arn: str
    created: float
    trust_policy: str  # the AssumeRolePolicyDocument as the caller wrote it
    description: str | None = None
    max_session: int = 3600
    boundary: str | None = None
    tags: Tags = ()
    inline: Mapping[str, str] = field(default_factory=dict)  # policy name -> document
    attached: tuple[str, ...] = ()  # managed policy ARNs, in attachment order
    last_used: float | None = None
    last_used_region: str | None = None

    def to_doc(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "role_id": self.role_id,
            "arn": self.arn,
            "created": self.created,
            "trust_policy": self.trust_policy,
            "description": self.description,
            "max_session": self.max_session,
            "boundary": self.boundary,
            "tags": [list(tag) for tag in self.tags],
            "inline": dict(self.inline),
            "attached": list(self.attached),
            "last_used": self.last_used,
            "last_used_region": self.last_used_region,
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Role:
        return cls(
            doc["name"],
            doc["path"],
            doc["role_id"],
            doc["arn"],
            float(doc["created"]),
            doc["trust_policy"],
            doc.get("description"),
            int(doc.get("max_session", 3600)),
            doc.get("boundary"),
            _tags(doc.get("tags")),
            dict(doc.get("inline") or {}),
            tuple(doc.get("attached") or ()),
            doc.get("last_used"),
            doc.get("last_used_region"),
        )


@dataclass(frozen=True, slots=True)
class User:
    name: str
    path: str
    user_id: str
    arn: str
    created: float
    boundary: str | None = None
    tags: Tags = ()
    inline: Mapping[str, str] = field(default_factory=dict)
    attached: tuple[str, ...] = ()

    def to_doc(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "user_id": self.user_id,
            "arn": self.arn,
            "created": self.created,
            "boundary": self.boundary,
            "tags": [list(tag) for tag in self.tags],
            "inline": dict(self.inline),
            "attached": list(self.attached),
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> User:
        return cls(
            doc["name"],
            doc["path"],
            doc["user_id"],
            doc["arn"],
            float(doc["created"]),
            doc.get("boundary"),
            _tags(doc.get("tags")),
            dict(doc.get("inline") or {}),
            tuple(doc.get("attached") or ()),
        )


@dataclass(frozen=True, slots=True)
class AccessKey:
    key_id: str
    secret: str
    user_name: str
    created: float
    active: bool = True
    last_used: float | None = None
    last_service: str | None = None
    last_region: str | None = None

    @property
    def status(self) -> str:
        return "Active" if self.active else "Inactive"

    def to_doc(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "secret": self.secret,
            "user_name": self.user_name,
            "created": self.created,
            "active": self.active,
            "last_used": self.last_used,
            "last_service": self.last_service,
            "last_region": self.last_region,
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> AccessKey:
        return cls(
            doc["key_id"],
            doc["secret"],
            doc["user_name"],
            float(doc["created"]),
            bool(doc.get("active", True)),
            doc.get("last_used"),
            doc.get("last_service"),
            doc.get("last_region"),
        )


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    version_id: str  # v1, v2, ...
    document: str
    created: float


@dataclass(frozen=True, slots=True)
class ManagedPolicy:
    """A managed policy: the account's own (``arn:aws:iam::<account>:policy/...``) or one of
    AWS's (``arn:aws:iam::aws:policy/...``, ``aws_managed``: never stored, never changed)."""

    arn: str
    name: str
    path: str
    policy_id: str
    created: float
    updated: float
    default_version: str
    versions: tuple[PolicyVersion, ...]
    next_version: int
    description: str | None = None
    tags: Tags = ()
    aws_managed: bool = False

    def version(self, version_id: str) -> PolicyVersion | None:
        for version in self.versions:
            if version.version_id == version_id:
                return version
        return None

    @property
    def default_document(self) -> str:
        version = self.version(self.default_version)
        return version.document if version is not None else "{}"

    def to_doc(self) -> dict[str, Any]:
        return {
            "arn": self.arn,
            "name": self.name,
            "path": self.path,
            "policy_id": self.policy_id,
            "created": self.created,
            "updated": self.updated,
            "default_version": self.default_version,
            "versions": [
                {"id": v.version_id, "document": v.document, "created": v.created}
                for v in self.versions
            ],
            "next_version": self.next_version,
            "description": self.description,
            "tags": [list(tag) for tag in self.tags],
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> ManagedPolicy:
        return cls(
            doc["arn"],
            doc["name"],
            doc["path"],
            doc["policy_id"],
            float(doc["created"]),
            float(doc["updated"]),
            doc["default_version"],
            tuple(
                PolicyVersion(v["id"], v["document"], float(v["created"])) for v in doc["versions"]
            ),
            int(doc["next_version"]),
            doc.get("description"),
            _tags(doc.get("tags")),
        )
