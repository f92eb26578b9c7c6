"""Lamina's built-in Python runtime: the process that runs inside a Python execution environment.

The Lamina server starts it as ``<python> -I -S bootstrap.py`` with the Lambda environment
variables set (``AWS_LAMBDA_RUNTIME_API``, ``_HANDLER``, ``LAMBDA_TASK_ROOT``, ...). It loads the
handler once, then loops on the Runtime API (``/2018-06-01/runtime/invocation/next``), calling
``handler(event, context)`` and posting the result or the error.

What it reports (error bodies and types, log lines, the ``context`` object, JSON marshalling)
follows the AWS Python runtime interface client (``awslambdaric`` 4.x), which is what AWS's
``python3.x`` managed runtimes run.

Constraints: standard library only, nothing from ``lamina``, CPython 3.8 to 3.13 (so no syntax
newer than 3.8; annotations are never evaluated). Importing this module has no side effects;
``main()`` does the work, so a zygote may import it and fork before calling ``main()``.

This module keeps start-up (``sys.path``, handler loading) and the invoke loop; the rest lives in
sibling modules, named so that no user module plausibly shadows them or is shadowed by them:

- ``lamina_runtime_client``: the Runtime API HTTP client (one keep-alive socket);
- ``lamina_runtime_context``: the handler's ``context`` object;
- ``lamina_runtime_errors``: error documents, user stack traces, the error log event;
- ``lamina_runtime_logging``: log handler, formatters and sinks (text, JSON, framed);
- ``lamina_runtime_marshal``: event and result (de)serialisation.

``-I`` keeps this directory off ``sys.path`` and it must stay off (it would shadow user modules),
so it is put on ``sys.path`` only while the siblings are imported, when this module is imported;
they then stay in ``sys.modules``.
"""

# ruff: noqa: UP006, UP007, UP035

from __future__ import annotations

import importlib
import logging
import os
import sys
import traceback

_RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _RUNTIME_DIR)
try:
    from lamina_runtime_client import RuntimeAPIClient, adopt_connection
    from lamina_runtime_context import LambdaContext, parse_json_header
    from lamina_runtime_errors import (
        LAMBDA_UNHANDLED_EXCEPTION_WARNING,
        ErrorLogger,
        FaultException,
        extract_user_frames,
        fault_from_exception,
        make_error,
        make_xray_fault,
    )
    from lamina_runtime_logging import (
        create_log_sink,
        current_invocation,
        flush_std,
        log_level_from_env,
        setup_logging,
        unbuffered,
    )
    from lamina_runtime_marshal import Marshaller, non_ascii_json
    from lamina_runtime_trace import TraceIdVariable
finally:
    sys.path.remove(_RUNTIME_DIR)

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time (it costs milliseconds at start)
    from typing import Any, Callable, Dict, List, Optional, Tuple

    from lamina_runtime_errors import ErrorResult


# --- handler loading ----------------------------------------------------------------------------


def load_handler(handler: str) -> Callable[[Any, Any], Any]:
    """Import ``path/to/module.function``; errors raise FaultException like AWS's runtime."""
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException(
            FaultException.MALFORMED_HANDLER_NAME, "Bad handler '%s': %s" % (handler, e)
        ) from None
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultException(
                FaultException.BUILT_IN_MODULE_CONFLICT,
                "Cannot use built-in module %s as a handler module" % modname,
            )
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultException(
            FaultException.IMPORT_MODULE_ERROR,
            "Unable to import module '%s': %s" % (modname, e),
        ) from None
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException(
            FaultException.USER_CODE_SYNTAX_ERROR,
            "Syntax error in module '%s': %s" % (modname, e),
            trace,
        ) from None
    try:
        return getattr(module, fname)  # type: ignore[no-any-return]
    except AttributeError:
        raise FaultException(
            FaultException.HANDLER_NOT_FOUND,
            "Handler '%s' missing on module '%s'" % (fname, modname),
        ) from None


