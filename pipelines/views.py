"""Creation of the SQL views shipped in `sql/`, in file-name order."""

from pathlib import Path

import duckdb


def sql_directory() -> Path:
    """Return the folder with the view definitions: `sql/` in a checkout, or the copy that
    the wheel ships inside the package."""
    packaged = Path(__file__).parent / "sql"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "sql"


def view_files() -> list[Path]:
    return sorted(sql_directory().glob("*.sql"))


def apply_views(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """Run every view file on an open read-write connection; returns the file names applied.

    All files run in one transaction, so a file that fails leaves every view as it was
    rather than half of them replaced. The connection must not be inside a transaction.
    """
    applied = []
    connection.execute("begin transaction")
    try:
        for path in view_files():
            connection.execute(path.read_text(encoding="utf-8"))
            applied.append(path.name)
    except BaseException:
        connection.execute("rollback")
        raise
    connection.execute("commit")
    return applied
