"""Helpers that run the real pipeline against an emulator and read the DuckDB file back."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from pipelines.config import build_config
from pipelines.run import RunReport, run_pipeline


@dataclass
class PipelineRunner:
    """Runs the pipeline against one emulator into one DuckDB file, with the emulator's clock."""

    emulator: Any
    tmp_path: Path

    @property
    def database(self) -> Path:
        return self.tmp_path / "atlas-certs.duckdb"

    def config(self, **overrides: Any):
        settings: dict[str, Any] = {"base_url": self.emulator.base_url, "projects": "*"}
        if "client_id" not in overrides:
            public_key, private_key = self.emulator.demo_api_key
            settings.update(public_key=public_key, private_key=private_key)
        settings.update(overrides)
        return build_config(**settings)

    def run(self, project_filter: tuple[str, ...] = (), **overrides: Any) -> RunReport:
        return run_pipeline(
            self.config(**overrides),
            self.database,
            project_filter=project_filter,
            clock=self.emulator.clock.now,
            pipelines_dir=str(self.tmp_path / "dlt"),
        )

    def query(self, sql: str, parameters: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.database), read_only=True) as connection:
            return connection.execute(sql, parameters or []).fetchall()

    def certificates(self) -> dict[tuple[str, str, int], tuple[Any, ...]]:
        rows = self.query(
            "select project_id, username, cert_id, not_after, first_seen_at, last_seen_at "
            "from atlas_certs.certificates"
        )
        return {(row[0], row[1], row[2]): row[3:] for row in rows}


def truth(emulator: Any) -> set[tuple[str, str, int]]:
    """Return (project id, username, cert id) of every unexpired MANAGED certificate."""
    return {
        (project_id, username, cert.id)
        for project_id, username, cert in emulator.store.iter_unexpired_managed_certs()
    }
