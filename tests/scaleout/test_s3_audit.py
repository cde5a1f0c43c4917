"""The audit chain on object storage: several writers append to one S3 ``audit_log`` (the table
lock is per process there) and the chain never forks, because each link is committed as exactly the
Delta version it names; a store that stops answering mid-append gives an error and commits nothing."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lakehouse import Lakehouse, StorageConfig
from pipelines.governance.audit_chain import append_chained, verify_chain
from tests.scaleout.components import ComponentUnavailable, s3_server

pytestmark = pytest.mark.component

ROOT = Path(__file__).resolve().parents[2]

_WRITER = """
import sys, json, datetime as dt
from lakehouse import Lakehouse, StorageConfig
from pipelines.governance.audit_chain import append_chained
root, opts, home, tag = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
lh = Lakehouse(StorageConfig(root=root, storage_options=opts), home=home)
for j in range(8):
    append_chained(lh, {"audit_id": f"{tag}-{j}", "ts": dt.datetime.now(dt.UTC), "user": tag,
                        "action": "plates.search", "case_number": "C-1", "result_count": j})
"""


@pytest.fixture(scope="module")
def s3():
    try:
        with s3_server(bucket="audit") as server:
            yield server
    except ComponentUnavailable as exc:
        pytest.skip(str(exc))


def _first(lh: Lakehouse) -> None:
    append_chained(lh, {"audit_id": "first", "ts": dt.datetime.now(dt.UTC), "action": "login"})


def test_two_processes_appending_to_an_s3_audit_log_do_not_fork_the_chain(
    s3, tmp_path: Path, cli_user
) -> None:
    home = tmp_path / "home"
    root = s3.uri("chain")
    lh = Lakehouse(StorageConfig(root=root, storage_options=s3.storage_options), home=home)
    _first(lh)  # creates the table and the home's anchor key before the writers race
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), root, json.dumps(s3.storage_options), str(home), tag],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("A", "B")
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
    rows = lh.read("audit_log", columns=["audit_id", "seq", "delta_version"]).to_pylist()
    assert len(rows) == 17  # nothing lost
    assert sorted(r["seq"] for r in rows) == list(range(1, 18))  # one link per position: no fork
    assert sorted(r["delta_version"] for r in rows) == sorted({r["delta_version"] for r in rows})
    rep = verify_chain(lh)
    assert rep.ok, rep.problems[:5]
    # and the command an auditor runs says so, reading the S3 table by settings only
    cli_user(home, role="admin")
    r = subprocess.run(
        [sys.executable, "-m", "jobs.cli", "--home", str(home), "--json", "audit", "verify"],
        env={
            **env,
            "PESQUISA_TABLES_URI": root,
            "PESQUISA_STORAGE_OPTIONS": json.dumps(s3.storage_options),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(r.stdout)
    assert report["ok"] is True and report["chained"] == 17, r.stdout


def test_store_stalled_during_an_audit_append_is_an_error_and_commits_nothing(s3, tmp_path: Path) -> None:
    opts = {
        **s3.storage_options,
        "timeout": "3s",
        "connect_timeout": "2s",
        "max_retries": "1",
        "retry_timeout": "4s",
    }
    lh = Lakehouse(StorageConfig(root=s3.uri("stall"), storage_options=opts), home=tmp_path / "home")
    _first(lh)
    version = lh.version("audit_log")
    lh.max_retries = 0
    os.kill(s3.proc.pid, signal.SIGSTOP)
    try:
        with pytest.raises(Exception) as err:
            append_chained(lh, {"audit_id": "lost", "ts": dt.datetime.now(dt.UTC), "action": "plates.search"})
    finally:
        os.kill(s3.proc.pid, signal.SIGCONT)
    assert str(err.value)
    assert lh.version("audit_log") == version
    assert lh.read("audit_log", columns=["audit_id"]).column("audit_id").to_pylist() == ["first"]
    # the next append links after the last committed row and the chain verifies
    append_chained(lh, {"audit_id": "next", "ts": dt.datetime.now(dt.UTC), "action": "plates.search"})
    assert verify_chain(lh).ok
