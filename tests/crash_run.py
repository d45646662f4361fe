"""Run the pipeline in a child process and kill it with SIGKILL at a chosen step.

Usage: python -m tests.crash_run BASE_URL PUBLIC_KEY PRIVATE_KEY DATABASE PIPELINES_DIR STEP
where STEP is extract, normalize, load or none. The process kills itself at the start of that
step (for load, after the first table job has committed), the way an OOM kill or a reboot
would end a cron run.
"""

import os
import signal
import sys
from pathlib import Path

import dlt.destinations.impl.duckdb.duck as duck
from dlt.pipeline.pipeline import Pipeline

from pipelines.atlas.client import AtlasClient
from pipelines.config import build_config
from pipelines.run import run_pipeline


def _die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


def _arm(step: str) -> None:
    if step == "extract":
        original_pages = AtlasClient.list_certificates

        def pages_then_die(self, project_id, username):
            yield from original_pages(self, project_id, username)
            _die()

        AtlasClient.list_certificates = pages_then_die
    elif step == "normalize":
        Pipeline.normalize = _die
    elif step == "load":
        # Parquet files load through DuckDbCopyJob; die when the second table job starts,
        # after the first one has committed.
        original_run = duck.DuckDbCopyJob.run
        calls = []

        def run_then_die(self):
            if calls:
                _die()
            calls.append(1)
            original_run(self)

        duck.DuckDbCopyJob.run = run_then_die


def main() -> None:
    base_url, public_key, private_key, database, pipelines_dir, step = sys.argv[1:7]
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    _arm(step)
    config = build_config(
        base_url=base_url, projects="*", public_key=public_key, private_key=private_key
    )
    report = run_pipeline(config, Path(database), pipelines_dir=pipelines_dir)
    print(report.status)


if __name__ == "__main__":
    main()
