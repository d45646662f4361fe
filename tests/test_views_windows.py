"""Expiry windows, days_left and seconds_left at every window edge, with the clock frozen."""

from datetime import timedelta

import pytest

from tests.view_fixtures import T0, ViewFixture, cert, query

PROJECT = "p1"
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)

# (username, not_after - now, expected window, expected days_left, expected seconds_left)
EDGES = [
    ("minus_1s", -SECOND, "expired", -1, -1),
    ("at_now", timedelta(0), "expired", 0, 0),
    ("plus_1s", SECOND, "0-7d", 0, 1),
    ("at_7d", 7 * DAY, "0-7d", 7, 7 * 86400),
    ("after_7d", 7 * DAY + SECOND, "7-14d", 7, 7 * 86400 + 1),
    ("at_14d", 14 * DAY, "7-14d", 14, 14 * 86400),
    ("after_14d", 14 * DAY + SECOND, "14-30d", 14, 14 * 86400 + 1),
    ("at_30d", 30 * DAY, "14-30d", 30, 30 * 86400),
    ("after_30d", 30 * DAY + SECOND, "30-60d", 30, 30 * 86400 + 1),
    ("at_60d", 60 * DAY, "30-60d", 60, 60 * 86400),
    ("at_90d", 90 * DAY, "60-90d", 90, 90 * 86400),
    ("after_90d", 90 * DAY + SECOND, "90d+", 90, 90 * 86400 + 1),
    ("minus_1d_plus_1s", -DAY + SECOND, "expired", -1, -86399),
    ("minus_1d", -DAY, "expired", -1, -86400),
    ("minus_1d_minus_1s", -DAY - SECOND, "expired", -2, -86401),
]


@pytest.fixture(scope="module")
def edges(tmp_path_factory):
    """One certificate per edge, all listed by a run an hour before the frozen now."""
    fixture = ViewFixture(tmp_path_factory.mktemp("edges"))
    listing = {
        (PROJECT, username): [cert(PROJECT, username, number, T0 + offset)]
        for number, (username, offset, *_) in enumerate(EDGES, start=1)
    }
    fixture.record_run(T0 - timedelta(hours=1), listing, duration=timedelta(seconds=10))
    return fixture


@pytest.fixture(scope="module")
def rows_at_t0(edges):
    """certificate_status and user_certificate_status rows by username, at now = T0."""
    with edges.connect(T0) as connection:
        return {
            view: _by_username(connection, view)
            for view in ("certificate_status", "user_certificate_status")
        }


def _by_username(connection, view):
    rows = query(connection, f"select * from atlas_certs.{view}")
    return {row["username"]: row for row in rows}


@pytest.mark.parametrize(
    ("username", "expected_window", "expected_days", "expected_seconds"),
    [(name, window, days, seconds) for name, _, window, days, seconds in EDGES],
    ids=[edge[0] for edge in EDGES],
)
def test_certificate_window_edges(
    rows_at_t0, username, expected_window, expected_days, expected_seconds
):
    row = rows_at_t0["certificate_status"][username]

    assert row["expiry_window"] == expected_window
    assert row["days_left"] == expected_days
    assert row["seconds_left"] == expected_seconds


@pytest.mark.parametrize(
    ("username", "expected_window", "expected_days"),
    [(name, window, days) for name, _, window, days, _ in EDGES],
    ids=[edge[0] for edge in EDGES],
)
def test_user_window_edges(rows_at_t0, username, expected_window, expected_days):
    row = rows_at_t0["user_certificate_status"][username]

    assert row["expiry_window"] == expected_window
    assert row["days_left"] == expected_days


def test_state_edges_expired_at_now(rows_at_t0):
    states = {name: row["state"] for name, row in rows_at_t0["certificate_status"].items()}

    assert states["minus_1s"] == "expired"
    assert states["at_now"] == "expired"
    assert states["plus_1s"] == "active"


def test_windows_ignore_session_time_zone(edges):
    """A day is 86,400 s whatever the session's zone; New York changes its offset in between."""
    with edges.connect(T0) as connection:
        connection.execute("set TimeZone = 'America/New_York'")
        rows = _by_username(connection, "certificate_status")

    for username, _, expected_window, expected_days, _ in EDGES:
        assert rows[username]["expiry_window"] == expected_window, username
        assert rows[username]["days_left"] == expected_days, username


def test_clock_moves_window(edges):
    """Nothing now-relative is stored: a later clock moves the same row to a later window."""
    with edges.connect(T0 + 7 * DAY) as connection:
        row = _by_username(connection, "certificate_status")["at_14d"]

    assert row["expiry_window"] == "0-7d"
    assert row["days_left"] == 7


def test_unfrozen_clock_uses_current_time(edges):
    with edges.connect() as connection:
        frozen = connection.execute("select getvariable('atlas_certs_now')").fetchone()[0]
        difference = connection.execute(
            "select abs(epoch(atlas_certs.now_utc()) - epoch(now()))"
        ).fetchone()[0]

    assert frozen is None
    assert difference < 1


def test_expiry_windows_counts_every_window(edges):
    with edges.connect(T0) as connection:
        rows = query(
            connection,
            "select expiry_window, window_order, certificate_count, stale_certificate_count "
            "from atlas_certs.expiry_windows where project_id = ? order by window_order",
            PROJECT,
        )

    expected: dict[str, int] = {}
    for _, _, window, _, _ in EDGES:
        expected[window] = expected.get(window, 0) + 1
    assert [row["expiry_window"] for row in rows] == [
        "expired",
        "0-7d",
        "7-14d",
        "14-30d",
        "30-60d",
        "60-90d",
        "90d+",
    ]
    assert {row["expiry_window"]: row["certificate_count"] for row in rows} == expected
    assert all(row["stale_certificate_count"] == 0 for row in rows)


def test_expiry_windows_lists_empty_windows(tmp_path):
    fixture = ViewFixture(tmp_path)
    fixture.record_run(T0 - DAY, {(PROJECT, "only"): [cert(PROJECT, "only", 1, T0 + 100 * DAY)]})

    with fixture.connect(T0) as connection:
        rows = query(connection, "select * from atlas_certs.expiry_windows order by window_order")

    assert len(rows) == 7
    assert [row["certificate_count"] for row in rows] == [0, 0, 0, 0, 0, 0, 1]
    assert rows[-1]["user_count"] == 1


def test_window_definitions_match_macro(edges):
    """The documented bounds and the expiry_window() macro put each edge in the same window."""
    with edges.connect(T0) as connection:
        definitions = query(connection, "select * from atlas_certs.expiry_window_definitions")
        mismatches = []
        for definition in definitions:
            for days in (definition["lower_days"], definition["upper_days"]):
                if days is None:
                    continue
                for seconds in (days * 86400, days * 86400 + 0.5):
                    macro = connection.execute(
                        "select atlas_certs.expiry_window(?::double)", [seconds]
                    ).fetchone()[0]
                    listed = [
                        row["expiry_window"]
                        for row in definitions
                        if (row["lower_days"] is None or seconds > row["lower_days"] * 86400)
                        and (row["upper_days"] is None or seconds <= row["upper_days"] * 86400)
                    ]
                    if listed != [macro]:
                        mismatches.append((seconds, macro, listed))

    assert mismatches == []
