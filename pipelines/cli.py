"""Command-line entry point: ``atlas-certs <command>``.

Each command lives in its own module, which exposes ``add_parser(subparsers)``. The parser it
adds sets ``handler`` to a function that takes the parsed arguments and returns an exit code.
"""

import argparse
import importlib
import logging
import sys

COMMAND_MODULES = (
    "pipelines.commands.run",
    "pipelines.emulator.command",
    "pipelines.commands.report",
    "pipelines.commands.check",
    "pipelines.commands.metrics",
    "pipelines.commands.views",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="atlas-certs",
        description="Track MongoDB Atlas-managed X.509 certificates of database users in DuckDB.",
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="level of diagnostics written to stderr (default: WARNING)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


# Monitoring plugins must exit 3 (UNKNOWN) on bad usage; Nagios reads argparse's 2 as CRITICAL.
PLUGIN_COMMANDS = ("check",)
PLUGIN_USAGE_EXIT = 3


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exit_request:
        is_plugin = any(command in arguments for command in PLUGIN_COMMANDS)
        if exit_request.code == 2 and is_plugin:
            # argparse wrote its message to stderr; monitoring shows only stdout.
            print("ATLAS-CERTS UNKNOWN - invalid usage; see atlas-certs check --help")
            return PLUGIN_USAGE_EXIT
        raise
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
