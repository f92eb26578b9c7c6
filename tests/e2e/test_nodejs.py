"""The Node.js runtimes through boto3 against a real server: AWS's handler contract.

Expected documents and log lines are those of AWS's Node.js runtime interface client
(``aws-lambda-ric`` 3.x for nodejs18.x-22.x, 4.x for nodejs24.x).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import ROLE, make_zip, unique

ISO = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def create_node_function(
    lam: Any,
    files: dict[str, str | bytes],
    *,
    handler: str = "index.handler",
    runtime: str = "nodejs20.x",
    **kwargs: Any,
) -> str:
    name = unique("node")
    kwargs.setdefault("MemorySize", 1024)  # a whole share of CPU: fast cold starts
    lam.create_function(
        FunctionName=name,
        Runtime=runtime,
        Role=ROLE,
        Handler=handler,
        Code={"ZipFile": make_zip(files)},
        **kwargs,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return name


def invoke(lam: Any, name: str, payload: Any = None, **kwargs: Any) -> dict[str, Any]:
    body = json.dumps(payload if payload is not None else {}).encode()
    response = lam.invoke(FunctionName=name, Payload=body, LogType="Tail", **kwargs)
    response["Body"] = response["Payload"].read()
    response["Tail"] = base64.b64decode(response["LogResult"]).decode()
    return dict(response)


def result(lam: Any, name: str, payload: Any = None, **kwargs: Any) -> Any:
    response = invoke(lam, name, payload, **kwargs)
    assert "FunctionError" not in response, response["Body"]
    return json.loads(response["Body"])


def error(lam: Any, name: str, payload: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
    response = invoke(lam, name, payload)
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    return json.loads(response["Body"]), response


def duration_ms(tail: str) -> float:
    found = re.search(r"REPORT RequestId: \S+\tDuration: ([\d.]+) ms", tail)
    assert found, tail
    return float(found.group(1))


# --- handler forms -------------------------------------------------------------------------


def test_async_handler_result_and_warm_state(lam: Any) -> None:
    name = create_node_function(
        lam,
        {
            "index.js": "let count = 0;\n"
            "exports.handler = async (event) => ({ event, count: ++count });\n"
        },
    )
    assert result(lam, name, {"hello": "world"}) == {"event": {"hello": "world"}, "count": 1}
    assert result(lam, name, [1, 2]) == {"event": [1, 2], "count": 2}


def test_callback_waits_for_an_empty_event_loop(lam: Any) -> None:
    name = create_node_function(
        lam,
        {
            "index.js": "exports.handler = (event, context, callback) => {\n"
            "  setTimeout(() => console.log('timer fired'), 400);\n"
            "  callback(null, { waited: context.callbackWaitsForEmptyEventLoop });\n"
            "};\n"
        },
    )
    response = invoke(lam, name)
    assert json.loads(response["Body"]) == {"waited": True}
    tail = response["Tail"]
    assert duration_ms(tail) >= 400
    assert tail.index("timer fired") < tail.index("END RequestId")


def test_callback_without_waiting_for_the_event_loop(lam: Any) -> None:
    name = create_node_function(
        lam,
        {
            "index.js": "exports.handler = (event, context, callback) => {\n"
            "  context.callbackWaitsForEmptyEventLoop = false;\n"
            "  setTimeout(() => console.log('late timer'), 2000);\n"
            "  callback(null, 'right away');\n"
            "};\n"
        },
    )
    response = invoke(lam, name)
    assert json.loads(response["Body"]) == "right away"
    assert duration_ms(response["Tail"]) < 1500
    assert "late timer" not in response["Tail"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # Neither a promise nor a callback: AWS answers null once the event loop is empty.
        ("exports.handler = (event) => 42;", None),
        ("exports.handler = function (event, context) { return 'ignored'; };", None),
        ("exports.handler = async () => {};", None),
        ("exports.handler = (event) => Promise.resolve({ promised: true });", {"promised": True}),
        ("exports.handler = () => ({ then: (ok) => ok('thenable') });", "thenable"),
        ("exports.handler = (e, context) => { context.succeed({ legacy: 'succeed' }); };",
         {"legacy": "succeed"}),
        ("exports.handler = (e, context) => { context.done(null, 'done'); };", "done"),
        ("exports.handler = (e, c, callback) => { callback(null, 1); callback(null, 2); };", 1),
        ("exports.handler = async (e, c, callback) => { callback(null, 'cb'); return 'ret'; };",
         "cb"),
        ("exports.handler = (e, c, callback) => callback();", None),
    ],
)  # fmt: skip
def test_handler_forms(lam: Any, source: str, expected: Any) -> None:
    name = create_node_function(lam, {"index.js": source})
    assert result(lam, name) == expected


def test_context_fail_reports_an_error(lam: Any) -> None:
    name = create_node_function(
        lam, {"index.js": "exports.handler = (e, context) => context.fail(new Error('failed'));"}
    )
    body, _ = error(lam, name)
    assert body["errorType"] == "Error" and body["errorMessage"] == "failed"


def test_context_object(lam: Any) -> None:
    name = create_node_function(
        lam,
        {
            "index.js": "exports.handler = async (event, context) => ({\n"
            "  json: JSON.parse(JSON.stringify(context)),\n"
            "  keys: Object.keys(context),\n"
            "  remaining: context.getRemainingTimeInMillis(),\n"
            "  clientContext: context.clientContext,\n"
            "  identity: context.identity === undefined,\n"
            "  functions: ['succeed', 'fail', 'done'].map((k) => typeof context[k]),\n"
            "});\n"
        },
        MemorySize=256,
        Timeout=10,
    )
    client_context = {"custom": {"k": "v"}, "client": {"app_title": "t"}, "env": {"e": "1"}}
    response = invoke(
        lam,
        name,
        ClientContext=base64.b64encode(json.dumps(client_context).encode()).decode(),
    )
    out = json.loads(response["Body"])
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert out["json"] == {
        "callbackWaitsForEmptyEventLoop": True,
        "functionVersion": "$LATEST",
        "functionName": name,
        "memoryLimitInMB": "256",  # a string, as on AWS
        "logGroupName": f"/aws/lambda/{name}",
        "logStreamName": out["json"]["logStreamName"],
        "clientContext": client_context,
        "invokedFunctionArn": arn,
        "awsRequestId": response["ResponseMetadata"]["RequestId"],
    }
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", out["json"]["logStreamName"])
    assert out["keys"] == [
        "callbackWaitsForEmptyEventLoop", "succeed", "fail", "done", "functionVersion",
        "functionName", "memoryLimitInMB", "logGroupName", "logStreamName", "clientContext",
        "identity", "invokedFunctionArn", "awsRequestId", "tenantId", "getRemainingTimeInMillis",
    ]  # fmt: skip
    assert 8000 < out["remaining"] <= 10000
    assert out["clientContext"] == client_context
    assert out["identity"] is True
    assert out["functions"] == ["function", "function", "function"]


# --- modules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "handler"),
    [
        ({"index.mjs": "export const handler = async (e) => ({ esm: e.n });"}, "index.handler"),
        (
            {
                "index.js": "export const handler = async (e) => ({ esm: e.n });",
                "package.json": '{"type": "module"}',
            },
            "index.handler",
        ),
        ({"lib/app.cjs": "exports.run = async (e) => ({ esm: e.n });"}, "lib/app.run"),
        (
            {
                "src/nested/app.mjs": "export const api = "
                "{ v1: { run: async (e) => ({ esm: e.n }) } };"
            },
            "src/nested/app.api.v1.run",
        ),
    ],
)
def test_module_kinds_and_handler_paths(lam: Any, files: dict[str, str], handler: str) -> None:
    name = create_node_function(lam, files, handler=handler)
    assert result(lam, name, {"n": 7}) == {"esm": 7}


def test_packages_in_node_modules(lam: Any) -> None:
    name = create_node_function(
        lam,
        {
            "index.mjs": "import greet from 'greeter';\n"
            "import { createRequire } from 'module';\n"
            "const legacy = createRequire(import.meta.url)('legacy-lib');\n"
            "export const handler = async () => [greet('esm'), legacy.hello()];\n",
            "node_modules/greeter/package.json": '{"name": "greeter", "main": "main.js"}',
            "node_modules/greeter/main.js": "module.exports = (who) => `hello ${who}`;",
            "node_modules/legacy-lib/index.js": "exports.hello = () => 'hello cjs';",
        },
    )
    assert result(lam, name) == ["hello esm", "hello cjs"]


def test_layers_are_on_node_path(lam: Any) -> None:
    layer = make_zip(
        {
            "nodejs/node_modules/shared-lib/index.js": "exports.where = () => 'layer';",
            "nodejs/node20/node_modules/versioned-lib/index.js": "exports.where = () => 'node20';",
        }
    )
    try:
        published = lam.publish_layer_version(LayerName=unique("layer"), Content={"ZipFile": layer})
    except ClientError as exc:  # layers are not part of every Lamina build yet
        pytest.skip(f"layers unavailable: {exc}")
    name = create_node_function(
        lam,
        {
            "index.js": "exports.handler = async () => [require('shared-lib').where(),\n"
            "  require('versioned-lib').where(), process.env.NODE_PATH.split(':')];"
        },
        Layers=[published["LayerVersionArn"]],
    )
    shared, versioned, node_path = result(lam, name)
    assert (shared, versioned) == ("layer", "node20")
    assert node_path[0].endswith("/nodejs/node20/node_modules")
    assert node_path[1].endswith("/nodejs/node_modules")


def test_global_gc_and_awslambda_globals(lam: Any) -> None:
    name = create_node_function(
        lam,
        {
            "index.js": "exports.handler = async () => { global.gc(); return [\n"
            "  typeof gc, typeof awslambda.streamifyResponse, typeof awslambda.HttpResponseStream];"
            " };"
        },
    )
    assert result(lam, name) == ["function", "function", "function"]


def test_response_streaming_handler_is_answered_in_one_piece(lam: Any) -> None:
    name = create_node_function(
        lam,
        {
            "index.mjs": "export const handler = awslambda.streamifyResponse(\n"
            "  async (event, stream, context) => {\n"
            "    stream.setContentType('text/plain');\n"
            "    stream.write('hello ');\n"
            "    stream.write(event.who);\n"
            "    stream.end();\n"
            "  });\n"
        },
    )
    response = invoke(lam, name, {"who": "stream"})
    assert "FunctionError" not in response
    assert response["Body"] == b"hello stream"


# --- errors --------------------------------------------------------------------------------


def test_thrown_error(lam: Any) -> None:
    name = create_node_function(
        lam,
        {
            "index.js": "class ValidationError extends Error {\n"
            "  constructor(m) { super(m); this.name = 'ValidationError'; }\n"
            "}\n"
            "exports.handler = async (event) => {\n"
            "  if (event.custom) throw new ValidationError('bad input');\n"
            "  throw new Error('boom');\n"
            "};\n"
        },
    )
    body, response = error(lam, name)
    assert list(body) == ["errorType", "errorMessage", "trace"]
    assert body["errorType"] == "Error" and body["errorMessage"] == "boom"
    assert body["trace"][0] == "Error: boom"
    assert re.match(r"    at exports\.handler \(.*/index\.js:6:9\)$", body["trace"][1])
    request_id = response["ResponseMetadata"]["RequestId"]
    line = next(line for line in response["Tail"].splitlines() if "Invoke Error" in line)
    assert re.fullmatch(rf"{ISO}\t{request_id}\tERROR\tInvoke Error \t\{{.*\}}", line)
    logged = json.loads(line.split("\t", 4)[4])
    assert logged["errorType"] == "Error" and logged["errorMessage"] == "boom"
    assert logged["stack"] == body["trace"]

    body, _ = error(lam, name, {"custom": True})
    assert body["errorType"] == "ValidationError" and body["errorMessage"] == "bad input"
    assert body["trace"][0] == "ValidationError: bad input"


@pytest.mark.parametrize(
    ("thrown", "expected"),
    [
        ("'oops'", {"errorType": "string", "errorMessage": "oops", "trace": []}),
        ("42", {"errorType": "number", "errorMessage": "42", "trace": []}),
        ("{ code: 7 }", {"errorType": "object", "errorMessage": "[object Object]", "trace": []}),
        ("null", {"errorType": "string", "errorMessage": "handled", "trace": []}),
    ],
)
def test_thrown_non_errors(lam: Any, thrown: str, expected: dict[str, Any]) -> None:
    source = f"exports.handler = async () => {{ throw {thrown}; }};"
    name = create_node_function(lam, {"index.js": source})
    body, _ = error(lam, name)
    assert body == expected


def test_sync_throw_and_callback_error(lam: Any) -> None:
    name = create_node_function(
        lam,
        {
            "index.js": "exports.handler = (event, context, callback) => {\n"
            "  if (event.viaCallback) return callback(new TypeError('from callback'));\n"
            "  throw new RangeError('thrown');\n"
            "};\n"
        },
    )
    body, _ = error(lam, name)
    assert (body["errorType"], body["errorMessage"]) == ("RangeError", "thrown")
    body, _ = error(lam, name, {"viaCallback": True})
    assert (body["errorType"], body["errorMessage"]) == ("TypeError", "from callback")


def test_unserializable_result(lam: Any) -> None:
    name = create_node_function(
        lam, {"index.js": "exports.handler = async () => { const a = {}; a.a = a; return a; };"}
    )
    body, _ = error(lam, name)
    assert body["errorType"] == "Error"
    assert body["errorMessage"] == "Unable to stringify response body"


def test_unhandled_rejection_and_uncaught_exception(lam: Any) -> None:
    name = create_node_function(
        lam,
        {
            "index.js": "exports.handler = async () => {\n"
            "  Promise.reject(new Error('nobody waits'));\n"
            "  await new Promise((resolve) => setTimeout(resolve, 200));\n"
            "};\n"
        },
    )
    body, response = error(lam, name)
    assert body["errorType"] == "Runtime.UnhandledPromiseRejection"
    assert body["errorMessage"] == "Error: nobody waits"
    assert body["trace"][0] == "Runtime.UnhandledPromiseRejection: Error: nobody waits"
    assert "\tERROR\tUnhandled Promise Rejection \t{" in response["Tail"]

    name = create_node_function(
        lam,
        {
            "index.js": "exports.handler = (event, context, callback) => {\n"
            "  setTimeout(() => { throw new Error('in a timer'); }, 10);\n"
            "};\n"
        },
    )
    body, response = error(lam, name)
    assert (body["errorType"], body["errorMessage"]) == ("Error", "in a timer")
    assert "\tERROR\tUncaught Exception \t{" in response["Tail"]


# The require stack ends with the runtime's bootstrap (AWS: /var/runtime/index.mjs).
MODULE_NOT_FOUND = (
    r"Error: Cannot find module '{}'\nRequire stack:\n(- /\S+\n)*- /\S+/nodejs/index\.cjs"
)


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        (
            {"other.js": "exports.handler = async () => 1;"},
            "index.handler",
            "Runtime.ImportModuleError",
            MODULE_NOT_FOUND.format("index"),
        ),
        (
            {"index.js": "require('not-packaged');\nexports.handler = async () => 1;"},
            "index.handler",
            "Runtime.ImportModuleError",
            MODULE_NOT_FOUND.format("not-packaged"),
        ),
        (
            {"index.js": "exports.other = async () => 1;"},
            "index.handler",
            "Runtime.HandlerNotFound",
            re.escape("index.handler is undefined or not exported"),
        ),
        (
            {"index.js": "exports.handler = 'not a function';"},
            "index.handler",
            "Runtime.HandlerNotFound",
            re.escape("index.handler is not a function"),
        ),
        (
            {"index.js": "exports.handler = async () => 1;"},
            "index",
            "Runtime.MalformedHandlerName",
            "Bad handler",
        ),
        (
            {"index.js": "exports.handler = async () => 1;"},
            "../index.handler",
            "Runtime.MalformedHandlerName",
            re.escape(
                "'../index.handler' is not a valid handler name. Use absolute paths when "
                "specifying root directories in handler names."
            ),
        ),
        (
            {"index.js": "exports.handler = async () => {\n  return }};\n"},
            "index.handler",
            "Runtime.UserCodeSyntaxError",
            re.escape("SyntaxError: Unexpected token '}'"),
        ),
        (
            {"index.mjs": "export const handler = async () => { return 1 ]"},
            "index.handler",
            "Runtime.UserCodeSyntaxError",
            re.escape("SyntaxError: Unexpected token ']'"),
        ),
        (
            {"index.js": "throw new Error('init failed');"},
            "index.handler",
            "Error",
            "init failed",
        ),
        (
            {"index.mjs": "import 'aws-sdk';\nexport const handler = async () => 1;"},
            "index.handler",
            "Error",
            r"Cannot find package 'aws-sdk' imported from /\S+/index\.mjs",
        ),
    ],
)
def test_init_errors(
    lam: Any, files: dict[str, str], handler: str, error_type: str, message: str
) -> None:
    name = create_node_function(lam, files, handler=handler)
    for _ in range(2):  # a failed init is retried by the next invocation
        body, response = error(lam, name)
        assert list(body) == ["errorType", "errorMessage", "trace"]
        assert body["errorType"] == error_type
        assert re.fullmatch(message, body["errorMessage"]), body["errorMessage"]
        first = body["trace"][0]
        if error_type.startswith("Runtime."):
            assert first == f"{error_type}: {body['errorMessage'].splitlines()[0]}"
        tail = response["Tail"]
        assert re.search(rf"{ISO}\tundefined\tERROR\tUncaught Exception \t\{{", tail), tail
        assert f"Error Type: {error_type}" in tail


# --- logs ----------------------------------------------------------------------------------


def test_console_output_in_aws_text_format(lam: Any) -> None:
    name = create_node_function(
        lam,
        {
            "index.js": "console.log('loading');\n"
            "exports.handler = async (event) => {\n"
            "  console.log('hello %s n=%d', 'world', 5, { n: 1 });\n"
            "  console.info('info');\n"
            "  console.warn('warn');\n"
            "  console.error('error');\n"
            "  console.debug('debug');\n"
            "  console.trace('trace');\n"
            "  console.log('first line\\nsecond line');\n"
            "  process.stdout.write('raw stdout\\n');\n"
            "  process.stderr.write('raw stderr\\n');\n"
            "  return 'ok';\n"
            "};\n"
        },
    )
    response = invoke(lam, name)
    request_id = response["ResponseMetadata"]["RequestId"]
    lines = response["Tail"].split("\n")  # not splitlines(): "\r" is inside one log event
    assert re.fullmatch(rf"{ISO}\tundefined\tINFO\tloading", lines[0])
    start = lines.index(next(line for line in lines if line.startswith("START RequestId")))
    logged = lines[start + 1 : start + 11]
    expected = [
        ("INFO", "hello world n=5 { n: 1 }"),
        ("INFO", "info"),
        ("WARN", "warn"),
        ("ERROR", "error"),
        ("DEBUG", "debug"),
        ("TRACE", "trace"),
        ("INFO", "first line\rsecond line"),
    ]
    for line, (level, message) in zip(logged, expected, strict=False):
        assert re.fullmatch(rf"{ISO}\t{request_id}\t{level}\t{re.escape(message)}", line), line
    assert logged[7:10] == ["raw stdout", "raw stderr", f"END RequestId: {request_id}"]


def test_console_output_in_json_format_with_a_level(lam: Any) -> None:
    name = create_node_function(
        lam,
        {
            "index.js": "exports.handler = async () => {\n"
            "  console.info('hidden');\n"
            "  console.warn({ structured: true });\n"
            "  console.error('failed:', new Error('bad'));\n"
            "  return 'ok';\n"
            "};\n"
        },
        LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "WARN"},
    )
    response = invoke(lam, name)
    request_id = response["ResponseMetadata"]["RequestId"]
    records = [json.loads(line) for line in response["Tail"].splitlines() if line.startswith("{")]
    records = [r for r in records if "level" in r]
    assert [r["level"] for r in records] == ["WARN", "ERROR"]
    assert records[0]["message"] == {"structured": True}
    assert records[0]["requestId"] == request_id
    assert re.fullmatch(ISO, records[0]["timestamp"])
    assert records[1]["message"].startswith("failed: Error: bad")
    assert (records[1]["errorType"], records[1]["errorMessage"]) == ("Error", "bad")
    assert records[1]["stackTrace"][0] == "Error: bad"


def test_large_output_before_the_response_is_in_the_log(lam: Any) -> None:
    name = create_node_function(
        lam,
        {
            "index.js": "exports.handler = async () => {\n"
            "  process.stdout.write('x'.repeat(300000) + '\\n');\n"
            "  for (let i = 0; i < 2000; i++) console.log('line', i);\n"
            "  console.log('last line');\n"
            "  return 'ok';\n"
            "};\n"
        },
    )
    tail = invoke(lam, name)["Tail"]
    assert tail.index("\tINFO\tlast line") < tail.index("END RequestId")


# --- environment ---------------------------------------------------------------------------


@pytest.mark.parametrize("runtime", ["nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x"])
def test_environment_variables(lam: Any, runtime: str) -> None:
    name = create_node_function(
        lam,
        {"index.mjs": "export const handler = async () => process.env;"},
        runtime=runtime,
        Environment={"Variables": {"MY_VAR": "mine"}},
    )
    env = result(lam, name)
    major = runtime.removeprefix("nodejs").removesuffix(".x")
    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{runtime}"
    assert env["MY_VAR"] == "mine"
    assert env["_HANDLER"] == "index.handler"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "1024"
    assert env["TZ"] == ":UTC"
    assert re.fullmatch(r"[\d.]+:\d+", env["AWS_LAMBDA_RUNTIME_API"])
    task_root = env["LAMBDA_TASK_ROOT"]
    node_path = env["NODE_PATH"].split(":")
    assert node_path[0].endswith(f"/nodejs/node{major}/node_modules")
    assert node_path[1].endswith("/nodejs/node_modules")
    assert node_path[-1] == task_root
    assert not any(key.startswith("LAMINA_") for key in env)


def test_nodejs24_handler_contract(lam: Any) -> None:
    name = create_node_function(
        lam,
        {
            "index.mjs": "export const handler = (event, context) => ({\n"
            "  sync: 'returned', keys: Object.keys(context) });\n"
        },
        runtime="nodejs24.x",
    )
    out = result(lam, name)
    assert out["sync"] == "returned"  # no callback on nodejs24.x: a plain return value counts
    assert "callbackWaitsForEmptyEventLoop" not in out["keys"]
    assert "awsRequestId" in out["keys"]

    name = create_node_function(
        lam, {"index.mjs": "export const handler = (e, c, callback) => callback(null, 1);"},
        runtime="nodejs24.x",
    )  # fmt: skip
    body, _ = error(lam, name)
    assert body["errorType"] == "Runtime.CallbackHandlerDeprecated"
    assert body["errorMessage"].startswith(
        "ERROR: AWS Lambda has removed support for callback-based function handlers starting "
        "with Node.js 24."
    )


def test_timeout_and_process_exit_are_platform_errors(lam: Any) -> None:
    name = create_node_function(
        lam,
        {
            "index.js": "exports.handler = async (event) => {\n"
            "  if (event.exit !== undefined) process.exit(event.exit);\n"
            "  if (event.sleep) await new Promise((r) => setTimeout(r, event.sleep));\n"
            "  return 'alive';\n"
            "};\n"
        },
        Timeout=1,
    )
    body, response = error(lam, name, {"sleep": 3000})
    request_id = response["ResponseMetadata"]["RequestId"]
    assert body == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after 1.00 seconds",
    }
    assert result(lam, name) == "alive"
    body, response = error(lam, name, {"exit": 3})
    assert body["errorType"] == "Runtime.ExitError"
    assert body["errorMessage"].endswith("Runtime exited with error: exit status 3")
    assert result(lam, name) == "alive"


def test_invocation_right_after_a_runtime_exit_runs_on_a_new_environment(lam: Any) -> None:
    """The runtime reports an uncaught exception and exits; the next event must not be
    lost to the dying environment (it never received it)."""
    name = create_node_function(
        lam,
        {
            "index.js": "exports.handler = async (event) => {\n"
            "  if (event.crash) { setTimeout(() => { throw new Error('bye'); }, 0); "
            "await new Promise((r) => setTimeout(r, 50)); }\n"
            "  return 'ok';\n"
            "};\n"
        },
    )
    for _ in range(5):
        body, _response = error(lam, name, {"crash": True})
        assert body["errorMessage"] == "bye"
        assert result(lam, name, {}) == "ok"
