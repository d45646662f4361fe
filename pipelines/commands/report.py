"""`atlas-certs report`: the certificates and users that expire soon, and the pipeline's health."""

import argparse

from pipelines.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_database_option,
    print_error,
)
from pipelines.database import InvalidDatabasePath
from pipelines.reporting.database import DatabaseUnavailable, open_database
from pipelines.reporting.durations import InvalidDuration, parse_duration
from pipelines.reporting.options import (
    PROJECT_ID_PATTERN,
    InvalidTimestamp,
    add_now_option,
    parse_now,
)
from pipelines.reporting.render import FORMATS, render
from pipelines.reporting.report import build_report

REPORT_EXAMPLE = """example:
  atlas-certs report --database /srv/atlas-certs/atlas-certs.duckdb --within 14d

Lists the database users whose latest certificate expires within the window (a user that
already rotated is not listed), the certificates expiring within it, and the pipeline's
health: the latest run, the latest successful run and projects whose fetches fail.
--format json prints all of it as one object; --format csv prints the certificates only.

exit codes: 0 report printed, 1 database missing, locked or without views, 2 invalid usage"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="list certificates and users expiring within a window, with the pipeline's health",
        description="List the certificates and database users that expire within a window, "
        "most urgent first, and the pipeline's health. Opens the database read-only.",
        epilog=REPORT_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_database_option(parser)
    parser.add_argument(
        "--within",
        default="30d",
        metavar="DURATION",
        help="window from now: a whole number and s, m, h or d, e.g. 30d or 12h (default: 30d)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table for people, json or csv for programs (default: table)",
    )
    parser.add_argument(
        "--project",
        action="append",
        default=[],
        metavar="ID",
        help="report only this project (24-hex id); repeat for several",
    )
    add_now_option(parser)
    parser.set_defaults(handler=report_command)


def report_command(args: argparse.Namespace) -> int:
    try:
        within = parse_duration(args.within, "--within")
        now = parse_now(args.now)
    except (InvalidDuration, InvalidTimestamp) as error:
        print_error(str(error))
        return EXIT_USAGE
    for project_id in args.project:
        if not PROJECT_ID_PATTERN.match(project_id):
            print_error(
                f"invalid --project value {project_id!r}: Atlas project ids are 24 lowercase "
                "hexadecimal characters"
            )
            return EXIT_USAGE

    try:
        with open_database(args.database, now) as connection:
            report = build_report(connection, within, tuple(dict.fromkeys(args.project)))
    except InvalidDatabasePath as error:
        print_error(str(error))
        return EXIT_USAGE
    except DatabaseUnavailable as error:
        print_error(str(error))
        return EXIT_FAILED
    print(render(report, args.format), end="")
    return EXIT_OK
