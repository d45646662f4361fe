"""Options and output helpers shared by the commands."""

import argparse
import sys
from pathlib import Path

from pipelines.settings import DEFAULT_DATABASE

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3


def add_database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        type=Path,
        default=Path(DEFAULT_DATABASE),
        metavar="PATH",
        help=f"DuckDB file to use (default: {DEFAULT_DATABASE} in the working directory)",
    )


def print_error(message: str) -> None:
    print(f"Error: {message}", file=sys.stderr)
