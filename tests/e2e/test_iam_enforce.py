"""Permissions enforced (``--iam enforce``), audited (``audit``) and off, end to end: IAM users
and roles with policies, driven with boto3 and the AWS CLI (docs/security.md "Permissions")."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from support import AWS_CLI, REGION, ROLE, LaminaServer, create_python_function, make_zip, unique

ACCOUNT = "000000000000"
FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function"
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
SQS_POLLER = "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"
isolated = pytest.mark.skipif(os.geteuid() != 0, reason="the relayed API needs isolation (root)")


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def status_of(error: ClientError) -> tuple[int, str, str]:
    return (
        error.response["ResponseMetadata"]["HTTPStatusCode"],
        error.response["Error"]["Code"],
        error.response["Error"]["Message"],
    )


def denied(call: Callable[[], Any]) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    return status_of(caught.value)


def not_authorized(user: str, action: str, resource: str) -> str:
    return (
        f"User: arn:aws:iam::{ACCOUNT}:user/{user} is not authorized to perform: {action} "
        f"on resource: {resource} because no identity-based policy allows the {action} action"
    )


class Account:
    """Root's clients on one server, and IAM users made with given policies."""

    def __init__(self, server: LaminaServer) -> None:
        self.server = server
        self.iam = server.client("iam")
        self.lam = server.client()

    def role(self, name: str, trust: dict[str, Any] = LAMBDA_TRUST, *policies: str) -> str:
        arn: str = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))[
            "Role"
        ]["Arn"]
        for index, policy in enumerate(policies):
            self.iam.put_role_policy(RoleName=name, PolicyName=f"p{index}", PolicyDocument=policy)
        return arn

    def user(self, policy: str | None = None) -> dict[str, str]:
        name = unique("user")
        self.iam.create_user(UserName=name)
        if policy is not None:
            self.iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=policy)
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return {"name": name, "id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}

    def client(self, user: dict[str, str], service: str = "lambda") -> Any:
        return boto3.client(
            service,
            endpoint_url=self.server.endpoint,
            region_name=REGION,
            aws_access_key_id=user["id"],
            aws_secret_access_key=user["secret"],
            config=Config(retries={"max_attempts": 1}),
        )

    def function(self, code: str = "def handler(e, c):\n    return 'ok'\n", **kw: Any) -> str:
        return create_python_function(self.lam, code, **kw)

    default_role = ROLE


def deploy(lam: Any, code: str, role: str, **kw: Any) -> str:
    """A Python function with its own execution role."""
    name = unique()
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="lambda_function.handler",
        Code={"ZipFile": make_zip({"lambda_function.py": code})},
        **kw,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return name


def start(tmp: Path, mode: str) -> LaminaServer:
    server = LaminaServer(tmp / f"data-{mode}", extra_args=["--iam", mode])
    server.start()
    return server


@pytest.fixture(scope="module")
def enforced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Account]:
    server = start(tmp_path_factory.mktemp("iam-enforce"), "enforce")
    account = Account(server)
    account.role("lambda-role")
    yield account
    server.stop()


@pytest.fixture(scope="module")
def functions(enforced: Account) -> tuple[str, str]:
    return enforced.function(), enforced.function()


def test_a_user_allowed_one_get_function(enforced: Account, functions: tuple[str, str]) -> None:
    mine, other = functions
    user = enforced.user(document(allow("lambda:GetFunction", f"{FN}:{mine}")))
    lam = enforced.client(user)
    assert lam.get_function(FunctionName=mine)["Configuration"]["FunctionName"] == mine
    assert denied(lambda: lam.get_function(FunctionName=other)) == (
        403,
        "AccessDeniedException",
        not_authorized(user["name"], "lambda:GetFunction", f"{FN}:{other}"),
    )
    assert denied(lambda: lam.list_functions()) == (
        403,
        "AccessDeniedException",
        not_authorized(user["name"], "lambda:ListFunctions", "*"),
    )
    # Invoke (the lean path) is authorized too, on the qualified ARN when qualified.
    assert denied(lambda: lam.invoke(FunctionName=mine, Qualifier="$LATEST")) == (
        403,
        "AccessDeniedException",
        not_authorized(user["name"], "lambda:InvokeFunction", f"{FN}:{mine}:$LATEST"),
    )
    assert denied(lambda: lam.get_function_configuration(FunctionName=mine))[2] == (
        not_authorized(user["name"], "lambda:GetFunctionConfiguration", f"{FN}:{mine}")
    )


