"""`atlas-certs check`: a Nagios/Icinga monitoring plugin for certificate expiry."""

import argparse
import sys
from typing import NoReturn

from pipelines.commands.common import add_database_option
from pipelines.database import InvalidDatabasePath
from pipelines.reporting.check import UNKNOWN, CheckThresholds, run_check, unknown
from pipelines.reporting.database import DatabaseUnavailable, open_database
from pipelines.reporting.durations import InvalidDuration, parse_duration
from pipelines.reporting.options import InvalidTimestamp, add_now_option, parse_now

CHECK_EXAMPLE = """example:
  atlas-certs check --database /srv/atlas-certs/atlas-certs.duckdb \\
      --warning 30d --critical 7d --max-age 26h

  ATLAS-CERTS CRITICAL - 2 users expire within 7d, 5 more users expire within 30d | users=120 \\
critical=2 warning=5 expired=0 stale=0 last_run_age=3600s

Each database user is judged by its latest certificate, so a user that already rotated is OK.
The status line is followed by one line per user that needs attention.

exit codes (plugin convention): 0 OK, 1 WARNING (a user's latest certificate expires within
--warning, or a user has been stale for longer than --max-age), 2 CRITICAL (within --critical,
or expired), 3 UNKNOWN (no successful run within --max-age, database missing, locked or
without views, or invalid usage)"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="monitoring plugin (Nagios/Icinga): exit 0-3 on the users' certificate expiry",
        description="Check certificate expiry as a Nagios/Icinga monitoring plugin: print one "
        "status line with performance data and exit 0 OK, 1 WARNING, 2 CRITICAL or 3 UNKNOWN. "
        "Opens the database read-only.",
        epilog=CHECK_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_database_option(parser)
    parser.add_argument(
        "--warning",
        default="30d",
        metavar="DURATION",
        help="WARNING when a user's latest certificate expires within this time (default: 30d)",
    )
    parser.add_argument(
        "--critical",
        default="7d",
        metavar="DURATION",
        help="CRITICAL when a user's latest certificate expires within this time or has "
        "expired (default: 7d)",
    )
    parser.add_argument(
        "--max-age",
        default="26h",
        metavar="DURATION",
        help="UNKNOWN when no run has loaded within this time, and WARNING for users stale "
        "for longer (default: 26h, for a daily run)",
    )
    add_now_option(parser)
    # Monitoring plugins report invalid arguments as UNKNOWN, never as argparse's exit 2,
    # which a monitoring system would read as CRITICAL.
    parser.error = _usage_error  # type: ignore[method-assign]
    parser.set_defaults(handler=check_command)


def check_command(args: argparse.Namespace) -> int:
    try:
        thresholds = CheckThresholds(
            warning=parse_duration(args.warning, "--warning"),
            critical=parse_duration(args.critical, "--critical"),
            max_age=parse_duration(args.max_age, "--max-age"),
        )
        now = parse_now(args.now)
    except (InvalidDuration, InvalidTimestamp) as error:
        return _emit_unknown(str(error))
    if thresholds.critical > thresholds.warning:
        return _emit_unknown(
            f"--critical {args.critical} is longer than --warning {args.warning}; "
            "the critical window must lie inside the warning window"
        )

    try:
        with open_database(args.database, now) as connection:
            result = run_check(connection, thresholds)
    except (InvalidDatabasePath, DatabaseUnavailable) as error:
        return _emit_unknown(str(error))
    print(result.render(), end="")
    return result.state


def _emit_unknown(message: str) -> int:
    print(unknown(message).render(), end="")
    return UNKNOWN


def _usage_error(message: str) -> NoReturn:
    print(unknown(f"invalid usage: {message}").render(), end="")
    sys.exit(UNKNOWN)
