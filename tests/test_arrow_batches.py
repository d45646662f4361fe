import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow

from pipelines.arrow_batches import ArrowBatches, arrow_schema
from pipelines.records import certificate_row
from pipelines.settings import CERTIFICATES_TABLE, FETCHES_TABLE

REPOSITORY = Path(__file__).resolve().parents[1]
SEEN_AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _rows(first_id: int, count: int) -> list[dict]:
    items = (
        {
            "_id": cert_id,
            "createdAt": "2026-05-01T00:00:00Z",
            "notAfter": "2026-08-01T00:00:00Z",
            "subject": f"CN=app-{cert_id}",
        }
        for cert_id in range(first_id, first_id + count)
    )
    return [certificate_row(item, "a" * 24, "CN=app", SEEN_AT, "run-1") for item in items]


def _tables(items) -> list[pyarrow.Table]:
    return [item.data for item in items]


def _fetch(username: str | None, count: int | None) -> dict:
    return {
        "run_id": "run-1",
        "scope": "user" if username else "project",
        "project_id": "a" * 24,
        "username": username,
        "status": "ok",
        "http_status": None,
        "error_code": None,
        "reason": None,
        "certificate_count": count,
        "pages": 1 if count else None,
        "fetched_at": SEEN_AT,
    }


def test_full_batch_yields_table():
    batches = ArrowBatches(max_rows=5)

    assert _tables(batches.add(CERTIFICATES_TABLE, _rows(1, 3))) == []
    full = _tables(batches.add(CERTIFICATES_TABLE, _rows(4, 3)))
    rest = _tables(batches.flush())

    assert [table.num_rows for table in full] == [6]
    assert rest == []
    assert full[0].column("cert_id").to_pylist() == list(range(1, 7))


def test_flush_yields_each_table():
    batches = ArrowBatches(max_rows=100)
    assert _tables(batches.add(CERTIFICATES_TABLE, _rows(10, 4))) == []
    assert _tables(batches.add(FETCHES_TABLE, [_fetch(None, None), _fetch("CN=app", 4)])) == []

    flushed = {item.meta.table_name: item.data for item in batches.flush()}

    assert flushed[CERTIFICATES_TABLE].column("cert_id").to_pylist() == [10, 11, 12, 13]
    fetches = flushed[FETCHES_TABLE]
    assert fetches.column("username").to_pylist() == [None, "CN=app"]
    assert fetches.column("certificate_count").to_pylist() == [None, 4]
    assert fetches.schema == arrow_schema(FETCHES_TABLE)
    assert list(batches.flush()) == []


def test_tables_keep_exact_types():
    batches = ArrowBatches(max_rows=1)

    (table,) = _tables(batches.add(CERTIFICATES_TABLE, _rows(2**63 - 1, 1)))

    assert table.schema == arrow_schema(CERTIFICATES_TABLE)
    assert table.schema.field("cert_id").type == pyarrow.int64()
    assert table.column("cert_id").to_pylist() == [2**63 - 1]
    assert table.schema.field("not_after").type == pyarrow.timestamp("us", tz="UTC")
    assert table.column("first_seen_at").to_pylist() == [SEEN_AT]
    assert not table.schema.field("project_id").nullable
    assert table.schema.field("subject").nullable


def test_pyarrow_imported_after_open_pipeline(tmp_path):
    # ARROW_DEFAULT_MEMORY_POOL only works if pyarrow is imported after open_pipeline() sets it.
    script = "\n".join(
        [
            "import sys",
            "from pathlib import Path",
            "import pipelines.commands.run, pipelines.source, pipelines.traversal",
            "from pipelines.run import open_pipeline",
            "assert 'pyarrow' not in sys.modules, 'pyarrow was imported before open_pipeline'",
            f"open_pipeline(Path({str(tmp_path / 'a.duckdb')!r}), {str(tmp_path / 'dlt')!r})",
            "import pyarrow",
            "print(pyarrow.default_memory_pool().backend_name)",
        ]
    )
    environment = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}

    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "system"
