"""The ``lamina`` command."""

from __future__ import annotations

import argparse
import sys

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
        help="/tmp of isolated environments: memory (a tmpfs; fastest starts, counts "
        "against the function's memory) or disk (an ext4 of EphemeralStorage on a loop "
        "device, as on AWS; about 1.5 ms more per start) (env LAMINA_TMP_STORAGE; memory)",
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
