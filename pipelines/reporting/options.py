"""Command-line options shared by the report, check and metrics commands."""

import argparse
import re
from datetime import UTC, datetime

# Atlas project ids are 24 lowercase hex digits. The same check lives in pipelines.config,
# which imports dlt; these read-only commands avoid that import to start fast.
PROJECT_ID_PATTERN = re.compile(r"^[a-f0-9]{24}$")


class InvalidTimestamp(ValueError):
    """A --now value that is not an ISO 8601 time with a UTC offset."""


def add_now_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--now",
        metavar="TIME",
        help="evaluate as of this time instead of the current one, for reproducible output: "
        "ISO 8601 with a UTC offset, e.g. 2026-06-01T00:00:00Z",
    )


def parse_now(text: str | None) -> datetime | None:
    """Parse the --now value; None means the current time. Raises InvalidTimestamp."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidTimestamp(
            f"invalid --now value {text!r}: expected an ISO 8601 time with a UTC offset, "
            "such as 2026-06-01T00:00:00Z"
        )
    return moment.astimezone(UTC)
