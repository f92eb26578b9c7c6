"""AddPermission / GetPolicy / RemovePermission, and the check the HTTP and event triggers make
before invoking a function: ``FunctionPolicies.allows``.

A policy belongs to the unqualified function (what ``$LATEST`` invocations use) or to one
version or alias, in the function's region; PublishVersion does not copy it, DeleteFunction
removes every policy of the function, deleting a version or alias removes its policy (the
wiring connects ``function_changed`` and ``alias_changed``). Policies are cached in memory, so
``allows`` never touches SQLite, and written through: an answer is sent after the commit, made
in a thread so the event loop never waits on SQLite. Writes are serialised by one lock, so
concurrent changes of one policy never lose each other (each sees the previous RevisionId).

RevisionIds as AWS (recorded): each change gives the policy a new RevisionId, which also
becomes the function's (version's, alias's) RevisionId; a request's ``RevisionId`` is compared
with the policy's, or with the function's (version's, alias's) while it has no policy.

Every check runs before anything is stored: a rejected request changes nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from lamina.domain import policies as rules
from lamina.domain.aliases import alias_not_found, is_alias_name, is_version_number
from lamina.domain.arns import function_arn
from lamina.domain.errors import (
    InvalidParameterValueException,
    PreconditionFailedException,
    ResourceNotFoundException,
)
from lamina.domain.models import LATEST
from lamina.domain.names import function_not_found
from lamina.domain.policies import AddPermissionRequest, ResourcePolicy
from lamina.domain.policies_eval import PolicyRequest, invocation_context, is_allowed
from lamina.services.alias_book import AliasBook
from lamina.services.function_catalog import FunctionCatalog

UNQUALIFIED = ""
# At most this many remembered ``allows`` answers (all forgotten when full).
MAX_DECISIONS = 4096


class FunctionPolicyStore(Protocol):
    """Where policies persist (``store.function_policy_store.SqliteFunctionPolicyStore``)."""

    def all(self) -> dict[tuple[str, str], ResourcePolicy]: ...

    def put(self, function: str, qualifier: str, policy: ResourcePolicy | None) -> bool: ...

    def delete(self, keys: list[tuple[str, str]]) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class _Target:
    """What a FunctionName/Qualifier names: its policy's key, ARN and current RevisionId."""

    function: str
    qualifier: str  # UNQUALIFIED, a version number or an alias name
    arn: str
    revision_id: str


