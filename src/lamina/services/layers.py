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
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path

from lamina.domain import layers as rules
from lamina.domain.arns import layer_arn
from lamina.domain.errors import (
    AccessDeniedException,
    InvalidParameterValueException,
    PreconditionFailedException,
    ResourceConflictException,
    ResourceNotFoundException,
)
from lamina.domain.function_rules import MAX_UNZIPPED_BYTES, validate_zip
from lamina.domain.layers import LayerName, LayerPolicy, LayerVersion, LayerVersionRef
from lamina.domain.models import FunctionConfig, FunctionLayer
from lamina.domain.requests.functions import CodeSource
from lamina.domain.requests.layers import (
    AddLayerPermissionRequest,
    LayerFilter,
    LayerPage,
    LayerPermission,
    LayerVersionDetails,
    PublishLayerVersionRequest,
)
from lamina.services.function_packages import (
    now_lambda_timestamp,
    off_loop_for_large,
    s3_unavailable,
)
from lamina.store.code import UNZIP_FAILED, CodeStore, storage_exceeded
from lamina.store.disk_full import is_disk_full
from lamina.store.ports import FunctionStore, LayerStore
from lamina.store.unpack import BadPackage
from lamina.store.unpack_worker import remove_tree, unpack_in_process


def package_from_content(content: CodeSource) -> bytes:
    """The zip of PublishLayerVersion's ``Content``: ``ZipFile`` only (no S3 in Lamina yet)."""
    if content.zip_file is not None:
        return content.zip_file
    if content.s3_bucket is not None or content.s3_key is not None:
        raise s3_unavailable(content.s3_bucket or "")
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

    def _details(self, version: LayerVersion) -> LayerVersionDetails:
        return LayerVersionDetails(version, self._code_url(version.code_sha256))

    # --- publish ------------------------------------------------------------------------------

    async def publish(self, request: PublishLayerVersionRequest) -> LayerVersionDetails:
        name = request.layer
        if name.account not in (None, self.account):
            raise AccessDeniedException()  # unverified for layers: as for function ARNs
        if name.region not in (None, self.region):
            raise ResourceNotFoundException(rules.NOT_FOUND)  # unverified
        zip_bytes = package_from_content(request.content)
        unzipped = await off_loop_for_large(zip_bytes, partial(validate_zip, zip_bytes))
        # Verifying, hashing and unpacking take seconds for large packages: in a thread.
        stored = await asyncio.to_thread(self.code.put, zip_bytes)
        try:
            draft = LayerVersion(
                name=name.name,
                region=self.region,
                account=self.account,
                version=0,
                code_sha256=stored.sha256,
                code_size=len(zip_bytes),
                unzipped_size=unzipped,
                created_date=now_lambda_timestamp(),
                description=request.description,
                compatible_runtimes=request.compatible_runtimes,
                compatible_architectures=request.compatible_architectures,
                license_info=request.license_info,
            )
            return self._details(self.store.publish(draft))
        except sqlite3.OperationalError as exc:
            if is_disk_full(exc):
                raise storage_exceeded(disk_full=True) from None
            raise
        finally:
            self.code.unpin(stored.sha256)
            if stored.new:
                await asyncio.to_thread(self.collect, {stored.sha256})

    # --- read ---------------------------------------------------------------------------------

    def get_version(self, name: LayerName, version: int) -> LayerVersionDetails:
        return self._details(self._require(name, version))

    def get_version_by_arn(self, ref: LayerVersionRef) -> LayerVersionDetails:
        if ref.name is None or ref.version is None:
            raise ResourceNotFoundException(rules.NOT_FOUND)  # AWS-managed layers: none here
        name = LayerName(ref.name, ref.region, ref.account)
        return self._details(self._require(name, ref.version))

    def list_layers(self, where: LayerFilter) -> LayerPage:
        """The latest version matching the filters of each layer, by layer name."""
        found: list[LayerVersion] = []
        seen: set[str] = set()
        more = False
        for version in self.store.all_versions(after_name=where.marker or ""):
            if version.name in seen or not version.matches(where.runtime, where.architecture):
                continue
            if len(found) == where.limit:
                more = True
                break
            seen.add(version.name)
            found.append(version)
        return LayerPage(found, found[-1].name if more else None)

    def list_versions(self, name: LayerName, where: LayerFilter) -> LayerPage:
        """A layer's versions matching the filters, newest first (none for an unknown name)."""
        marker = where.marker or ""
        below = int(marker) if marker.isdigit() else None
        versions = self.store.versions(name.name) if name.is_here(self.region, self.account) else []
        matching = [
            v
            for v in versions
            if v.matches(where.runtime, where.architecture) and (below is None or v.version < below)
        ]
        page = matching[: where.limit]
        more = len(matching) > where.limit
        return LayerPage(page, str(page[-1].version) if more else None)

    # --- delete -------------------------------------------------------------------------------

    async def delete_version(self, name: LayerName, version: int) -> None:
        """Nothing to do when the version does not exist. Functions using it keep it."""
        if name.is_here(self.region, self.account):
            deleted = self.code.free_space_for(lambda: self.store.delete(name.name, version))
            if deleted is not None:
                await asyncio.to_thread(self.collect, {deleted.code_sha256})

    # --- permissions --------------------------------------------------------------------------

    def add_permission(self, request: AddLayerPermissionRequest) -> LayerPermission:
        version = self._require_for_policy(request.layer, request.version)
        sid = request.statement_id
        added = rules.statement(
            sid, request.principal, version.version_arn, request.organization_id
        )

        def change(current: LayerPolicy | None) -> LayerPolicy:
            if current is not None and current.statement(sid) is not None:
                raise ResourceConflictException(
                    f"The statement id ({sid}) provided already exists. Please provide a new"
                    " statement id, or remove the existing statement."
                )
            _check_revision(current, request.revision_id)
            statements = current.statements if current is not None else ()
            return LayerPolicy(str(uuid.uuid4()), (*statements, added))

        policy = self.store.change_policy(version.name, version.version, change)
        assert policy is not None
        return LayerPermission(rules.compact(added), policy.revision_id)

    def remove_permission(
        self, name: LayerName, number: int, sid: str, revision_id: str | None
    ) -> None:
        version = self._require_for_policy(name, number)

        def change(current: LayerPolicy | None) -> LayerPolicy | None:
            _check_revision(current, revision_id)
            if current is None or current.statement(sid) is None:
                raise ResourceNotFoundException(f"Statement {sid} is not found in resource policy.")
            rest = tuple(s for s in current.statements if s.get("Sid") != sid)
            return LayerPolicy(str(uuid.uuid4()), rest) if rest else None

        self.store.change_policy(version.name, version.version, change)

    def get_policy(self, name: LayerName, number: int) -> LayerPolicy:
        version = self._require_for_policy(name, number)
        policy = self.store.get_policy(version.name, version.version)
        if policy is None:
            raise ResourceNotFoundException(rules.NO_POLICY)
        return policy

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
        here if it is missing (a data directory from before that). Blocking when it builds:
        see ``layers_dir_ready``."""
        if not config.layers:
            return None
        return self.prepare_opt(_layer_shas(config))

    def layers_dir_ready(self, config: FunctionConfig) -> bool:
        """Whether ``layers_dir`` returns at once (no layers, or their tree is built)."""
        return not config.layers or self._opt_path(_layer_shas(config)).is_dir()

    def _opt_path(self, shas: Sequence[str]) -> Path:
        return self.opt_root / rules.opt_key(shas)

    def prepare_opt(self, shas: Sequence[str]) -> Path:
        """The merged ``/opt`` tree of an ordered list of layer packages, built if missing.
        Blocking when it builds: call from a thread."""
        target = self._opt_path(shas)
        if target.is_dir():
            return target
        with self._opt_lock:
            if not target.is_dir():
                self.code.charge(f"opt:{target.name}", self._build_opt(shas, target))
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
            rules.opt_key(_layer_shas(config))
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
            shas = _layer_shas(config)
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


def _layer_shas(config: FunctionConfig) -> list[str]:
    """The packages of a function version's layers, in order."""
    return [layer.code_sha256 for layer in config.layers]
