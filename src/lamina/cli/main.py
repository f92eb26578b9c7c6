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
    server.set_defaults(func=_server)

    from lamina.cli.logs_cmd import add_logs_parser

    add_logs_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
