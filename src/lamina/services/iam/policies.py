"""Managed policies and their versions (at most five, one of them the default)."""

from __future__ import annotations

from dataclasses import replace

from lamina.services.iam import documents, ids, tags
from lamina.services.iam.arns import policy_arn
from lamina.services.iam.errors import (
    DeleteConflict,
    EntityAlreadyExists,
    InvalidInput,
    LimitExceeded,
    NoSuchEntity,
    no_such_policy,
)
from lamina.services.iam.model import ManagedPolicy, PolicyVersion, Tags
from lamina.services.iam.state import IamState
from lamina.store.iam_store import Change

MAX_VERSIONS = 5


class Policies:
    def __init__(self, state: IamState) -> None:
        self.state = state

    def get(self, arn: str) -> ManagedPolicy:
        policy = self.state.policy(policy_arn(arn))
        if policy is None:
            raise no_such_policy(arn)
        return policy

    def _own(self, arn: str) -> ManagedPolicy:
        policy = self.get(arn)
        if policy.aws_managed:
            raise InvalidInput(f"Policy {arn} is an AWS managed policy and cannot be changed.")
        return policy

    def listing(
        self, scope: str | None, only_attached: bool, path_prefix: str | None
    ) -> list[ManagedPolicy]:
        prefix = path_prefix or "/"
        found = []
        for policy in self.state.all_policies():
            if scope == "AWS" and not policy.aws_managed:
                continue
            if scope == "Local" and policy.aws_managed:
                continue
            if not policy.path.startswith(prefix):
                continue
            if only_attached and self.state.attachment_count(policy.arn) == 0:
                continue
            found.append(policy)
        return sorted(found, key=lambda p: (p.name.lower(), p.arn))

    async def create(
        self,
        name: str,
        path: str | None,
        document: str,
        description: str | None,
        tags_: Tags,
    ) -> ManagedPolicy:
        documents.check(document)
        path = path or "/"
        checked_tags = tags.merged((), tags_)
        async with self.state.lock:
            lowered = name.lower()
            if any(p.name.lower() == lowered for p in self.state.policies.values()):
                raise EntityAlreadyExists(
                    f"A policy called {name} already exists. Duplicate names are not allowed."
                )
            now = self.state.clock()
            policy = ManagedPolicy(
                arn=f"arn:aws:iam::{self.state.account_id}:policy{path}{name}",
                name=name,
                path=path,
                policy_id=ids.unique_id(ids.POLICY_PREFIX),
                created=now,
                updated=now,
                default_version="v1",
                versions=(PolicyVersion("v1", document, now),),
                next_version=2,
                description=description,
                tags=checked_tags,
            )
            await self._put(policy)
        return policy

    async def _put(self, policy: ManagedPolicy) -> None:
        def apply() -> None:
            self.state.policies[policy.arn] = policy

        await self.state.commit([IamState.put_policy(policy)], apply)

    async def delete(self, arn: str) -> None:
        async with self.state.lock:
            policy = self._own(arn)
            if self.state.attachment_count(policy.arn):
                raise DeleteConflict("Cannot delete a policy attached to entities.")
            if len(policy.versions) > 1:
                raise DeleteConflict(
                    "This policy has more than one version. Before you delete a policy, you "
                    "must delete the policy's versions. The default version is deleted with "
                    "the policy."
                )

            def apply() -> None:
                del self.state.policies[policy.arn]

            await self.state.commit([Change("iam_policies", policy.arn, None)], apply)

    def version(self, arn: str, version_id: str) -> PolicyVersion:
        policy = self.get(arn)
        version = policy.version(version_id)
        if version is None:
            raise NoSuchEntity(
                f"Policy {arn} version {version_id} does not exist or is not attachable."
            )
        return version

    async def create_version(self, arn: str, document: str, set_default: bool) -> PolicyVersion:
        async with self.state.lock:
            policy = self._own(arn)
            documents.check(document)
            if len(policy.versions) >= MAX_VERSIONS:
                raise LimitExceeded(
                    f"A managed policy can have up to {MAX_VERSIONS} versions. Before you "
                    "create a new version, you must delete an existing version."
                )
            now = self.state.clock()
            version = PolicyVersion(f"v{policy.next_version}", document, now)
            await self._put(
                replace(
                    policy,
                    versions=(*policy.versions, version),
                    next_version=policy.next_version + 1,
                    default_version=version.version_id if set_default else policy.default_version,
                    updated=now if set_default else policy.updated,
                )
            )
        return version

    async def delete_version(self, arn: str, version_id: str) -> None:
        async with self.state.lock:
            policy = self._own(arn)
            self.version(arn, version_id)
            if version_id == policy.default_version:
                raise DeleteConflict("Cannot delete the default version of a policy.")
            kept = tuple(v for v in policy.versions if v.version_id != version_id)
            await self._put(replace(policy, versions=kept))

    async def set_default(self, arn: str, version_id: str) -> None:
        async with self.state.lock:
            policy = self._own(arn)
            self.version(arn, version_id)
            now = self.state.clock()
            await self._put(replace(policy, default_version=version_id, updated=now))
