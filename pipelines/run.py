"""One run of the pipeline: walk Atlas, load the rows, record the run and refresh the views."""

import fcntl
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials
from dlt.pipeline.exceptions import PipelineStepFailed
from dlt.pipeline.pipeline import Pipeline

from pipelines.arrow_batches import require_dlt_columns_on_arrow_items
from pipelines.atlas.client import AtlasClient
from pipelines.config import AtlasCertsConfig
from pipelines.database import DatabaseLocked, validate_database_path, wait_until_writable
from pipelines.known_state import read_known_state
from pipelines.settings import DATASET_NAME, PIPELINE_NAME
from pipelines.source import atlas_certs, runs_resource
from pipelines.traversal import RunAborted, RunCounters, Traversal
from pipelines.views import apply_views

logger = logging.getLogger(__name__)

# DuckDB threads for dlt's load connection: the loads are small, and each thread adds memory.
LOAD_THREADS = 1


class RunFailed(Exception):
    """The run loaded nothing new; the message explains why and what to do."""


class RunLocked(RunFailed):
    """Another run holds the lock of the same database file."""


@dataclass
class RunReport:
    """Outcome of one run, as printed in the summary and stored in the `runs` table."""

    run_id: str
    database: Path
    started_at: datetime
    finished_at: datetime | None = None
    status: str = "failed"
    project_filter: tuple[str, ...] = ()
    counters: RunCounters = field(default_factory=RunCounters)
    requests: int = 0
    error: str | None = None

    @property
    def duration_seconds(self) -> float:
        end = self.finished_at or self.started_at
        return (end - self.started_at).total_seconds()

    def as_row(self) -> dict[str, Any]:
        counters = self.counters
        return {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": self.finished_at or self.started_at,
            "status": self.status,
            "project_filter": ",".join(self.project_filter) or None,
            "projects_fetched": counters.projects_fetched,
            "projects_failed": counters.projects_failed,
            "users_fetched": counters.users_fetched,
            "users_failed": counters.users_failed,
            "certificates_seen": counters.certificates_seen,
            "certificates_new": counters.certificates_new,
            "requests": self.requests,
            "error": self.error,
        }


def run_pipeline(
    config: AtlasCertsConfig,
    database: Path,
    *,
    project_filter: tuple[str, ...] = (),
    clock: Callable[[], datetime] | None = None,
    pipelines_dir: str | None = None,
) -> RunReport:
    """Extract every configured certificate into `database` and record the run.

    Returns the report of a run that loaded. Raises RunFailed when the run could not load
    anything new, for example after rejected credentials, a failed project discovery or an
    unusable database. Raises InvalidDatabasePath for a file name that clashes with the dataset.
    """
    clock = clock or _utc_now
    database = validate_database_path(database)
    report = RunReport(
        run_id=uuid.uuid4().hex,
        database=database,
        started_at=clock(),
        project_filter=project_filter,
    )

    with run_lock(database):
        _wait_for_database(database, config.lock_timeout)
        client = AtlasClient(config)

        def finish_run(counters: RunCounters) -> dict[str, Any]:
            report.counters = counters
            report.requests = client.stats.sent
            report.finished_at = clock()
            report.status = "partial" if counters.failures else "succeeded"
            return report.as_row()

        traversal = Traversal(
            client, config, report.run_id, clock, project_filter, finish=finish_run
        )
        # The first requests are in flight while dlt opens the pipeline, loads any package a
        # killed run left, and the `first_seen_at` values of loaded certificates are read.
        traversal.start()
        try:
            pipeline = open_pipeline(database, pipelines_dir)
            finish_pending_packages(pipeline, database)
            traversal.known = read_known_state(database)
            _extract(pipeline, traversal, report, client, clock)
        finally:
            traversal.close()

        # A notebook may have opened the file while the run was fetching.
        _wait_for_database(database, config.lock_timeout)
        try:
            pipeline.normalize()
            pipeline.load()
        except PipelineStepFailed as error:
            report.status = "failed"
            report.error = _describe_step_failure(error)
            raise RunFailed(report.error) from None
        refresh_views(pipeline)
    return report