def user_cli(server: LaminaServer, user: dict[str, str], *args: str) -> Any:
    """The AWS CLI signed with a user's key."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": user["id"],
        "AWS_SECRET_ACCESS_KEY": user["secret"],
        "AWS_DEFAULT_REGION": REGION,
        "AWS_MAX_ATTEMPTS": "1",
    }
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        env.pop(key, None)
    command = [str(AWS_CLI), *args, "--endpoint-url", server.endpoint, "--output", "json"]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def test_the_aws_cli_gets_the_same_denial(enforced: Account, functions: tuple[str, str]) -> None:
    mine, other = functions
    user = enforced.user(document(allow("lambda:GetFunction", f"{FN}:{mine}")))
    ok = user_cli(enforced.server, user, "lambda", "get-function", "--function-name", mine)
    assert ok.returncode == 0, ok.stderr
    refused = user_cli(enforced.server, user, "lambda", "get-function", "--function-name", other)
    assert refused.returncode != 0
    assert "(AccessDeniedException)" in refused.stderr
    assert not_authorized(user["name"], "lambda:GetFunction", f"{FN}:{other}") in refused.stderr


def test_explicit_deny_wins_and_changes_nothing(
    enforced: Account, functions: tuple[str, str]
) -> None:
    mine, _ = functions
    user = enforced.user(
        document(
            allow("lambda:*"),
            {"Effect": "Deny", "Action": "lambda:DeleteFunction", "Resource": f"{FN}:{mine}"},
        )
    )
    lam = enforced.client(user)
    assert lam.get_function(FunctionName=mine)["Configuration"]["FunctionName"] == mine
    assert denied(lambda: lam.delete_function(FunctionName=mine)) == (
        403,
        "AccessDeniedException",
        f"User: arn:aws:iam::{ACCOUNT}:user/{user['name']} is not authorized to perform: "
        f"lambda:DeleteFunction on resource: {FN}:{mine} with an explicit deny in an "
        "identity-based policy",
    )
    assert enforced.lam.get_function(FunctionName=mine)["Configuration"]["FunctionName"] == mine


def test_a_layer_versions_policy_takes_part(enforced: Account) -> None:
    layer = unique("layer")
    version = enforced.lam.publish_layer_version(
        LayerName=layer, Content={"ZipFile": make_zip({"python/x.py": "X = 1\n"})}
    )
    arn = version["LayerVersionArn"]
    user = enforced.user()
    lam = enforced.client(user)
    get = lambda: lam.get_layer_version(LayerName=layer, VersionNumber=1)  # noqa: E731
    assert denied(get) == (
        403,
        "AccessDeniedException",
        not_authorized(user["name"], "lambda:GetLayerVersion", arn),
    )
    enforced.lam.add_layer_version_permission(
        LayerName=layer,
        VersionNumber=1,
        StatementId="everyone",
        Action="lambda:GetLayerVersion",
        Principal="*",
    )
    assert get()["LayerVersionArn"] == arn


def test_each_service_answers_its_own_denial(enforced: Account) -> None:
    user = enforced.user(document(allow("lambda:GetFunction")))
    sqs = enforced.client(user, "sqs")
    status, code, message = denied(lambda: sqs.list_queues())
    assert (status, code) == (403, "AccessDenied")
    assert message == not_authorized(user["name"], "sqs:ListQueues", "*")
    assert denied(lambda: enforced.client(user, "sns").list_topics())[:2] == (
        403,
        "AuthorizationError",
    )
    assert denied(lambda: enforced.client(user, "iam").list_roles())[:2] == (403, "AccessDenied")
    assert denied(lambda: enforced.client(user, "events").list_rules())[:2] == (
        400,
        "AccessDeniedException",
    )
    # GetCallerIdentity needs no permission, as on AWS.
    identity = enforced.client(user, "sts").get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{user['name']}"


def test_assume_role_weighs_the_trust_policy(enforced: Account) -> None:
    user = enforced.user()
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/{user['name']}"
    trusting = enforced.role(
        unique("trusting"),
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"}
            ],
        },
    )
    sts = enforced.client(user, "sts")
    session = sts.assume_role(RoleArn=trusting, RoleSessionName="sess")
    assert session["AssumedRoleUser"]["Arn"].endswith("/sess")
    other = enforced.role(unique("other"))
    assert denied(lambda: sts.assume_role(RoleArn=other, RoleSessionName="sess")) == (
        403,
        "AccessDenied",
        f"User: {user_arn} is not authorized to perform: sts:AssumeRole on resource: {other}",
    )


def test_create_function_needs_a_role_lambda_can_assume(enforced: Account) -> None:
    ec2_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    untrusted = enforced.role(unique("ec2"), ec2_trust)
    message = "The role defined for the function cannot be assumed by Lambda."
    code = {"ZipFile": make_zip({"f.py": "def h(e, c):\n    return 1\n"})}
    for role in (untrusted, f"arn:aws:iam::{ACCOUNT}:role/{unique('missing')}"):
        name = unique()

        def create(role: str = role, name: str = name) -> Any:
            return enforced.lam.create_function(
                FunctionName=name, Runtime="python3.11", Role=role, Handler="f.h", Code=code
            )

        def get(name: str = name) -> Any:
            return enforced.lam.get_function(FunctionName=name)

        assert denied(create) == (400, "InvalidParameterValueException", message)
        assert denied(get)[1] == "ResourceNotFoundException"
    existing = enforced.function()
    refused = denied(
        lambda: enforced.lam.update_function_configuration(FunctionName=existing, Role=untrusted)
    )
    assert refused == (400, "InvalidParameterValueException", message)
    role = enforced.lam.get_function_configuration(FunctionName=existing)["Role"]
    assert role == enforced.default_role


def test_sqs_mapping_needs_the_roles_permissions(enforced: Account) -> None:
    sqs = enforced.server.client("sqs")
    url = sqs.create_queue(QueueName=unique("q"))["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    arn = queue["Attributes"]["QueueArn"]
    role_name = unique("poller")
    role = enforced.role(role_name)
    name = deploy(enforced.lam, "def handler(e, c):\n    return 1\n", role)
    assert denied(
        lambda: enforced.lam.create_event_source_mapping(FunctionName=name, EventSourceArn=arn)
    ) == (
        400,
        "InvalidParameterValueException",
        "The provided execution role does not have permissions to call ReceiveMessage on SQS",
    )
    assert enforced.lam.list_event_source_mappings(FunctionName=name)["EventSourceMappings"] == []
    enforced.iam.attach_role_policy(RoleName=role_name, PolicyArn=SQS_POLLER)
    mapping = enforced.lam.create_event_source_mapping(FunctionName=name, EventSourceArn=arn)
    assert mapping["EventSourceArn"] == arn


def _wait_state(lam: Any, uuid: str, state: str) -> dict[str, Any]:
    deadline = time.time() + 30
    while time.time() < deadline:
        mapping: dict[str, Any] = lam.get_event_source_mapping(UUID=uuid)
        if mapping["State"] == state:
            return mapping
        time.sleep(0.2)
    raise AssertionError(f"mapping {uuid} never became {state}")


def test_a_mapping_whose_role_loses_its_permissions_stops_polling(enforced: Account) -> None:
    sqs = enforced.server.client("sqs")
    url = sqs.create_queue(QueueName=unique("q"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    role_name = unique("poller")
    role = enforced.role(role_name)
    enforced.iam.attach_role_policy(RoleName=role_name, PolicyArn=SQS_POLLER)
    name = deploy(enforced.lam, "def handler(e, c):\n    return None\n", role)
    uuid = enforced.lam.create_event_source_mapping(
        FunctionName=name, EventSourceArn=arn, Enabled=False
    )["UUID"]
    _wait_state(enforced.lam, uuid, "Disabled")
    enforced.iam.detach_role_policy(RoleName=role_name, PolicyArn=SQS_POLLER)
    enforced.lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    sqs.send_message(QueueUrl=url, MessageBody="waits")
    reason = "The provided execution role does not have permissions to call ReceiveMessage on SQS"
    deadline = time.time() + 20
    mapping = enforced.lam.get_event_source_mapping(UUID=uuid)
    while time.time() < deadline and mapping["StateTransitionReason"] != reason:
        time.sleep(0.2)
        mapping = enforced.lam.get_event_source_mapping(UUID=uuid)
    assert (mapping["State"], mapping["StateTransitionReason"]) == ("Enabled", reason)
    time.sleep(1.5)
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (
        counts["ApproximateNumberOfMessages"],
        counts["ApproximateNumberOfMessagesNotVisible"],
    ) == ("1", "0")
    enforced.iam.attach_role_policy(RoleName=role_name, PolicyArn=SQS_POLLER)
    deadline = time.time() + 30
    while time.time() < deadline:
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        if (
            counts["ApproximateNumberOfMessages"]
            == "0"
            == counts["ApproximateNumberOfMessagesNotVisible"]
        ):
            break
        time.sleep(0.2)
    assert (
        counts["ApproximateNumberOfMessages"]
        == "0"
        == counts["ApproximateNumberOfMessagesNotVisible"]
    )
    assert enforced.lam.get_event_source_mapping(UUID=uuid)["StateTransitionReason"] == (
        "USER_INITIATED"
    )


def test_sns_needs_the_queues_permission(enforced: Account) -> None:
    sns = enforced.server.client("sns")
    sqs = enforced.server.client("sqs")
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    urls = [sqs.create_queue(QueueName=unique(kind))["QueueUrl"] for kind in ("q", "dlq")]
    queue, dlq = (f"arn:aws:sqs:{REGION}:{ACCOUNT}:{url.rsplit('/', 1)[1]}" for url in urls)
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue,
        Attributes={
            "RawMessageDelivery": "true",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq}),
        },
    )
    sns.publish(TopicArn=topic, Message="refused")
    (dead,) = _receive(sqs, urls[1])
    assert dead["Body"] == "refused"
    assert "Messages" not in sqs.receive_message(QueueUrl=urls[0], WaitTimeSeconds=0)
    policy = document(
        {
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
        }
    )
    sqs.set_queue_attributes(QueueUrl=urls[0], Attributes={"Policy": policy})
    sns.publish(TopicArn=topic, Message="delivered")
    (message,) = _receive(sqs, urls[0])
    assert message["Body"] == "delivered"


SCHEDULER_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def test_a_schedule_acts_with_its_role(enforced: Account) -> None:
    sqs = enforced.server.client("sqs")
    scheduler = enforced.server.client("scheduler")
    urls = [sqs.create_queue(QueueName=unique(kind))["QueueUrl"] for kind in ("q", "dlq")]
    queue, dlq = (f"arn:aws:sqs:{REGION}:{ACCOUNT}:{url.rsplit('/', 1)[1]}" for url in urls)
    weak_name, strong_name = unique("weak"), unique("strong")
    weak = enforced.role(weak_name, SCHEDULER_TRUST)
    strong = enforced.role(strong_name, SCHEDULER_TRUST, document(allow("sqs:SendMessage", queue)))
    schedules = []
    for role, text in ((weak, "refused"), (strong, "sent")):
        schedules.append(unique("s"))
        scheduler.create_schedule(
            Name=schedules[-1],
            ScheduleExpression="rate(1 hour)",  # fires at once, then hourly
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={
                "Arn": queue,
                "RoleArn": role,
                "Input": text,
                "DeadLetterConfig": {"Arn": dlq},
                "RetryPolicy": {"MaximumRetryAttempts": 0},
            },
        )
    (dead,) = _receive(sqs, urls[1])
    attributes = {k: v["StringValue"] for k, v in dead["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "AccessDeniedException"
    assert attributes["ERROR_MESSAGE"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{weak_name}/lamina is not authorized to "
        f"perform: sqs:SendMessage on resource: {queue} because no identity-based policy "
        "allows the sqs:SendMessage action"
    )
    (sent,) = _receive(sqs, urls[0])
    assert sent["Body"] == "sent"
    for name in schedules:
        scheduler.delete_schedule(Name=name)


def _async_state(server: LaminaServer, function: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{server.endpoint}/_lamina/async", timeout=10) as reply:
        state: dict[str, Any] = json.loads(reply.read())["functions"].get(function, {})
    return state


def test_destinations_act_with_the_functions_role(enforced: Account) -> None:
    sqs = enforced.server.client("sqs")
    url = sqs.create_queue(QueueName=unique("dest"))["QueueUrl"]
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{url.rsplit('/', 1)[1]}"
    role_name = unique("dest")
    role = enforced.role(role_name)
    name = deploy(enforced.lam, "def handler(e, c):\n    return e\n", role)
    enforced.lam.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": queue}}
    )
    enforced.lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 1}')
    deadline = time.time() + 30
    while time.time() < deadline:
        if _async_state(enforced.server, name).get("destinationDeliveryFailures", 0) > 0:
            break
        time.sleep(0.2)
    assert _async_state(enforced.server, name)["destinationDeliveryFailures"] > 0
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    enforced.iam.put_role_policy(
        RoleName=role_name,
        PolicyName="destination",
        PolicyDocument=document(allow("sqs:SendMessage", queue)),
    )
    enforced.lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 2}')
    bodies = [json.loads(m["Body"])["requestPayload"] for m in _receive(sqs, url, wait=60)]
    assert {"n": 2} in bodies


CALLER = """
import boto3, botocore

