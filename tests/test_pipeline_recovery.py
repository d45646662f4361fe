"""Crashes, locks and concurrent runs: the next run recovers with nothing lost or doubled."""

import subprocess
import sys
import textwrap
from datetime import timedelta

import duckdb
import pytest

from pipelines.emulator import AtlasEmulator, FleetConfig
from pipelines.run import RunFailed, RunLocked, run_lock
from tests.pipeline_helpers import PipelineRunner, truth

REPOSITORY = __import__("pathlib").Path(__file__).resolve().parent.parent


@pytest.fixture
def emulator():
    fleet = FleetConfig(orgs=1, projects=3, users_per_project=8, heavy_users=1)
    with AtlasEmulator(seed=21, fleet=fleet) as emulator:
        emulator.clock.set(emulator.clock.now())
        yield emulator


@pytest.fixture
def runner(emulator, tmp_path):
    return PipelineRunner(emulator, tmp_path)


def _crash_run(emulator, runner, step):
    public_key, private_key = emulator.demo_api_key
    return subprocess.run(
        [
            sys.executable, "-m", "tests.crash_run", emulator.base_url, public_key, private_key,
            str(runner.database), str(runner.tmp_path / "dlt"), step,
        ],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _assert_exact(runner, emulator):
    count, distinct = runner.query(
        "select count(*), count(distinct (project_id, username, cert_id)) "
        "from atlas_certs.certificates"
    )[0]
    assert count == distinct
    assert truth(emulator) <= set(runner.certificates())


@pytest.mark.parametrize("step", ["extract", "normalize", "load"])
def test_sigkill_then_next_run_recovers(emulator, runner, step):
    runner.run()  # an earlier good run, so a crash has data to lose
    before = set(runner.certificates())
    emulator.clock.advance(timedelta(hours=1))
    project = emulator.store.projects()[0]
    user = next(u for u in emulator.store.users(project.id) if u.is_managed_x509)
    added = emulator.store.create_cert(project.id, user.username)

    crashed = _crash_run(emulator, runner, step)
    assert crashed.returncode == -9, crashed.stderr[-2000:]

    report = runner.run()

    assert report.status == "succeeded"
    _assert_exact(runner, emulator)
    assert before <= set(runner.certificates())
    assert (project.id, user.username, added.id) in runner.certificates()
    statuses = runner.query("select status from atlas_certs.runs order by started_at")
    assert statuses[-1] == ("succeeded",)


def test_terminal_load_failure_does_not_wedge(emulator, runner):
    runner.run()
    # A NOT NULL column that the pipeline never fills makes every insert into runs fail.
    with duckdb.connect(str(runner.database)) as connection:
        connection.execute(
            "alter table atlas_certs.runs add column operator_note varchar default 'checked'"
        )
        connection.execute("alter table atlas_certs.runs alter column operator_note set not null")
        connection.execute("alter table atlas_certs.runs alter column operator_note drop default")

    with pytest.raises(RunFailed, match="load"):
        runner.run()

    with duckdb.connect(str(runner.database)) as connection:
        connection.execute("alter table atlas_certs.runs alter column operator_note drop not null")
    report = runner.run()

    assert report.status == "succeeded"
    _assert_exact(runner, emulator)


def test_locked_database_fails_naming_holder(emulator, runner):
    runner.run()
    before = runner.certificates()
    holder = subprocess.Popen(
        [
            sys.executable, "-c",
            textwrap.dedent(f"""
                import duckdb, sys, time
                connection = duckdb.connect({str(runner.database)!r})
                print("locked", flush=True)
                sys.stdin.readline()
            """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunFailed) as raised:
            runner.run(lock_timeout=1)
    finally:
        holder.communicate("\n", timeout=10)

    message = str(raised.value)
    assert str(runner.database) in message
    assert f"PID {holder.pid}" in message
    assert runner.certificates() == before


def test_second_concurrent_run_exits(emulator, runner):
    runner.database.parent.mkdir(parents=True, exist_ok=True)
    with run_lock(runner.database), pytest.raises(RunLocked, match="another atlas-certs run"):
        runner.run()
    assert len(emulator.stats.entries) == 0


def test_pending_package_never_loads_into_other_database(emulator, runner, tmp_path):
    crashed = _crash_run(emulator, runner, "normalize")
    assert crashed.returncode == -9, crashed.stderr[-2000:]
    other = PipelineRunner(emulator, tmp_path / "other")
    other.tmp_path.mkdir()

    report = run_pipeline_in(other, pipelines_dir=runner.tmp_path / "dlt")

    run_ids = {row[0] for row in other.query("select run_id from atlas_certs.runs")}
    assert run_ids == {report.run_id}  # the crashed run's row did not arrive here
    assert set(other.certificates()) == truth(emulator)
    assert not runner.database.exists() or not runner.query(
        "select 1 from information_schema.schemata where schema_name = 'atlas_certs'"
    )


def run_pipeline_in(runner, pipelines_dir):
    from pipelines.run import run_pipeline

    return run_pipeline(
        runner.config(),
        runner.database,
        clock=runner.emulator.clock.now,
        pipelines_dir=str(pipelines_dir),
    )
