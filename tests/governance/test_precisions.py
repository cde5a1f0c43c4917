"""Issue 12's "Precisions", each checked where no other test checks it:

- root (what CI runs as) maps to no user unless the users file lists it in ``os_users``: not by a
  user *named* like the OS account, not through ``$USER`` / ``$LOGNAME``;
- the environment cannot widen an identity (``PESQUISA_*`` identity variables, a users file named
  by a variable, a spoofed ``$USER``);
- the stream job and Dagster act as their named service identities (``svc-stream``,
  ``svc-dagster``), recorded in what they write;
- under ``CI=true`` a skipped test marked ``component`` fails the run (the hook in
  ``tests/conftest.py``, run on a real pytest session).

Masking against the synthetic city's ground-truth boxes is ``test_export.py::
test_masking_against_ground_truth``."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lakehouse import Lakehouse
from pipelines.governance import context_from_env
from pipelines.governance.identity import IdentityError, current_identity, map_os_user, os_user, users_file

REPO = Path(__file__).resolve().parents[2]


def test_root_maps_to_nobody_unless_listed(home, monkeypatch):
    me = os_user()  # root in CI
    # an admin entry NAMED like the OS account, without os_users, maps nobody
    users_file(home).write_text(yaml.safe_dump({"users": {me: {"role": "admin", "name": me}}}))
    with pytest.raises(IdentityError, match="not a known Pesquisa user"):
        current_identity(home)
    # a spoofed $USER / $LOGNAME does not pick another entry's mapping
    map_os_user(home, "ana", role="investigator", agency="police911", os_users=["mallory"])
    for var in ("USER", "LOGNAME", "LNAME", "USERNAME"):
        monkeypatch.setenv(var, "mallory")
    with pytest.raises(IdentityError, match=f"OS user {me!r}"):
        current_identity(home)
    with pytest.raises(IdentityError):
        context_from_env(home=home, environ={"USER": "mallory", "PESQUISA_USER": "ana"})
    # listed explicitly: mapped
    map_os_user(home, "ops", role="engineer", agency="police911", os_users=[me])
    assert current_identity(home).user == "ops"


def test_environment_cannot_widen(home, monkeypatch):
    map_os_user(home, "ana", role="investigator", agency="police911")
    rogue = home.parent / "rogue-users.yaml"
    rogue.write_text(yaml.safe_dump({"users": {"evil": {"role": "admin", "os_users": [os_user()]}}}))
    for env in (
        {"PESQUISA_ROLE": "admin"},
        {"PESQUISA_ROLE": "supervisor"},
        {"PESQUISA_AGENCY": "municipal"},
        {"PESQUISA_USER": "evil"},
    ):
        with pytest.raises(IdentityError):
            context_from_env(home=home, environ=env)
    for var in ("PESQUISA_USERS_FILE", "PESQUISA_APP__USERS_FILE"):
        monkeypatch.setenv(var, str(rogue))
    ctx = context_from_env(home=home, environ={**os.environ})
    assert (ctx.user, ctx.role, ctx.agency) == ("ana", "investigator", "police911")
    assert not ctx.sees_all_agencies


def test_stream_job_writes_as_svc_stream(tmp_path):
    from pipelines.live.commit import MicroBatchCommitter

    lh = Lakehouse(home=tmp_path / "home")
    t0 = dt.datetime(2026, 5, 1, 8, tzinfo=dt.UTC)
    segment = {
        "video_id": "live-cam1-0001",
        "camera_id": "cam1",
        "agency": "police911",
        "uri": "rtsp://127.0.0.1:1/cam1",
        "start_ts": t0,
        "end_ts": t0 + dt.timedelta(seconds=60),
        "fps": 10.0,
        "width": 640,
        "height": 360,
        "frames": None,
        "status": "live",
        "model_version": "live-v1",
    }
    res = MicroBatchCommitter(lh, alerts=False).commit([], [], [segment])
    assert not res.errors, res.errors
    (row,) = lh.read("source_versions").to_pylist()
    assert (row["video_id"], row["kind"], row["switched_by"]) == ("live-cam1-0001", "live", "svc-stream")


def test_dagster_writes_as_svc_dagster(tmp_path):
    """The lineage asset, materialized by Dagster, records the ``svc-dagster`` identity."""
    import dagster as dg

    from dagster_project.defs.quality import lineage_report
    from dagster_project.defs.resources import LakehouseResource
    from tests.versions.conftest import commit_source

    home = tmp_path / "home"
    lh = Lakehouse(home=home)
    commit_source(lh, "vidA", "cam-1", "m-v1", [(1.0, "ABC123"), (5.0, "XYZ789")], [])
    commit_source(lh, "vidA", "cam-1", "m-v2", [(1.0, "ABC123"), (5.0, "XYZ780")], [])
    res = dg.materialize(
        [lineage_report],
        resources={"lakehouse": LakehouseResource(home=str(home))},
        run_config={"ops": {"lineage_report": {"config": {"from_version": "m-v1", "to_version": "m-v2"}}}},
    )
    assert res.success
    rows = lh.read("lineage").to_pylist()
    assert rows and {r["created_by"] for r in rows} == {"svc-dagster"}


def test_skipped_component_test_fails_under_ci(tmp_path):
    """The real hook of ``tests/conftest.py`` on a real pytest session: a ``component`` test that
    skips passes the run normally and FAILS it under ``CI=true``; an unmarked skip never does."""
    (tmp_path / "conftest.py").write_text(
        "from tests.conftest import pytest_runtest_makereport  # noqa: F401\n"
    )
    (tmp_path / "test_probe.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.component\n"
        "def test_needs_a_program():\n"
        "    pytest.skip('program X is not installed')\n\n"
        "def test_plain_skip():\n"
        "    pytest.skip('not relevant here')\n"
    )

    def run(ci: str | None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "CI"}
        env["PYTHONPATH"] = str(REPO)
        if ci is not None:
            env["CI"] = ci
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-o",
                "markers=component: x",
                "--rootdir",
                str(tmp_path),
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )

    normal = run(None)
    assert normal.returncode == 0 and "2 skipped" in normal.stdout, normal.stdout + normal.stderr
    ci = run("true")
    assert ci.returncode == 1, ci.stdout + ci.stderr
    assert "1 failed" in ci.stdout and "1 skipped" in ci.stdout
    assert "needs a real component but skipped under CI=true" in ci.stdout and "program X" in ci.stdout
