"""Command-line entry point: ``atlas-certs <command>``.

Each command lives in its own module, which exposes ``add_parser(subparsers)``; the parser it
adds sets ``handler`` to a function that takes the parsed arguments and returns an exit code.
"""

import argparse
import importlib
import logging
import sys

COMMAND_MODULES = (
    "pipelines.commands.run",
    "pipelines.emulator.command",
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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