# --- start-up -----------------------------------------------------------------------------------


def configure_sys_path(environ: Any) -> None:
    """Task root, layers (/opt/python...), PYTHONPATH, the interpreter's own entries, the SDK.

    The bootstrap's directory (which ``python bootstrap.py`` puts first before 3.11) is removed
    so it can never shadow user modules.
    """
    realpath = _REALPATHS.get
    here = realpath(__file__) or os.path.dirname(os.path.realpath(__file__))
    version = "python%d.%d" % sys.version_info[:2]
    front: List[str] = []
    task_root = environ.get("LAMBDA_TASK_ROOT")
    if task_root:
        front.append(task_root)
    # Layers live under /opt; in plain-process mode Lamina names their host directory.
    opt = environ.pop("LAMINA_OPT_ROOT", "") or "/opt"
    for layer_dir in ("%s/python/lib/%s/site-packages" % (opt, version), opt + "/python"):
        if os.path.isdir(layer_dir):
            front.append(layer_dir)
    front.extend(p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p)
    middle = [p for p in sys.path if (realpath(p) or os.path.realpath(p or ".")) != here]
    back = [p for p in environ.pop("LAMINA_SDK_PATH", "").split(os.pathsep) if p]
    sys.path[:] = list(dict.fromkeys(front + middle + back))


def _install_exit_builtins() -> None:
    """``exit()``/``quit()`` exist on AWS (``site`` is imported there; ``-S`` skips it)."""
    import builtins

    try:
        import _sitebuiltins
    except ImportError:
        return
    for name in ("exit", "quit"):
        if not hasattr(builtins, name):
            setattr(builtins, name, _sitebuiltins.Quitter(name, "Ctrl-D (i.e. EOF)"))


# Made ahead of need by ``preload`` (in a spawner, before it forks environments).
_MARSHALLERS: Dict[bool, Marshaller] = {}
# The bootstrap's directory (key: this file) and the interpreter's own sys.path entries,
# resolved once by ``preload``: each realpath costs several lstat calls.
_REALPATHS: Dict[str, str] = {}


def preload() -> None:
    """Work that depends on no function: done once in a forking spawner, not per start."""
    _install_exit_builtins()
    _REALPATHS[__file__] = os.path.dirname(os.path.realpath(__file__))
    for entry in sys.path:
        if os.path.isabs(entry):  # a relative entry depends on the working directory
            _REALPATHS[entry] = os.path.realpath(entry)
    for ensure_ascii in (True, False):
        _MARSHALLERS[ensure_ascii] = Marshaller(ensure_ascii=ensure_ascii)


def report_init_error(
    client: RuntimeAPIClient, error: ErrorResult, errors: ErrorLogger, marshaller: Marshaller
) -> None:
    logging.warning(LAMBDA_UNHANDLED_EXCEPTION_WARNING)
    errors.log_error(error)
    flush_std()
    client.post_init_error(marshaller.to_json(error), error["errorType"])


