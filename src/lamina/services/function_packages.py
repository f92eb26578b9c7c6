"""Function packages: where a request's code comes from, storing and unpacking it (off the
event loop), the layers it runs with, and removing packages nothing uses any more.

A stored package stays pinned until ``release`` so that a concurrent collection cannot remove
it between storing and the configuration that references it being committed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, TypeVar

from lamina.domain.errors import InvalidParameterValueException
from lamina.domain.models import FunctionConfig, FunctionLayer
from lamina.domain.requests.functions import CodeSource
from lamina.store.code import CodeStore, StoredPackage, storage_exceeded
from lamina.store.disk_full import is_disk_full
from lamina.store.ports import FunctionStore

if TYPE_CHECKING:
    from lamina.services.layers import LayerService

LARGE_PACKAGE_BYTES = 1 << 20
T = TypeVar("T")


async def off_loop_for_large(package: object, check: Callable[[], T]) -> T:
    """Run a check that reads a package's central directory: in a thread for a large
    package (thousands of entries take tens of milliseconds), inline otherwise."""
    if isinstance(package, (bytes, bytearray)) and len(package) >= LARGE_PACKAGE_BYTES:
        return await asyncio.to_thread(check)
    return check()


def now_lambda_timestamp() -> str:
    """``2019-11-21T19:32:12.000+0000``."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"


def s3_unavailable(bucket: str) -> InvalidParameterValueException:
    """A package given by S3 location: Lamina has no S3 (yet)."""
    return InvalidParameterValueException(
        "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: "
        f"The specified bucket does not exist ({bucket}): Lamina has no S3 yet; "
        "upload the package with ZipFile."
    )


def zip_of(code: CodeSource) -> bytes:
    """The zip a request's code names; InvalidParameterValueException for an S3 object, an
    image or no source at all."""
    if code.zip_file is not None:
        return code.zip_file
    if code.s3_bucket is not None or code.s3_key is not None:
        raise s3_unavailable(code.s3_bucket or "")
    if code.image_uri is not None:
        raise InvalidParameterValueException(
            "Container images are not supported by Lamina yet; use a zip package."
        )
    raise InvalidParameterValueException("Please provide a source for function code.")


def storage_error(exc: sqlite3.OperationalError) -> Exception:
    """A write the database could not take: a full disk is the caller's storage limit."""
    if is_disk_full(exc):
        return storage_exceeded(disk_full=True)
    return exc


def packages_of(config: FunctionConfig) -> set[str]:
    """The packages a function version uses: its code and its layers'."""
    return {config.code_sha256, *(layer.code_sha256 for layer in config.layers)}


class FunctionPackages:
    """The code store as functions use it, with the region's layers (None: no layers)."""

    def __init__(
        self, code: CodeStore, functions: FunctionStore, layers: LayerService | None
    ) -> None:
        self.code = code
        self._functions = functions
        self._layers = layers

    async def store(self, zip_bytes: bytes, layers: Sequence[FunctionLayer]) -> StoredPackage:
        """Verify, store and unpack a package (and merge its layers' ``/opt``) in a thread:
        large packages take seconds, which the event loop must not wait for. The package
        stays pinned until ``release``."""

        def work() -> StoredPackage:
            stored = self.code.put(zip_bytes)
            try:
                self.prepare_layers(layers)
            except BaseException:
                self.code.unpin(stored.sha256)
                self.collect({stored.sha256})
                raise
            return stored

        return await asyncio.to_thread(work)

    async def release(self, stored: StoredPackage) -> None:
        """After the request: unpinned, and removed again if nothing references it (a
        request that failed after storing it)."""
        self.code.unpin(stored.sha256)
        if stored.new:
            await asyncio.to_thread(self.collect, {stored.sha256})

    def prepare_layers(self, layers: Sequence[FunctionLayer]) -> None:
        """Build the merged ``/opt`` of ``layers`` if missing (blocking: call from a thread)."""
        if layers and self._layers is not None:
            self._layers.prepare_opt([layer.code_sha256 for layer in layers])

    def resolve_layers(self, arns: Sequence[str] | None) -> tuple[FunctionLayer, ...]:
        """The layer versions a request's ``Layers`` names (already validated in shape, count,
        duplicates and region); each must exist."""
        if not arns:
            return ()
        if self._layers is None:
            raise InvalidParameterValueException(f"Layer version {arns[0]} does not exist.")
        return self._layers.resolve(arns)

    def check_size(self, function_unzipped: int, layers: Sequence[FunctionLayer]) -> None:
        """The 250 MB unzipped limit over a package plus its layers."""
        if self._layers is not None:
            self._layers.check_size(function_unzipped, layers)

    def unzipped_size(self, sha256: str) -> int:
        return self.code.unzipped_size(sha256)

    def collect(self, shas: set[str]) -> None:
        """Remove packages no function version and no layer version references any more
        (blocking)."""

        def in_use() -> set[str]:
            used = self._functions.referenced_code()
            if self._layers is not None:
                used |= self._layers.referenced_code()
            return used

        self.code.collect(shas, in_use)

    async def collect_later(self, shas: set[str]) -> None:
        """``collect`` in a thread: removing trees takes as long as writing them."""
        await asyncio.to_thread(self.collect, shas)

    def total_code_size(self) -> int:
        """What the region's functions' and layers' zips take (AWS's ``TotalCodeSize``)."""
        _, total = self._functions.code_usage()
        if self._layers is not None:
            total += self._layers.total_code_size()
        return total
