"""The edge's adapter of IAM (query protocol, XML answers): ``IamQueryCodec`` parses a form
into the operation's input and checks it against botocore's model as IAM's validator does
(``iam_validation.py``); ``iam_handlers(service)`` maps each operation Lamina serves to
``async (ctx, params) -> output`` with botocore's member names."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from lamina.api.iam_policies_api import policy_handlers
from lamina.api.iam_roles_api import role_handlers
from lamina.api.iam_simulate_api import simulate_handlers
from lamina.api.iam_users_api import user_handlers
from lamina.api.iam_validation import IamValidator
from lamina.api.protocols import QueryCodec
from lamina.domain.context import RequestContext
from lamina.domain.errors import AwsError
from lamina.domain.names import constraint_error, validation_message
from lamina.services.iam.errors import ValidationError
from lamina.services.iam.service import IamService

Handler = Callable[[RequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]

IAM_XML_NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"
_INDEXED = re.compile(r"\.member\.(\d+)")


class _MissingMember(Exception):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def _raise_missing(operation: str, parameter: str) -> AwsError:
    del operation
    raise _MissingMember(parameter)


def _validation_path(query_name: str) -> str:
    """``Tags.member.1.Key`` as IAM's validator names it: ``tags.1.member.key``."""
    path = _INDEXED.sub(r".\1.member", query_name)
    return ".".join(part[:1].lower() + part[1:] for part in path.split("."))


class IamQueryCodec(QueryCodec):
    def __init__(self, model: dict[str, Any]) -> None:
        super().__init__(model, xml_namespace=IAM_XML_NAMESPACE, missing_parameter=_raise_missing)
        self._validator = IamValidator(model)

    def parse(self, operation: str, form: Mapping[str, list[str]]) -> dict[str, Any]:
        try:
            params = super().parse(operation, form)
        except _MissingMember as missing:
            error = constraint_error(
                _validation_path(missing.path), None, "Member must not be null"
            )
            raise ValidationError(validation_message([error])) from None
        self._validator.check(operation, params)
        return params


def iam_handlers(iam: IamService) -> dict[str, Handler]:
    return {
        **role_handlers(iam),
        **user_handlers(iam),
        **policy_handlers(iam),
        **simulate_handlers(iam),
    }
