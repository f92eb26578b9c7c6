"""The IAM service: its state over one store and the parts that change it, started and
stopped as one component, with the seams other parts use (``identity_source.py``)."""

from __future__ import annotations

from lamina.services.iam.attachments import Attachments
from lamina.services.iam.identity_source import (
    UserAndRolePolicies,
    UserKeys,
    role_by_arn,
    trusts,
)
from lamina.services.iam.keys import AccessKeys
from lamina.services.iam.model import Role
from lamina.services.iam.policies import Policies
from lamina.services.iam.roles import Roles
from lamina.services.iam.state import IamState
from lamina.services.iam.users import Users
from lamina.store.iam_store import SqliteIamStore


class IamService:
    def __init__(self, store: SqliteIamStore, account_id: str) -> None:
        self.state = IamState(store, account_id)
        self.roles = Roles(self.state)
        self.users = Users(self.state)
        self.keys = AccessKeys(self.state)
        self.policies = Policies(self.state)
        self.attachments = Attachments(self.state)
        # Seams (docs/iam.md): the edge's key book and the authorizer's identity policies.
        self.key_book = UserKeys(self.state)
        self.identity_policies = UserAndRolePolicies(self.state)

    def role(self, arn: str) -> Role | None:
        """The role an ARN names (CreateFunction's role check, AssumeRole)."""
        return role_by_arn(self.state, arn)

    @staticmethod
    def trusts(role: Role, service_principal: str) -> bool:
        """Whether the role's trust policy lets ``service_principal`` assume it."""
        return trusts(role, service_principal)

    def load(self) -> None:
        """Read the store (when the server is built, before it serves)."""
        self.state.load()

    async def stop(self) -> None:
        self.state.store.close()
