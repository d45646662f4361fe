"""`atlas-certs run` and `atlas-certs demo`: extract and load, then print a summary."""

import argparse
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    add_database_option,
    print_error,
)

if TYPE_CHECKING:
    from pipelines.config import AtlasCertsConfig
    from pipelines.run import RunReport

# The pipeline modules import dlt, which takes seconds; they are imported inside the handlers
# so that `atlas-certs --help` and the monitoring commands start quickly.

logger = logging.getLogger(__name__)

RUN_EXAMPLE = """example:
  atlas-certs run --database /srv/atlas-certs/atlas-certs.duckdb --project 32b6e34b3d91647abb20e7b8

exit codes: 0 success, 3 some projects or users failed but the rest loaded,
1 the run failed and loaded nothing new, 2 invalid usage or configuration"""

DEMO_EXAMPLE = """example:
  atlas-certs demo --database demo.duckdb"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "run",
        help="fetch every configured certificate from Atlas and load it into DuckDB",
        description="Fetch every configured certificate from Atlas and load it into DuckDB.",
        epilog=RUN_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_database_option(run)
    run.add_argument(
        "--project",
        action="append",
        default=[],
        metavar="ID",
        help="fetch only this project (24-hex id); repeat for several. Other projects' data "
        "and fetch history stay as they are",
    )
    run.set_defaults(handler=run_command)

    demo = subparsers.add_parser(
        "demo",
        help="run the pipeline against a built-in Atlas emulator with a seeded fleet",
        description="Start the Atlas emulator in this process with a seeded, realistic fleet, "
        "run the pipeline against it with the demo credentials and print the summary. "
        "Needs no configuration and no network.",
        epilog=DEMO_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_database_option(demo)
    demo.add_argument(
        "--seed", type=int, default=1, help="seed of the generated fleet (default: 1)"
    )
    demo.set_defaults(handler=demo_command)


def run_command(args: argparse.Namespace) -> int:
    from dlt.common.configuration.exceptions import ConfigurationException

    from pipelines.config import ConfigError
    from pipelines.config import load_config as load_config_from_dlt

    try:
        project_filter = _parse_project_filter(args.project)
        config = load_config_from_dlt()
    except (ConfigError, InvalidProjectOption) as error:
        print_error(str(error))
        return EXIT_USAGE
    except ConfigurationException as error:
        print_error(f"the configuration could not be read: {error}")
        return EXIT_USAGE
    return execute(config, args.database, project_filter)


def demo_command(args: argparse.Namespace) -> int:
    from pipelines.config import build_config
    from pipelines.emulator import AtlasEmulator, FleetConfig

    with AtlasEmulator(seed=args.seed, fleet=FleetConfig.demo()) as emulator:
        public_key, private_key = emulator.demo_api_key
        config = build_config(
            base_url=emulator.base_url,
            projects="*",
            public_key=public_key,
            private_key=private_key,
        )
        print(f"Atlas emulator serving a demo fleet at {emulator.base_url}")
        return execute(config, args.database, ())


def execute(config: "AtlasCertsConfig", database: Path, project_filter: tuple[str, ...]) -> int:
    from pipelines.database import InvalidDatabasePath
    from pipelines.run import RunFailed, run_pipeline
    from pipelines.summary import format_summary

    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    try:
        report = run_pipeline(config, database, project_filter=project_filter)
    except InvalidDatabasePath as error:
        print_error(str(error))
        return EXIT_USAGE
    except RunFailed as error:
        print_error(f"the run failed: {error}")
        return EXIT_FAILED
    print(format_summary(report))
    return exit_code(report)


def exit_code(report: "RunReport") -> int:
    return EXIT_PARTIAL if report.status == "partial" else EXIT_OK


class InvalidProjectOption(ValueError):
    def __init__(self, value: str) -> None:
        super().__init__(
            f"invalid --project value {value!r}: Atlas project ids are 24 lowercase "
            "hexadecimal characters, e.g. 32b6e34b3d91647abb20e7b8"
        )


def _parse_project_filter(values: list[str]) -> tuple[str, ...]:
    from pipelines.config import PROJECT_ID_PATTERN

    for value in values:
        if not PROJECT_ID_PATTERN.match(value):
            raise InvalidProjectOption(value)
    return tuple(dict.fromkeys(values))
