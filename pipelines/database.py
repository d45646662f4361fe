"""Checks on the DuckDB file path that every command applies before opening it."""

import re
import time
from pathlib import Path

import duckdb

from pipelines.settings import DATASET_NAME, DEFAULT_DATABASE


class InvalidDatabasePath(ValueError):
    """A database path that cannot work; the message names the path and the fix."""


def validate_database_path(path: Path) -> Path:
    """Return the absolute path, or raise InvalidDatabasePath.

    DuckDB names a file's catalog after the file name without its extension; when that name
    equals the dataset (schema) name, every `atlas_certs.<table>` reference is ambiguous.
    """
    resolved = Path(path).expanduser().resolve()
    if resolved.stem.lower() == DATASET_NAME:
        raise InvalidDatabasePath(
            f"--database {path}: DuckDB would name the file's catalog {resolved.stem!r}, like "
            f"the dataset, which makes {DATASET_NAME}.<table> ambiguous in every query. "
            f"Use another file name, e.g. {resolved.with_name(DEFAULT_DATABASE)}"
        )
    if resolved.is_dir():
        raise InvalidDatabasePath(f"--database {path} is a directory; give a file path")
    return resolved


class DatabaseLocked(Exception):
    """Another process has the DuckDB file open; the message names the file and the holder."""


# DuckDB 2.0 reports: 'Conflicting lock is held in /usr/bin/python3.11 (PID 4242). See also …'
HOLDER_PATTERN = re.compile(r"Conflicting lock is held in (.+?\(PID \d+\))")
LOCK_POLL_SECONDS = 0.5


def wait_until_writable(database: Path, timeout_seconds: float) -> None:
    """Wait up to `timeout_seconds` until no other process has `database` open.

    DuckDB lets one process open a file for writing and then no other process may open it,
    not even read-only, so a notebook or the DuckDB CLI left open blocks the load. Raises
    DatabaseLocked naming the holder when the wait runs out.
    """
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            duckdb.connect(str(database)).close()
            return
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise
            if time.monotonic() >= deadline:
                raise DatabaseLocked(
                    f"{database} is locked by {_lock_holder(str(error))}; waited "
                    f"{timeout_seconds:g} s. Close the other connection (a notebook, the DuckDB "
                    "CLI or another atlas-certs run) or raise sources.atlas_certs.lock_timeout"
                ) from None
        time.sleep(LOCK_POLL_SECONDS)


def _lock_holder(message: str) -> str:
    match = HOLDER_PATTERN.search(message)
    return match.group(1) if match else "another process"
