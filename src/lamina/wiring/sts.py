"""STS on the edge: sessions in one global database (``sts.sqlite3``), known to the edge's
key book; roles and identity policies from IAM; execution environments' sessions get their
role's id from IAM too."""

from __future__ import annotations

from typing import Any

from lamina.api.access import EdgeAccess
from lamina.api.endpoints import AccessCheck, QueryService, ServiceDirectory
from lamina.api.model import load_model
from lamina.api.sts_api import StsQueryCodec, sts_handlers
from lamina.domain.context import RequestContext
from lamina.services.iam import documents
from lamina.services.iam.service import IamService
from lamina.services.sts.service import RoleFacts, StsService
from lamina.services.sts.sessions import SessionBook
from lamina.store.sts_store import SqliteStsStore
from lamina.wiring.host import HostParts

STS_DATABASE = "sts.sqlite3"


class IamRoles:
    """IAM's roles as STS needs them."""

    def __init__(self, iam: IamService) -> None:
        self._iam = iam

    def role(self, arn: str) -> RoleFacts | None:
        role = self._iam.role(arn)
        if role is None:
            return None
        return RoleFacts(
            role.arn, role.role_id, role.max_session, documents.parsed(role.trust_policy)
        )

    def role_id(self, arn: str) -> str | None:
        role = self._iam.role(arn)
        return role.role_id if role is not None else None


def build_sts(host: HostParts, iam: IamService | None) -> StsService:
    """The service; its sessions join the edge's key book (after the root key, the
    environments' credentials and IAM users' keys, which ``build_iam`` added)."""
    sessions = SessionBook(SqliteStsStore(host.data / STS_DATABASE))
    roles = IamRoles(iam) if iam is not None else None
    if roles is not None:
        host.credentials.role_ids = roles.role_id
    host.keys.add(sessions)
    policies = iam.identity_policies if iam is not None else None
    return StsService(sessions, host.settings.account_id, roles, policies)


def add_sts_service(services: ServiceDirectory, sts: StsService, access: EdgeAccess) -> None:
    model = load_model("sts")
    services.add_query(
        QueryService(
            "sts",
            "sts",
            str(model["metadata"]["apiVersion"]),
            StsQueryCodec(model),
            sts_handlers(sts),
            check=_check(access),
        )
    )


def _check(access: EdgeAccess) -> AccessCheck:
    """GetCallerIdentity needs no permission (AWS answers it whatever the policies); the
    other operations go through the edge's checks of another service's operations."""
    others = access.checker("sts")

    def check(ctx: RequestContext, operation: str, params: dict[str, Any]) -> None:
        if operation != "GetCallerIdentity":
            others(ctx, operation, params)

    return check
