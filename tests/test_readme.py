"""The README stays true: its SQL runs on a real database and it names every command."""

import re
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import build_parser
from pipelines.emulator import AtlasEmulator, FleetConfig
from tests.pipeline_helpers import PipelineRunner

README = Path(__file__).resolve().parent.parent / "README.md"


def _sql_blocks() -> list[str]:
    blocks = re.findall(r"```sql\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    statements = []
    for block in blocks:
        statements += [part.strip() for part in block.split(";") if part.strip()]
    return statements


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("readme")
    with AtlasEmulator(seed=1, fleet=FleetConfig.demo()) as emulator:
        runner = PipelineRunner(emulator, tmp_path)
        runner.run()
    return runner.database


def test_readme_has_sql_for_each_view():
    text = "\n".join(_sql_blocks())
    for view in (
        "certificate_status",
        "expiry_windows",
        "user_certificate_status",
        "certificate_issuance_monthly",
        "certificate_rotations",
        "run_history",
        "project_status",
    ):
        assert f"atlas_certs.{view}" in text


@pytest.mark.parametrize("statement", _sql_blocks(), ids=lambda sql: sql.splitlines()[0][:40])
def test_readme_sql_runs(demo_database, statement):
    with duckdb.connect(str(demo_database), read_only=True) as connection:
        connection.execute(statement).fetchall()


def test_readme_names_every_command():
    text = README.read_text(encoding="utf-8")
    subparsers = next(
        action for action in build_parser()._actions if action.dest == "command"
    )
    for name, parser in subparsers.choices.items():
        assert f"atlas-certs {name}" in text, name
        assert parser.format_help().strip()
        assert "example" in (parser.epilog or "") or name == "emulator", name
