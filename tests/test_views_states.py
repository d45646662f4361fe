"""Certificate states (active, expired, vanished, stale), their precedence and run_history.

One history of four runs covers every case; each database user below plays one part.
"""

from datetime import timedelta

import pytest

from tests.view_fixtures import T0, ViewFixture, cert, query

P1 = "p1"
P2 = "p2"
DAY = timedelta(days=1)
RUN_STARTS = [T0 - 4 * DAY, T0 - 3 * DAY, T0 - 2 * DAY, T0 - timedelta(hours=1)]
RUN_DURATION = timedelta(minutes=5)

ACTIVE = cert(P1, "active_user", 1, T0 + 20 * DAY)
DELETED = cert(P1, "deleted_user", 2, T0 + 20 * DAY)
REMOVED = cert(P1, "removed_cert_user", 3, T0 + 20 * DAY)
KEPT = cert(P1, "removed_cert_user", 4, T0 + 50 * DAY)
FAILED = cert(P1, "failed_user", 5, T0 + 20 * DAY)
SKIPPED = cert(P2, "skipped_user", 6, T0 + 5 * DAY)
EXPIRED = cert(P1, "expired_user", 7, T0 - 12 * timedelta(hours=1))
# Expires one minute into the last run, after that run's fetch of the user started.
EXPIRED_DURING_RUN = cert(P1, "expired_during_run_user", 8, RUN_STARTS[3] + timedelta(minutes=1))
RECOVERED = cert(P1, "recovered_user", 9, T0 + 20 * DAY)


def _run_listings() -> list[dict]:
    runs = []
    for number in range(4):
        first = number == 0
        last = number == 3
        runs.append(
            {
                (P1, "active_user"): [ACTIVE],
                (P1, "deleted_user"): [DELETED] if first else "not_found",
                (P1, "removed_cert_user"): [REMOVED, KEPT] if first else [KEPT],
                (P1, "failed_user"): "failed" if last else [FAILED],
                (P2, "skipped_user"): [SKIPPED] if first else "skipped",
                (P1, "expired_user"): "empty" if last else [EXPIRED],
                (P1, "expired_during_run_user"): "empty" if last else [EXPIRED_DURING_RUN],
                (P1, "recovered_user"): "failed" if number == 1 else [RECOVERED],
                (P1, "no_certificate_user"): "empty",
            }
        )
    return runs


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    fixture = ViewFixture(tmp_path_factory.mktemp("history"))
    for number, listing in enumerate(_run_listings()):
        failed = {P2: "HTTP 503 from the project"} if number > 0 else None
        fixture.record_run(
            RUN_STARTS[number],
            listing,
            failed_projects=failed,
            duration=RUN_DURATION,
            project_names={P1: "prod", P2: "staging"},
        )
    return fixture


@pytest.fixture(scope="module")
def certificates_at_t0(history):
    with history.connect(T0) as connection:
        rows = query(connection, "select * from atlas_certs.certificate_status")
    return {row["cert_id"]: row for row in rows}


@pytest.fixture(scope="module")
def users_at_t0(history):
    with history.connect(T0) as connection:
        rows = query(connection, "select * from atlas_certs.user_certificate_status")
    return {row["username"]: row for row in rows}


def test_listed_certificate_active(certificates_at_t0):
    row = certificates_at_t0[ACTIVE.cert_id]

    assert row["state"] == "active"
    assert row["vanished_at"] is None
    assert row["stale_since"] is None
    assert row["project_name"] == "prod"
    assert row["first_seen_at"] == RUN_STARTS[0]
    assert row["last_seen_at"] == RUN_STARTS[3]


def test_deleted_user_certificate_vanished(certificates_at_t0):
    row = certificates_at_t0[DELETED.cert_id]

    assert row["state"] == "vanished"
    assert row["vanished_at"] == RUN_STARTS[1]
    assert row["vanished_run_id"] == "run002"
    assert row["last_seen_at"] == RUN_STARTS[0]


def test_removed_certificate_vanished(certificates_at_t0):
    assert certificates_at_t0[REMOVED.cert_id]["state"] == "vanished"
    assert certificates_at_t0[REMOVED.cert_id]["vanished_at"] == RUN_STARTS[1]
    assert certificates_at_t0[KEPT.cert_id]["state"] == "active"


def test_vanished_stays_after_not_after(history):
    with history.connect(T0 + 60 * DAY) as connection:
        rows = query(
            connection,
            "select cert_id, state, vanished_at from atlas_certs.certificate_status "
            "where cert_id in (?, ?)",
            DELETED.cert_id,
            REMOVED.cert_id,
        )

    assert {row["cert_id"]: row["state"] for row in rows} == {
        DELETED.cert_id: "vanished",
        REMOVED.cert_id: "vanished",
    }
    assert all(row["vanished_at"] == RUN_STARTS[1] for row in rows)


def test_failed_user_fetch_makes_stale(certificates_at_t0):
    row = certificates_at_t0[FAILED.cert_id]

    assert row["state"] == "stale"
    assert row["stale_since"] == RUN_STARTS[3]
    assert row["last_seen_at"] == RUN_STARTS[2]


def test_failed_project_makes_stale(certificates_at_t0):
    row = certificates_at_t0[SKIPPED.cert_id]

    assert row["state"] == "stale"
    assert row["stale_since"] == RUN_STARTS[1]
    assert row["project_name"] == "staging"


