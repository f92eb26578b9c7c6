"""The keys the edge knows and what it does with a request's key in each ``--auth`` mode:
the composed key book, the root key file, execution environments as role sessions,
``EdgeAccess.admit``/``identify``, ``AWS_IAM`` function URLs, and the mode's default."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from lamina.api.access import EdgeAccess
from lamina.api.guard import HostAllowList
from lamina.api.sigv4 import SignedRequest
from lamina.api.url_auth import UrlRefused, iam_caller
from lamina.config import Settings, SettingsError
from lamina.domain.callers import FunctionApiPolicy, FunctionCaller
from lamina.domain.errors import (
    AccessDeniedException,
    ExpiredTokenException,
    InvalidSignatureException,
    UnrecognizedClientException,
)
from lamina.domain.identity import Principal, SigningKey
from lamina.runtime.credentials import CredentialRegistry
from lamina.services.keys.key_book import KeyBooks, StaticKeys
from lamina.services.keys.root_key import ROOT_KEY_FILE, RootKeyError, root_key

ACCOUNT = "000000000000"
HOST = "127.0.0.1:9000"
ROOT = SigningKey("AKIAROOTROOTROOTROOT", "r" * 40, Principal.root(ACCOUNT))
USER = SigningKey(
    "AKIAUSERUSERUSERUSER",
    "u" * 40,
    Principal(
        f"arn:aws:iam::{ACCOUNT}:user/alice", ACCOUNT, "user", "AIDAALICE", user_name="alice"
    ),
)
INACTIVE = SigningKey("AKIAOLDOLDOLDOLDOLDO", "o" * 40, USER.principal, active=False)
EXPIRED = SigningKey(
    "ASIALAMINAEXPIREDXXX", "e" * 40, USER.principal, session_token="tok", expires_at=1.0
)


def signed(
    key: str, secret: str, token: str | None = None, service: str = "lambda"
) -> SignedRequest:
    request = AWSRequest(
        method="POST", url=f"http://{HOST}/2015-03-31/functions/f/invocations", data=b"{}"
    )
    SigV4Auth(Credentials(key, secret, token), service, "us-east-1").add_auth(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers["host"] = HOST
    return SignedRequest("POST", "/2015-03-31/functions/f/invocations", "", headers, b"{}")


def edge(mode: str, registry: CredentialRegistry | None = None) -> EdgeAccess:
    registry = registry or CredentialRegistry()
    keys = KeyBooks([StaticKeys([ROOT, USER, INACTIVE, EXPIRED]), registry])
    return EdgeAccess(
        HostAllowList("127.0.0.1", ""),
        registry,
        frozenset(),
        FunctionApiPolicy("account"),
        ACCOUNT,
        "us-east-1",
        keys=keys,
        mode=mode,
    )


Identified = tuple[Principal, FunctionCaller | None, bytes]


def admit(
    access: EdgeAccess, request: SignedRequest, *, browser: bool = False
) -> Identified | None:
    claim, key = access.admit(request.headers, {}, relayed=False, browser=browser)
    if key is None:
        return None
    return access.identify(claim, key, request, "lambda")


def identify(access: EdgeAccess, request: SignedRequest) -> Identified:
    identified = admit(access, request)
    assert identified is not None
    return identified


def test_off_accepts_unknown_keys_as_root_and_verifies_known_ones() -> None:
    access = edge("off")
    assert admit(access, signed("test", "test")) is None  # the edge then uses the root
    principal, caller, payload = identify(access, signed(USER.access_key_id, "u" * 40))
    assert (principal, caller, payload) == (USER.principal, None, b"{}")
    with pytest.raises(InvalidSignatureException):
        admit(access, signed(USER.access_key_id, "wrong"))
    with pytest.raises(AccessDeniedException):
        admit(access, signed("test", "test"), browser=True)
    with pytest.raises(UnrecognizedClientException):
        admit(access, signed("ASIALAMINADEADDEADDE", "x", "t"))  # a stopped environment's


def test_verify_requires_a_known_active_unexpired_key() -> None:
    access = edge("verify")
    with pytest.raises(UnrecognizedClientException):
        admit(access, signed("test", "test"))
    with pytest.raises(UnrecognizedClientException):
        admit(access, signed(INACTIVE.access_key_id, "o" * 40))
    with pytest.raises(ExpiredTokenException):
        admit(access, signed(EXPIRED.access_key_id, "e" * 40, "tok"))
    principal, _, _ = identify(access, signed(ROOT.access_key_id, "r" * 40))
    assert principal == Principal.root(ACCOUNT)


def test_an_environments_key_is_a_session_of_its_role() -> None:
    registry = CredentialRegistry(ACCOUNT)
    issued = registry.issue(
        "fn", f"arn:aws:iam::{ACCOUNT}:role/service-role/exec", "/aws/lambda/fn"
    )
    registry.role_ids = lambda arn: "AROAEXECROLEID123456" if arn.endswith("/exec") else None
    access = edge("verify", registry)
    request = signed(issued.access_key_id, issued.secret_access_key, issued.session_token)
    principal, caller, _ = identify(access, request)
    assert principal.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/exec/fn"
    assert principal.unique_id == "AROAEXECROLEID123456:fn"
    assert principal.role_arn == f"arn:aws:iam::{ACCOUNT}:role/service-role/exec"
    assert caller is not None and caller.function_name == "fn"
    registry.revoke(issued.access_key_id)
    with pytest.raises(UnrecognizedClientException):
        admit(access, request)


def test_aws_iam_urls_follow_the_mode() -> None:
    keys = KeyBooks([StaticKeys([ROOT])])
    assert iam_caller(signed("test", "x"), "us-east-1", ACCOUNT, keys, "off").user_arn.endswith(
        ":root"
    )
    with pytest.raises(UrlRefused):
        iam_caller(signed("test", "x"), "us-east-1", ACCOUNT, keys, "verify")
    with pytest.raises(UrlRefused):
        iam_caller(signed(ROOT.access_key_id, "bad"), "us-east-1", ACCOUNT, keys, "off")
    caller = iam_caller(signed(ROOT.access_key_id, "r" * 40), "us-east-1", ACCOUNT, keys, "verify")
    assert (caller.user_arn, caller.user_id) == (f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT)


def test_the_root_key_is_created_once_then_read(tmp_path: Path) -> None:
    created = root_key(tmp_path, ACCOUNT)
    assert stat.S_IMODE((tmp_path / ROOT_KEY_FILE).stat().st_mode) == 0o600
    assert created.access_key_id.startswith("AKIA") and len(created.secret_access_key) == 40
    assert root_key(tmp_path, ACCOUNT) == created
    given = root_key(tmp_path, ACCOUNT, "AKIAGIVENGIVENGIVEN1", "s" * 40)
    assert given.access_key_id == "AKIAGIVENGIVENGIVEN1" and given.principal.kind == "root"
    with pytest.raises(RootKeyError):
        root_key(tmp_path, ACCOUNT, "AKIAGIVENGIVENGIVEN1", "")


def test_the_mode_defaults_to_verify_off_loopback() -> None:
    assert Settings(host="127.0.0.1").auth_mode == "off"
    assert Settings(host="::1").auth_mode == "off"
    assert Settings(host="0.0.0.0").auth_mode == "verify"
    assert Settings(host="192.168.1.5").auth_mode == "verify"
    assert Settings(host="0.0.0.0", auth="off").auth_mode == "off"
    assert Settings(auth="verify").auth_mode == "verify"


def test_expiry_is_checked_against_the_clock() -> None:
    fresh = SigningKey("ASIALAMINAFRESHFRESH", "f" * 40, USER.principal, "t", time.time() + 60)
    access = edge("verify")
    access.keys = KeyBooks([StaticKeys([fresh])])
    principal, _, _ = identify(access, signed(fresh.access_key_id, "f" * 40, "t"))
    assert principal == USER.principal


def test_a_root_key_given_by_half_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMINA_ROOT_ACCESS_KEY_ID", "AKIAGIVENGIVENGIVEN1")
    monkeypatch.delenv("LAMINA_ROOT_SECRET_ACCESS_KEY", raising=False)
    with pytest.raises(SettingsError, match="go together"):
        Settings.from_env()
    monkeypatch.setenv("LAMINA_ROOT_SECRET_ACCESS_KEY", "s" * 40)
    settings = Settings.from_env(auth="verify")
    assert (settings.root_access_key_id, settings.auth_mode) == ("AKIAGIVENGIVENGIVEN1", "verify")
