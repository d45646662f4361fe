"""Rows the pipeline loads, built from Atlas payloads with only the documented fields."""

import re
from datetime import UTC, datetime
from typing import Any

INT64_MAX = 2**63 - 1
_DIGITS = re.compile(r"^[0-9]+$")


class InvalidRecord(ValueError):
    """An Atlas list item that cannot be loaded; the message names the field and the value."""


def certificate_row(
    item: Any, project_id: str, username: str, seen_at: datetime, run_id: str
) -> dict[str, Any]:
    """Build a `certificates` row from one `UserCert` item.

    Only `_id`, `createdAt`, `notAfter` and `subject` are read, so anything else in the item
    (links, PEM text, key material) is dropped.
    """
    if not isinstance(item, dict):
        raise InvalidRecord(f"certificate item is a {type(item).__name__}, not an object")
    cert_id = parse_cert_id(item.get("_id"))
    return {
        "project_id": project_id,
        "username": username,
        "cert_id": cert_id,
        "serial_hex": serial_hex(cert_id),
        "subject": _optional_text(item.get("subject"), "subject"),
        "created_at": parse_timestamp(item.get("createdAt"), "createdAt"),
        "not_after": parse_timestamp(item.get("notAfter"), "notAfter"),
        "first_seen_at": seen_at,
        "last_seen_at": seen_at,
        "last_run_id": run_id,
    }


def parse_cert_id(value: Any) -> int:
    """Return the certificate `_id` as an exact int64.

    Accepts a JSON integer or a string of digits (leading zeros allowed); a float, a
    negative or an out-of-range number is rejected rather than rounded.
    """
    if isinstance(value, bool):
        raise InvalidRecord(f"_id {value!r} is a boolean, not an int64")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.match(value.strip()):
        number = int(value.strip())
    else:
        raise InvalidRecord(f"_id {value!r} is not an int64 serial number")
    if not 0 < number <= INT64_MAX:
        raise InvalidRecord(f"_id {value!r} is outside the positive int64 range")
    return number


def serial_hex(cert_id: int) -> str:
    """Return the serial as `openssl x509 -serial` prints it: uppercase, whole bytes."""
    digits = f"{cert_id:X}"
    return digits if len(digits) % 2 == 0 else "0" + digits


def parse_timestamp(value: Any, field: str) -> datetime:
    """Parse an RFC 3339 timestamp (`Z` or an offset, optional fraction) into UTC."""
    if not isinstance(value, str) or not value:
        raise InvalidRecord(f"{field} {value!r} is not an RFC 3339 timestamp string")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRecord(f"{field} {value!r} is not an RFC 3339 timestamp") from None
    if parsed.tzinfo is None:
        raise InvalidRecord(f"{field} {value!r} has no UTC offset")
    return parsed.astimezone(UTC)


def _optional_text(value: Any, field: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InvalidRecord(f"{field} {value!r} is not a string")
