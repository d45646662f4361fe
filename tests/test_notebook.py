"""The analysis notebook: committed without outputs, and run top to bottom with nbclient on
databases that the pipeline loaded from the demo fleet of the Atlas emulator."""

import asyncio
import os
import shutil
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import matplotlib.image
import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from pipelines.config import build_config
from pipelines.emulator import AtlasEmulator, FaultRule, FleetConfig
from pipelines.run import RunFailed, run_pipeline

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "certificate_expiry.ipynb"
FIGURES = (
    "01_fleet_overview",
    "02_at_risk_timeline",
    "03_days_left",
    "04_expiry_calendar",
    "05_issuance",
    "06_rotation_lead_times",
    "07_run_health",
)
NOTEBOOK_VARIABLES = (
    "ATLAS_CERTS_DATABASE",
    "ATLAS_CERTS_FIGURES",
    "ATLAS_CERTS_NOW",
    "ATLAS_CERTS_WARNING_DAYS",
)
DEMO_SEED = 1  # the default of `atlas-certs demo --seed`
STEP = timedelta(days=14)
# Days before expiry at which a user rotates, picked per user by a hash of its name: early,
# on time, after a gap, or never.
ROTATION_LEAD_DAYS = (30, 10, -5, None)
STALE_PROJECT_INDEX = 2


@dataclass
class DemoDatabases:
    history: Path
    single_run: Path
    first_run_at: datetime
    stale_project_name: str


@dataclass
class NotebookRun:
    notebook: nbformat.NotebookNode
    figures: Path
    error: CellExecutionError | None

    def text_output(self) -> str:
        return "\n".join(
            output.get("text", "")
            for cell in self.notebook.cells
            if cell.cell_type == "code"
            for output in cell.outputs
            if output.output_type == "stream"
        )


def rotate_due_certificates(
    emulator: AtlasEmulator, users: list[tuple[str, str]], since: datetime, until: datetime
) -> None:
    """Create the certificates that users with a rotation habit would have created between
    `since` and `until`, each dated when its user rotated."""
    for project_id, username in users:
        # Project ids embed the creation time, so only the username gives a stable habit.
        habit = zlib.crc32(username.encode()) % len(ROTATION_LEAD_DAYS)
        lead_days = ROTATION_LEAD_DAYS[habit]
        if lead_days is None:
            continue
        # Each new certificate lives 3 months, so one rotation per user and step is enough;
        # the bound only keeps the loop finite.
        for _ in range(3):
            certificates = emulator.store.certs(project_id, username, include_expired=True)
            if not certificates:
                break
            latest_not_after = max(certificate.not_after for certificate in certificates)
            due = latest_not_after - timedelta(days=lead_days)
            if due > until:
                break
            emulator.store.create_cert(
                project_id, username, months=3, created_at=max(due, since + timedelta(hours=1))
            )


def build_demo_databases(folder: Path) -> DemoDatabases:
    """Load the demo fleet three times, two weeks apart, ending an hour before the real time,
    with a failed run before the last one.

    Between the runs, users rotate by their habit and one user is deleted. In the last run, one
    project and one user of another project fail with HTTP 403. A copy of the database taken
    after the first run is the single-run database.
    """
    history = folder / "history" / "atlas-certs.duckdb"
    single_run = folder / "single-run" / "atlas-certs.duckdb"
    first_run_at = datetime.now(UTC).replace(microsecond=0) - 2 * STEP - timedelta(hours=2)

    with AtlasEmulator(
        seed=DEMO_SEED, fleet=FleetConfig.demo(), start_time=first_run_at
    ) as emulator:
        public_key, private_key = emulator.demo_api_key

        def run(key: str = private_key) -> None:
            config = build_config(
                base_url=emulator.base_url,
                projects="*",
                public_key=public_key,
                private_key=key,
            )
            run_pipeline(
                config, history, clock=emulator.clock.now, pipelines_dir=str(folder / "dlt")
            )

        run()
        single_run.parent.mkdir(parents=True)
        shutil.copyfile(history, single_run)

        projects = emulator.store.projects()
        managed_users = [
            (project.id, user.username)
            for project in projects
            for user in emulator.store.users(project.id)
            if user.is_managed_x509
        ]
        stale_project = projects[STALE_PROJECT_INDEX]
        # A user with a few certificates, so that the vanished ones do not swamp the figures.
        deleted_user = next(
            user
            for user in managed_users
            if user[0] != stale_project.id and 2 <= len(emulator.store.certs(*user)) <= 5
        )
        failing_user = next(
            user
            for user in reversed(managed_users)
            if user[0] != stale_project.id and user != deleted_user
        )

        previous = emulator.clock.now()
        emulator.clock.advance(STEP)
        rotate_due_certificates(emulator, managed_users, previous, emulator.clock.now())
        emulator.store.delete_user(*deleted_user)
        run()

        previous = emulator.clock.now()
        emulator.clock.advance(STEP)
        rotate_due_certificates(emulator, managed_users, previous, emulator.clock.now())
        with pytest.raises(RunFailed):
            run(key="not-the-private-key")
        emulator.clock.advance(timedelta(hours=1))
        emulator.faults.add(
            FaultRule(route="database_users", status=403, project_id=stale_project.id)
        )
        emulator.faults.add(
            FaultRule(
                route="certs", status=403, project_id=failing_user[0], username=failing_user[1]
            )
        )
        run()

    return DemoDatabases(history, single_run, first_run_at, stale_project.name)


