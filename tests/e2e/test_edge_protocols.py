"""The edge serves several services on one port: each request is routed by its protocol
(rest-json path, ``X-Amz-Target``, query form) and answered in that protocol's envelope, with
exactly one ``x-amzn-RequestId``."""

from __future__ import annotations

import http.client
import json
import re
from typing import Any

from support import AUTHORIZATION, LaminaServer

SQS_AUTH = AUTHORIZATION.replace("/lambda/", "/sqs/")
LOGS_AUTH = AUTHORIZATION.replace("/lambda/", "/logs/")


def raw(
    server: LaminaServer, method: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, list[tuple[str, str]], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body, {"Host": f"127.0.0.1:{server.port}", **headers})
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def request_ids(headers: list[tuple[str, str]]) -> list[str]:
    return [value for name, value in headers if name.lower() == "x-amzn-requestid"]


def header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in headers if k.lower() == name), None)


def test_each_protocol_answers_with_one_request_id(server: LaminaServer) -> None:
    cases: list[tuple[str, str, bytes, dict[str, str]]] = [
        ("GET", "/2015-03-31/functions/", b"", {"Authorization": AUTHORIZATION}),
        (
            "POST",
            "/",
            b"{}",
            {
                "Authorization": LOGS_AUTH,
                "X-Amz-Target": "Logs_20140328.DescribeLogGroups",
                "Content-Type": "application/x-amz-json-1.1",
            },
        ),
        (
            "POST",
            "/",
            b"{}",
            {
                "Authorization": SQS_AUTH,
                "X-Amz-Target": "AmazonSQS.ListQueues",
                "Content-Type": "application/x-amz-json-1.0",
            },
        ),
        (
            "POST",
            "/",
            b"Action=ListQueues&Version=2012-11-05",
            {"Authorization": SQS_AUTH, "Content-Type": "application/x-www-form-urlencoded"},
        ),
    ]
    for method, path, body, headers in cases:
        status, out, payload = raw(server, method, path, body, headers)
        assert status == 200, (path, headers, payload)
        ids = request_ids(out)
        assert len(ids) == 1, (headers, out)
        if headers.get("Content-Type", "").startswith("application/x-www-form"):
            found = re.search(rb"<RequestId>([^<]+)</RequestId>", payload)
            assert found is not None and found.group(1).decode() == ids[0]


def test_errors_take_the_envelope_of_their_protocol(server: LaminaServer) -> None:
    missing = "http://127.0.0.1/000000000000/no-such-queue"
    # JSON 1.0: __type with SQS's namespace, the legacy code in x-amzn-query-error.
    status, out, payload = raw(
        server,
        "POST",
        "/",
        json.dumps({"QueueUrl": missing}).encode(),
        {
            "Authorization": SQS_AUTH,
            "X-Amz-Target": "AmazonSQS.GetQueueAttributes",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    assert status == 400
    assert json.loads(payload)["__type"] == "com.amazonaws.sqs#QueueDoesNotExist"
    assert header(out, "x-amzn-query-error") == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    # Query: an XML ErrorResponse with the legacy code and the same request id.
    status, out, payload = raw(
        server,
        "POST",
        "/",
        f"Action=GetQueueAttributes&Version=2012-11-05&QueueUrl={missing}".encode(),
        {"Authorization": SQS_AUTH, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 400
    assert b"<Code>AWS.SimpleQueueService.NonExistentQueue</Code>" in payload
    assert b"<Type>Sender</Type>" in payload
    assert f"<RequestId>{request_ids(out)[0]}</RequestId>".encode() in payload
    # rest-json (Lambda): x-amzn-ErrorType and a JSON body with Type.
    status, out, payload = raw(
        server,
        "GET",
        "/2015-03-31/functions/no-such-function",
        b"",
        {"Authorization": AUTHORIZATION},
    )
    assert status == 404 and header(out, "x-amzn-errortype") == "ResourceNotFoundException"
    assert json.loads(payload)["Type"] == "User"
    # An unknown action or target: the framework's error, never a 500.
    status, _, payload = raw(
        server,
        "POST",
        "/",
        b"Action=Explode&Version=2012-11-05",
        {"Authorization": SQS_AUTH, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 400 and b"<Code>InvalidAction</Code>" in payload
    status, out, payload = raw(
        server,
        "POST",
        "/",
        b"{}",
        {"Authorization": SQS_AUTH, "X-Amz-Target": "AmazonSQS.Explode"},
    )
    assert status == 400
    assert json.loads(payload)["__type"].endswith("#UnknownOperationException")


def test_a_form_sent_to_a_lambda_path_stays_a_lambda_request(server: LaminaServer) -> None:
    """curl's default content type on a Lambda path is not the query protocol."""
    status, out, payload = raw(
        server,
        "GET",
        "/2015-03-31/functions/",
        b"",
        {"Authorization": AUTHORIZATION, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200 and "Functions" in json.loads(payload)


def test_query_requests_may_be_sent_to_the_queue_url(server: LaminaServer) -> None:
    sqs: Any = server.client("sqs")
    url = sqs.create_queue(QueueName="edge-path-queue")["QueueUrl"]
    path = url.split(str(server.port), 1)[1]
    status, _, payload = raw(
        server,
        "POST",
        path,
        b"Action=SendMessage&Version=2012-11-05&MessageBody=via-path",
        {"Authorization": SQS_AUTH, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200, payload
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in got] == ["via-path"]


def test_bodies_of_json_and_query_services_are_bounded(server: LaminaServer) -> None:
    """SQS takes 1 MiB batches: a body beyond 8 MiB is refused before it is read whole, in the
    envelope of its protocol (a Lambda upload may still be 70 MB)."""
    big = b"x" * (9 * 1024 * 1024)
    status, out, payload = raw(
        server,
        "POST",
        "/",
        b'{"QueueUrl": "' + big + b'"}',
        {
            "Authorization": SQS_AUTH,
            "X-Amz-Target": "AmazonSQS.SendMessage",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    assert status == 413
    assert json.loads(payload)["__type"].endswith("#RequestEntityTooLarge")
    status, out, payload = raw(
        server,
        "POST",
        "/",
        b"Action=SendMessage&Version=2012-11-05&MessageBody=" + big,
        {"Authorization": SQS_AUTH, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 413 and b"<Code>RequestEntityTooLarge</Code>" in payload
    # The server is still serving.
    status, _, _ = raw(
        server, "GET", "/2015-03-31/functions/", b"", {"Authorization": AUTHORIZATION}
    )
    assert status == 200
