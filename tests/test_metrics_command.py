"""`atlas-certs metrics`: a textfile that Prometheus' parser reads back, written atomically."""

import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipelines.cli import main
from tests.view_fixtures import (
    ALICE,
    BOB,
    CAROL_NEW,
    CAROL_OLD,
    DAVE,
    DAVE_OLDER,
    ERIN,
    PROD,
    STAGING,
    T0,
    ViewFixture,
    database_locked,
    record_reporting_fleet,
)

NOW = "2026-06-01T00:00:00Z"  # T0
METRIC_NAME = re.compile(r"^atlas_certs_[a-z_]+$")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    fixture = ViewFixture(tmp_path_factory.mktemp("metrics"))
    record_reporting_fleet(fixture)
    fixture.apply_views()
    return fixture


@pytest.fixture(scope="module")
def families(fleet, tmp_path_factory):
    """The metric families of a file written at T0, keyed by name."""
    textfile = tmp_path_factory.mktemp("textfile") / "atlas_certs.prom"
    code = main(
        ["metrics", "--database", str(fleet.database), "--textfile", str(textfile), "--now", NOW]
    )
    assert code == 0
    parsed = text_string_to_metric_families(textfile.read_text(encoding="utf-8"))
    return {family.name: family for family in parsed}


def _samples(family):
    return {
        (
            sample.labels.get("project_id"),
            sample.labels.get("username"),
            sample.labels.get("serial"),
        ): sample.value
        for sample in family.samples
    }


def test_metric_names_and_types(families):
    assert set(families) == {
        "atlas_certs_certificate_not_after_timestamp_seconds",
        "atlas_certs_certificate_remaining_seconds",
        "atlas_certs_certificate_expired",
        "atlas_certs_user_latest_not_after_timestamp_seconds",
        "atlas_certs_user_needs_rotation",
        "atlas_certs_user_stale",
        "atlas_certs_project_stale_users",
        "atlas_certs_fetch_errors",
        "atlas_certs_last_run_timestamp_seconds",
        "atlas_certs_last_successful_run_timestamp_seconds",
    }
    assert all(METRIC_NAME.match(name) for name in families)
    assert all(family.type == "gauge" for family in families.values())
    assert all(family.documentation for family in families.values())


def test_certificate_not_after_series(families):
    samples = _samples(families["atlas_certs_certificate_not_after_timestamp_seconds"])

    assert samples == {
        (PROD, "alice", "0B"): ALICE.not_after.timestamp(),
        (PROD, "bob", "0C"): BOB.not_after.timestamp(),
        (STAGING, "carol", "0D"): CAROL_OLD.not_after.timestamp(),
        (STAGING, "carol", "0E"): CAROL_NEW.not_after.timestamp(),
        (PROD, "dave", "0F"): DAVE.not_after.timestamp(),
        (STAGING, "erin", "11"): ERIN.not_after.timestamp(),
    }


def test_certificate_labels(families):
    family = families["atlas_certs_certificate_not_after_timestamp_seconds"]
    alice = next(sample for sample in family.samples if sample.labels["username"] == "alice")

    assert alice.labels == {
        "project_id": PROD,
        "project_name": "prod",
        "username": "alice",
        "serial": "0B",
    }


def test_remaining_seconds_as_of_now(families):
    samples = _samples(families["atlas_certs_certificate_remaining_seconds"])

    assert samples[(PROD, "alice", "0B")] == 10 * 86400
    assert samples[(PROD, "dave", "0F")] == -12 * 3600


def test_expired_flag_keeps_reporting(families):
    """dave's latest certificate expired and was not replaced: it stays, flagged 1.

    His older certificate, superseded and expired, and frank's, vanished with him, are left
    out.
    """
    samples = _samples(families["atlas_certs_certificate_expired"])

    assert samples[(PROD, "dave", "0F")] == 1
    assert samples[(PROD, "alice", "0B")] == 0
    assert (PROD, "dave", f"{DAVE_OLDER.cert_id:02X}") not in samples
    assert not any(username == "frank" for _, username, _ in samples)


def test_user_series(families):
    latest = _samples(families["atlas_certs_user_latest_not_after_timestamp_seconds"])
    rotation = _samples(families["atlas_certs_user_needs_rotation"])
    stale = _samples(families["atlas_certs_user_stale"])

    assert latest[(STAGING, "carol", None)] == CAROL_NEW.not_after.timestamp()
    assert rotation[(STAGING, "carol", None)] == 0
    assert rotation[(PROD, "alice", None)] == 1
    assert rotation[(PROD, "dave", None)] == 1
    assert stale[(STAGING, "erin", None)] == 1
    assert stale[(PROD, "alice", None)] == 0
    assert set(latest) == {
        (PROD, "alice", None),
        (PROD, "bob", None),
        (STAGING, "carol", None),
        (PROD, "dave", None),
        (STAGING, "erin", None),
    }


def test_run_timestamps(families):
    last = families["atlas_certs_last_run_timestamp_seconds"].samples[0].value
    successful = families["atlas_certs_last_successful_run_timestamp_seconds"].samples[0].value

    assert last == T0.timestamp() - 55 * 60
    assert successful == last


def test_fetch_errors_by_project_and_reason(families):
    family = families["atlas_certs_fetch_errors"]

    assert [(sample.labels, sample.value) for sample in family.samples] == [
        (
            {
                "project_id": STAGING,
                "project_name": "staging",
                "scope": "project",
                "reason": "UNEXPECTED_ERROR",
            },
            1,
        )
    ]


def test_project_stale_users(families):
    samples = {
        sample.labels["project_id"]: sample.value
        for sample in families["atlas_certs_project_stale_users"].samples
    }

    assert samples == {PROD: 0, STAGING: 2}


def test_metrics_file_replaced_atomically(fleet, tmp_path):
    textfile = tmp_path / "atlas_certs.prom"
    textfile.write_text("# old content\n", encoding="utf-8")

    code = main(["metrics", "--database", str(fleet.database), "--textfile", str(textfile)])

    assert code == 0
    assert "# old content" not in textfile.read_text(encoding="utf-8")
    assert [path.name for path in tmp_path.iterdir()] == ["atlas_certs.prom"]


def test_metrics_requires_prom_suffix(fleet, tmp_path, capsys):
    code = main(
        ["metrics", "--database", str(fleet.database), "--textfile", str(tmp_path / "m.txt")]
    )

    assert code == 2
    assert capsys.readouterr().err.startswith(f"Error: invalid --textfile {tmp_path / 'm.txt'}")
    assert list(tmp_path.iterdir()) == []


def test_metrics_missing_folder(fleet, tmp_path, capsys):
    textfile = tmp_path / "absent" / "atlas_certs.prom"

    code = main(["metrics", "--database", str(fleet.database), "--textfile", str(textfile)])

    assert code == 1
    assert f"folder {tmp_path / 'absent'} not found" in capsys.readouterr().err


def test_metrics_locked_database_keeps_old_file(fleet, tmp_path, capsys):
    textfile = tmp_path / "atlas_certs.prom"
    textfile.write_text("atlas_certs_last_run_timestamp_seconds 1\n", encoding="utf-8")

    with database_locked(fleet.database) as pid:
        code = main(["metrics", "--database", str(fleet.database), "--textfile", str(textfile)])

    assert code == 1
    assert f"(PID {pid})" in capsys.readouterr().err
    assert textfile.read_text(encoding="utf-8") == "atlas_certs_last_run_timestamp_seconds 1\n"
