"""Function resource-based policies through boto3: AddPermission, GetPolicy and
RemovePermission compared with AWS's recordings (``TestLambdaPermissions``), what goes with
functions, versions and aliases, and durability across a SIGKILL.

Normalisation follows the recording tool: the JSON ``Statement``/``Policy`` strings are parsed,
RevisionIds are numbered in order of appearance, names map to their placeholders, and the
partition, region and account to ``<partition>``, ``<region>`` and ``111111111111``.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from support import ACCOUNT, LaminaServer, create_python_function, unique
from test_functions_api import UUID, assert_golden, error_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from aws_recorded import recorded  # noqa: E402

ECHO = "def handler(event, context):\n    return event\n"
S3_BUCKET_ARN = "arn:aws:s3:::test-bucket"


class PolicyGolden:
    """Lamina responses in the recorded form; ``names``: real text -> placeholder."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = sorted(names.items(), key=lambda kv: -len(kv[0]))
        self.uuids: dict[str, str] = {}

    def __call__(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            out = {k: self(v, k) for k, v in value.items() if k != "ResponseMetadata"}
            if "ResponseMetadata" in value:
                status = value["ResponseMetadata"]["HTTPStatusCode"]
                out["ResponseMetadata"] = {"HTTPHeaders": {}, "HTTPStatusCode": status}
            return out
        if isinstance(value, list):
            return [self(v, key) for v in value]
        if key == "RevisionId":
            assert UUID.match(value), value
            return self.uuids.setdefault(value, f"<uuid:{len(self.uuids) + 1}>")
        if key in ("Statement", "Policy") and isinstance(value, str):
            return self(json.loads(value), key)
        if isinstance(value, str):
            if value == ACCOUNT:
                return "111111111111"
            for real, placeholder in self.names:
                value = value.replace(real, placeholder)
            value = value.replace("arn:aws:", "arn:<partition>:").replace(
                ":us-east-1:", ":<region>:"
            )
            return value.replace(f":{ACCOUNT}:", ":111111111111:")
        return value


def expected(test: str, key: str) -> Any:
    return recorded(f"TestLambdaPermissions::{test}", key)


def test_add_permission_and_get_policy_match_aws(lam: Any) -> None:
    name = create_python_function(lam, ECHO, name=unique("lambda_func"))
    golden = PolicyGolden({name: "<function-name:1>", "test-bucket": "<resource:3>"})
    golden(lam.get_function(FunctionName=name)["Configuration"])  # its RevisionId is <uuid:1>
    added = lam.add_permission(
        FunctionName=name,
        Action="lambda:InvokeFunction",
        StatementId="s3",
        Principal="s3.amazonaws.com",
        SourceArn=S3_BUCKET_ARN,
    )
    assert_golden(golden(added), expected("test_add_lambda_permission_aws", "add_permission"))
    # The statement's keys in AWS's order, compact JSON.
    assert list(json.loads(added["Statement"])) == [
        "Sid", "Effect", "Principal", "Action", "Resource", "Condition"
    ]  # fmt: skip
    assert ", " not in added["Statement"] and '": ' not in added["Statement"]
    policy = lam.get_policy(FunctionName=name)
    assert_golden(golden(policy), expected("test_add_lambda_permission_aws", "get_policy"))
    assert list(json.loads(policy["Policy"])) == ["Version", "Id", "Statement"]


def test_permission_fields_match_aws(lam: Any) -> None:
    name = create_python_function(lam, ECHO, name=unique("lambda_func"))
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/someone"
    golden = PolicyGolden(
        {
            name: "<resource:1>",
            "test-bucket": "<resource:3>",
            f"arn:aws:iam::{ACCOUNT}:root": "arn:<partition>:iam::111111111111:<resource:2>",
            user_arn: "<user_arn>",
        }
    )
    test = "test_add_lambda_permission_fields"
    cases: list[tuple[str, dict[str, Any]]] = [
        (
            "add_permission_principal_wildcard",
            {"StatementId": "wilcard", "Principal": "*", "SourceAccount": ACCOUNT},
        ),
        (
            "add_permission_principal_service",
            {
                "StatementId": "lambda",
                "Principal": "lambda.amazonaws.com",
                "SourceAccount": ACCOUNT,
            },
        ),
        ("add_permission_principal_account", {"StatementId": "account-id", "Principal": ACCOUNT}),
        (
            "add_permission_principal_arn",
            {"StatementId": "user-arn", "Principal": user_arn, "SourceAccount": ACCOUNT},
        ),
        (
            "add_permission_optional_fields",
            {
                "StatementId": "urlPermission",
                "Action": "lambda:InvokeFunctionUrl",
                "Principal": "*",
                "SourceArn": S3_BUCKET_ARN,
                "SourceAccount": ACCOUNT,
                "PrincipalOrgID": "o-1234567890",
                "FunctionUrlAuthType": "NONE",
            },
        ),
        (
            "add_permission_alexa_skill",
            {
                "StatementId": "alexaSkill",
                "Principal": "*",
                "EventSourceToken": "amzn1.ask.skill.xxxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
            },
        ),
    ]
    for key, params in cases:
        response = lam.add_permission(
            FunctionName=name, **{"Action": "lambda:InvokeFunction", **params}
        )
        assert_golden(golden(response), expected(test, key))
    optional = json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"][4]
    # The condition blocks and keys in AWS's order.
    assert list(optional["Condition"]) == ["StringEquals", "ArnLike"]
    assert list(optional["Condition"]["StringEquals"]) == [
        "AWS:SourceAccount", "lambda:FunctionUrlAuthType", "aws:PrincipalOrgID"
    ]  # fmt: skip


def test_remove_multi_permissions_matches_aws(lam: Any) -> None:
    name = create_python_function(lam, ECHO, name=unique("lambda_func"))
    golden = PolicyGolden({name: "<resource:1>", "test-bucket": "<resource:2>"})
    test = "test_remove_multi_permissions"
    first = lam.add_permission(
        FunctionName=name,
        Action="lambda:InvokeFunction",
        StatementId="s3",
        Principal="s3.amazonaws.com",
    )
    assert_golden(golden(first), expected(test, "add_permission_1"))
    second = lam.add_permission(
        FunctionName=name,
        Action="lambda:InvokeFunction",
        StatementId="sqs",
        Principal="sqs.amazonaws.com",
        SourceArn=S3_BUCKET_ARN,
    )
    assert_golden(golden(second), expected(test, "add_permission_2"))
    assert_golden(golden(lam.get_policy(FunctionName=name)), expected(test, "policy_after_2_add"))
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as missing:
        lam.remove_permission(FunctionName=name, StatementId="non-existent")
    assert_golden(
        golden(error_of(missing)), expected(test, "remove_permission_exception_nonexisting_sid")
    )
    removed = lam.remove_permission(FunctionName=name, StatementId="sqs")
    assert removed["ResponseMetadata"]["HTTPStatusCode"] == 204
    after = lam.get_policy(FunctionName=name)
    assert_golden(golden(after), expected(test, "policy_after_removal"))
    assert_golden(
        golden(lam.get_policy(FunctionName=name)), expected(test, "policy_after_removal_attempt")
    )
    lam.remove_permission(FunctionName=name, StatementId="s3", RevisionId=after["RevisionId"])
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as gone:
        lam.get_policy(FunctionName=name)
    assert_golden(golden(error_of(gone)), expected(test, "get_policy_exception_removed_all"))


def test_multiple_permissions_match_aws(lam: Any) -> None:
    name = create_python_function(lam, ECHO, name=unique("test-function"))
    golden = PolicyGolden({name: "<resource:1>"})
    test = "test_create_multiple_lambda_permissions"
    for key, sid, principal in (
        ("add_permission_response_1", "logs", "logs.amazonaws.com"),
        ("add_permission_response_2", "kinesis", "kinesis.amazonaws.com"),
    ):
        response = lam.add_permission(
            FunctionName=name, Action="lambda:InvokeFunction", StatementId=sid, Principal=principal
        )
        assert_golden(golden(response), expected(test, key))
    assert_golden(golden(lam.get_policy(FunctionName=name)), expected(test, "policy_after_2_add"))


def test_permission_exceptions_match_aws(lam: Any) -> None:
    name = create_python_function(lam, ECHO, name=unique("lambda_func"))
    golden = PolicyGolden({name: "<function-name>"})
    test = "test_permission_exceptions"
    s3 = {
        "Action": "lambda:InvokeFunction",
        "StatementId": "s3",
        "Principal": "s3.amazonaws.com",
        "SourceArn": S3_BUCKET_ARN,
    }
    cases: list[tuple[str, str, dict[str, Any]]] = [
        (
            "add_permission_invalid_statement_id",
            "add_permission",
            {**s3, "FunctionName": name, "StatementId": "example.com"},
        ),
        (
            "add_permission_fn_qualifier_mismatch",
            "add_permission",
            {**s3, "FunctionName": f"{name}:alias-not-42", "Qualifier": "42"},
        ),
        (
            "add_permission_fn_qualifier_latest",
            "add_permission",
            {**s3, "FunctionName": f"{name}:$LATEST", "Qualifier": "$LATEST"},
        ),
        (
            "add_permission_principal_invalid",
            "add_permission",
            {
                "FunctionName": name,
                "Action": "lambda:InvokeFunction",
                "StatementId": "lambda",
                "Principal": "invalid.nonaws.com",
                "SourceAccount": ACCOUNT,
            },
        ),
        ("get_policy_fn_doesnotexist", "get_policy", {"FunctionName": "doesnotexist"}),
        (
            "get_policy_fn_version_doesnotexist",
            "get_policy",
            {"FunctionName": name, "Qualifier": "77"},
        ),
        (
            "add_permission_fn_doesnotexist",
            "add_permission",
            {**s3, "FunctionName": "doesnotexist"},
        ),
        (
            "remove_permission_policy_doesnotexist",
            "remove_permission",
            {"FunctionName": name, "StatementId": "s3"},
        ),
        (
            "add_permission_fn_alias_doesnotexist",
            "add_permission",
            {**s3, "FunctionName": f"{name}:alias-doesnotexist"},
        ),
        (
            "add_permission_fn_version_doesnotexist",
            "add_permission",
            {**s3, "FunctionName": name, "Qualifier": "42"},
        ),
        (
            "add_permission_fn_qualifier_invalid",
            "add_permission",
            {**s3, "FunctionName": name, "Qualifier": "invalid-qualifier-with-?-char"},
        ),
        (
            "add_permission_fn_qualifier_valid_doesnotexist",
            "add_permission",
            {**s3, "FunctionName": name, "Qualifier": "valid-with-$-but-doesnotexist"},
        ),
    ]
    for key, operation, params in cases:
        with pytest.raises(lam.exceptions.ClientError) as failed:
            getattr(lam, operation)(**params)
        assert_golden(golden(error_of(failed)), expected(test, key))
    lam.add_permission(FunctionName=name, **s3)
    more: list[tuple[str, str, dict[str, Any]]] = [
        ("add_permission_conflicting_statement_id", "add_permission", {**s3, "FunctionName": name}),
        (
            "remove_permission_fn_doesnotexist",
            "remove_permission",
            {"FunctionName": "doesnotexist", "StatementId": "s3"},
        ),
        (
            "remove_permission_fn_alias_doesnotexist",
            "remove_permission",
            {"FunctionName": name, "StatementId": "s3", "Qualifier": "alias-doesnotexist"},
        ),
    ]
    for key, operation, params in more:
        with pytest.raises(lam.exceptions.ClientError) as failed:
            getattr(lam, operation)(**params)
        assert_golden(golden(error_of(failed)), expected(test, key))
    # Nothing a rejected request asked for was stored.
    assert [
        s["Sid"] for s in json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]
    ] == ["s3"]


