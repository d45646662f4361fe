"""No-network variant: time dlt's extract, normalize and load steps for synthetic
certificates that go through the pipeline's own source and table hints.

    python -m benchmarks.offline --certificates 100000 --directory DIR

The rows come from pipelines.records.certificate_row over generated Atlas items, in the
order and shape Traversal.rows() yields them: one project row per project, one list of
certificate rows and one fetch-log row per user, and the run's row last. The pipeline is
opened with pipelines.run.open_pipeline and the steps are called as run_pipeline() calls
them, into a new DuckDB file. Prints one JSON result line.
"""

import argparse
import json
import random
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt

from pipelines.arrow_batches import ArrowBatches
from pipelines.records import certificate_row
from pipelines.run import RunReport, open_pipeline
from pipelines.settings import (
    CERTIFICATES_TABLE,
    FETCHES_TABLE,
    PROJECTS_TABLE,
    RUNS_TABLE,
)
from pipelines.source import atlas_certs

CERTIFICATES_PER_USER = 20
USERS_PER_PROJECT = 25
FIRST_CERT_ID = 2**60


class SyntheticTraversal:
    """Stands in for pipelines.traversal.Traversal: `rows()` yields what a run over a fleet
    of `certificates` certificates yields, without any request."""

    def __init__(self, certificates: int, seed: int = 1) -> None:
        self.certificates = certificates
        self.run_id = uuid.uuid4().hex
        self.rng = random.Random(seed)
        self.now = datetime.now(UTC).replace(microsecond=0)

    def rows(self) -> Iterator[Any]:
        for table in (CERTIFICATES_TABLE, FETCHES_TABLE, PROJECTS_TABLE):
            yield dlt.mark.with_table_name(dlt.mark.materialize_table_schema(), table)

        batches = ArrowBatches()
        users = max(1, -(-self.certificates // CERTIFICATES_PER_USER))
        next_id = FIRST_CERT_ID
        for user_index in range(users):
            project_id = f"{user_index // USERS_PER_PROJECT:024x}"
            if user_index % USERS_PER_PROJECT == 0:
                yield dlt.mark.with_table_name(self._project_row(project_id), PROJECTS_TABLE)
            username = f"CN=service-{user_index},OU=benchmark"
            first = user_index * CERTIFICATES_PER_USER
            count = min(CERTIFICATES_PER_USER, self.certificates - first)
            batch = []
            for _ in range(count):
                batch.append(
                    certificate_row(
                        self._atlas_item(next_id), project_id, username, self.now, self.run_id
                    )
                )
                next_id += 1
            yield from batches.add(CERTIFICATES_TABLE, batch)
            yield from batches.add(FETCHES_TABLE, [self._fetch_row(project_id, username, count)])

        yield from batches.flush()
        report = RunReport(
            run_id=self.run_id,
            database=Path("synthetic.duckdb"),
            started_at=self.now,
            finished_at=self.now,
            status="succeeded",
        )
        yield dlt.mark.with_table_name(report.as_row(), RUNS_TABLE)

    def _atlas_item(self, cert_id: int) -> dict[str, Any]:
        created = self.now - timedelta(seconds=self.rng.randint(3600, 300 * 86400))
        not_after = created + timedelta(days=self.rng.choice((30, 90, 180, 365)), hours=1)
        return {
            "_id": cert_id,
            "createdAt": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "notAfter": not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "subject": f"CN=service-{cert_id % 997}",
        }

    def _project_row(self, project_id: str) -> dict[str, Any]:
        return {
            "project_id": project_id,
            "name": f"benchmark-{project_id[-6:]}",
            "org_id": "0" * 24,
            "last_seen_at": self.now,
        }

    def _fetch_row(self, project_id: str, username: str, count: int) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "scope": "user",
            "project_id": project_id,
            "username": username,
            "status": "ok" if count else "empty",
            "http_status": None,
            "error_code": None,
            "reason": None,
            "certificate_count": count,
            "pages": 1,
            "fetched_at": self.now,
        }


def loader_file_formats(pipeline: Any) -> list[str]:
    """Return the file formats of the jobs in the pipeline's loaded packages."""
    formats = set()
    for load_id in pipeline.list_completed_load_packages():
        info = pipeline.get_load_package_info(load_id)
        for job in info.jobs.get("completed_jobs", []):
            formats.add(job.job_file_info.file_format)
    return sorted(formats)


def run_offline(certificates: int, directory: Path) -> dict[str, Any]:
    directory.mkdir(parents=True, exist_ok=True)
    database = directory / "offline.duckdb"
    pipeline = open_pipeline(database, str(directory / "dlt"))
    traversal = SyntheticTraversal(certificates)

    started = time.perf_counter()
    pipeline.extract(atlas_certs(traversal))
    extracted = time.perf_counter()
    pipeline.normalize()
    normalized = time.perf_counter()
    pipeline.load()
    loaded = time.perf_counter()

    with pipeline.sql_client() as client:
        rows = client.execute_sql(f"select count(*) from {CERTIFICATES_TABLE}")
    return {
        "certificates": certificates,
        "certificates_loaded": rows[0][0],
        "extract_seconds": extracted - started,
        "normalize_seconds": normalized - extracted,
        "load_seconds": loaded - normalized,
        "loader_file_formats": loader_file_formats(pipeline),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.offline", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--certificates", type=int, default=100_000)
    parser.add_argument("--directory", type=Path, required=True, help="new, empty directory")
    args = parser.parse_args(argv)
    print(json.dumps(run_offline(args.certificates, args.directory)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
