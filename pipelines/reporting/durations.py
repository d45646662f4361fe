"""Durations on the command line: a whole number and a unit, such as 30d, 12h, 90m or 3600s."""

import re
from datetime import timedelta

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^(\d+)([smhd])$")


class InvalidDuration(ValueError):
    """A duration that does not parse; the message names the value and the expected form."""


def parse_duration(text: str, option: str = "duration") -> timedelta:
    """Parse `30d`, `12h`, `90m` or `3600s` into a timedelta; raises InvalidDuration."""
    match = _DURATION.match(text.strip().lower())
    if match is None:
        raise InvalidDuration(
            f"invalid {option} value {text!r}: expected a whole number followed by s, m, h "
            "or d, such as 30d, 12h, 90m or 3600s"
        )
    amount, unit = match.groups()
    return timedelta(seconds=int(amount) * UNIT_SECONDS[unit])


def format_duration(value: timedelta) -> str:
    """Format a duration with the largest unit that divides it: 30d, 26h, 90m or 45s."""
    seconds = int(value.total_seconds())
    for unit in ("d", "h", "m"):
        size = UNIT_SECONDS[unit]
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def format_age(seconds: float) -> str:
    """Format an elapsed time for people: 45 s, 12 min, 5 h, 3 d (rounded down)."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"