def test_permission_versioning_matches_aws(lam: Any) -> None:
    """Policies are per qualifier; PublishVersion copies nothing; an alias without a policy
    checks the alias's RevisionId, a policy its own."""
    name = create_python_function(lam, ECHO, name=unique("lambda_func"))
    golden = PolicyGolden({name: "<function-name:1>", "test-bucket": "<resource:1>"})
    test = "test_lambda_permission_fn_versioning"
    s3 = {
        "Action": "lambda:InvokeFunction",
        "StatementId": "s3",
        "Principal": "s3.amazonaws.com",
        "SourceArn": S3_BUCKET_ARN,
    }
    assert_golden(
        golden(lam.add_permission(FunctionName=name, **s3)), expected(test, "add_permission")
    )
    assert_golden(golden(lam.get_policy(FunctionName=name)), expected(test, "get_policy"))
    version = lam.publish_version(FunctionName=name)
    golden(version)  # numbers its RevisionId as the recording does (<uuid:2>)
    golden(lam.get_function(FunctionName=name))  # <uuid:3>
    assert_golden(
        golden(lam.get_policy(FunctionName=name)),
        expected(test, "get_policy_after_publishing_latest"),
    )
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as none:
        lam.get_policy(FunctionName=name, Qualifier=version["Version"])
    assert_golden(golden(error_of(none)), expected(test, "get_policy_after_publishing_new_version"))
    lam.add_permission(
        FunctionName=f"{name}:{version['Version']}", Qualifier=version["Version"], **s3
    )
    assert_golden(
        golden(lam.get_policy(FunctionName=name, Qualifier=version["Version"])),
        expected(test, "get_policy_version"),
    )
    alias = lam.create_alias(FunctionName=name, Name="permission-alias", FunctionVersion="1")
    golden(alias)
    with pytest.raises(lam.exceptions.PreconditionFailedException) as wrong:
        lam.add_permission(
            FunctionName=name, Qualifier="permission-alias", RevisionId="wrong", **s3
        )
    assert_golden(
        golden(error_of(wrong)), expected(test, "add_permission_alias_revision_exception")
    )
    lam.add_permission(
        FunctionName=f"{name}:permission-alias",
        Qualifier="permission-alias",
        RevisionId=alias["RevisionId"],
        **s3,
    )
    assert_golden(
        golden(lam.get_policy(FunctionName=name, Qualifier="permission-alias")),
        expected(test, "get_policy_alias"),
    )
    latest = lam.get_policy(FunctionName=name)
    assert_golden(golden(latest), expected(test, "get_policy_after_adding_to_new_version"))
    lam.add_permission(
        FunctionName=name, RevisionId=latest["RevisionId"], **{**s3, "StatementId": "s3_2"}
    )
    assert_golden(
        golden(lam.get_policy(FunctionName=name)), expected(test, "get_policy_after_adding_2")
    )


