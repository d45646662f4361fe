"""Opening the DuckDB file for the reporting commands, with errors that name the fix."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import duckdb

from pipelines.database import validate_database_path
from pipelines.settings import DATASET_NAME
from pipelines.views import apply_views

# Views the commands read; a database whose views predate one of them needs `atlas-certs views`.
REQUIRED_VIEWS = (
    "certificate_status",
    "user_certificate_status",
    "project_status",
    "stg_runs",
)

# DuckDB 2.0 names the process holding the file in its lock error, e.g.
# 'Conflicting lock is held in /usr/bin/python3.11 (PID 4242)'.
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


class DatabaseUnavailable(Exception):
    """The database cannot be read; the message names the file, the cause and the fix."""


class DatabaseMissing(DatabaseUnavailable):
    pass


class DatabaseLocked(DatabaseUnavailable):
    pass


class ViewsMissing(DatabaseUnavailable):
    pass


class TablesMissing(DatabaseUnavailable):
    pass


@contextmanager
def open_database(path: Path, now: datetime | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open `path` read-only with the session in UTC and, if given, the clock frozen at `now`.

    Raises InvalidDatabasePath for a path that cannot work, DatabaseMissing, DatabaseLocked
    (another process holds the file read-write) and ViewsMissing. Keep the connection open
    only while querying: a pipeline run cannot load while it is open.
    """
    database = _existing_database(path)
    connection = _connect(database, read_only=True)
    try:
        connection.execute("set TimeZone = 'UTC'")
        if now is not None:
            connection.execute("set variable atlas_certs_now = ?::timestamptz", [now])
        _require_views(connection, database)
        yield connection
    finally:
        connection.close()


def create_views(path: Path) -> list[str]:
    """Create or replace every view of `sql/` in `path`; returns the names of the views.

    Opens the file read-write, so it fails with DatabaseLocked while any other process has
    it open. Raises TablesMissing before the first pipeline run has created the tables.
    """
    database = _existing_database(path)
    connection = _connect(database, read_only=False)
    try:
        try:
            apply_views(connection)
        except duckdb.CatalogException as error:
            raise TablesMissing(
                f"cannot create the views in {database}: {_first_line(error)}. The pipeline "
                "creates its tables on its first run; run `atlas-certs run` first"
            ) from None
        except duckdb.Error as error:
            raise DatabaseUnavailable(
                f"cannot create the views in {database}: {_first_line(error)}"
            ) from None
        rows = connection.execute(
            "select view_name from duckdb_views() "
            "where schema_name = ? and not internal order by view_name",
            [DATASET_NAME],
        ).fetchall()
        return [name for (name,) in rows]
    finally:
        connection.close()


def describe_lock_error(database: Path, error: duckdb.IOException) -> str:
    """Build the message for a file that another process holds, naming that process."""
    match = _LOCK_HOLDER.search(str(error))
    holder = f"{match['program']} (PID {match['pid']})" if match else "another process"
    return (
        f"database {database} is locked by {holder}, most likely an `atlas-certs run` that "
        "is loading it; try again when that process has finished"
    )


def _existing_database(path: Path) -> Path:
    database = validate_database_path(path)
    if not database.exists():
        raise DatabaseMissing(
            f"database {database} not found; check --database, or run `atlas-certs run` "
            "to create it"
        )
    return database


def _connect(database: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(database), read_only=read_only)
    except duckdb.IOException as error:
        if "Could not set lock" in str(error):
            raise DatabaseLocked(describe_lock_error(database, error)) from None
        raise DatabaseUnavailable(
            f"cannot open database {database}: {_first_line(error)}"
        ) from None


def _require_views(connection: duckdb.DuckDBPyConnection, database: Path) -> None:
    rows = connection.execute(
        "select view_name from duckdb_views() where schema_name = ?", [DATASET_NAME]
    ).fetchall()
    missing = sorted(set(REQUIRED_VIEWS) - {name for (name,) in rows})
    if missing:
        raise ViewsMissing(
            f"database {database} lacks the views {', '.join(missing)}; create them with "
            f"`atlas-certs views --database {database}` (every pipeline run also does)"
        )


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0]
