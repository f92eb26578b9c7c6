"""IAM on the edge: one global database (``iam.sqlite3``), spoken in the query protocol
and signed for us-east-1 whatever the region served. Users' access keys join the edge's key
book (``host.keys``); the other seams (identity policies, ``role``/``trusts``) are reached
through ``Lamina.iam``."""

from __future__ import annotations

from lamina.api.access import EdgeAccess
from lamina.api.endpoints import QueryService, ServiceDirectory
from lamina.api.iam_api import IamQueryCodec, iam_handlers
from lamina.api.model import load_model
from lamina.services.iam.service import IamService
from lamina.store.iam_store import SqliteIamStore
from lamina.wiring.host import HostParts

IAM_DATABASE = "iam.sqlite3"


def build_iam(host: HostParts) -> IamService:
    service = IamService(SqliteIamStore(host.data / IAM_DATABASE), host.settings.account_id)
    # Loaded now, so the key book and identity policies answer from the first request.
    service.load()
    host.keys.add(service.key_book)  # users' keys sign requests (docs/security.md)
    return service


def add_iam_service(services: ServiceDirectory, iam: IamService, access: EdgeAccess) -> None:
    model = load_model("iam")
    services.add_query(
        QueryService(
            "iam",
            "iam",
            str(model["metadata"]["apiVersion"]),
            IamQueryCodec(model),
            iam_handlers(iam),
            check=access.checker("iam"),
        )
    )
