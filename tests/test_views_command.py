"""`atlas-certs views`: create the views, and the errors for missing, empty or locked files."""

import duckdb

from pipelines.cli import main
from tests.view_fixtures import ViewFixture, database_locked

PUBLIC_VIEWS = {
    "certificate_status",
    "expiry_windows",
    "user_certificate_status",
    "certificate_issuance_monthly",
    "certificate_rotations",
    "run_history",
    "project_status",
}


def test_views_command_creates_views(tmp_path, capsys):
    fixture = ViewFixture(tmp_path)
    fixture.load()

    code = main(["views", "--database", str(fixture.database)])
    out = capsys.readouterr().out

    with duckdb.connect(str(fixture.database), read_only=True) as connection:
        created = {
            name
            for (name,) in connection.execute(
                "select view_name from duckdb_views() where schema_name = 'atlas_certs'"
            ).fetchall()
        }
    assert code == 0
    assert created >= PUBLIC_VIEWS
    assert out.startswith(f"Created {len(created)} views in {fixture.database}: ")
    assert "certificate_status" in out


def test_views_command_missing_database(tmp_path, capsys):
    database = tmp_path / "absent.duckdb"

    code = main(["views", "--database", str(database)])

    assert code == 1
    assert capsys.readouterr().err.startswith(f"Error: database {database} not found")
    assert not database.exists()


def test_views_command_before_first_run(tmp_path, capsys):
    database = tmp_path / "empty.duckdb"
    duckdb.connect(str(database)).close()

    code = main(["views", "--database", str(database)])
    err = capsys.readouterr().err

    assert code == 1
    assert err.startswith(f"Error: cannot create the views in {database}: ")
    assert "run `atlas-certs run` first" in err


def test_views_command_locked_database(tmp_path, capsys):
    fixture = ViewFixture(tmp_path)
    fixture.load()

    with database_locked(fixture.database) as pid:
        code = main(["views", "--database", str(fixture.database)])

    err = capsys.readouterr().err
    assert code == 1
    assert f"Error: database {fixture.database} is locked by " in err
    assert f"(PID {pid})" in err


def test_views_command_rejects_ambiguous_name(tmp_path, capsys):
    code = main(["views", "--database", str(tmp_path / "atlas_certs.duckdb")])

    assert code == 2
    assert "ambiguous" in capsys.readouterr().err


def test_every_command_has_help_example(capsys):
    for command in ("report", "check", "metrics", "views"):
        try:
            main([command, "--help"])
        except SystemExit as exit_info:
            assert exit_info.code == 0
        out = capsys.readouterr().out
        assert "example:\n  atlas-certs " + command in out, command
