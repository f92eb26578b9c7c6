"""What every region served shares: the data directory, the code store, the sandbox, host
admission, the bytecode compiler, and the credentials of live environments."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from lamina.api.internal import CodeLinks
from lamina.config import Settings
from lamina.domain.callers import FunctionApiPolicy
from lamina.domain.sealing import Sealer
from lamina.runtime.admission import Admission, HostBudget, HostCapacity
from lamina.runtime.api_proxy import RelayedConnections
from lamina.runtime.bytecode import BytecodeCompiler
from lamina.runtime.credentials import CredentialRegistry
from lamina.runtime.isolation import SelectedSandbox
from lamina.runtime.java import is_java_runtime
from lamina.runtime.java_build import JavaBuilds, gated
from lamina.runtime.launch import find_python, is_python_runtime, python_for_runtime, sdk_path
from lamina.runtime.legacy_sdk import LEGACY_PINS, LegacySdks
from lamina.runtime.linux_sandbox import LinuxSandbox
from lamina.runtime.sandbox import Sandbox
from lamina.services.destination_gate import DestinationGate
from lamina.services.event_sources.poll_gate import PollGate
from lamina.services.keys.key_book import KeyBooks
from lamina.services.payload_check import PayloadChecker
from lamina.store.code import CodeStore
from lamina.store.data_dir import prepare_data_dir
from lamina.store.disk_full import SpaceReserve
from lamina.store.master_key import load_master_key

# Regions other than the default one keep their state here, one directory each.
REGIONS_DIR = "regions"


@dataclass
class HostParts:
    settings: Settings
    data: Path
    code: CodeStore
    links: CodeLinks
    sandbox: SelectedSandbox
    sdk_dir: Path
    bytecode: BytecodeCompiler
    admission: Admission
    # Seals secrets at rest (environment variables, KMS key material) under the master key
    # (store/master_key.py): the data directory's master.key or --kms-key.
    sealer: Sealer
    # Execution-role credentials of live environments, and the relay's upstream connections:
    # the edge authenticates calls made from inside environments with both (api/access.py).
    credentials: CredentialRegistry = field(default_factory=CredentialRegistry)
    # Every access key the server knows (services/keys): the root's, IAM users', STS
    # sessions', and the environments' credentials above; the edge verifies with it.
    keys: KeyBooks = field(default_factory=KeyBooks)
    relayed: RelayedConnections = field(default_factory=RelayedConnections)
    # Whether event source mappings may poll (--iam enforce: their roles' permissions,
    # wiring/authorization.py); open until installed.
    poll_gate: PollGate = field(default_factory=PollGate)
    # Whether destinations may take a function's records (--iam enforce: its role).
    destination_gate: DestinationGate = field(default_factory=DestinationGate)
    # boto3 for python3.8/3.9 (runtime/legacy_sdk.py), installed on demand.
    legacy_sdks: LegacySdks = field(default_factory=LegacySdks)
    # Lamina's Java runtime, compiled once per JDK (runtime/java_build.py).
    java_builds: JavaBuilds = field(default_factory=JavaBuilds)
    # Whether Invoke payloads are JSON; large ones in a worker process (one for every region).
    payloads: PayloadChecker = field(default_factory=PayloadChecker)

    @property
    def function_policy(self) -> FunctionApiPolicy:
        return FunctionApiPolicy(self.settings.function_api_access)

    def function_endpoint(self) -> str:
        """``AWS_ENDPOINT_URL`` of functions: the relay's listener inside an environment's
        own network namespace, else the server itself."""
        settings = self.settings
        if self.sandbox.runtime_api_address(settings.function_network) is not None:
            return f"http://127.0.0.1:{settings.port}"
        return settings.base_url

    def warm_runtime(self, runtime: str | None) -> None:
        """Start what the first environment of a ``runtime`` function needs, in the
        background (with isolation, a Python runtime's spawner and its inits prepared
        ahead; a Java runtime's build); returns at once. Nothing for other runtimes or,
        for Python, without isolation."""
        if runtime and is_java_runtime(runtime):
            self.java_builds.ensure(runtime)
            return
        if not runtime or not is_python_runtime(runtime):
            return
        self._legacy_interpreter(runtime, install=True)
        backend = self.sandbox.backend
        if isinstance(backend, LinuxSandbox):
            backend.warm(python_for_runtime(runtime))

    def _legacy_interpreter(self, runtime: str, install: bool) -> str | None:
        """``3.X`` when ``runtime`` runs on an installed interpreter too old for the
        server's boto3 (starting its SDK's installation if ``install``), else None."""
        version = runtime.removeprefix("python")
        if version not in LEGACY_PINS:
            return None
        python = find_python(version)
        if python is None:
            return None  # the server's interpreter runs it: the server's SDK works
        if install:
            self.legacy_sdks.ensure(version, python)
        return version

    def sdk_for(self, runtime: str | None) -> Path:
        """The SDK root of an environment of ``runtime``: the server's boto3, or for
        python3.8/3.9 the one installed for that interpreter once it is ready (its
        installation starts here at the latest; see runtime/legacy_sdk.py); for Java, the
        runtime's build for its JDK (runtime/java_build.py)."""
        if runtime and is_java_runtime(runtime):
            return self.java_builds.root_for(runtime) or self.sdk_dir
        version = self._legacy_interpreter(runtime or "", install=False)
        if version is None:
            return self.sdk_dir
        python = find_python(version)
        assert python is not None
        return self.legacy_sdks.root_for(version, python) or self.sdk_dir

    def sandbox_for(self, runtime: str | None) -> Sandbox:
        """The sandbox of ``runtime``'s environments: a Java environment starts once its
        runtime is built (without blocking the event loop meanwhile)."""
        return gated(self.sandbox, self.java_builds, runtime)

    def region_dir(self, region: str) -> Path:
        """Where a region's databases live: the data directory itself for the default
        region (as before regions existed), else ``regions/<region>``."""
        if region == self.settings.region:
            return self.data
        path = self.data / REGIONS_DIR / region
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    def regions_with_state(self) -> list[str]:
        """The regions other than the default that have a directory (resumed at start)."""
        root = self.data / REGIONS_DIR
        if not root.is_dir():
            return []
        known = served_regions()
        return sorted(p.name for p in root.iterdir() if p.is_dir() and p.name in known)