class Runtime:
    """The invoke loop: next invocation, call the handler, post the result or the error."""

    def __init__(
        self,
        client: RuntimeAPIClient,
        handler: Callable[[Any, Any], Any],
        marshaller: Marshaller,
        errors: ErrorLogger,
        function_env: Tuple[Optional[str], ...],
        environ: Any,
    ) -> None:
        self.client = client
        self.handler = handler
        self.marshaller = marshaller
        self.errors = errors
        self.function_env = function_env
        self.environ = environ
        self.trace_id_variable = TraceIdVariable(environ)

    def run_forever(self) -> None:
        wait_next_invocation = self.client.wait_next_invocation
        handle = self.handle
        while True:
            headers, body = wait_next_invocation()
            handle(headers, body)

    def handle(self, headers: Dict[str, str], body: bytes) -> None:
        get = headers.get
        request_id = get("lambda-runtime-aws-request-id", "")
        tenant_id = get("lambda-runtime-aws-tenant-id")
        invocation = current_invocation
        invocation.request_id = request_id
        invocation.tenant_id = tenant_id
        trace_id = get("lambda-runtime-trace-id")
        if trace_id:
            self.trace_id_variable.set(trace_id)
        else:
            self.trace_id_variable.clear()

        marshaller = self.marshaller
        try:
            client_context = get("lambda-runtime-client-context")
            cognito_identity = get("lambda-runtime-cognito-identity")
            try:
                deadline_ms = int(get("lambda-runtime-deadline-ms") or 0)
            except ValueError:
                deadline_ms = 0
            context = LambdaContext(
                request_id,
                parse_json_header(client_context, "Client Context") if client_context else None,
                (
                    parse_json_header(cognito_identity, "Cognito Identity")
                    if cognito_identity
                    else None
                ),
                deadline_ms,
                get("lambda-runtime-invoked-function-arn"),
                tenant_id,
                self.function_env,
            )
            event = marshaller.unmarshal_request(body, get("content-type"))
            payload, content_type = marshaller.marshal_response(self.handler(event, context))
        except FaultException as e:
            error = make_error(e.msg, e.exception_type, e.trace, request_id)
            xray = make_xray_fault("LambdaValidationError", e.msg, os.getcwd(), [])
        except Exception as e:
            frames = extract_user_frames(e.__traceback__)
            error_type = type(e).__name__
            message = str(e)
            error = make_error(message, error_type, traceback.format_list(frames), request_id)
            xray = make_xray_fault(error_type, message, os.getcwd(), frames)
        else:
            flush_std()
            self.client.post_invocation_result(request_id, payload, content_type)
            return
        self.errors.log_error(error)
        flush_std()
        self.client.post_invocation_error(
            request_id, marshaller.to_json(error), marshaller.to_json(xray)
        )


def adopt_runtime_api_connection(fd: int) -> None:
    """Called by the spawner before ``main``: ``fd`` is a socket already connected to this
    environment's Runtime API (the first connection is then not made over TCP)."""
    adopt_connection(fd)


def main() -> None:
    environ = os.environ
    configure_sys_path(environ)
    _install_exit_builtins()
    sys.stdout = unbuffered(sys.stdout)
    sys.stderr = unbuffered(sys.stderr)

    json_format = (environ.get("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON"
    log_level = log_level_from_env(environ.get("AWS_LAMBDA_LOG_LEVEL"))
    ensure_ascii = not non_ascii_json(environ)
    marshaller = _MARSHALLERS.get(ensure_ascii) or Marshaller(ensure_ascii=ensure_ascii)
    log_sink = create_log_sink(environ, json_format)
    errors = ErrorLogger(log_sink, json_format, marshaller)
    client = RuntimeAPIClient(environ["AWS_LAMBDA_RUNTIME_API"])
    function_env = (
        environ.get("AWS_LAMBDA_LOG_GROUP_NAME"),
        environ.get("AWS_LAMBDA_LOG_STREAM_NAME"),
        environ.get("AWS_LAMBDA_FUNCTION_NAME"),
        environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
        environ.get("AWS_LAMBDA_FUNCTION_VERSION"),
    )

    init_error: Optional[ErrorResult] = None
    try:
        setup_logging(json_format, log_level, log_sink)
        handler_name = sys.argv[1] if len(sys.argv) > 1 else environ.get("_HANDLER", "")
        handler = load_handler(handler_name)
    except FaultException as e:
        init_error = make_error(e.msg, e.exception_type, e.trace)
    except Exception as e:
        init_error = fault_from_exception(e)
    if init_error is not None:
        report_init_error(client, init_error, errors, marshaller)
        sys.exit(1)

    flush_std()
    Runtime(client, handler, marshaller, errors, function_env, environ).run_forever()


if __name__ == "__main__":
    main()
