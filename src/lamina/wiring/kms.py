"""The minimal KMS on the edge (JSON 1.1, target prefix ``TrentService``, signing name
``kms``): one database for every region (keys keyed by region and account), key material
sealed under the server's master key."""

from __future__ import annotations

from lamina.api.access import EdgeAccess
from lamina.api.endpoints import JsonService, ServiceDirectory
from lamina.api.kms_api import kms_handlers
from lamina.api.model import load_model
from lamina.api.protocols import JsonCodec
from lamina.domain.errors import AwsError
from lamina.domain.names import constraint_error, validation_exception
from lamina.services.kms.service import KmsService
from lamina.store.kms_store import SqliteKmsStore
from lamina.wiring.host import HostParts

KMS_DATABASE = "kms.sqlite3"


def build_kms(host: HostParts) -> KmsService:
    return KmsService(SqliteKmsStore(host.data / KMS_DATABASE, host.sealer))


def missing_member(operation: str, member: str) -> AwsError:
    """KMS names an absent required member as its validator does."""
    del operation
    field = member[:1].lower() + member[1:]
    return validation_exception([constraint_error(field, None, "Member must not be null")])


def add_kms_service(services: ServiceDirectory, kms: KmsService, access: EdgeAccess) -> None:
    services.add_json(
        JsonService(
            "kms",
            "kms",
            JsonCodec(load_model("kms"), missing_parameter=missing_member),
            kms_handlers(kms),
            check=access.checker("kms"),
        )
    )
