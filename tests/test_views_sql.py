"""The files in sql/: layout, style, documentation, apply order and schema evolution."""

import re
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.views import apply_views, view_files
from tests.view_fixtures import T0, ViewFixture, cert, query

RAW_TABLES = ("certificates", "fetches", "projects", "runs")
DOCS = Path(__file__).resolve().parent.parent / "docs" / "views.md"
PUBLIC_VIEWS = (
    "certificate_status",
    "expiry_windows",
    "user_certificate_status",
    "certificate_issuance_monthly",
    "certificate_rotations",
    "run_history",
    "project_status",
)
_CREATE = re.compile(r"create or replace (view|macro) atlas_certs\.(\w+)")
_UPPERCASE_KEYWORD = re.compile(
    r"\b(SELECT|FROM|WHERE|JOIN|GROUP|ORDER|CASE|WHEN|THEN|END|AS|WITH|CREATE|AND|OR|NOT)\b"
)


def _code(path: Path) -> str:
    """Return the SQL without comments and string literals."""
    text = re.sub(r"--[^\n]*", "", path.read_text(encoding="utf-8"))
    return re.sub(r"'[^']*'", "''", text)


@pytest.mark.parametrize("path", view_files(), ids=lambda path: path.name)
def test_sql_file_header(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    name = _CREATE.search(path.read_text(encoding="utf-8")).group(2)

    assert lines[0].startswith(f"-- {name}"), "first line names the view or macro"
    for label in ("grain:", "key:", "inputs:"):
        assert any(line.startswith(f"-- {label}") for line in lines[:8]), label


@pytest.mark.parametrize("path", view_files(), ids=lambda path: path.name)
def test_sql_file_one_relation(path):
    created = _CREATE.findall(path.read_text(encoding="utf-8"))

    assert len(created) == 1
    kind, name = created[0]
    assert re.fullmatch(rf"\d\d_{name}\.sql", path.name), "file is named after its relation"
    if kind == "view":
        assert f"create or replace view atlas_certs.{name} as" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", view_files(), ids=lambda path: path.name)
def test_sql_file_lowercase(path):
    assert _UPPERCASE_KEYWORD.findall(_code(path)) == []


@pytest.mark.parametrize("path", view_files(), ids=lambda path: path.name)
def test_raw_tables_only_in_staging(path):
    code = _code(path)
    raw_references = [table for table in RAW_TABLES if f"atlas_certs.{table}\n" in code + "\n"]
    raw_references += re.findall(r"atlas_certs\.(certificates|fetches|projects|runs)\b", code)

    if path.name.split("_", 1)[1].startswith("stg_"):
        assert len(set(raw_references)) == 1
        assert "*" not in code, "staging selects explicit columns"
    else:
        assert raw_references == []


def test_view_files_numbered_in_order():
    names = [path.name for path in view_files()]

    assert names == sorted(names)
    assert all(re.match(r"\d\d_", name) for name in names)
    assert len({name[:2] for name in names}) == len(names), "numbers are unique"


def test_public_views_documented():
    text = DOCS.read_text(encoding="utf-8")

    for view in PUBLIC_VIEWS:
        assert f"`{view}`" in text, view


def test_views_on_empty_tables(tmp_path):
    fixture = ViewFixture(tmp_path)
    fixture.load()

    with fixture.connect(T0) as connection:
        counts = {
            view: connection.execute(f"select count(*) from atlas_certs.{view}").fetchone()[0]
            for view in PUBLIC_VIEWS
        }

    assert counts == dict.fromkeys(PUBLIC_VIEWS, 0)


def test_views_survive_new_columns(tmp_path):
    """dlt adds a column when a row carries a new field; the views select explicit columns."""
    fixture = ViewFixture(tmp_path)
    first = cert("p1", "alice", 1, T0 + 10 * timedelta(days=1))
    fixture.record_run(T0 - timedelta(days=2), {("p1", "alice"): [first]})
    fixture.apply_views()

    fixture.load(
        certificates=[
            {
                "project_id": "p1",
                "username": "alice",
                "cert_id": 2,
                "serial_hex": "02",
                "subject": "CN=alice",
                "created_at": T0 - timedelta(days=1),
                "not_after": T0 + timedelta(days=80),
                "first_seen_at": T0 - timedelta(days=1),
                "last_seen_at": T0 - timedelta(days=1),
                "last_run_id": "run002",
                "key_algorithm": "ECDSA",
            }
        ],
        fetches=[
            {
                "run_id": "run002",
                "scope": "user",
                "project_id": "p1",
                "username": "alice",
                "status": "ok",
                "certificate_count": 2,
                "pages": 1,
                "fetched_at": T0 - timedelta(days=1),
                "retries": 3,
            }
        ],
        runs=[
            {
                "run_id": "run002",
                "started_at": T0 - timedelta(days=1),
                "finished_at": T0 - timedelta(days=1) + timedelta(minutes=1),
                "status": "succeeded",
                "host": "cron1",
            }
        ],
    )
    with duckdb.connect(str(fixture.database), read_only=True) as connection:
        columns = {
            name
            for (name,) in connection.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'atlas_certs' "
                "and table_name in ('certificates', 'fetches', 'runs')"
            ).fetchall()
        }
        # The views created before the new columns appeared still return rows.
        connection.execute("set variable atlas_certs_now = ?::timestamptz", [T0])
        before_reapply = query(
            connection,
            "select cert_id, state from atlas_certs.certificate_status order by cert_id",
        )

    with fixture.connect(T0) as connection:
        after_reapply = query(
            connection,
            "select cert_id, state from atlas_certs.certificate_status order by cert_id",
        )
        for view in PUBLIC_VIEWS:
            connection.execute(f"select * from atlas_certs.{view}").fetchall()

    assert {"key_algorithm", "retries", "host"} <= columns
    assert before_reapply == after_reapply
    assert [row["state"] for row in after_reapply] == ["vanished", "active"]


def test_apply_views_twice(tmp_path):
    fixture = ViewFixture(tmp_path)
    fixture.load()

    first = fixture.apply_views()
    second = fixture.apply_views()

    assert first == second == [path.name for path in view_files()]


def test_failed_apply_leaves_no_view(tmp_path):
    """All files run in one transaction: a file that fails rolls back the ones before it."""
    database = tmp_path / "partial.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute("create schema atlas_certs")
        connection.execute(
            "create table atlas_certs.certificates (project_id varchar, username varchar, "
            "cert_id bigint, serial_hex varchar, subject varchar, created_at timestamptz, "
            "not_after timestamptz, first_seen_at timestamptz, last_seen_at timestamptz, "
            "last_run_id varchar)"
        )
        with pytest.raises(duckdb.CatalogException, match="fetches"):
            apply_views(connection)
        views = connection.execute(
            "select view_name from duckdb_views() where schema_name = 'atlas_certs'"
        ).fetchall()
        macros = connection.execute(
            "select function_name from duckdb_functions() where schema_name = 'atlas_certs'"
        ).fetchall()

    assert views == []
    assert macros == []
