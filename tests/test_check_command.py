"""`atlas-certs check`: status line, performance data and exit codes of the monitoring plugin."""

import re
from datetime import timedelta

import pytest

from pipelines.cli import main
from tests.view_fixtures import T0 as T0_TIME
from tests.view_fixtures import ViewFixture, cert, database_locked, record_reporting_fleet

STATUS_LINE = re.compile(
    r"^ATLAS-CERTS (?P<state>OK|WARNING|CRITICAL|UNKNOWN) - (?P<summary>[^|]+?)"
    r"(?: \| (?P<perfdata>.+))?$"
)
PERFDATA = re.compile(
    r"^users=\d+ critical=\d+ warning=\d+ expired=\d+ stale=\d+ last_run_age=\d+s$"
)
# The fleets' last runs finished 55 minutes before T0 = 2026-06-01T00:00:00Z.
T0 = "2026-06-01T00:00:00Z"
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    fixture = ViewFixture(tmp_path_factory.mktemp("check"))
    record_reporting_fleet(fixture)
    fixture.apply_views()
    return fixture


def _check(capsys, database, *arguments):
    code = main(["check", "--database", str(database), *arguments])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_check_critical_line(fleet, capsys):
    code, lines, err = _check(capsys, fleet.database, "--now", T0)

    assert code == 2
    assert err == ""
    assert lines[0] == (
        "ATLAS-CERTS CRITICAL - 1 user expired, 1 user expires within 7d, "
        "1 more user expires within 30d | "
        "users=5 critical=1 warning=1 expired=1 stale=2 last_run_age=3300s"
    )


def test_check_lists_users_below_status(fleet, capsys):
    _, lines, _ = _check(capsys, fleet.database, "--now", T0)

    assert lines[1:] == [
        "EXPIRED: prod/dave expired 2026-05-31T12:00:00Z",
        "CRITICAL: staging/erin expires 2026-06-06T00:00:00Z (5d left) "
        "(stale: latest fetch failed)",
        "WARNING: prod/alice expires 2026-06-11T00:00:00Z (10d left)",
    ]


def test_check_rotated_user_ok(fleet, capsys):
    """carol's old certificate expires in 3 days, but her latest one in 80: she is OK."""
    _, lines, _ = _check(capsys, fleet.database, "--now", T0)

    assert not any("carol" in line for line in lines)


@pytest.fixture(scope="module")
def simple_fleet(tmp_path_factory):
    """alice: one certificate 10 days after T0; carol: rotated, 3 and 80 days after T0.

    One run started an hour before T0 and took five minutes.
    """
    fixture = ViewFixture(tmp_path_factory.mktemp("simple"))
    fixture.record_run(
        T0_TIME - timedelta(hours=1),
        {
            ("p1", "alice"): [cert("p1", "alice", 1, T0_TIME + 10 * DAY)],
            ("p1", "carol"): [
                cert("p1", "carol", 2, T0_TIME + 3 * DAY),
                cert("p1", "carol", 3, T0_TIME + 80 * DAY),
            ],
        },
    )
    fixture.apply_views()
    return fixture


@pytest.mark.parametrize(
    ("arguments", "expected_code", "expected_line"),
    [
        (
            ["--warning", "5d", "--critical", "2d"],
            0,
            "ATLAS-CERTS OK - 2 users, none expire within 5d | "
            "users=2 critical=0 warning=0 expired=0 stale=0 last_run_age=3300s",
        ),
        (
            [],
            1,
            "ATLAS-CERTS WARNING - 1 user expires within 30d | "
            "users=2 critical=0 warning=1 expired=0 stale=0 last_run_age=3300s",
        ),
        (
            ["--critical", "10d"],
            2,
            "ATLAS-CERTS CRITICAL - 1 user expires within 10d | "
            "users=2 critical=1 warning=0 expired=0 stale=0 last_run_age=3300s",
        ),
        (
            ["--now", "2026-06-11T00:00:00Z", "--max-age", "11d"],
            2,
            "ATLAS-CERTS CRITICAL - 1 user expired | "
            "users=2 critical=0 warning=0 expired=1 stale=0 last_run_age=867300s",
        ),
        (
            ["--now", "2026-06-03T00:00:00Z", "--warning", "1d", "--critical", "1h"],
            3,
            "ATLAS-CERTS UNKNOWN - no successful run within 26h (last finished 176100s ago) | "
            "users=2 critical=0 warning=0 expired=0 stale=0 last_run_age=176100s",
        ),
    ],
    ids=["ok", "warning", "critical", "expired-at-not-after", "unknown-old-data"],
)
def test_check_exit_codes(simple_fleet, capsys, arguments, expected_code, expected_line):
    if "--now" not in arguments:
        arguments = [*arguments, "--now", T0]
    code, lines, _ = _check(capsys, simple_fleet.database, *arguments)
    match = STATUS_LINE.match(lines[0])

    assert code == expected_code
    assert lines[0] == expected_line
    assert match is not None
    assert PERFDATA.match(match["perfdata"])


