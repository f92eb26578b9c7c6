"""Code signing (services/code_signing.py): what makes a zip trusted, the configuration's
checks, and the store; the model validator of unimplemented operations
(api/lambda_unsupported_api.py)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import cast

import pytest

from lamina.api.lambda_unsupported_api import model_errors, unsupported_handlers
from lamina.api.model import load_model
from lamina.domain.errors import InvalidParameterValueException, ValidationException
from lamina.services.code_signing import (
    CodeSigningService,
    CodeVerificationFailedException,
    ConfigChanges,
    ConfigNotFound,
    signed_by,
)
from lamina.services.function_catalog import FunctionCatalog
from lamina.store.code_signing_store import SqliteCodeSigningStore
from lamina.store.functions import SqliteFunctionStore

PROFILE = "arn:aws:signer:us-east-1:000000000000:/signing-profiles/test"


def package(comment: str | None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("lambda_function.py", "def handler(e, c):\n    return 1\n")
        if comment is not None:
            archive.comment = comment.encode()
    return buf.getvalue()


@pytest.fixture
def service(tmp_path: Path) -> CodeSigningService:
    database = tmp_path / "lamina.sqlite3"
    SqliteFunctionStore(database).close()
    store = SqliteCodeSigningStore(database)
    return CodeSigningService(store, cast(FunctionCatalog, None), "us-east-1", "000000000000")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (package(f"lamina-signed-by:{PROFILE}"), PROFILE),
        (package(f"lamina-signed-by: {PROFILE} "), PROFILE),
        (package("built by CI"), None),
        (package(None), None),
        (b"not a zip", None),
    ],
)
def test_signed_by(data: bytes, expected: str | None) -> None:
    assert signed_by(data) == expected


def test_policies(service: CodeSigningService) -> None:
    config = service.create(ConfigChanges(publishers=(PROFILE,), policy="Enforce"))
    assert config.config_id.startswith("csc-") and len(config.config_id) == 21
    service.verify_upload(config, package(f"lamina-signed-by:{PROFILE}"), "fn")
    with pytest.raises(CodeVerificationFailedException):
        service.verify_upload(config, package(None), "fn")
    warn = service.update(config.arn, ConfigChanges(policy="Warn"))
    service.verify_upload(warn, package(None), "fn")  # accepted, logged
    assert service.get(config.arn).policy == "Warn"


def test_create_defaults_and_checks(service: CodeSigningService) -> None:
    config = service.create(ConfigChanges(publishers=(PROFILE,)))
    assert (config.policy, config.description) == ("Warn", "")
    with pytest.raises(ValidationException) as info:
        service.create(ConfigChanges(publishers=(), policy="Sometimes"))
    assert info.value.message == (
        "2 validation errors detected: Value '[]' at"
        " 'allowedPublishers.signingProfileVersionArns' failed to satisfy constraint: Member"
        " must have length greater than or equal to 1; Value 'Sometimes' at"
        " 'codeSigningPolicies.untrustedArtifactOnDeployment' failed to satisfy constraint:"
        " Member must satisfy enum value set: [Enforce, Warn]"
    )
    with pytest.raises(InvalidParameterValueException):
        service.create(ConfigChanges(publishers=("not-an-arn",)))
    with pytest.raises(ValidationException):
        service.get("arn:aws:lambda:us-east-1:000000000000:code-signing-config:nope")
    missing = config.arn[:-4] + "zzzz"
    with pytest.raises(ConfigNotFound):
        service.get(missing)
    assert [c.arn for c in service.list_configs(None, None).configs] == [config.arn]
    service.delete(config.arn)
    assert service.list_configs(None, None).configs == []


def test_pages(service: CodeSigningService) -> None:
    made = [service.create(ConfigChanges(publishers=(PROFILE,))).arn for _ in range(5)]
    first = service.list_configs(None, 2)
    assert [c.arn for c in first.configs] == made[:2] and first.next_marker == "2"
    rest = service.list_configs(first.next_marker, 10)
    assert [c.arn for c in rest.configs] == made[2:] and rest.next_marker is None
    with pytest.raises(InvalidParameterValueException):
        service.list_configs("bogus", None)


def test_model_errors_follow_the_model() -> None:
    shapes = load_model("lambda")["shapes"]
    request = shapes["ListCapacityProvidersRequest"]
    assert model_errors({"MaxItems": 0}, request, shapes) == [
        "Value '0' at 'maxItems' failed to satisfy constraint: Member must have value"
        " greater than or equal to 1"
    ]
    get = shapes["GetDurableExecutionRequest"]
    assert model_errors({}, get, shapes) == [
        "Value null at 'durableExecutionArn' failed to satisfy constraint: Member must not be null"
    ]


def test_unsupported_handlers_cover_the_rest_of_the_model() -> None:
    operations = set(load_model("lambda")["operations"])
    handlers = unsupported_handlers(operations - {"GetDurableExecution"})
    assert set(handlers) == {"GetDurableExecution"}
