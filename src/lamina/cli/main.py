"""The ``lamina`` command."""

from __future__ import annotations

import argparse
import sys

from lamina.cli.log_flags import add_log_server_arguments, log_server_settings
from lamina.config import DEFAULT_PORT, Settings


def _server(args: argparse.Namespace) -> int:
    from lamina.server import run

    settings = Settings.from_env(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        account_id=args.account_id,
        region=args.region,
        idle_timeout=args.idle_timeout,
        isolation=args.isolation,
        function_network=args.function_network,
        tmp_storage=args.tmp_storage,
        concurrency_limit=args.concurrency_limit,
        unreserved_minimum=args.unreserved_minimum,
        scaling_rate=args.scaling_rate,
        scaling_window=args.scaling_window,
        async_delay_scale=args.async_delay_scale,
        code_storage_limit_mb=args.code_storage_limit_mb,
        function_api_access=args.function_api_access,
        keep_alive_timeout=args.keep_alive_timeout,
        max_connections=args.max_connections,
        host_memory_overcommit=args.host_memory_overcommit,
        host_cpu_overcommit=args.host_cpu_overcommit,
        max_cold_starts=args.max_cold_starts,
        admission_wait=args.admission_wait,
        **log_server_settings(args),
    )
    run(settings)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lamina", description="A self-hosted AWS Lambda.")
    sub = parser.add_subparsers(dest="command", required=True)

    server = sub.add_parser("server", help="run the Lamina server in the foreground")
    server.add_argument("--host", help="address to listen on (env LAMINA_HOST; 127.0.0.1)")
    server.add_argument(
        "--port", type=int, help=f"port to listen on (env LAMINA_PORT; {DEFAULT_PORT})"
    )
    server.add_argument(
        "--data-dir", help="state directory (env LAMINA_DATA_DIR; ~/.local/share/lamina)"
    )
    server.add_argument("--account-id", help="account id in ARNs (env LAMINA_ACCOUNT_ID)")
    server.add_argument("--region", help="region in ARNs (env LAMINA_REGION; us-east-1)")
    server.add_argument(
        "--idle-timeout",
        type=float,
        help="seconds an idle environment stays warm (env LAMINA_IDLE_TIMEOUT; 300)",
    )
    server.add_argument(
        "--isolation",
        choices=("auto", "linux", "process"),
        help="run functions isolated (linux), not (process), or isolated when possible "
        "(auto; env LAMINA_ISOLATION)",
    )
    server.add_argument(
        "--function-network",
        choices=("none", "host"),
        help="functions' outbound network: none (their own namespace, only Lamina is "
        "reachable) or host (env LAMINA_FUNCTION_NETWORK; none)",
    )
    server.add_argument(
        "--tmp-storage",
        choices=("memory", "disk"),
        help="/tmp of isolated environments: disk (an ext4 of EphemeralStorage on a loop "
        "device, as on AWS: files in /tmp do not count against the function's memory; "
        "prepared ahead of need, so starts pay nothing for it) or memory (a tmpfs that "
        "counts against the function's memory) (env LAMINA_TMP_STORAGE; disk)",
    )
    server.add_argument(
        "--concurrency-limit",
        type=_non_negative_int,
        help="concurrent executions of the account (env LAMINA_CONCURRENCY_LIMIT; 1000)",
    )
    server.add_argument(
        "--unreserved-minimum",
        type=_non_negative_int,
        help="concurrency that reservations must leave unreserved, at most the limit "
        "(env LAMINA_UNRESERVED_MINIMUM; 100)",
    )
    server.add_argument(
        "--scaling-rate",
        type=_positive_int,
        help="new execution environments a function may add per scaling window "
        "(env LAMINA_SCALING_RATE; 1000)",
    )
    server.add_argument(
        "--scaling-window",
        type=_positive_float,
        help="seconds of the scaling window (env LAMINA_SCALING_WINDOW; 10)",
    )
    server.add_argument(
        "--async-delay-scale",
        type=_positive_float,
        help="multiply the retry delays, backoffs and maximum event age of asynchronous "
        "invocations: 1 = AWS's schedule, 0.01 = a hundred times faster "
        "(env LAMINA_ASYNC_DELAY_SCALE; 1)",
    )
    server.add_argument(
        "--code-storage-limit-mb",
        type=_positive_int,
        help="disk that code may take (packages, unpacked trees, merged layers): uploads "
        "beyond it get CodeStorageExceededException (env LAMINA_CODE_STORAGE_LIMIT_MB; "
        "76800, AWS's 75 GB)",
    )
    server.add_argument(
        "--function-api-access",
        choices=("none", "self", "account"),
        help="what functions may do with Lamina's API using their own credentials: nothing, "
        "operations on themselves, or everything in the account "
        "(env LAMINA_FUNCTION_API_ACCESS; account)",
    )
    server.add_argument(
        "--keep-alive-timeout",
        type=_positive_int,
        help="seconds an idle API connection stays open (env LAMINA_KEEP_ALIVE_TIMEOUT; 30)",
    )
    server.add_argument(
        "--max-connections",
        type=_positive_int,
        help="open API connections at most; beyond it the longest-idle one is closed "
        "(env LAMINA_MAX_CONNECTIONS; 4096, at most half the open-files limit)",
    )
    server.add_argument(
        "--host-memory-overcommit",
        type=_positive_float,
        help="the MemorySize of live environments may add up to the host's memory times "
        "this (env LAMINA_HOST_MEMORY_OVERCOMMIT; 2)",
    )
    server.add_argument(
        "--host-cpu-overcommit",
        type=_positive_float,
        help="the CPU shares of live environments (MemorySize/1769 vCPU each) may add up to "
        "the host's cores times this (env LAMINA_HOST_CPU_OVERCOMMIT; 8)",
    )
    server.add_argument(
        "--max-cold-starts",
        type=_positive_int,
        help="environments initialising at once (env LAMINA_MAX_COLD_STARTS; eight per core)",
    )
    server.add_argument(
        "--admission-wait",
        type=_non_negative_float,
        help="seconds a synchronous invocation waits for room on the host before its 429 "
        "(env LAMINA_ADMISSION_WAIT; 10)",
    )
    add_log_server_arguments(server)
    server.set_defaults(func=_server)

    from lamina.cli.logs_cmd import add_logs_parser

    add_logs_parser(sub)

    from lamina.cli.metrics_cmd import add_metrics_parser

    add_metrics_parser(sub)

    from lamina.cli.queue_cmd import add_queue_parser

    add_queue_parser(sub)
    return parser


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1: {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