def handler(event, context):
    sqs = boto3.client("sqs")
    out = {}
    for url in event["urls"]:
        try:
            sqs.send_message(QueueUrl=url, MessageBody="hi")
            out[url] = "sent"
        except botocore.exceptions.ClientError as exc:
            out[url] = exc.response["Error"]["Code"] + ": " + exc.response["Error"]["Message"]
    return out
"""


@isolated
def test_a_function_acts_as_its_role(enforced: Account) -> None:
    sqs = enforced.server.client("sqs")
    allowed = sqs.create_queue(QueueName=unique("ok"))["QueueUrl"]
    other = sqs.create_queue(QueueName=unique("no"))["QueueUrl"]
    allowed_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{allowed.rsplit('/', 1)[1]}"
    other_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{other.rsplit('/', 1)[1]}"
    role_name = unique("sender")
    role = enforced.role(role_name, LAMBDA_TRUST, document(allow("sqs:SendMessage", allowed_arn)))
    name = deploy(enforced.lam, CALLER, role, Timeout=30, MemorySize=256)
    response = enforced.lam.invoke(
        FunctionName=name, Payload=json.dumps({"urls": [allowed, other]}).encode()
    )
    result = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, result
    assert result[allowed] == "sent"
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/{name}"
    assert result[other] == (
        f"AccessDenied: User: {session} is not authorized to perform: sqs:SendMessage on "
        f"resource: {other_arn} because no identity-based policy allows the sqs:SendMessage "
        "action"
    )
    assert sqs.receive_message(QueueUrl=allowed, WaitTimeSeconds=1)["Messages"][0]["Body"] == "hi"
    assert "Messages" not in sqs.receive_message(QueueUrl=other, WaitTimeSeconds=0)


def _receive(sqs: Any, url: str, wait: float = 20.0) -> list[dict[str, Any]]:
    deadline = time.time() + wait
    while time.time() < deadline:
        got = sqs.receive_message(
            QueueUrl=url, WaitTimeSeconds=1, MessageAttributeNames=["All"], MaxNumberOfMessages=10
        )
        if got.get("Messages"):
            return list(got["Messages"])
    return []


def test_eventbridge_needs_the_functions_permission(enforced: Account) -> None:
    events = enforced.server.client("events")
    sqs = enforced.server.client("sqs")
    logs = enforced.server.client("logs")
    dlq = sqs.create_queue(QueueName=unique("dlq"))["QueueUrl"]
    dlq_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{dlq.rsplit('/', 1)[1]}"
    name = enforced.function("def handler(e, c):\n    print('got', e['id'])\n")
    source = unique("src")
    rule = unique("rule")
    rule_arn = events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))["RuleArn"]
    events.put_targets(
        Rule=rule,
        Targets=[{"Id": "f", "Arn": f"{FN}:{name}", "DeadLetterConfig": {"Arn": dlq_arn}}],
    )
    entry = {"Source": source, "DetailType": "t", "Detail": "{}"}
    first = events.put_events(Entries=[entry])["Entries"][0]["EventId"]
    (message,) = _receive(sqs, dlq)
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert json.loads(message["Body"])["id"] == first
    assert attributes["ERROR_CODE"] == "NO_PERMISSIONS"
    assert attributes["RETRY_ATTEMPTS"] == "0"
    assert attributes["RULE_ARN"] == rule_arn
    enforced.lam.add_permission(
        FunctionName=name,
        StatementId="events",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=rule_arn,
    )
    second = events.put_events(Entries=[entry])["Entries"][0]["EventId"]
    deadline = time.time() + 30
    seen = ""
    while time.time() < deadline and second not in seen:
        try:
            found = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except ClientError:
            found = []
        seen = "".join(event["message"] for event in found)
        time.sleep(0.2)
    assert f"got {second}" in seen
    assert first not in seen


def test_audit_logs_and_answers(tmp_path: Path) -> None:
    server = start(tmp_path, "audit")
    try:
        account = Account(server)
        account.role("lambda-role")
        name = account.function()
        user = account.user()
        lam = account.client(user)
        assert lam.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name
        assert isinstance(lam.list_functions()["Functions"], list)
    finally:
        server.stop()
    assert server.log_path is not None
    lines = [line for line in server.log_path.read_text().splitlines() if "IAM audit" in line]
    assert len(lines) == 2, lines
    assert not_authorized(user["name"], "lambda:GetFunction", f"{FN}:{name}") in lines[0]
    assert not_authorized(user["name"], "lambda:ListFunctions", "*") in lines[1]
    assert all("implicit deny: no statement allows it" in line for line in lines)


def test_off_changes_nothing(tmp_path: Path) -> None:
    server = LaminaServer(tmp_path / "data-off")
    server.start()
    try:
        account = Account(server)
        user = account.user()
        lam = account.client(user)
        # Any role (even one IAM does not know) and any call: no permission is checked.
        name = create_python_function(account.lam, "def handler(e, c):\n    return 7\n")
        assert json.loads(lam.invoke(FunctionName=name)["Payload"].read()) == 7
        assert lam.delete_function(FunctionName=name)["ResponseMetadata"]["HTTPStatusCode"] == 204
    finally:
        server.stop()
    assert server.log_path is not None
    assert "IAM audit" not in server.log_path.read_text()
