"""certificate_issuance_monthly and certificate_rotations."""

import datetime as dt
from datetime import UTC, datetime, timedelta

import pytest

from tests.view_fixtures import T0, Cert, ViewFixture, query

P1 = "p1"
P2 = "p2"
DAY = timedelta(days=1)

# alice: three 90-day certificates; the second overlaps the first by 10 days, the third
# starts 5 days after the second expired.
ALICE_1 = Cert(P1, "alice", 1, datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 4, 10, tzinfo=UTC))
ALICE_2 = Cert(P1, "alice", 2, datetime(2026, 3, 31, tzinfo=UTC), datetime(2026, 6, 29, tzinfo=UTC))
ALICE_3 = Cert(P1, "alice", 3, datetime(2026, 7, 4, tzinfo=UTC), datetime(2026, 10, 2, tzinfo=UTC))
# bob: two certificates issued the same month, the last second of March in UTC included.
BOB_1 = Cert(P2, "bob", 4, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))
BOB_2 = Cert(
    P2, "bob", 5, datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
)


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    fixture = ViewFixture(tmp_path_factory.mktemp("issued"))
    fixture.record_run(
        T0,
        {(P1, "alice"): [ALICE_1, ALICE_2, ALICE_3], (P2, "bob"): [BOB_1, BOB_2]},
        project_names={P1: "prod", P2: "staging"},
    )
    return fixture


def test_issuance_counts_per_month_and_user(issued):
    with issued.connect(T0) as connection:
        rows = query(
            connection,
            "select issued_month, project_id, project_name, username, certificates_issued "
            "from atlas_certs.certificate_issuance_monthly order by issued_month, username",
        )

    assert [(row["issued_month"], row["username"], row["certificates_issued"]) for row in rows] == [
        (dt.date(2026, 1, 1), "alice", 1),
        (dt.date(2026, 3, 1), "alice", 1),
        (dt.date(2026, 3, 1), "bob", 2),
        (dt.date(2026, 7, 1), "alice", 1),
    ]
    assert {row["project_name"] for row in rows if row["username"] == "bob"} == {"staging"}


def test_issuance_months_in_utc(issued):
    """A certificate issued at 23:59:59 UTC on March 31 counts for March in any session zone."""
    with issued.connect(T0) as connection:
        connection.execute("set TimeZone = 'Asia/Tokyo'")
        rows = query(
            connection,
            "select issued_month, certificates_issued, last_created_at "
            "from atlas_certs.certificate_issuance_monthly where username = 'bob'",
        )

    assert [(row["issued_month"], row["certificates_issued"]) for row in rows] == [
        (dt.date(2026, 3, 1), 2)
    ]
    assert rows[0]["last_created_at"] == BOB_2.created_at


def test_rotations_overlap_and_gap(issued):
    with issued.connect(T0) as connection:
        rows = query(
            connection,
            "select username, rotation_number, previous_cert_id, cert_id, overlap_seconds, "
            "overlap_days, has_gap from atlas_certs.certificate_rotations "
            "order by username, rotation_number",
        )

    alice = [row for row in rows if row["username"] == "alice"]
    assert [(row["previous_cert_id"], row["cert_id"]) for row in alice] == [(1, 2), (2, 3)]
    assert [row["rotation_number"] for row in alice] == [1, 2]
    assert alice[0]["overlap_days"] == 10
    assert alice[0]["overlap_seconds"] == 10 * 86400
    assert alice[0]["has_gap"] is False
    assert alice[1]["overlap_days"] == -5
    assert alice[1]["has_gap"] is True


def test_rotations_skip_first_certificate(issued):
    with issued.connect(T0) as connection:
        rows = query(
            connection,
            "select cert_id from atlas_certs.certificate_rotations order by cert_id",
        )

    assert [row["cert_id"] for row in rows] == [2, 3, 5]