def build_host(settings: Settings) -> HostParts:
    data = settings.data_dir
    prepare_data_dir(data)  # 0700, databases 0600
    sealer = Sealer(load_master_key(data, settings.kms_key))  # before any database opens
    code = CodeStore(
        data / "code",
        settings.code_storage_limit_mb * 1024 * 1024,
        SpaceReserve(data / "space-reserve"),  # deletions work on a full disk
    )
    sandbox = SelectedSandbox(
        settings.isolation,
        data,
        settings.port,
        settings.function_network,
        tmp_storage=settings.tmp_storage,
        cpu_policy=settings.cpu_policy,
    )
    sdk_dir = sdk_path(data / "runtime-sdk")
    sandbox.sdk_dir = sdk_dir
    # Host admission (runtime/admission.py): every region's environments share it.
    admission = Admission(
        HostCapacity(
            HostBudget.of_host(
                settings.host_memory_overcommit,
                settings.host_cpu_overcommit,
                settings.max_cold_starts,
            )
        )
    )
    return HostParts(
        settings=settings,
        data=data,
        code=code,
        links=CodeLinks(settings.base_url, secrets.token_bytes(32), code),
        sandbox=sandbox,
        sdk_dir=sdk_dir,
        bytecode=BytecodeCompiler(code.root, code.lock, f"compile-port-{settings.port}"),
        admission=admission,
        sealer=sealer,
    )


@lru_cache(maxsize=1)
def served_regions() -> frozenset[str]:
    """Every AWS region botocore knows Lambda in: the regions a signature may select (any
    other region name is served as the default region, so state is never keyed by
    arbitrary text)."""
    import botocore.session

    session = botocore.session.get_session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("lambda", partition_name=partition))
    return frozenset(regions)
