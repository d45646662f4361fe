"""user_certificate_status: judged by the latest certificate, so a rotated user is fine."""

from datetime import timedelta

import pytest

from tests.view_fixtures import T0, Cert, ViewFixture, cert, query

P1 = "p1"
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)

ROTATED_OLD = cert(P1, "rotated", 1, T0 + 3 * DAY)
ROTATED_NEW = cert(P1, "rotated", 2, T0 + 80 * DAY)
UNROTATED = cert(P1, "unrotated", 3, T0 + 3 * DAY)
AT_WARNING_EDGE = cert(P1, "at_30d", 4, T0 + 30 * DAY)
PAST_WARNING_EDGE = cert(P1, "after_30d", 5, T0 + 30 * DAY + SECOND)
MID_WINDOW = cert(P1, "at_20d", 6, T0 + 20 * DAY)
# 90-day lifetimes: a third is 30 days.
THIRD_LEFT_LESS = cert(P1, "third_less", 7, T0 + 30 * DAY - SECOND)
THIRD_LEFT_EXACT = cert(P1, "third_exact", 8, T0 + 30 * DAY)
# A 24-month certificate with 60 days left: inside no third, outside the 30-day warning.
LONG_LIVED = cert(P1, "long_lived", 9, T0 + 60 * DAY, lifetime=timedelta(days=730))
TIE_EARLY = Cert(P1, "tie", 10, T0 - 60 * DAY, T0 + 40 * DAY)
TIE_LATE = Cert(P1, "tie", 11, T0 - 10 * DAY, T0 + 40 * DAY)
# The newer certificate was removed from Atlas: the user relies on the older one again.
REVOKED_NEW = cert(P1, "revoked_new", 12, T0 + 80 * DAY)
REMAINING_OLD = cert(P1, "revoked_new", 13, T0 + 10 * DAY)

ALL_LISTED = {
    (P1, "rotated"): [ROTATED_OLD, ROTATED_NEW],
    (P1, "unrotated"): [UNROTATED],
    (P1, "at_30d"): [AT_WARNING_EDGE],
    (P1, "after_30d"): [PAST_WARNING_EDGE],
    (P1, "at_20d"): [MID_WINDOW],
    (P1, "third_less"): [THIRD_LEFT_LESS],
    (P1, "third_exact"): [THIRD_LEFT_EXACT],
    (P1, "long_lived"): [LONG_LIVED],
    (P1, "tie"): [TIE_EARLY, TIE_LATE],
    (P1, "revoked_new"): [REVOKED_NEW, REMAINING_OLD],
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    fixture = ViewFixture(tmp_path_factory.mktemp("users"))
    fixture.record_run(T0 - 2 * DAY, ALL_LISTED)
    fixture.record_run(T0 - DAY, {**ALL_LISTED, (P1, "revoked_new"): [REMAINING_OLD]})
    return fixture


@pytest.fixture(scope="module")
def users(fleet):
    with fleet.connect(T0) as connection:
        rows = query(connection, "select * from atlas_certs.user_certificate_status")
    return {row["username"]: row for row in rows}


def test_rotated_user_no_rotation_needed(users):
    row = users["rotated"]

    assert row["latest_cert_id"] == ROTATED_NEW.cert_id
    assert row["latest_not_after"] == ROTATED_NEW.not_after
    assert row["days_left"] == 80
    assert row["expiry_window"] == "60-90d"
    assert row["needs_rotation"] is False
    assert row["active_certificate_count"] == 2


def test_unrotated_user_needs_rotation(users):
    row = users["unrotated"]

    assert row["latest_cert_id"] == UNROTATED.cert_id
    assert row["expiry_window"] == "0-7d"
    assert row["needs_rotation"] is True


def test_rotated_user_old_cert_still_listed(fleet):
    with fleet.connect(T0) as connection:
        rows = query(
            connection,
            "select cert_id, expiry_window, state from atlas_certs.certificate_status "
            "where username = 'rotated' order by cert_id",
        )

    assert [(row["expiry_window"], row["state"]) for row in rows] == [
        ("0-7d", "active"),
        ("60-90d", "active"),
    ]


def test_needs_rotation_warning_edge(users):
    assert users["at_30d"]["needs_rotation"] is True
    assert users["after_30d"]["needs_rotation"] is False


def test_warning_days_variable_overrides_default(fleet):
    with fleet.connect(T0) as connection:
        default = query(
            connection,
            "select needs_rotation from atlas_certs.user_certificate_status "
            "where username = 'at_20d'",
        )[0]["needs_rotation"]
        connection.execute("set variable atlas_certs_warning_days = 14")
        narrowed = query(
            connection,
            "select username from atlas_certs.user_certificate_status "
            "where needs_rotation order by username",
        )

    assert default is True
    assert [row["username"] for row in narrowed] == ["revoked_new", "unrotated"]


def test_last_third_of_lifetime_flag(users):
    assert users["third_less"]["is_in_last_third_of_lifetime"] is True
    assert users["third_exact"]["is_in_last_third_of_lifetime"] is False
    assert users["unrotated"]["is_in_last_third_of_lifetime"] is True
    assert users["rotated"]["is_in_last_third_of_lifetime"] is False


def test_long_lifetime_flag_independent_of_window(users):
    row = users["long_lived"]

    assert row["latest_lifetime_days"] == 730
    assert row["is_in_last_third_of_lifetime"] is True
    assert row["needs_rotation"] is False


def test_latest_certificate_tie_goes_to_newest(users):
    assert users["tie"]["latest_cert_id"] == TIE_LATE.cert_id
    assert users["tie"]["latest_created_at"] == TIE_LATE.created_at


def test_vanished_newer_certificate_ignored(users):
    row = users["revoked_new"]

    assert row["latest_cert_id"] == REMAINING_OLD.cert_id
    assert row["expiry_window"] == "7-14d"
    assert row["needs_rotation"] is True
    assert row["certificate_count"] == 2
    assert row["valid_certificate_count"] == 1


def test_one_row_per_user(users):
    assert set(users) == {username for _, username in ALL_LISTED}
