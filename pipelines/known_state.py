"""State of earlier runs, read from the DuckDB file before a run starts."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from pipelines.settings import CERTIFICATES_TABLE, DATASET_NAME, FETCHES_TABLE

UserKey = tuple[str, str]  # (project_id, username)


@dataclass
class KnownState:
    """First sightings of every loaded certificate and the users earlier runs fetched."""

    first_seen: dict[UserKey, dict[int, datetime]] = field(default_factory=dict)
    users_by_project: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def first_seen_at(self, project_id: str, username: str, cert_id: int) -> datetime | None:
        return self.first_seen.get((project_id, username), {}).get(cert_id)

    def known_users(self, project_id: str) -> set[str]:
        return self.users_by_project.get(project_id, set())


def read_known_state(database: Path) -> KnownState:
    """Read first-seen times and known users; an absent file or table means a first run."""
    state = KnownState()
    if not database.exists():
        return state

    with duckdb.connect(str(database), read_only=True) as connection:
        tables = _tables(connection)
        if CERTIFICATES_TABLE in tables:
            rows = connection.execute(
                f"select project_id, username, cert_id, first_seen_at "
                f"from {DATASET_NAME}.{CERTIFICATES_TABLE}"
            ).fetchall()
            for project_id, username, cert_id, first_seen_at in rows:
                state.first_seen.setdefault((project_id, username), {})[cert_id] = first_seen_at
                state.users_by_project[project_id].add(username)
        if FETCHES_TABLE in tables:
            rows = connection.execute(
                f"select distinct project_id, username from {DATASET_NAME}.{FETCHES_TABLE} "
                "where scope = 'user' and status in ('ok', 'empty')"
            ).fetchall()
            for project_id, username in rows:
                state.users_by_project[project_id].add(username)
    return state


def _tables(connection: duckdb.DuckDBPyConnection) -> set[str]:
    rows = connection.execute(
        "select table_name from information_schema.tables where table_schema = ?",
        [DATASET_NAME],
    ).fetchall()
    return {name for (name,) in rows}
