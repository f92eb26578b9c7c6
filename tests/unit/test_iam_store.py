"""IAM's store and in-memory state: documents round-trip, a change is applied to memory
only after its commit, deletes remove rows, and the seams (key book, identity policies,
trust check) follow every change."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from lamina.domain.identity import Principal
from lamina.services.iam.errors import DeleteConflict, EntityAlreadyExists, LimitExceeded
from lamina.services.iam.model import AccessKey, ManagedPolicy, PolicyVersion, Role, User
from lamina.services.iam.service import IamService
from lamina.store.data_dir import prepare_data_dir
from lamina.store.iam_store import Change, SqliteIamStore

ACCOUNT = "000000000000"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
ALLOW_SQS = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}],
    }
)
BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_records_round_trip_through_documents() -> None:
    role = Role(
        "r", "/a/", "AROAX", "arn:aws:iam::0:role/a/r", 1.5, TRUST, "d", 7200, None,
        (("k", "v"),), {"p": "{}"}, (BASIC,), None, None,
    )  # fmt: skip
    user = User("u", "/", "AIDAX", "arn:aws:iam::0:user/u", 2.0, None, (), {}, ())
    key = AccessKey("AKIAX", "s" * 40, "u", 3.0, active=False)
    policy = ManagedPolicy(
        "arn:aws:iam::0:policy/p", "p", "/", "ANPAX", 1.0, 2.0, "v2",
        (PolicyVersion("v1", "{}", 1.0), PolicyVersion("v2", ALLOW_SQS, 2.0)), 3, "desc",
    )  # fmt: skip
    assert Role.from_doc(json.loads(json.dumps(role.to_doc()))) == role
    assert User.from_doc(json.loads(json.dumps(user.to_doc()))) == user
    assert AccessKey.from_doc(json.loads(json.dumps(key.to_doc()))) == key
    assert ManagedPolicy.from_doc(json.loads(json.dumps(policy.to_doc()))) == policy


def test_store_writes_reads_and_deletes_rows(tmp_path: Path) -> None:
    store = SqliteIamStore(tmp_path / "iam.sqlite3")
    run(store.write([Change("iam_roles", "a", {"x": 1}), Change("iam_roles", "b", {"x": 2})]))
    run(store.write([Change("iam_roles", "a", {"x": 3}), Change("iam_roles", "b", None)]))
    store.close()
    reopened = SqliteIamStore(tmp_path / "iam.sqlite3")
    try:
        assert reopened.load().rows["iam_roles"] == [{"x": 3}]
        with pytest.raises(ValueError):
            run(reopened.write([Change("sqlite_master", "k", {})]))  # type: ignore[arg-type]
    finally:
        reopened.close()


def test_data_directory_makes_the_database_private(tmp_path: Path) -> None:
    prepare_data_dir(tmp_path / "data")
    mode = (tmp_path / "data" / "iam.sqlite3").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def service(path: Path) -> IamService:
    iam = IamService(SqliteIamStore(path), ACCOUNT)
    iam.load()
    return iam


def test_state_survives_a_reopen_and_seams_follow_changes(tmp_path: Path) -> None:
    async def scenario() -> None:
        iam = service(tmp_path / "iam.sqlite3")
        role = await iam.roles.create(
            "Fn-Role", "/svc/", TRUST, description=None, max_session=None, boundary=None, tags_=()
        )
        await iam.attachments.attach("role", "fn-role", BASIC)  # names ignore case
        await iam.attachments.put_inline("role", "Fn-Role", "sqs", ALLOW_SQS)
        user = await iam.users.create("alice", None, boundary=None, tags_=())
        key = await iam.keys.create("alice")

        assert iam.role(role.arn) == iam.roles.get("fn-role")
        assert iam.trusts(role, "lambda.amazonaws.com")
        assert not iam.trusts(role, "events.amazonaws.com")
        signing = iam.key_book.key(key.key_id)
        assert signing is not None and signing.secret_access_key == key.secret
        assert signing.principal.arn == user.arn and signing.principal.unique_id == user.user_id
        assumed = Principal(
            f"arn:aws:sts::{ACCOUNT}:assumed-role/Fn-Role/s", ACCOUNT, "assumed-role",
            f"{role.role_id}:s", role_arn=role.arn,
        )  # fmt: skip
        documents = iam.identity_policies.policies_of(assumed)
        assert [d["Statement"][0]["Action"] for d in documents] == [
            "sqs:*",
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        ]
        await iam.keys.set_active("alice", key.key_id, False)
        inactive = iam.key_book.key(key.key_id)
        assert inactive is not None and not inactive.active
        await iam.attachments.delete_inline("role", "Fn-Role", "sqs")
        assert len(iam.identity_policies.policies_of(assumed)) == 1  # the cache was dropped
        await iam.stop()

        again = service(tmp_path / "iam.sqlite3")
        assert again.roles.get("FN-ROLE").attached == (BASIC,)
        assert again.keys.of("alice")[0].active is False
        assert again.state.attachment_count(BASIC) == 1
        await again.stop()

    run(scenario())


def test_refused_changes_leave_state_and_store_unchanged(tmp_path: Path) -> None:
    async def scenario() -> None:
        iam = service(tmp_path / "iam.sqlite3")
        await iam.roles.create(
            "r", None, TRUST, description=None, max_session=None, boundary=None, tags_=()
        )
        await iam.attachments.attach("role", "r", BASIC)
        with pytest.raises(EntityAlreadyExists):
            await iam.roles.create(
                "R", None, TRUST, description=None, max_session=None, boundary=None, tags_=()
            )
        with pytest.raises(DeleteConflict):
            await iam.roles.delete("r")
        await iam.users.create("u", None, boundary=None, tags_=())
        await iam.keys.create("u")
        await iam.keys.create("u")
        with pytest.raises(LimitExceeded):
            await iam.keys.create("u")
        generation = iam.state.generation
        await iam.stop()
        again = service(tmp_path / "iam.sqlite3")
        assert len(again.keys.of("u")) == 2 and again.roles.get("r").attached == (BASIC,)
        assert generation > 1
        await again.stop()

    run(scenario())
