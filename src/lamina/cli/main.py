"""The ``lamina`` command."""

from __future__ import annotations

import argparse
import sys

from lamina.config import OPTIONS, Settings, SettingsError


def _server(args: argparse.Namespace) -> int:
    from lamina.server import run

    try:
        settings = Settings.from_env(**{o.field: getattr(args, o.field, None) for o in OPTIONS})
    except SettingsError as exc:
        print(f"lamina server: {exc}", file=sys.stderr)
        return 2
    from lamina.services.keys.root_key import RootKeyError
    from lamina.store.master_key import MasterKeyError

    try:
        run(settings)
    except (MasterKeyError, RootKeyError) as exc:  # a key unreadable: nothing was served
        print(f"lamina server: {exc}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lamina", description="A self-hosted AWS Lambda.")
    sub = parser.add_subparsers(dest="command", required=True)

    server = sub.add_parser("server", help="run the Lamina server in the foreground")
    for option in OPTIONS:
        if option.has_flag:
            server.add_argument(
                option.flag,
                dest=option.field,
                type=option.parse,
                choices=option.choices,
                help=option.full_help,
            )
    server.set_defaults(func=_server)

    from lamina.cli.logs_cmd import add_logs_parser

    add_logs_parser(sub)

    from lamina.cli.metrics_cmd import add_metrics_parser

    add_metrics_parser(sub)

    from lamina.cli.queue_cmd import add_queue_parser

    add_queue_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
