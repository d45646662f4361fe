"""`atlas-certs views`: create or replace the SQL views of `sql/` in the database."""

import argparse

from pipelines.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_database_option,
    print_error,
)
from pipelines.database import InvalidDatabasePath
from pipelines.reporting.database import DatabaseUnavailable, create_views

VIEWS_EXAMPLE = """example:
  atlas-certs views --database /srv/atlas-certs/atlas-certs.duckdb

Every pipeline run also applies the views after its load; use this command after
upgrading atlas-certs, or when a query reports a missing view.

exit codes: 0 views created, 1 database missing, locked or without pipeline tables,
2 invalid usage"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "views",
        help="create or replace the SQL views in the database",
        description="Create or replace the SQL views (files in sql/, in name order) in the "
        "atlas_certs dataset. Opens the database read-write, so no other process may have "
        "it open.",
        epilog=VIEWS_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_database_option(parser)
    parser.set_defaults(handler=views_command)


def views_command(args: argparse.Namespace) -> int:
    try:
        names = create_views(args.database)
    except InvalidDatabasePath as error:
        print_error(str(error))
        return EXIT_USAGE
    except DatabaseUnavailable as error:
        print_error(str(error))
        return EXIT_FAILED
    print(f"Created {len(names)} views in {args.database}: {', '.join(names)}")
    return EXIT_OK