def test_stale_keeps_window(certificates_at_t0):
    """Failed fetches neither hide a certificate nor move it out of its window."""
    assert certificates_at_t0[SKIPPED.cert_id]["expiry_window"] == "0-7d"
    assert certificates_at_t0[SKIPPED.cert_id]["days_left"] == 5
    assert certificates_at_t0[FAILED.cert_id]["expiry_window"] == "14-30d"


def test_stale_counts_in_expiry_windows(history):
    with history.connect(T0) as connection:
        rows = query(
            connection,
            "select project_id, expiry_window, certificate_count, stale_certificate_count "
            "from atlas_certs.expiry_windows where certificate_count > 0 "
            "order by project_id, window_order",
        )

    assert {
        (row["project_id"], row["expiry_window"]): row["certificate_count"] for row in rows
    } == {
        (P1, "expired"): 2,
        (P1, "14-30d"): 3,
        (P1, "30-60d"): 1,
        (P2, "0-7d"): 1,
    }
    stale = {
        (row["project_id"], row["expiry_window"]): row["stale_certificate_count"] for row in rows
    }
    assert stale[(P2, "0-7d")] == 1
    assert stale[(P1, "14-30d")] == 1


def test_stale_past_not_after_expired(history):
    """Precedence: expired before stale, once not_after has passed."""
    with history.connect(T0 + 21 * DAY) as connection:
        row = query(
            connection,
            "select state, stale_since from atlas_certs.certificate_status where cert_id = ?",
            FAILED.cert_id,
        )[0]

    assert row["state"] == "expired"
    assert row["stale_since"] is None


def test_expired_not_vanished_when_missing_after_not_after(certificates_at_t0):
    row = certificates_at_t0[EXPIRED.cert_id]

    assert row["state"] == "expired"
    assert row["vanished_at"] is None


def test_expiry_during_run_not_vanished(certificates_at_t0):
    """The fetch started before not_after, but its run finished after it: expired."""
    row = certificates_at_t0[EXPIRED_DURING_RUN.cert_id]

    assert row["state"] == "expired"
    assert row["vanished_at"] is None


def test_recovered_user_active(certificates_at_t0, users_at_t0):
    assert certificates_at_t0[RECOVERED.cert_id]["state"] == "active"
    assert users_at_t0["recovered_user"]["is_stale"] is False
    assert users_at_t0["recovered_user"]["stale_since"] is None


def test_deleted_user_status(users_at_t0):
    row = users_at_t0["deleted_user"]

    assert row["is_deleted"] is True
    assert row["last_fetch_status"] == "not_found"
    assert row["latest_not_after"] is None
    assert row["expiry_window"] is None
    assert row["days_left"] is None
    assert row["needs_rotation"] is False


def test_stale_user_status(users_at_t0):
    failed = users_at_t0["failed_user"]
    skipped = users_at_t0["skipped_user"]

    assert failed["is_stale"] is True
    assert failed["stale_since"] == RUN_STARTS[3]
    assert failed["needs_rotation"] is True
    assert failed["valid_certificate_count"] == 1
    assert failed["active_certificate_count"] == 0
    assert skipped["is_stale"] is True
    assert skipped["last_fetch_status"] == "skipped"
    assert skipped["expiry_window"] == "0-7d"


def test_expired_user_status(users_at_t0):
    row = users_at_t0["expired_user"]

    assert row["expiry_window"] == "expired"
    assert row["days_left"] == -1
    assert row["needs_rotation"] is True
    assert row["valid_certificate_count"] == 0


def test_user_without_certificates(users_at_t0):
    row = users_at_t0["no_certificate_user"]

    assert row["certificate_count"] == 0
    assert row["latest_cert_id"] is None
    assert row["expiry_window"] is None
    assert row["needs_rotation"] is False
    assert row["is_deleted"] is False


def test_vanished_certificate_not_latest(users_at_t0):
    row = users_at_t0["removed_cert_user"]

    assert row["latest_cert_id"] == KEPT.cert_id
    assert row["certificate_count"] == 2
    assert row["active_certificate_count"] == 1


def test_project_status_marks_failed_project(history):
    with history.connect(T0) as connection:
        rows = query(connection, "select * from atlas_certs.project_status order by project_id")

    by_id = {row["project_id"]: row for row in rows}
    assert by_id[P2]["is_stale"] is True
    assert by_id[P2]["stale_since"] == RUN_STARTS[1]
    assert by_id[P2]["last_fetch_reason"] == "HTTP 503 from the project"
    assert by_id[P2]["last_success_at"] == RUN_STARTS[0]
    assert by_id[P2]["stale_user_count"] == 1
    assert by_id[P1]["is_stale"] is False
    assert by_id[P1]["stale_user_count"] == 1
    assert by_id[P1]["failed_user_count"] == 1
    assert by_id[P1]["project_name"] == "prod"


def test_run_history_counts(history):
    with history.connect(T0) as connection:
        rows = query(connection, "select * from atlas_certs.run_history order by started_at")

    assert [row["run_id"] for row in rows] == ["run001", "run002", "run003", "run004"]
    assert [row["certificates_vanished"] for row in rows] == [0, 2, 0, 0]
    assert [row["certificates_expired"] for row in rows] == [0, 0, 0, 1]
    assert [row["previous_run_id"] for row in rows] == [None, "run001", "run002", "run003"]
    assert all(row["duration_seconds"] == 300 for row in rows)
    assert rows[3]["run_status"] == "partial"
    assert rows[3]["users_failed"] == 1
    assert rows[3]["started_at"] == RUN_STARTS[3]
    assert rows[3]["finished_at"] == RUN_STARTS[3] + RUN_DURATION
