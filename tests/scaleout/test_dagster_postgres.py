"""Dagster on PostgreSQL, by configuration only: a real PostgreSQL server on loopback, the shipped
``dagster_project/deploy/dagster.yaml``, the real daemon, and a queued backfill that succeeds."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.scaleout.components import ComponentUnavailable, postgres_server, stop

pytestmark = [pytest.mark.component, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pg")
    try:
        with postgres_server(tmp) as server:
            yield server
    except ComponentUnavailable as exc:
        pytest.skip(str(exc))


def test_daemon_runs_a_queued_backfill_on_postgres(pg, tmp_path: Path) -> None:
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(ROOT / "dagster_project" / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
    home = tmp_path / "home"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": str(pg.port),
        "DAGSTER_PG_DB": "postgres",
        "DAGSTER_PG_USER": "postgres",
        "DAGSTER_PG_PASSWORD": "",
        "PESQUISA_HOME": str(home),
        "PYTHONPATH": str(ROOT),
    }
    bindir = Path(sys.executable).parent
    location = ["-m", "tests.scaleout.dagster_pg_location"]
    # the daemon: dequeues runs and drives the backfill (SIGINT reset so SIGTERM stops it)
    daemon = subprocess.Popen(
        [str(bindir / "dagster-daemon"), "run", *location],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        r = subprocess.run(
            [
                str(bindir / "dagster"),
                "job",
                "backfill",
                *location,
                "-j",
                "daily_job",
                "--partitions",
                "2026-11-01,2026-11-02",
                "--noprompt",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert r.returncode == 0, r.stdout[-1500:] + r.stderr[-1500:]

        from dagster import DagsterInstance, DagsterRunStatus

        old = os.environ.get("DAGSTER_HOME")
        os.environ.update({k: env[k] for k in env if k.startswith("DAGSTER_")})
        try:
            instance = DagsterInstance.get()
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            deadline = time.monotonic() + 300
            statuses: list = []
            while time.monotonic() < deadline:
                runs = instance.get_runs()
                statuses = [r.status for r in runs]
                if len(runs) >= 2 and all(
                    s in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE) for s in statuses
                ):
                    break
                assert daemon.poll() is None, daemon.stderr.read()[-2000:] if daemon.stderr else "daemon died"
                time.sleep(2)
            assert len(statuses) == 2 and all(s == DagsterRunStatus.SUCCESS for s in statuses), statuses
            partitions = sorted(r.tags.get("dagster/partition") for r in instance.get_runs())
            assert partitions == ["2026-11-01", "2026-11-02"]
            instance.dispose()
        finally:
            for k in [k for k in env if k.startswith("DAGSTER_")]:
                os.environ.pop(k, None)
            if old is not None:
                os.environ["DAGSTER_HOME"] = old
    finally:
        stop(daemon)
    # the runs really executed the project code against the tables
    from lakehouse import Lakehouse

    ids = sorted(Lakehouse(home=home).read("audit_log", columns=["audit_id"]).column("audit_id").to_pylist())
    assert ids == ["pg-2026-11-01", "pg-2026-11-02"]
