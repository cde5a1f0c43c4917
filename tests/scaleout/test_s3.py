"""Tables on object storage, by settings only: a real S3 server (moto) on loopback.

Each test points the project at ``s3://`` through the documented settings
(``PESQUISA_TABLES_URI`` + ``PESQUISA_STORAGE_OPTIONS``) and checks writes, reads, one-commit
replaces, concurrent writers from two processes, the CLI, and what happens when the server dies
mid-commit (a clear error and no partial commit)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse import Lakehouse, StorageConfig
from tests.scaleout.components import ComponentUnavailable, s3_server

pytestmark = pytest.mark.component

T0 = dt.datetime(2026, 11, 3, 12, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def s3():
    try:
        with s3_server() as server:
            yield server
    except ComponentUnavailable as exc:
        pytest.skip(str(exc))


def _reads(n: int, *, offset: int = 0, camera: str = "CAM-S3", version: str = "v1") -> pa.Table:
    rows = []
    for i in range(offset, offset + n):
        rows.append(
            {
                "read_id": f"{camera}-{version}-{i}",
                "camera_id": camera,
                "video_id": f"vid-{camera}",
                "ts": T0 + dt.timedelta(seconds=i),
                "plate": f"AB{i % 1000:03d}CD",
                "plate_raw": f"AB {i % 1000:03d} CD",
                "confidence": 0.9,
                "candidates": [{"text": f"AB{i % 1000:03d}CD", "score": 0.9}],
                "model_version": version,
                "agency": "municipal",
            }
        )
    return pa.Table.from_pylist(rows)


def _lakehouse(s3, prefix: str) -> Lakehouse:
    return Lakehouse(StorageConfig(root=s3.uri(prefix), storage_options=s3.storage_options))


def test_tables_round_trip_and_replace_in_one_commit(s3) -> None:
    lh = _lakehouse(s3, "roundtrip")
    lh.ensure_all()
    assert lh.append("plate_reads", _reads(50)) == 50
    v = lh.version("plate_reads")
    # re-process the source with v2: one commit replaces exactly that source's rows
    lh.replace("plate_reads", _reads(40, version="v2"), predicate="video_id = 'vid-CAM-S3'")
    assert lh.version("plate_reads") == v + 1
    got = lh.read("plate_reads", columns=["read_id", "model_version"])
    assert got.num_rows == 40 and set(got.column("model_version").to_pylist()) == {"v2"}
    # DuckDB and Polars read the same S3 table
    con = lh.duckdb(["plate_reads"])
    assert con.execute("select count(*) from plate_reads where plate like 'AB0%'").fetchall()[0][0] == 40
    assert lh.scan("plate_reads").select("read_id").collect().height == 40


_WRITER = """
import sys, json, datetime as dt
import pyarrow as pa
from lakehouse import Lakehouse, StorageConfig
root, opts, offset = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
lh = Lakehouse(StorageConfig(root=root, storage_options=opts))
t0 = dt.datetime(2026, 11, 3, 12, tzinfo=dt.UTC)
for j in range(6):
    rows = [{"audit_id": f"p{offset}-{j}-{i}", "ts": t0 + dt.timedelta(seconds=i), "action": "test"} for i in range(10)]
    lh.append("audit_log", pa.Table.from_pylist(rows))
"""


def test_concurrent_writers_from_two_processes_lose_no_commits(s3, tmp_path: Path) -> None:
    lh = _lakehouse(s3, "concurrent")
    lh.ensure("audit_log")
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), lh.storage.root, json.dumps(s3.storage_options), str(k)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in (1, 2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-2000:]
    ids = lh.read("audit_log", columns=["audit_id"]).column("audit_id").to_pylist()
    assert len(ids) == 120 and len(set(ids)) == 120  # 2 processes x 6 commits x 10 rows, none lost
    assert lh.version("audit_log") >= 12


def test_cli_on_object_storage_by_settings_only(s3, tmp_path: Path, cli_user) -> None:
    root = s3.uri("cli")
    lh = Lakehouse(StorageConfig(root=root, storage_options=s3.storage_options))
    lh.append("plate_reads", _reads(30, camera="CAM-CLI"))
    cams = tmp_path / "cameras.csv"
    cams.write_text("camera_id,agency,name,lat,lon\nCAM-CLI,municipal,Gate,-34.6,-58.4\n")
    env = {
        **os.environ,
        "PESQUISA_TABLES_URI": root,
        "PESQUISA_STORAGE_OPTIONS": json.dumps(s3.storage_options),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    home = tmp_path / "home"
    home.mkdir()
    cli_user(home, role="admin")

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "jobs.cli", "--home", str(home), "--json", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    r = cli("cameras", "import", str(cams))
    assert r.returncode == 0, r.stderr
    r = cli("cameras", "list")
    assert r.returncode == 0, r.stderr
    assert "CAM-CLI" in r.stdout
    # the tables went to S3, not to the home directory
    assert not (home / "tables" / "cameras").exists()
    assert Lakehouse(StorageConfig(root=root, storage_options=s3.storage_options)).count("cameras") == 1
    # search reads the S3 tables (its index is a local cache under the home)
    r = cli("plates", "search", "AB007CD", "--case", "C-S3", "--purpose", "object storage test")
    assert r.returncode == 0, r.stderr
    hits = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    assert [h["read_id"] for h in hits] == ["CAM-CLI-v1-7"]
    # upkeep and retention run against the S3 tables too
    for job in ("compact", "vacuum", "retention"):
        r = cli("maintain", job)
        assert r.returncode == 0, (job, r.stderr)


def test_server_stalled_mid_commit_gives_clear_error_and_no_partial_commit(s3) -> None:
    """The object store stops answering after data files started: the writer fails with an error
    (not a hang), and once the store answers again the table is exactly as before."""
    import signal

    opts = {
        **s3.storage_options,
        "timeout": "3s",
        "connect_timeout": "2s",
        "max_retries": "1",
        "retry_timeout": "4s",
    }
    lh = Lakehouse(StorageConfig(root=s3.uri("stall"), storage_options=opts))
    lh.append("plate_reads", _reads(10))
    version, before = lh.version("plate_reads"), lh.read("plate_reads").sort_by("read_id")

    def batches():
        yield _reads(200, offset=100).to_batches()[0]
        os.kill(s3.proc.pid, signal.SIGSTOP)  # the store stops answering mid-write
        yield _reads(200, offset=400).to_batches()[0]

    lh.max_retries = 0
    try:
        with pytest.raises(Exception) as err:
            lh.write_stream("plate_reads", batches())
    finally:
        os.kill(s3.proc.pid, signal.SIGCONT)
    assert str(err.value)
    assert lh.version("plate_reads") == version
    assert lh.read("plate_reads").sort_by("read_id").equals(before)
    lh.append("plate_reads", _reads(5, offset=900))  # and the next write works
    assert lh.count("plate_reads") == 15