def test_policies_go_with_versions_aliases_and_functions(lam: Any) -> None:
    name = create_python_function(lam, ECHO)
    grant = {
        "Action": "lambda:InvokeFunction",
        "StatementId": "sns",
        "Principal": "sns.amazonaws.com",
    }
    lam.add_permission(FunctionName=name, **grant)
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.add_permission(FunctionName=name, Qualifier=version, **grant)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    lam.add_permission(FunctionName=name, Qualifier="live", **grant)

    lam.delete_alias(FunctionName=name, Name="live")
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_policy(FunctionName=name, Qualifier="live")  # a new alias has no policy
    lam.delete_alias(FunctionName=name, Name="live")

    lam.delete_function(FunctionName=name, Qualifier=version)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_policy(FunctionName=name, Qualifier=version)
    assert lam.get_policy(FunctionName=name)["Policy"]  # the function's own stays

    lam.delete_function(FunctionName=name)
    create_python_function(lam, ECHO, name=name)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_policy(FunctionName=name)  # a new function of the same name starts bare
    lam.delete_function(FunctionName=name)


def test_revision_ids_and_size_limit(lam: Any) -> None:
    name = create_python_function(lam, ECHO)
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        lam.add_permission(
            FunctionName=name,
            Action="lambda:InvokeFunction",
            StatementId="a",
            Principal="sns.amazonaws.com",
            RevisionId="not-the-function-revision",
        )
    revision = lam.get_function(FunctionName=name)["Configuration"]["RevisionId"]
    lam.add_permission(
        FunctionName=name,
        Action="lambda:InvokeFunction",
        StatementId="a",
        Principal="sns.amazonaws.com",
        RevisionId=revision,
    )
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        lam.remove_permission(FunctionName=name, StatementId="a", RevisionId="stale")
    # Statements until the document passes 20 KB: the one that would is refused.
    arn = "arn:aws:sns:us-east-1:000000000000:" + "t" * 200
    added = 0
    with pytest.raises(lam.exceptions.PolicyLengthExceededException) as too_big:
        for n in range(200):
            lam.add_permission(
                FunctionName=name,
                Action="lambda:InvokeFunction",
                StatementId=f"s{n}",
                Principal="sns.amazonaws.com",
                SourceArn=arn,
            )
            added += 1
    assert error_of(too_big)["ResponseMetadata"]["HTTPStatusCode"] == 400
    policy = lam.get_policy(FunctionName=name)["Policy"]
    assert len(policy.encode()) <= 20480
    assert len(json.loads(policy)["Statement"]) == added + 1
    lam.delete_function(FunctionName=name)


