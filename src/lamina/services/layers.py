"""Layers: publish, read, list, delete, permissions; and what functions need of them (resolving
their ``Layers`` ARNs, and the merged ``/opt`` tree an environment runs with).

Layer packages live in the code store next to function packages (both by sha256), so a
package is removed only once no layer version and no function version uses it: a function keeps
the layers it was configured with even after those versions are deleted, as on AWS.

The ``/opt`` tree of a function version is its layers unpacked in order into one directory
(later layers overwrite earlier files), built once per distinct ordered list of packages under
``<data>/opt/<key>/`` (see ``domain.layers.opt_key``), atomically (a temporary directory
renamed into place). ``layers_dir`` is the one way to get it: the plain-process runtime points
``LAMINA_OPT_ROOT`` at it and the isolated sandbox mounts it at ``/opt``.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import tempfile
import threading
import uuid
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from lamina.domain import layers as rules
from lamina.domain.arns import layer_arn
from lamina.domain.errors import (
    AccessDeniedException,
    InvalidParameterValueException,
    PreconditionFailedException,
    ResourceConflictException,
    ResourceNotFoundException,
)
from lamina.domain.layers import LayerName, LayerPolicy, LayerVersion
from lamina.domain.models import FunctionConfig, FunctionLayer
from lamina.domain.validation import MAX_UNZIPPED_BYTES, validate_zip
from lamina.services.functions import (
    now_lambda_timestamp,
    off_loop_for_large,
    s3_unavailable,
)
from lamina.store.code import UNZIP_FAILED, CodeStore, storage_exceeded
from lamina.store.disk_full import is_disk_full
from lamina.store.ports import FunctionStore, LayerStore
from lamina.store.unpack import BadPackage
from lamina.store.unpack_worker import remove_tree, unpack_in_process


def package_from_content(content: Mapping[str, Any]) -> bytes:
    """The zip of PublishLayerVersion's ``Content``: ``ZipFile`` only (no S3 in Lamina yet)."""
    if "ZipFile" in content:
        data: bytes = content["ZipFile"]
        return data
    if "S3Bucket" in content or "S3Key" in content:
        raise s3_unavailable(content.get("S3Bucket", ""))
    # Unverified wording (CreateFunction's, recorded, says "function code").
    raise InvalidParameterValueException("Please provide a source for layer content.")