async def execute_notebook(
    database: Path, figures: Path, now: datetime | None = None
) -> NotebookRun:
    """Run every cell in a python3 kernel of this environment, started in notebooks/ as
    Jupyter starts it, with the database and figure folder passed as the reader would."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in NOTEBOOK_VARIABLES and key != "MPLBACKEND"
    }
    environment["ATLAS_CERTS_DATABASE"] = str(database)
    environment["ATLAS_CERTS_FIGURES"] = str(figures)
    if now is not None:
        environment["ATLAS_CERTS_NOW"] = now.isoformat()
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    try:
        await client.async_execute(env=environment)
    except CellExecutionError as error:
        return NotebookRun(notebook, figures, error)
    return NotebookRun(notebook, figures, None)


def saturated_share(png: Path) -> float:
    """Return the share of pixels with a clear colour, which axes, grid lines and text (black,
    grey, white) do not have, so it measures how much of a figure is data."""
    pixels = matplotlib.image.imread(png)[..., :3]
    return float(np.mean(pixels.max(axis=2) - pixels.min(axis=2) > 0.25))


@pytest.fixture(scope="module")
def demo_databases(tmp_path_factory) -> Iterator[DemoDatabases]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
        yield build_demo_databases(tmp_path_factory.mktemp("databases"))


@pytest.fixture(scope="module")
def notebook_runs(demo_databases, tmp_path_factory) -> dict[str, NotebookRun]:
    """Execute the notebook on both databases and on a missing file, in three kernels at
    once, because kernel start-up and figure rendering take most of this module's time."""
    missing = tmp_path_factory.mktemp("missing")

    async def execute_all() -> list[NotebookRun]:
        return await asyncio.gather(
            # Without ATLAS_CERTS_NOW the views use the real clock: the last run was an hour ago.
            execute_notebook(demo_databases.history, tmp_path_factory.mktemp("history-figures")),
            execute_notebook(
                demo_databases.single_run,
                tmp_path_factory.mktemp("single-run-figures"),
                now=demo_databases.first_run_at + timedelta(hours=1),
            ),
            execute_notebook(missing / "atlas-certs.duckdb", missing / "figures"),
        )

    history, single_run, missing_database = asyncio.run(execute_all())
    return {"history": history, "single_run": single_run, "missing_database": missing_database}


@pytest.fixture(scope="module")
def history_run(notebook_runs) -> NotebookRun:
    return notebook_runs["history"]


@pytest.fixture(scope="module")
def single_run(notebook_runs) -> NotebookRun:
    return notebook_runs["single_run"]


def test_notebook_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]

    assert code_cells
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    for cell in code_cells:
        assert cell.outputs == [], f"cell {cell.id} has outputs; clear them before committing"
        assert cell.execution_count is None, f"cell {cell.id} has an execution count"


def test_notebook_runs_on_history(history_run, demo_databases):
    assert history_run.error is None, (
        f"first run at {demo_databases.first_run_at}: {history_run.error}"
    )


@pytest.mark.parametrize("name", FIGURES)
def test_history_figure_rendered(history_run, name):
    png = history_run.figures / f"{name}.png"

    assert png.is_file(), f"{png} missing; the notebook stopped with {history_run.error}"
    assert png.stat().st_size > 10_000
    assert saturated_share(png) > 0.005, f"{png} shows hardly any data"


def test_history_output_names_failures(history_run, demo_databases):
    output = history_run.text_output()

    failed_runs, stale_projects = output.split("Failed runs:")[-1].split("Stale projects:")
    assert "Atlas rejected the credentials" in failed_runs
    assert demo_databases.stale_project_name in stale_projects
    assert "HTTP 403" in stale_projects


def test_notebook_runs_on_single_run(single_run, demo_databases):
    assert single_run.error is None, (
        f"first run at {demo_databases.first_run_at}: {single_run.error}"
    )
    for name in FIGURES:
        png = single_run.figures / f"{name}.png"
        assert png.is_file(), f"{png} missing"
        assert png.stat().st_size > 10_000


def test_notebook_missing_database_message(notebook_runs):
    run = notebook_runs["missing_database"]
    message = str(run.error)

    assert run.error is not None
    assert "FileNotFoundError" in message
    assert f"database {run.figures.parent / 'atlas-certs.duckdb'} not found" in message
    assert "uv run atlas-certs demo" in message
    assert not run.figures.exists()
