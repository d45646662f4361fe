"""`atlas-certs metrics`: write Prometheus metrics for the node_exporter textfile collector."""

import argparse
from pathlib import Path

from pipelines.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_database_option,
    print_error,
)
from pipelines.database import InvalidDatabasePath
from pipelines.reporting.database import DatabaseUnavailable, open_database
from pipelines.reporting.metrics import read_snapshot, write_metrics
from pipelines.reporting.options import InvalidTimestamp, add_now_option, parse_now

METRICS_EXAMPLE = """example:
  atlas-certs metrics --database /srv/atlas-certs/atlas-certs.duckdb \\
      --textfile /var/lib/node_exporter/textfile/atlas_certs.prom

The file is replaced atomically. Alert on the timestamps, which stay right between
writes, e.g. atlas_certs_user_latest_not_after_timestamp_seconds - time() < 7 * 86400.

exit codes: 0 file written, 1 database missing, locked or without views, or the file
could not be written, 2 invalid usage"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "metrics",
        help="write Prometheus metrics to a file for the node_exporter textfile collector",
        description="Write Prometheus metrics (certificate and user expiry, run and fetch "
        "health) to a .prom file for the node_exporter textfile collector. Opens the "
        "database read-only.",
        epilog=METRICS_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_database_option(parser)
    parser.add_argument(
        "--textfile",
        type=Path,
        required=True,
        metavar="PATH",
        help="file to write; must end in .prom, which the textfile collector requires",
    )
    add_now_option(parser)
    parser.set_defaults(handler=metrics_command)


def metrics_command(args: argparse.Namespace) -> int:
    try:
        now = parse_now(args.now)
    except InvalidTimestamp as error:
        print_error(str(error))
        return EXIT_USAGE
    textfile: Path = args.textfile
    if textfile.suffix != ".prom":
        print_error(
            f"invalid --textfile {textfile}: the node_exporter textfile collector reads only "
            "files ending in .prom"
        )
        return EXIT_USAGE
    if not textfile.parent.is_dir():
        print_error(f"cannot write --textfile {textfile}: folder {textfile.parent} not found")
        return EXIT_FAILED

    try:
        with open_database(args.database, now) as connection:
            snapshot = read_snapshot(connection)
    except InvalidDatabasePath as error:
        print_error(str(error))
        return EXIT_USAGE
    except DatabaseUnavailable as error:
        print_error(str(error))
        return EXIT_FAILED
    try:
        write_metrics(snapshot, textfile)
    except OSError as error:
        print_error(f"cannot write --textfile {textfile}: {error.strerror or error}")
        return EXIT_FAILED
    return EXIT_OK