def _extract(
    pipeline: Pipeline,
    traversal: Traversal,
    report: RunReport,
    client: AtlasClient,
    clock: Callable[[], datetime],
) -> None:
    started = time.monotonic()
    try:
        pipeline.extract(atlas_certs(traversal))
    except PipelineStepFailed as error:
        report.counters = traversal.counters
        report.requests = client.stats.sent
        report.finished_at = clock()
        report.error = _describe_step_failure(error)
        _record_failed_run(pipeline, report)
        raise RunFailed(report.error) from None
    logger.info("run %s fetched for %.1f s", report.run_id, time.monotonic() - started)


def open_pipeline(database: Path, pipelines_dir: str | None = None) -> Pipeline:
    # A load job that fails for good is aborted rather than left pending, because dlt would
    # otherwise retry the same package on every later run and never extract again.
    os.environ.setdefault("LOAD__AUTO_ABORT_ON_TERMINAL_ERROR", "true")
    # Arrow's default allocator keeps freed memory, and the system one returns it. Arrow reads
    # the variable when pyarrow is first imported, so no module here imports pyarrow early.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    require_dlt_columns_on_arrow_items()
    credentials = DuckDbCredentials(str(database), global_config={"threads": LOAD_THREADS})
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination=dlt.destinations.duckdb(credentials),
        dataset_name=DATASET_NAME,
        pipelines_dir=pipelines_dir,
    )


# File in dlt's pipeline working folder naming the database its load packages were made for.
TARGET_DATABASE_FILE = "atlas_certs_target_database"


def finish_pending_packages(pipeline: Pipeline, database: Path) -> None:
    """Load what an interrupted run left behind, or discard it when it cannot load.

    dlt's run() would otherwise only load the old package and skip extraction, so a cron
    run after a crash would publish nothing new. All runs on a machine share dlt's working
    folder, so a package made for another database file is discarded and never loaded here.
    The next run on that file fetches its data again.
    """
    marker = Path(pipeline.working_dir) / TARGET_DATABASE_FILE
    previous = marker.read_text(encoding="utf-8").strip() if marker.exists() else None
    if pipeline.has_pending_data:
        if previous is not None and previous != str(database):
            logger.warning(
                "discarding load packages an interrupted run made for %s; this run loads %s",
                previous,
                database,
            )
            pipeline.abort_packages()
        else:
            _load_pending_packages(pipeline)
    marker.write_text(str(database), encoding="utf-8")


def _load_pending_packages(pipeline: Pipeline) -> None:
    logger.warning("finishing load packages left by an interrupted run of %s", PIPELINE_NAME)
    try:
        pipeline.normalize()
        pipeline.load()
    except PipelineStepFailed as error:
        logger.error(
            "discarding pending load packages that cannot be loaded: %s",
            _describe_step_failure(error),
        )
        pipeline.abort_packages()


def refresh_views(pipeline: Pipeline) -> list[str]:
    with pipeline.sql_client() as client:
        connection = client.native_connection
        return apply_views(connection)


@contextmanager
def run_lock(database: Path) -> Iterator[None]:
    """Hold `<database>.lock` for the run, so two cron runs never load the same file at once."""
    lock_path = database.with_name(database.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise RunLocked(
                f"another atlas-certs run ({holder}) is loading {database}; "
                "this run did nothing. Wait for it to finish or stop it"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _record_failed_run(pipeline: Pipeline, report: RunReport) -> None:
    """Store the row of a run that loaded nothing, so run history shows the failure."""
    report.status = "failed"
    try:
        pipeline.run(runs_resource(report.as_row()))
    except PipelineStepFailed as error:
        logger.error("could not record run %s: %s", report.run_id, _describe_step_failure(error))


def _wait_for_database(database: Path, timeout_seconds: float) -> None:
    try:
        wait_until_writable(database, timeout_seconds)
    except DatabaseLocked as error:
        raise RunFailed(f"{error}; the loaded data is unchanged") from None


def _describe_step_failure(error: PipelineStepFailed) -> str:
    cause: BaseException | None = error.exception
    while cause is not None:
        if isinstance(cause, RunAborted):
            return str(cause)
        cause = cause.__cause__ or cause.__context__
    return f"the {error.step} step failed: {error.exception}"


def _utc_now() -> datetime:
    return datetime.now(UTC)
