"""One execution environment: a runtime process, its Runtime API and its log stream.

Lifecycle: STARTING (process spawned, runtime initialising) → IDLE (runtime blocked in
``/next``) ⇄ BUSY (one invocation) → DEAD. Anything abnormal (timeout, crash, init
failure) kills the process and ends the environment; the pool starts a fresh one
for the next invocation. See docs/invocation.md for the caller-visible contract.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from lamina.domain.arns import init_start_line
from lamina.domain.models import FunctionConfig
from lamina.runtime.idle_freeze import IdleFreezer
from lamina.runtime.invocation import (
    EnvironmentGone,
    Invocation,
    Outcome,
    State,
    exit_message,
    init_report_line,
    iso_now,
    platform_error,
    report_line,
)
from lamina.runtime.launch import LaunchFailure, LaunchPlan
from lamina.runtime.log_lines import TailLines
from lamina.runtime.peer import runtime_peer_check
from lamina.runtime.response_stream import ResponseStream
from lamina.runtime.runtime_api import (
    ACCEPTED,
    MAX_RESPONSE_BYTES,
    ApiReply,
    NextEvent,
    RuntimeApiServer,
    runtime_error,
)
from lamina.runtime.runtime_api_stream import invalid_mode_reply
from lamina.runtime.runtime_output import LineRate, LogSink, RuntimeOutput
from lamina.runtime.sandbox import Sandbox, SandboxError, SandboxHandle, SandboxSpec

log = logging.getLogger("lamina.environment")

# An on-demand init's own time (AWS's init phase); past it the environment is reset and the
# invocation runs the init again inside its own timeout (``Invocation.suppressed_init``).
INIT_LIMIT_SECONDS = 10.0
SHUTDOWN_GRACE_SECONDS = 0.5
# How long a timed-out invocation waits for its killed runtime to be gone (its last output).
KILL_WAIT_SECONDS = 1.0
# The REPORT line's "Max Memory Used" is the cgroup's peak (a file read, a system call per
# invocation). After an invocation shorter than PEAK_REREAD_MS, the peak read less than
# PEAK_CACHE_SECONDS ago stands: so short an invocation can grow its environment by a few
# tens of MB at most, which the environment's next REPORT within that time shows.
PEAK_REREAD_MS = 5.0
PEAK_CACHE_SECONDS = 0.25


@dataclass(slots=True)
class _Running:
    invocation: Invocation
    future: asyncio.Future[Outcome]
    # The log's last lines, kept when the invocation asked for them (``log_tail``).
    lines: TailLines | None = None
    started: float = 0.0
    delivered: bool = False
    timer: asyncio.TimerHandle | None = None
    cold: bool = False
    # The runtime's streamed response, once it started one.
    stream: ResponseStream | None = None

    @property
    def init_inside(self) -> bool:
        """A cold start retried after its first init outlived its limit: its init runs
        inside it (``Invocation.suppressed_init``)."""
        return self.cold and self.invocation.suppressed_init


class Environment:
    def __init__(
        self,
        config: FunctionConfig,
        sandbox: Sandbox,
        plan_factory: Callable[[str, str], Awaitable[LaunchPlan]],
        log_sink: LogSink,
        on_dead: Callable[[Environment], None],
        network: str = "none",
        serve_lamina_api: Callable[[socket.socket], Awaitable[asyncio.AbstractServer]]
        | None = None,
        log_lines_per_second: int = 0,
    ) -> None:
        """``log_lines_per_second``: the lines of its output read a second at most, while
        the runtime's writes wait (0: no bound; ``runtime_output.LineRate``)."""
        self.config = config
        self._log_lines_per_second = log_lines_per_second
        self.network = network
        self._serve_lamina_api = serve_lamina_api
        self._proxy: asyncio.AbstractServer | None = None
        self.id = uuid.uuid4().hex
        today = datetime.now(timezone.utc).strftime("%Y/%m/%d")
        self.log_stream = f"{today}/[{config.version}]{self.id}"
        # Continuing an environment reset after its init outlived its limit (``continues``).
        self._continued = False
        self.log_group = config.effective_log_group
        self.state = State.STARTING
        self.retired = False
        self.last_used = time.monotonic()
        self._sandbox = sandbox
        self._plan_factory = plan_factory
        self._log_sink = log_sink
        self._on_dead = on_dead
        self._api = RuntimeApiServer(self)
        self._handle: SandboxHandle | None = None
        self._spawned_at = 0.0
        # When the sandbox had started the runtime: the init limit counts from there, not
        # from waits of Lamina's own before it (a Java runtime's first build).
        self._launched_at = 0.0
        self._init_duration_ms: float | None = None
        self._init_error: tuple[bytes, str | None] | None = None
        self._launch_failure: LaunchFailure | None = None
        self._running: _Running | None = None
        self._next_waiter: asyncio.Future[_Running] | None = None
        # The Runtime API's pending /next when it waits without a task (next_event_now).
        self._next_deliver: Callable[[NextEvent | ApiReply], None] | None = None
        self._orphan_lines = TailLines()
        # Invocations handed to this environment: the first one is its cold start (whether
        # or not the runtime already reached /next while the environment was being set up).
        self._invocations = 0
        # Provisioned environments: settled when init ends (True: the runtime reached its
        # first /next), and whether init happened ahead of every invocation.
        self._initialised: asyncio.Future[bool] | None = None
        self._initialised_ahead = False
        self._output: RuntimeOutput | None = None  # the runtime's stdout and stderr
        self._exit_task: asyncio.Task[None] | None = None
        # Which Runtime API limit the runtime broke, if it did (it loses the environment).
        self._api_abuse: str | None = None
        # What ends an invocation whose runtime was killed, run once the runtime is gone
        # (``_end_when_gone``), and the invocation it ends.
        self._ending: Callable[[], None] | None = None
        self._ending_for: _Running | None = None
        # Called once when init ends, however it ends (host admission: a cold start's slot).
        self.on_init_end: Callable[[], None] | None = None
        # Frozen once idle a moment, as on AWS (``runtime.idle_freeze``).
        self._idle_freezer = IdleFreezer(lambda: self.state is State.IDLE, self._freeze_if_idle)
        # The event loop, once known (``asyncio.get_running_loop`` costs a getpid system
        # call per use on Python 3.11, several times per invocation).
        self._loop: asyncio.AbstractEventLoop | None = None
        # The last peak memory read (MB), and when (time.perf_counter()).
        self._peak_mb = 0
        self._peak_read_at = -PEAK_CACHE_SECONDS

    # --- lifecycle ------------------------------------------------------------------------

    def continues(self, log_stream: str) -> None:
        """Before ``start``: this environment continues one whose init outlived its limit,
        as AWS's reset environment does: the same log stream, no second INIT_START."""
        self.log_stream = log_stream
        self._continued = True

    async def start(self) -> None:
        address = self._sandbox.runtime_api_address(self.network)
        if address is None:
            await self._api.start()
            address = self._api.address
            if self._sandbox.isolated_fs:
                # On the host's loopback: serve only the runtime's own connections.
                self._api.check_peers()
        try:
            plan = await self._plan_factory(address, self.log_stream)
        except LaunchFailure as failure:
            self._launch_failure = failure
            return
        self._spawned_at = time.perf_counter()
        if self.config.runtime and not self._continued:
            # In the log stream only: no invocation's tail (LogType=Tail) shows it.
            line = init_start_line(self.config.region, self.config.runtime)
            self._log_sink.append(
                self.log_group, self.log_stream, int(time.time() * 1000), line, False
            )
        opt_dir = plan.paths.host_opt_root
        spec = SandboxSpec(
            env_id=self.id,
            argv=plan.argv,
            env=plan.env,
            cwd=plan.cwd,
            memory_mb=self.config.memory_size,
            task_dir=str(plan.paths.host_task_root),
            opt_dir=str(opt_dir) if opt_dir else None,
            sdk_dir=str(plan.paths.host_sdk_root),
            ephemeral_mb=self.config.ephemeral_storage,
            network=self.network,
        )
        try:
            handle = await self._sandbox.start(spec)
        except SandboxError as exc:
            log.error("environment %s could not start: %s", self.id, exc)
            self._launch_failure = LaunchFailure("Sandbox.Failure", str(exc))
            return
        self._handle = handle
        self._launched_at = time.perf_counter()
        if self.state is State.DEAD:
            # Stopped (server shutdown, function deleted) while it was being set up.
            self._launch_failure = LaunchFailure(
                "Sandbox.Failure", "the execution environment was stopped while starting"
            )
            handle.kill()
            self._exit_task = asyncio.ensure_future(self._reap_unused(handle))
            return
        self._api.admit_peers(runtime_peer_check(handle))
        if self._api_abuse is not None:
            handle.kill()  # broke a Runtime API limit before its handle was known
        runtime_api = handle.listeners.pop("runtime_api", None)
        if runtime_api is not None:
            await self._api.start_on(runtime_api)
        connection = handle.listeners.pop("runtime_api_connection", None)
        if connection is not None:
            await self._api.adopt(connection)
        lamina_api = handle.listeners.pop("lamina_api", None)
        if lamina_api is not None and self._serve_lamina_api is not None:
            self._proxy = await self._serve_lamina_api(lamina_api)
        rate = self._log_lines_per_second
        self._output = RuntimeOutput(
            handle.log_fd,
            self._log_sink,
            self.log_group,
            self.log_stream,
            self._log_output,
            LineRate(rate) if rate > 0 else None,
        )
        self._output.watch()
        self._exit_task = asyncio.ensure_future(self._watch_exit(handle))

    async def wait_initialised(self) -> bool:
        """After ``start``: wait until init ends. True when the runtime reached its first
        ``/next`` (the environment is IDLE and its first invocation is no cold start); False
        when init failed (init error, exit, launch failure) or the environment was stopped."""
        if self._launch_failure is not None or self.state is State.DEAD:
            return False
        if self._init_error is not None:
            return False
        if self._init_duration_ms is None:
            if self._initialised is None:
                self._initialised = asyncio.get_running_loop().create_future()
            if not await asyncio.shield(self._initialised):
                return False
        if self.state is not State.IDLE or self._invocations:
            return False
        self._initialised_ahead = True
        # Init's output went to the log stream already; it is no invocation's.
        self._orphan_lines.clear()
        return True

    def _settle_init(self, ok: bool) -> None:
        future = self._initialised
        if future is not None and not future.done():
            future.set_result(ok)
        if self.on_init_end is not None:
            on_init_end, self.on_init_end = self.on_init_end, None
            on_init_end()

    def freeze(self) -> None:
        """Freeze the environment while it is idle (as after an invocation)."""
        self._freeze_if_idle()

    async def _reap_unused(self, handle: SandboxHandle) -> None:
        await handle.wait()
        os.close(handle.log_fd)
        for sock in handle.listeners.values():
            sock.close()
        handle.close()

    async def stop(self) -> None:
        """SIGTERM, a short grace period, then SIGKILL; releases every resource."""
        handle = self._handle
        if handle is not None and self.state is not State.DEAD:
            handle.terminate()
            try:
                if self._exit_task is not None:
                    await asyncio.wait_for(asyncio.shield(self._exit_task), SHUTDOWN_GRACE_SECONDS)
            except asyncio.TimeoutError:
                handle.kill()
        self._die()
        if self._exit_task is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._exit_task, 5)

    def _kill(self) -> None:
        if self._handle is not None:
            self._handle.kill()

    def _die(self) -> None:
        if self.state is State.DEAD:
            return
        self.state = State.DEAD
        self._api.close()
        if self._proxy is not None:
            self._proxy.close()
            self._proxy = None
        if self._next_waiter is not None and not self._next_waiter.done():
            self._next_waiter.cancel()
        self._next_deliver = None
        self._idle_freezer.cancel()
        if self._handle is not None:
            self._handle.kill()
        self._settle_init(False)
        self._on_dead(self)

    async def _watch_exit(self, handle: SandboxHandle) -> None:
        returncode = await handle.wait()
        if self._output is not None:
            self._output.drain(final=True)
            self._output.close()
        self._run_ending()
        running = self._running
        if running is not None and not running.future.done():
            if not running.delivered and not running.cold and self._init_error is None:
                self._running = None
                running.future.set_exception(EnvironmentGone(self._exit_reason(returncode)))
            elif self._init_error is not None and not running.delivered:
                body, error_type = self._init_error
                self._finish(running, body, "Unhandled", error_type or "Runtime.Unknown", "error")
            else:
                request_id = running.invocation.request_id
                reason = self._exit_reason(returncode)
                body = platform_error(request_id, "Runtime.ExitError", reason)
                self._log(f"{iso_now()} {request_id} {reason}")
                report_type = "Runtime.OutOfMemory" if handle.oom_killed() else None
                self._finish(running, body, "Unhandled", "Runtime.ExitError", "crash", report_type)
        self._die()
        handle.close()

    def _exit_reason(self, returncode: int) -> str:
        if self._api_abuse is not None:
            return f"Runtime API limit exceeded: {self._api_abuse}"
        return exit_message(returncode)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        return loop

    # --- invoking -------------------------------------------------------------------------

    async def invoke(self, invocation: Invocation) -> Outcome:
        loop = self._running_loop()
        cold = self._invocations == 0 and not self._initialised_ahead
        lines = TailLines() if invocation.log_tail else None
        running = _Running(invocation, loop.create_future(), lines, cold=cold)
        self._invocations += 1
        if self._launch_failure is not None:
            failure = self._launch_failure
            body = platform_error(invocation.request_id, failure.error_type, failure.message)
            self._running = running
            self._finish(running, body, "Unhandled", failure.error_type, "error")
            self._die()
            return await running.future
        self.state = State.BUSY
        self._running = running
        if self._handle is not None:
            self._handle.thaw()
        if running.cold:
            since_launch = time.perf_counter() - self._launched_at
            if invocation.suppressed_init:
                # The init runs inside the invocation: its duration and timeout count from
                # the runtime's start.
                running.started = self._launched_at
                running.timer = loop.call_later(
                    max(0.0, self.config.timeout - since_launch), self._on_timeout, running
                )
            else:
                running.timer = loop.call_later(
                    max(0.0, INIT_LIMIT_SECONDS - since_launch), self._on_init_limit, running
                )
        deliver = self._next_deliver
        if deliver is not None:
            # The runtime waits in /next: its event goes out now, from this task.
            self._next_deliver = None
            deliver(self._deliver(running))
        elif self._next_waiter is not None and not self._next_waiter.done():
            self._next_waiter.set_result(running)
        return await running.future

    # RuntimeApiHandler -----------------------------------------------------------------------

    async def next_event(self) -> NextEvent | ApiReply:
        ready = self._next_ready()
        if ready is not None:
            return ready
        loop = asyncio.get_running_loop()
        self._next_waiter = loop.create_future()
        try:
            running = await self._next_waiter
        finally:
            self._next_waiter = None
        return self._deliver(running)

    def next_event_now(
        self, deliver: Callable[[NextEvent | ApiReply], None]
    ) -> NextEvent | ApiReply | None:
        """``next_event`` without a task: the event now, or None and ``deliver`` is called
        with it when the next invocation comes (never if the environment ends first)."""
        ready = self._next_ready()
        if ready is None:
            self._next_deliver = deliver
        return ready

    def _next_ready(self) -> NextEvent | ApiReply | None:
        """The runtime asks for its next event: the event (an invocation is waiting) or the
        error to answer; None when it must wait (the environment is idle then)."""
        if self._init_duration_ms is None:
            self._init_duration_ms = (time.perf_counter() - self._spawned_at) * 1000
            if self._handle is not None:
                self._handle.init_done()
            if self._init_error is None:
                self._settle_init(True)
        running = self._running
        if running is not None and running.delivered and not running.future.done():
            return runtime_error(
                403, "InvalidStateTransition", "State transition from Running to Ready failed"
            )
        if running is None or running.future.done():
            if self.state is State.STARTING:
                self.state = State.IDLE
            return None
        return self._deliver(running)

    def _deliver(self, running: _Running) -> NextEvent:
        loop = self._running_loop()
        invocation = running.invocation
        running.delivered = True
        now = time.perf_counter()
        timeout: float = self.config.timeout
        if running.init_inside:
            timeout -= now - running.started  # what the init inside it left
        else:
            running.started = now
        if running.timer is not None:
            running.timer.cancel()
        # Under the boost CPU policy the one timer first ends the boost window.
        window = self._handle.cpu_boost() if self._handle is not None else None
        if window is not None and window < timeout:
            running.timer = loop.call_later(window, self._on_boost_over, running)
        else:
            running.timer = loop.call_later(max(0.0, timeout), self._on_timeout, running)
        if self._orphan_lines:
            if running.lines is not None:
                running.lines.extend(self._orphan_lines)
            self._orphan_lines.clear()
        self._log(f"START RequestId: {invocation.request_id} Version: {self.config.version}")
        deadline_ms = int((time.time() + timeout) * 1000)
        return NextEvent(
            request_id=invocation.request_id,
            payload=invocation.payload,
            deadline_ms=deadline_ms,
            invoked_function_arn=invocation.invoked_arn,
            trace_id=invocation.trace_id,
            client_context=invocation.client_context,
            cognito_identity=invocation.cognito_identity,
        )

    def _current(self, request_id: str) -> _Running | None:
        running = self._running
        if (
            running is None
            or not running.delivered
            or running.future.done()
            or running.invocation.request_id != request_id
            or running is self._ending_for  # too late: it is being ended
        ):
            return None
        return running

    def post_response(self, request_id: str, body: bytes) -> ApiReply:
        running = self._current(request_id)
        if running is None:
            return runtime_error(400, "InvalidRequestID", "Invalid request ID")
        self._finish(running, body, None, None, "success")
        return ACCEPTED

    def post_oversized_response(self, request_id: str) -> ApiReply:
        running = self._current(request_id)
        if running is None:
            return runtime_error(400, "InvalidRequestID", "Invalid request ID")
        body = json.dumps(
            {
                "errorMessage": "Response payload size exceeded maximum allowed payload size "
                f"({MAX_RESPONSE_BYTES} bytes).",
                "errorType": "Function.ResponseSizeTooLarge",
            }
        ).encode()
        self._finish(running, body, "Unhandled", "Function.ResponseSizeTooLarge", "error")
        return runtime_error(
            413,
            "RequestEntityTooLarge",
            f"Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
        )

    def post_error(self, request_id: str, body: bytes, error_type: str | None) -> ApiReply:
        running = self._current(request_id)
        if running is None:
            return runtime_error(400, "InvalidRequestID", "Invalid request ID")
        self._finish(running, body, "Unhandled", error_type or "Runtime.Unknown", "error")
        return ACCEPTED

    def post_init_error(self, body: bytes, error_type: str | None) -> ApiReply:
        if self._init_duration_ms is not None:
            return runtime_error(
                403, "InvalidStateTransition", "State transition from Ready to InitError failed"
            )
        self._init_error = (body, error_type)
        self._settle_init(False)
        duration = (time.perf_counter() - self._spawned_at) * 1000
        self._log(init_report_line(duration, "init", "error", error_type or "Runtime.Unknown"))
        running = self._running
        if running is not None and not running.future.done():
            self._finish(running, body, "Unhandled", error_type or "Runtime.Unknown", "error")
        return ACCEPTED

    # Streamed responses (runtime_api_stream.StreamingHandler) -----------------------------

    def begin_stream(self, request_id: str, content_type: str | None) -> ResponseStream | ApiReply:
        running = self._current(request_id)
        if running is None or running.stream is not None:
            return runtime_error(400, "InvalidRequestID", "Invalid request ID")
        stream = running.invocation.stream
        if stream is None:
            # The caller wants the response in one piece: collect it (6 MB as buffered).
            stream = ResponseStream(limit=MAX_RESPONSE_BYTES, collect=True)
        stream.begin(content_type)
        running.stream = stream
        return stream

    def end_stream(self, request_id: str, error_type: str | None, error_body: bytes) -> ApiReply:
        running = self._current(request_id)
        if running is None or running.stream is None:
            return runtime_error(400, "InvalidRequestID", "Invalid request ID")
        stream = running.stream
        if error_type is None and stream.error is not None:
            error_type, error_body = stream.error
        if error_type is not None:
            stream.fail(error_type, error_body)
            self._finish(running, error_body, "Unhandled", error_type, "error")
        else:
            payload = stream.collected() if stream.collect else b""
            stream.end()
            self._finish(running, payload, None, None, "success")
        return ACCEPTED

    def reject_response_mode(self, request_id: str, mode: str) -> ApiReply:
        running = self._current(request_id)
        if running is None:
            return runtime_error(400, "InvalidRequestID", "Invalid request ID")
        error_type = "Runtime.InvalidResponseModeHeader"
        body = platform_error(request_id, error_type, f"Invalid response mode header: {mode}")
        self._finish(running, body, "Unhandled", error_type, "error")
        return invalid_mode_reply(mode)

    def runtime_api_abused(self, reason: str) -> None:
        """The runtime broke a Runtime API limit: it loses its environment. The exit is
        handled as a crash, reported as ``Runtime API limit exceeded: <reason>``."""
        if self.state is State.DEAD or self._api_abuse is not None:
            return
        self._api_abuse = reason
        log.warning(
            "environment %s of %s broke a Runtime API limit (%s): stopping it",
            self.id,
            self.config.name,
            reason,
        )
        self._kill()

    def _freeze_if_idle(self) -> None:
        if self.state is State.IDLE and self._handle is not None:
            self._handle.freeze()

    # --- completion -------------------------------------------------------------------------

    def _on_boost_over(self, running: _Running) -> None:
        """The invocation outlived its CPU boost window: its share applies, and the timer
        becomes its timeout's again (counted from its delivery)."""
        if running.future.done():
            return
        if self._handle is not None:
            self._handle.cpu_settle()
        remaining = self.config.timeout - (time.perf_counter() - running.started)
        loop = asyncio.get_running_loop()
        running.timer = loop.call_later(max(0.0, remaining), self._on_timeout, running)

    def _on_init_limit(self, running: _Running) -> None:
        """A cold start's init outlived ``INIT_LIMIT_SECONDS`` (on AWS: the init phase's 10 s):
        the environment is reset and the invocation retried on a new one, whose init runs
        inside the invocation (``Invocation.suppressed_init``)."""
        if running.future.done() or running.delivered:
            return
        duration = (time.perf_counter() - self._launched_at) * 1000
        if duration < INIT_LIMIT_SECONDS * 1000:  # the loop's timers may fire a bit early
            early = INIT_LIMIT_SECONDS - duration / 1000
            running.timer = self._running_loop().call_later(early, self._on_init_limit, running)
            return
        # No event reaches the runtime meanwhile: the invocation is no longer its.
        self._running = None
        self._end_when_gone(running, lambda: self._reset_init(running, duration))

    def _reset_init(self, running: _Running, duration: float) -> None:
        self._log(init_report_line(duration, "init", "timeout"))
        if not running.future.done():  # (its caller may have gone)
            running.invocation.suppressed_init = True
            running.future.set_exception(EnvironmentGone("init timed out", self.log_stream))
        self._die()

    def _on_timeout(self, running: _Running) -> None:
        if running.future.done() or self._ending is not None:
            return
        self._end_when_gone(running, lambda: self._timed_out(running))

    def _timed_out(self, running: _Running) -> None:
        if running.future.done():
            return
        request_id = running.invocation.request_id
        message = f"Task timed out after {self.config.timeout:.2f} seconds"
        if not running.delivered and running.init_inside:
            # The init inside the invocation used up its timeout (AWS's lines, in order).
            duration = (time.perf_counter() - self._launched_at) * 1000
            self._log(init_report_line(duration, "invoke", "timeout"))
            self._log(f"START RequestId: {request_id} Version: {self.config.version}")
            running.delivered = True  # for its END and REPORT
        self._log(f"{iso_now()} {request_id} {message}")
        body = platform_error(request_id, "Sandbox.Timedout", message)
        self._finish(running, body, "Unhandled", "Sandbox.Timedout", "timeout")
        self._die()

    def _end_when_gone(self, running: _Running, ending: Callable[[], None]) -> None:
        """Kill the runtime and end ``running`` with ``ending`` once the runtime is gone
        (``_watch_exit``), so that what it wrote until then is logged before the lines that
        end it; a runtime not gone within ``KILL_WAIT_SECONDS`` (stuck in the kernel) is
        not waited for."""
        self._ending, self._ending_for = ending, running
        self._kill()
        running.timer = self._running_loop().call_later(KILL_WAIT_SECONDS, self._run_ending)

    def _run_ending(self) -> None:
        ending, running = self._ending, self._ending_for
        if ending is None or running is None:
            return
        self._ending = self._ending_for = None
        if running.timer is not None:
            running.timer.cancel()
        self._drain_logs(final=True)
        ending()

    def _finish(
        self,
        running: _Running,
        payload: bytes,
        function_error: str | None,
        error_type: str | None,
        status: str,
        report_error_type: str | None = None,
    ) -> None:
        if running.future.done():
            return
        if running.timer is not None:
            running.timer.cancel()
        self._drain_logs(final=False, end_line=True)
        now = time.perf_counter()
        duration_ms = (now - running.started) * 1000 if running.delivered else 0.0
        request_id = running.invocation.request_id
        # A suppressed init is part of the invocation's Duration, not an Init Duration.
        init_ms = self._init_duration_ms if running.cold and not running.init_inside else None
        memory = self._max_memory_mb(duration_ms, now)
        if running.delivered:
            report = report_line(
                request_id,
                duration_ms,
                self.config.memory_size,
                memory,
                init_ms,
                status,
                report_error_type or error_type,
            )
            self._log_platform((f"END RequestId: {request_id}", report))
        lines = running.lines
        if lines is not None and not lines:
            lines = self._orphan_lines  # it ended before its event was delivered
        log_text = "\n".join(lines) + "\n" if lines else ""
        running.future.set_result(
            Outcome(
                payload=payload,
                function_error=function_error,
                error_type=error_type,
                status=status,
                duration_ms=duration_ms,
                init_duration_ms=init_ms,
                max_memory_mb=memory,
                log_text=log_text,
            )
        )
        self._running = None
        self.last_used = time.monotonic()
        if self.state is State.BUSY:
            self.state = State.IDLE
            # Frozen while idle, as on AWS, once idle a moment (the runtime's response is
            # acknowledged first, and a next invocation arriving meanwhile needs no thaw).
            self._idle_freezer.went_idle(self._running_loop())

    def _max_memory_mb(self, duration_ms: float, now: float) -> int:
        if self._handle is None:
            return 0
        if duration_ms >= PEAK_REREAD_MS or now - self._peak_read_at >= PEAK_CACHE_SECONDS:
            self._peak_mb = self._handle.max_memory_mb()
            self._peak_read_at = now
        return self._peak_mb

    # --- logs --------------------------------------------------------------------------------

    def _drain_logs(self, *, final: bool, end_line: bool = False) -> None:
        if self._output is not None:
            self._output.drain(final=final, end_line=end_line)

    def _log_output(self, line: str) -> None:
        self._log(line, droppable=True)

    def _log_platform(self, messages: tuple[str, ...]) -> None:
        """Platform lines of the invocation running, logged together (its END and REPORT)."""
        self._log_sink.append_platform(
            self.log_group, self.log_stream, int(time.time() * 1000), messages
        )
        running = self._running
        if running is not None and running.lines is not None:
            running.lines.extend(messages)

    def _log(self, message: str, *, droppable: bool = False) -> None:
        self._log_sink.append(
            self.log_group, self.log_stream, int(time.time() * 1000), message, droppable
        )
        running = self._running
        if running is None or not running.delivered:
            self._orphan_lines.append(message)
        elif running.lines is not None:
            running.lines.append(message)