class FunctionPolicies:
    def __init__(
        self,
        store: FunctionPolicyStore,
        catalog: FunctionCatalog,
        aliases: AliasBook,
        region: str,
        account: str,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.aliases = aliases
        self.region = region
        self.account = account
        self._policies = store.all()
        self._lock = asyncio.Lock()
        # Policies of deleted versions/aliases still to remove from the store.
        self._doomed: set[tuple[str, str]] = set()
        self._flushing: set[asyncio.Task[None]] = set()
        # Recent answers of ``allows`` (a trigger asks the same question per request), keyed
        # with the policy's RevisionId so a change is seen at once.
        self._decisions: dict[tuple[object, ...], bool] = {}
        # A crash between a version's (or alias's) deletion and its policy's removal leaves a
        # row behind: dropped at start.
        stale = [key for key in self._policies if not self._exists(*key)]
        if stale:
            store.delete(stale)
            for key in stale:
                del self._policies[key]

    def close(self) -> None:
        self.store.close()

    # --- the check of triggers ----------------------------------------------------------------

    def allows(
        self,
        name: str,
        qualifier: str | None,
        *,
        principal: str,
        action: str,
        source_arn: str | None = None,
        source_account: str | None = None,
        function_url_auth_type: str | None = None,
        via_function_url: bool = False,
        event_source_token: str | None = None,
    ) -> bool:
        """Whether the policy of ``name`` (``qualifier``: None or ``$LATEST`` for the
        unqualified function's policy, else that version's or alias's) lets ``principal``
        (``"*"`` for an anonymous caller, a service such as ``apigateway.amazonaws.com``, an
        account id or an IAM/STS ARN) do ``action`` (``lambda:InvokeFunction``,
        ``lambda:InvokeFunctionUrl``) in this context. False without a policy. Reads memory
        only; answers are remembered per policy revision (about 1 µs when seen before)."""
        key = UNQUALIFIED if qualifier in (None, LATEST) else str(qualifier)
        policy = self._policies.get((name, key))
        if policy is None:
            return False
        asked = (
            name, key, policy.revision_id, principal, action, source_arn, source_account,
            function_url_auth_type, via_function_url, event_source_token,
        )  # fmt: skip
        known = self._decisions.get(asked)
        if known is not None:
            return known
        request = PolicyRequest(
            principal=principal,
            action=action,
            resource=function_arn(self.region, self.account, name, key or None),
            context=invocation_context(
                source_arn=source_arn,
                source_account=source_account,
                function_url_auth_type=function_url_auth_type,
                via_function_url=via_function_url,
                event_source_token=event_source_token,
            ),
        )
        allowed = is_allowed(policy.statements, request)
        if len(self._decisions) >= MAX_DECISIONS:
            self._decisions.clear()
        self._decisions[asked] = allowed
        return allowed

    # --- operations -----------------------------------------------------------------------------

    async def add_permission(self, request: AddPermissionRequest) -> dict[str, Any]:
        """Add a statement; the statement as added (AddPermission's answer)."""
        rules.check_combination(request)
        if request.qualifier == LATEST:
            raise InvalidParameterValueException(rules.LATEST_UNSUPPORTED)
        async with self._lock:
            target = self._target_for_add(request.function, request.qualifier)
            key = (target.function, target.qualifier)
            current = self._policies.get(key)
            sid = request.statement_id
            if current is not None and current.statement(sid) is not None:
                raise rules.duplicate_statement(sid)
            if request.revision_id is not None:
                expected = current.revision_id if current is not None else target.revision_id
                if request.revision_id != expected:
                    raise PreconditionFailedException(rules.REVISION_MISMATCH)
            added = rules.statement(request, target.arn)
            statements = current.statements if current is not None else ()
            updated = ResourcePolicy(str(uuid.uuid4()), (*statements, added))
            size = updated.size()
            if size > rules.MAX_POLICY_BYTES:
                raise rules.policy_too_large(size)
            await self._write(
                key,
                updated,
                missing=function_not_found(
                    self.region, self.account, target.function, target.qualifier or None
                ),
            )
            return added

    def get_policy(self, name: str, qualifier: str | None) -> ResourcePolicy:
        if not self._exists(name, _key_qualifier(qualifier)):
            raise ResourceNotFoundException(rules.NOT_FOUND)
        policy = self._policies.get((name, _key_qualifier(qualifier)))
        if policy is None:
            raise ResourceNotFoundException(rules.NOT_FOUND)
        return policy

    async def remove_permission(
        self, name: str, qualifier: str | None, sid: str, revision_id: str | None
    ) -> None:
        async with self._lock:
            key = self._target_for_remove(name, qualifier)
            current = self._policies.get(key)
            if current is None:
                raise ResourceNotFoundException(rules.NO_POLICY)
            if revision_id is not None and revision_id != current.revision_id:
                raise PreconditionFailedException(rules.REVISION_MISMATCH)
            if current.statement(sid) is None:
                raise rules.statement_not_found(sid)
            rest = tuple(s for s in current.statements if s.get("Sid") != sid)
            updated = ResourcePolicy(str(uuid.uuid4()), rest) if rest else None
            await self._write(key, updated, missing=ResourceNotFoundException(rules.NO_POLICY))

    # --- what goes with functions, versions and aliases -----------------------------------------

    def function_changed(self, name: str) -> None:
        """A function, or one of its versions, may have been deleted: their policies go."""
        self._forget([k for k in self._policies if k[0] == name and not self._exists(*k)])

    def alias_changed(self, function: str, alias: str) -> None:
        """An alias was updated or deleted: a deleted alias's policy goes."""
        key = (function, alias)
        if key in self._policies and not self._exists(*key):
            self._forget([key])

    async def drain(self) -> None:
        """Wait until the policies of deleted versions and aliases are removed from the store."""
        while self._flushing:
            await asyncio.gather(*list(self._flushing))

    # --- internals ----------------------------------------------------------------------------

    async def _write(
        self, key: tuple[str, str], policy: ResourcePolicy | None, missing: Exception
    ) -> None:
        """Store a policy (or its removal) durably, then cache it. Holding ``_lock``."""
        self._doomed.discard(key)  # written now: a pending removal must not undo it
        stored = await asyncio.to_thread(self.store.put, key[0], key[1], policy)
        if not stored or not self._exists(*key):
            # Deleted meanwhile: its rows went (or go) with it.
            self._policies.pop(key, None)
            raise missing
        if policy is None:
            self._policies.pop(key, None)
        else:
            self._policies[key] = policy
        self._revise_target(key, policy.revision_id if policy is not None else str(uuid.uuid4()))

    def _revise_target(self, key: tuple[str, str], revision_id: str) -> None:
        """The function's (version's, alias's) RevisionId becomes the policy's: AWS's
        "function revision is the same as policy revision" (recorded,
        test_function_revisions_permissions); later changes of the function do not change the
        policy's. Read and written without yielding to the loop, so no concurrent change of
        the configuration is lost."""
        function, qualifier = key
        if qualifier and is_alias_name(qualifier):
            alias = self.aliases.lookup(function, qualifier)
            if alias is not None:
                self.aliases.put(alias.replace(revision_id=revision_id))
            return
        config = self.catalog.config(function, qualifier or LATEST)
        if config is not None:
            self.catalog.save(config.replace(revision_id=revision_id))

    def _forget(self, keys: list[tuple[str, str]]) -> None:
        if not keys:
            return
        for key in keys:
            self._policies.pop(key, None)
        self._doomed.update(keys)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (start-up, tests): nothing else writes meanwhile
            self._flush_now()
            return
        task = loop.create_task(self._flush())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _flush(self) -> None:
        async with self._lock:
            keys = sorted(self._doomed)
            self._doomed.clear()
            if keys:
                await asyncio.to_thread(self.store.delete, keys)

    def _flush_now(self) -> None:
        keys = sorted(self._doomed)
        self._doomed.clear()
        self.store.delete(keys)

    def _exists(self, function: str, qualifier: str) -> bool:
        if self.catalog.config(function) is None:
            return False
        if qualifier == UNQUALIFIED:
            return True
        if is_version_number(qualifier):
            return self.catalog.config(function, qualifier) is not None
        if is_alias_name(qualifier):
            return self.aliases.lookup(function, qualifier) is not None
        return False

    def _target_for_add(self, name: str, qualifier: str | None) -> _Target:
        """AddPermission's target (recorded: ``Function not found: <arn>`` for a missing
        function or version, ``Cannot find alias arn: <arn>`` for a missing alias)."""
        latest = self.catalog.config(name)
        if latest is None:
            raise function_not_found(self.region, self.account, name, qualifier)
        if qualifier is None:
            arn = function_arn(self.region, self.account, name)
            return _Target(name, UNQUALIFIED, arn, latest.revision_id)
        arn = function_arn(self.region, self.account, name, qualifier)
        if is_version_number(qualifier):
            version = self.catalog.config(name, qualifier)
            if version is not None:
                return _Target(name, qualifier, arn, version.revision_id)
        elif is_alias_name(qualifier):
            alias = self.aliases.lookup(name, qualifier)
            if alias is None:
                raise alias_not_found(arn)
            return _Target(name, qualifier, arn, alias.revision_id)
        raise function_not_found(self.region, self.account, name, qualifier)

    def _target_for_remove(self, name: str, qualifier: str | None) -> tuple[str, str]:
        """RemovePermission's policy key (recorded: ``No policy found for: <arn>`` for a
        missing function, ``Cannot find alias arn: <arn>`` for a missing alias)."""
        key = _key_qualifier(qualifier)
        arn = function_arn(self.region, self.account, name, key or None)
        if self.catalog.config(name) is None:
            raise ResourceNotFoundException(f"No policy found for: {arn}")
        if key and not self._exists(name, key):
            if is_alias_name(key):
                raise alias_not_found(arn)
            raise function_not_found(self.region, self.account, name, key)  # unverified
        return (name, key)


def _key_qualifier(qualifier: str | None) -> str:
    """The policy a qualifier reads: ``$LATEST`` is the unqualified function's."""
    return UNQUALIFIED if qualifier in (None, LATEST) else str(qualifier)
