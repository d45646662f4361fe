"""Conversion of Atlas `UserCert` items into `certificates` rows."""

from datetime import UTC, datetime

import pytest

from pipelines.records import InvalidRecord, certificate_row, parse_cert_id, serial_hex

SEEN = datetime(2026, 12, 1, tzinfo=UTC)


def _item(**overrides):
    item = {
        "_id": 1152921504606846977,
        "createdAt": "2026-06-02T13:56:22Z",
        "groupId": "32b6e34b3d91647abb20e7b8",
        "notAfter": "2026-09-02T14:56:22Z",
        "subject": "CN=app",
        "links": [{"rel": "self", "href": "https://cloud.mongodb.com/x"}],
    }
    item.update(overrides)
    return item


def test_row_keeps_documented_fields_only():
    row = certificate_row(_item(pem="-----BEGIN PRIVATE KEY-----"), "p" * 24, "app", SEEN, "r1")
    assert set(row) == {
        "project_id", "username", "cert_id", "serial_hex", "subject", "created_at",
        "not_after", "first_seen_at", "last_seen_at", "last_run_id",
    }
    assert "BEGIN" not in repr(row)


def test_row_parses_times_as_utc():
    row = certificate_row(_item(notAfter="2026-09-02T16:56:22.5+02:00"), "p" * 24, "a", SEEN, "r")
    assert row["not_after"] == datetime(2026, 9, 2, 14, 56, 22, 500000, tzinfo=UTC)
    assert row["created_at"] == datetime(2026, 6, 2, 13, 56, 22, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2**63 - 1, 2**63 - 1),
        ("9223372036854775807", 2**63 - 1),
        ("000123", 123),
        (1152921504606846977, 1152921504606846977),
    ],
)
def test_cert_id_exact(value, expected):
    assert parse_cert_id(value) == expected


@pytest.mark.parametrize("value", [1.5e18, "12a", -5, 0, 2**63, True, None, "1e18"])
def test_cert_id_rejected(value):
    with pytest.raises(InvalidRecord, match="_id"):
        parse_cert_id(value)


@pytest.mark.parametrize("field", ["createdAt", "notAfter"])
@pytest.mark.parametrize("value", [None, 1767225600, "yesterday", "2026-09-02T14:56:22"])
def test_bad_dates_rejected(field, value):
    with pytest.raises(InvalidRecord, match=field):
        certificate_row(_item(**{field: value}), "p" * 24, "a", SEEN, "r")


@pytest.mark.parametrize(
    ("number", "text"),
    [(1, "01"), (255, "FF"), (256, "0100"), (0x80, "80"), (2**63 - 1, "7FFFFFFFFFFFFFFF")],
)
def test_serial_hex_whole_bytes(number, text):
    assert serial_hex(number) == text
