"""Commit discipline: failures leave the previous version, concurrent writers lose nothing,
schema evolution adds columns without rewriting data."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse import Lakehouse
from lakehouse import specs as specs_mod

NOW = dt.datetime(2026, 11, 3, 12, tzinfo=dt.UTC)


def _batch(start: int, n: int) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(
        [
            {"audit_id": f"a{start + i}", "ts": NOW + dt.timedelta(minutes=start + i), "action": "test"}
            for i in range(n)
        ]
    )


def test_failure_between_writing_files_and_commit_keeps_previous_version(
    lakehouse: Lakehouse, tmp_path: Path
) -> None:
    lakehouse.append("audit_log", _batch(0, 10))
    before_version = lakehouse.version("audit_log")
    before = lakehouse.read("audit_log").sort_by("audit_id")

    def batches():
        yield _batch(100, 500)  # data files get written for these ...
        yield _batch(600, 500)
        raise RuntimeError("worker died mid-write")  # ... and the commit never happens

    with pytest.raises(Exception, match="worker died"):
        lakehouse.write_stream("audit_log", batches())
    # files were written to the table directory, yet the table is unchanged and readable
    assert lakehouse.version("audit_log") == before_version
    assert lakehouse.read("audit_log").sort_by("audit_id").equals(before)
    # and the next write works normally
    lakehouse.append("audit_log", _batch(2000, 3))
    assert lakehouse.count("audit_log") == 13


def test_two_concurrent_writers_in_threads_lose_no_rows(lakehouse: Lakehouse) -> None:
    lakehouse.ensure("audit_log")
    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        try:
            other = Lakehouse(home=Path(lakehouse.storage.root).parent)
            for j in range(8):
                other.append("audit_log", _batch(offset + j * 10, 10))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k * 1000,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert lakehouse.count("audit_log") == 160


_WRITER = """
import datetime as dt, sys
import pyarrow as pa
from lakehouse import Lakehouse
home, offset = sys.argv[1], int(sys.argv[2])
now = dt.datetime(2026, 11, 3, 12, tzinfo=dt.UTC)
lh = Lakehouse(home=home)
for j in range(6):
    rows = [{"audit_id": f"a{offset + j * 10 + i}", "ts": now, "action": "test"} for i in range(10)]
    lh.append("audit_log", rows)
"""


def test_two_concurrent_writer_processes_lose_no_rows(lakehouse: Lakehouse) -> None:
    lakehouse.ensure("audit_log")
    home = str(Path(lakehouse.storage.root).parent)
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, home, str(k * 1000)], cwd=Path(__file__).parents[2])
        for k in range(2)
    ]
    for p in procs:
        assert p.wait(timeout=180) == 0
    assert lakehouse.count("audit_log") == 120
    ids = lakehouse.read("audit_log", columns=["audit_id"])["audit_id"].to_pylist()
    assert len(set(ids)) == 120


def test_adding_a_column_evolves_schema_without_rewriting_data(
    lakehouse: Lakehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = specs_mod.TABLES["cameras"]
    old_schema = pa.schema([f for f in full.schema if f.name != "shared_with"])
    old_spec = specs_mod.TableSpec(full.name, old_schema, full.key, full.partition_by, full.description)
    monkeypatch.setitem(specs_mod.TABLES, "cameras", old_spec)
    lakehouse.append("cameras", [{"camera_id": "c1", "agency": "municipal", "lat": -25.3}])
    files_before = set(lakehouse.table("cameras").file_uris())
    assert "shared_with" not in lakehouse.read("cameras").schema.names

    monkeypatch.setitem(specs_mod.TABLES, "cameras", full)
    assert lakehouse.evolve("cameras") == ["shared_with"]
    assert set(lakehouse.table("cameras").file_uris()) == files_before  # nothing rewritten
    got = lakehouse.read("cameras").to_pylist()
    assert got == [
        {**{f: None for f in full.schema.names}, "camera_id": "c1", "agency": "municipal", "lat": -25.3}
    ]
    lakehouse.append("cameras", [{"camera_id": "c2", "agency": "police911", "shared_with": ["municipal"]}])
    assert lakehouse.count("cameras") == 2
    assert lakehouse.evolve("cameras") == []