def test_policies_survive_sigkill(own_server: Any) -> None:
    server: LaminaServer = own_server()
    lam = server.client("lambda")
    name = create_python_function(lam, ECHO)
    lam.add_permission(
        FunctionName=name,
        Action="lambda:InvokeFunctionUrl",
        StatementId="url",
        Principal="*",
        FunctionUrlAuthType="NONE",
    )
    before = lam.get_policy(FunctionName=name)
    server.stop(signal.SIGKILL)
    again: LaminaServer = own_server(data=server.data_dir)
    after = again.client("lambda").get_policy(FunctionName=name)
    assert after["Policy"] == before["Policy"]
    assert after["RevisionId"] == before["RevisionId"]


def test_function_revision_follows_permissions_as_aws(lam: Any) -> None:
    """AddPermission and RemovePermission give the function a new RevisionId, the policy's
    (recorded: TestLambdaRevisions::test_function_revisions_permissions)."""
    name = create_python_function(lam, ECHO)
    active = lam.get_function(FunctionName=name)["Configuration"]["RevisionId"]
    grant = {
        "StatementId": "s3",
        "Action": "lambda:InvokeFunction",
        "Principal": "s3.amazonaws.com",
    }
    with pytest.raises(lam.exceptions.PreconditionFailedException) as wrong:
        lam.add_permission(FunctionName=name, RevisionId="wrong", **grant)
    want = recorded(
        "TestLambdaRevisions::test_function_revisions_permissions",
        "add_permission_revision_exception",
    )
    got = error_of(wrong)
    assert got["Error"] == want["Error"]
    assert (got["Type"], got["message"]) == (want["Type"], want["message"])
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 412
    lam.add_permission(FunctionName=name, RevisionId=active, **grant)
    added = lam.get_policy(FunctionName=name)["RevisionId"]
    assert added != active
    assert lam.get_function(FunctionName=name)["Configuration"]["RevisionId"] == added
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        lam.remove_permission(FunctionName=name, StatementId="s3", RevisionId="wrong")
    lam.remove_permission(FunctionName=name, StatementId="s3", RevisionId=added)
    assert lam.get_function(FunctionName=name)["Configuration"]["RevisionId"] not in (active, added)
    lam.delete_function(FunctionName=name)


def test_a_permission_added_keeps_the_warm_environment(lam: Any) -> None:
    """AddPermission gives the function a new RevisionId but changes neither its code nor
    its configuration: the next invocation is warm (same environment), as on AWS."""
    code = "import uuid\nBOOT = str(uuid.uuid4())\ndef handler(event, context):\n    return BOOT\n"
    name = create_python_function(lam, code)
    first = lam.invoke(FunctionName=name)["Payload"].read()
    lam.add_permission(
        FunctionName=name,
        StatementId="events",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
    )
    assert lam.invoke(FunctionName=name)["Payload"].read() == first
    lam.update_function_configuration(FunctionName=name, Description="changed")
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert lam.invoke(FunctionName=name)["Payload"].read() != first