def test_check_unknown_does_not_hide_critical(fleet, capsys):
    """Data older than --max-age is UNKNOWN only when nothing worse is known."""
    code, lines, _ = _check(capsys, fleet.database, "--now", "2026-06-03T00:00:00Z")

    assert code == 2
    assert "no successful run within 26h" in lines[0]
    assert "last_run_age=176100s" in lines[0]


def test_check_long_stale_warning(fleet, capsys):
    """erin and carol have been stale since the last run: past --max-age that is a WARNING."""
    code, lines, _ = _check(
        capsys,
        fleet.database,
        "--warning",
        "1h",
        "--critical",
        "1h",
        "--max-age",
        "90m",
        "--now",
        "2026-06-01T01:00:00Z",
    )

    assert code == 2  # dave has expired
    assert "2 users stale for over 90m" in lines[0]
    assert (
        "STALE: staging/carol expires 2026-08-20T00:00:00Z (79d left) "
        "(stale: latest fetch failed)" in lines
    )


def test_check_missing_database_unknown(tmp_path, capsys):
    database = tmp_path / "absent.duckdb"

    code, lines, _ = _check(capsys, database)

    assert code == 3
    assert lines == [
        f"ATLAS-CERTS UNKNOWN - database {database} not found; check --database, "
        "or run `atlas-certs run` to create it"
    ]


def test_check_locked_database_unknown(fleet, capsys):
    with database_locked(fleet.database) as pid:
        code, lines, _ = _check(capsys, fleet.database)

    assert code == 3
    assert lines[0].startswith(f"ATLAS-CERTS UNKNOWN - database {fleet.database} is locked by ")
    assert f"(PID {pid})" in lines[0]


def test_check_without_runs_unknown(tmp_path, capsys):
    fixture = ViewFixture(tmp_path)
    fixture.load()
    fixture.apply_views()

    code, lines, _ = _check(capsys, fixture.database)

    assert code == 3
    assert lines == [
        "ATLAS-CERTS UNKNOWN - no successful run recorded | "
        "users=0 critical=0 warning=0 expired=0 stale=0"
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--warning", "3x"], "invalid --warning value '3x'"),
        (["--critical", "1.5d"], "invalid --critical value '1.5d'"),
        (["--max-age", "1y"], "invalid --max-age value '1y'"),
        (["--warning", "7d", "--critical", "30d"], "--critical 30d is longer than --warning 7d"),
        (["--now", "yesterday"], "invalid --now value 'yesterday'"),
    ],
    ids=["warning", "critical", "max-age", "critical-above-warning", "now"],
)
def test_check_invalid_value_unknown(fleet, capsys, arguments, message):
    code, lines, _ = _check(capsys, fleet.database, *arguments)

    assert code == 3
    assert lines[0].startswith("ATLAS-CERTS UNKNOWN - ")
    assert message in lines[0]


def test_check_missing_option_value_unknown(fleet, capsys):
    """argparse's own usage errors exit 3 with a plugin status line, not argparse's 2."""
    with pytest.raises(SystemExit) as exit_info:
        main(["check", "--database", str(fleet.database), "--warning"])

    assert exit_info.value.code == 3
    assert capsys.readouterr().out == (
        "ATLAS-CERTS UNKNOWN - invalid usage: argument --warning: expected one argument\n"
    )
