"""Checks on the DuckDB file path that every command applies before opening it."""

from pathlib import Path

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