class LayerService:
    def __init__(
        self,
        store: LayerStore,
        functions: FunctionStore,
        code: CodeStore,
        region: str,
        account: str,
        code_url: Callable[[str], str],
        opt_root: Path,
    ) -> None:
        self.store = store
        self.functions = functions
        self.code = code
        self.region = region
        self.account = account
        self._code_url = code_url
        self.opt_root = opt_root
        self._opt_lock = threading.Lock()
        opt_root.mkdir(mode=0o700, parents=True, exist_ok=True)
        opt_root.chmod(0o700)
        self._sweep_opt()

    def close(self) -> None:
        self.store.close()

    # --- lookups ------------------------------------------------------------------------------

    def _version_arn(self, name: LayerName, version: int) -> str:
        return layer_arn(
            name.region or self.region, name.account or self.account, name.name, version
        )

    def _find(self, name: LayerName, version: int) -> LayerVersion | None:
        if not name.is_here(self.region, self.account):
            return None
        return self.store.get(name.name, version)

    def _require(self, name: LayerName, version: int) -> LayerVersion:
        found = self._find(name, version)
        if found is None:
            raise ResourceNotFoundException(rules.NOT_FOUND)
        return found

    def _require_for_policy(self, name: LayerName, version: int) -> LayerVersion:
        found = self._find(name, version)
        if found is None:
            raise ResourceNotFoundException(
                f"Layer version {self._version_arn(name, version)} does not exist."
            )
        return found

    def _wire(self, version: LayerVersion) -> dict[str, Any]:
        return version.to_wire(self._code_url(version.code_sha256))

    # --- publish ------------------------------------------------------------------------------

    async def publish(self, params: dict[str, Any]) -> dict[str, Any]:
        name = rules.parse_layer_name(params.get("LayerName"))
        rules.validate_publish(params)
        if name.account not in (None, self.account):
            raise AccessDeniedException()  # unverified for layers: as for function ARNs
        if name.region not in (None, self.region):
            raise ResourceNotFoundException(rules.NOT_FOUND)  # unverified
        zip_bytes = package_from_content(params["Content"])
        unzipped = await off_loop_for_large(zip_bytes, partial(validate_zip, zip_bytes))
        # Verifying, hashing and unpacking take seconds for large packages: in a thread.
        stored = await asyncio.to_thread(self.code.put, zip_bytes)
        try:
            return self._publish_stored(params, name, stored.sha256, len(zip_bytes), unzipped)
        except sqlite3.OperationalError as exc:
            if is_disk_full(exc):
                raise storage_exceeded(disk_full=True) from None
            raise
        finally:
            self.code.unpin(stored.sha256)
            if stored.new:
                await asyncio.to_thread(self.collect, {stored.sha256})

    def _publish_stored(
        self, params: dict[str, Any], name: LayerName, sha: str, code_size: int, unzipped: int
    ) -> dict[str, Any]:

        def listed(key: str) -> tuple[str, ...] | None:
            value = params.get(key)
            return None if value is None else tuple(value)

        draft = LayerVersion(
            name=name.name,
            region=self.region,
            account=self.account,
            version=0,
            code_sha256=sha,
            code_size=code_size,
            unzipped_size=unzipped,
            created_date=now_lambda_timestamp(),
            description=params.get("Description") or "",
            compatible_runtimes=listed("CompatibleRuntimes"),
            compatible_architectures=listed("CompatibleArchitectures"),
            license_info=params.get("LicenseInfo"),
        )
        return self._wire(self.store.publish(draft))

    # --- read ---------------------------------------------------------------------------------

    def get_version(self, params: dict[str, Any]) -> dict[str, Any]:
        name = rules.parse_layer_name(params.get("LayerName"))
        version = rules.parse_version_number(params.get("VersionNumber"))
        return self._wire(self._require(name, version))

    def get_version_by_arn(self, params: dict[str, Any]) -> dict[str, Any]:
        ref = rules.parse_layer_version_arn(params.get("Arn"))
        if ref.name is None or ref.version is None:
            raise ResourceNotFoundException(rules.NOT_FOUND)  # AWS-managed layers: none here
        name = LayerName(ref.name, ref.region, ref.account)
        return self._wire(self._require(name, ref.version))

    def list_layers(self, params: dict[str, Any]) -> dict[str, Any]:
        """The latest version matching the filters of each layer, by layer name."""
        limit = rules.validate_list_filters(params)
        runtime, architecture = (
            params.get("CompatibleRuntime"),
            params.get("CompatibleArchitecture"),
        )
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        more = False
        for version in self.store.all_versions(after_name=params.get("Marker") or ""):
            if version.name in seen or not version.matches(runtime, architecture):
                continue
            if len(items) == limit:
                more = True
                break
            seen.add(version.name)
            items.append(
                {
                    "LayerName": version.name,
                    "LayerArn": version.layer_arn,
                    "LatestMatchingVersion": version.to_list_item(),
                }
            )
        out: dict[str, Any] = {"Layers": items}
        if more:
            out["NextMarker"] = items[-1]["LayerName"]
        return out

    def list_versions(self, params: dict[str, Any]) -> dict[str, Any]:
        """A layer's versions matching the filters, newest first (none for an unknown name)."""
        name = rules.parse_layer_name(params.get("LayerName"))
        limit = rules.validate_list_filters(params)
        runtime, architecture = (
            params.get("CompatibleRuntime"),
            params.get("CompatibleArchitecture"),
        )
        marker = str(params.get("Marker") or "")
        below = int(marker) if marker.isdigit() else None
        versions = self.store.versions(name.name) if name.is_here(self.region, self.account) else []
        matching = [
            v
            for v in versions
            if v.matches(runtime, architecture) and (below is None or v.version < below)
        ]
        page = matching[:limit]
        out: dict[str, Any] = {"LayerVersions": [v.to_list_item() for v in page]}
        if len(matching) > limit:
            out["NextMarker"] = str(page[-1].version)
        return out

    # --- delete -------------------------------------------------------------------------------

    async def delete_version(self, params: dict[str, Any]) -> dict[str, Any]:
        """204 whether or not the version exists. Functions using it keep it."""
        name = rules.parse_layer_name(params.get("LayerName"))
        version = rules.parse_version_number(params.get("VersionNumber"))
        if name.is_here(self.region, self.account):
            deleted = self.code.free_space_for(lambda: self.store.delete(name.name, version))
            if deleted is not None:
                await asyncio.to_thread(self.collect, {deleted.code_sha256})
        return {}

    # --- permissions --------------------------------------------------------------------------

    def add_permission(self, params: dict[str, Any]) -> dict[str, Any]:
        name = rules.parse_layer_name(params.get("LayerName"))
        rules.validate_permission(params)
        number = rules.parse_version_number(params.get("VersionNumber"))
        version = self._require_for_policy(name, number)
        sid: str = params["StatementId"]
        expected = params.get("RevisionId")
        added = rules.statement(
            sid, params["Principal"], version.version_arn, params.get("OrganizationId")
        )

        def change(current: LayerPolicy | None) -> LayerPolicy:
            if current is not None and current.statement(sid) is not None:
                raise ResourceConflictException(
                    f"The statement id ({sid}) provided already exists. Please provide a new"
                    " statement id, or remove the existing statement."
                )
            _check_revision(current, expected)
            statements = current.statements if current is not None else ()
            return LayerPolicy(str(uuid.uuid4()), (*statements, added))

        policy = self.store.change_policy(version.name, version.version, change)
        assert policy is not None
        return {"Statement": rules.compact(added), "RevisionId": policy.revision_id}

    def remove_permission(self, params: dict[str, Any]) -> dict[str, Any]:
        name = rules.parse_layer_name(params.get("LayerName"))
        sid = rules.validate_statement_id(params.get("StatementId"))
        number = rules.parse_version_number(params.get("VersionNumber"))
        version = self._require_for_policy(name, number)
        expected = params.get("RevisionId")

        def change(current: LayerPolicy | None) -> LayerPolicy | None:
            _check_revision(current, expected)
            if current is None or current.statement(sid) is None:
                raise ResourceNotFoundException(f"Statement {sid} is not found in resource policy.")
            rest = tuple(s for s in current.statements if s.get("Sid") != sid)
            return LayerPolicy(str(uuid.uuid4()), rest) if rest else None

        self.store.change_policy(version.name, version.version, change)
        return {}

    def get_policy(self, params: dict[str, Any]) -> dict[str, Any]:
        name = rules.parse_layer_name(params.get("LayerName"))
        number = rules.parse_version_number(params.get("VersionNumber"))
        version = self._require_for_policy(name, number)
        policy = self.store.get_policy(version.name, version.version)
        if policy is None:
            raise ResourceNotFoundException(rules.NO_POLICY)
        return {"Policy": policy.document(), "RevisionId": policy.revision_id}

    # --- functions using layers -----------------------------------------------------------------

    def resolve(self, arns: Sequence[str]) -> tuple[FunctionLayer, ...]:
        """A function's ``Layers`` (already checked for count, duplicates and region) as the
        layer versions they name; InvalidParameterValueException for one that does not exist."""
        out: list[FunctionLayer] = []
        for arn in arns:
            ref = rules.parse_layer_version_arn(arn, "layers")
            found = None
            if ref.name is not None and ref.version is not None:
                found = self._find(LayerName(ref.name, ref.region, ref.account), ref.version)
            if found is None:
                raise rules.layer_version_missing(arn)
            out.append(FunctionLayer(arn, found.code_size, found.code_sha256))
        return tuple(out)

    def check_size(self, function_unzipped: int, layers: Sequence[FunctionLayer]) -> None:
        """The 250 MB unzipped limit over a function package plus its layers."""
        if layers:
            sizes = [self.code.unzipped_size(layer.code_sha256) for layer in layers]
            rules.check_combined_size(function_unzipped, sizes)

    def layers_dir(self, config: FunctionConfig) -> Path | None:
        """The merged ``/opt`` tree of a function version's layers (None without layers).
        Built when the function is created or updated (``prepare_opt``, in a thread); built
        here only for a data directory from before that."""
        if not config.layers:
            return None
        return self.prepare_opt([layer.code_sha256 for layer in config.layers])

    def prepare_opt(self, shas: Sequence[str]) -> Path:
        """The merged ``/opt`` tree of an ordered list of layer packages, built if missing.
        Blocking when it builds: call from a thread."""
        key = rules.opt_key(shas)
        target = self.opt_root / key
        if target.is_dir():
            return target
        with self._opt_lock:
            if not target.is_dir():
                self.code.charge(f"opt:{key}", self._build_opt(shas, target))
        return target

    def _build_opt(self, shas: Sequence[str], target: Path) -> int:
        """Merge the layers into a temporary tree renamed into place, in a child process
        (links that leave the merged tree are dropped there)."""
        tmp = Path(tempfile.mkdtemp(dir=self.opt_root, prefix=".build-"))
        try:
            written = unpack_in_process(
                [self.code.zip_path(sha) for sha in shas],
                tmp,
                max_bytes=MAX_UNZIPPED_BYTES + 1,
                merge=True,
                skip_outside=True,
            )
            tmp.chmod(0o755)
            tmp.rename(target)
            return written
        except BaseException as exc:
            remove_tree(tmp)
            if is_disk_full(exc):
                raise storage_exceeded(disk_full=True) from None
            if isinstance(exc, BadPackage):
                raise InvalidParameterValueException(UNZIP_FAILED) from None
            raise

    def _sweep_opt(self) -> None:
        """At start-up (no environment runs yet): drop trees no function version uses any more
        and builds a crash interrupted."""
        keep = {
            rules.opt_key([layer.code_sha256 for layer in config.layers])
            for config in self.functions.all_versions()
            if config.layers
        }
        for entry in self.opt_root.iterdir():
            if entry.name in keep:
                self.code.charge(f"opt:{entry.name}", self._kept_size(entry.name))
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    def _kept_size(self, key: str) -> int:
        """The size of a merged tree kept from an earlier run: its layers' unzipped sizes."""
        for config in self.functions.all_versions():
            shas = [layer.code_sha256 for layer in config.layers]
            if config.layers and rules.opt_key(shas) == key:
                return sum(_unzipped_or_zero(self.code, sha) for sha in shas)
        return 0

    # --- packages -----------------------------------------------------------------------------

    def referenced_code(self) -> set[str]:
        """Packages of live layer versions."""
        return self.store.referenced_code()

    def collect(self, shas: Iterable[str]) -> None:
        """Remove the packages among ``shas`` that nothing uses any more (blocking)."""
        self.code.collect(
            shas, lambda: self.store.referenced_code() | self.functions.referenced_code()
        )

    def total_code_size(self) -> int:
        return self.store.total_code_size()


def _unzipped_or_zero(code: CodeStore, sha: str) -> int:
    try:
        return code.unzipped_size(sha)
    except (OSError, ValueError, zipfile.BadZipFile):
        return 0


def _check_revision(current: LayerPolicy | None, expected: str | None) -> None:
    if expected is not None and (current is None or current.revision_id != expected):
        raise PreconditionFailedException(rules.POLICY_REVISION_MISMATCH)
