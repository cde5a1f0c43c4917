"""``pesquisa dagster`` starts ``dagster dev`` on 127.0.0.1 with this project's definitions loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_dagster_check_loads_definitions_and_syncs_groups(tmp_path, capsys) -> None:
    from jobs.cli import main
    from lakehouse import Lakehouse
    from pipelines.batch import camera_group

    home = tmp_path / "home"
    cam = {"camera_id": "cam-1", "agency": "municipal", "lat": -25.28, "lon": -57.61}
    Lakehouse(home=home).upsert("cameras", [cam])
    assert main(["--home", str(home), "--json", "dagster", "--check"]) == 0
    rec = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rec["assets"] >= 10 and sorted(rec["camera_groups_added"]) == sorted(
        [camera_group(cam), "unregistered"]
    )
    assert (home / "dagster").is_dir()


@pytest.mark.slow
def test_pesquisa_dagster_serves_the_ui_on_loopback(tmp_path) -> None:
    from jobs.commands.dagster import free_port

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "--home", str(tmp_path / "home"), "dagster", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 240
        body = None
        while time.time() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as r:
                    body = json.loads(r.read())
                    break
            except OSError:
                time.sleep(2)
        assert body is not None, (
            proc.stdout.read().decode(errors="replace")[-3000:] if proc.poll() is not None else "no answer"
        )
        assert "dagster_webserver_version" in body
        query = {
            "query": "{ repositoriesOrError { ... on RepositoryConnection { nodes { name assetNodes "
            "{ assetKey { path } } } } } }"
        }
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/graphql",
            data=json.dumps(query).encode(),
            headers={"Content-Type": "application/json"},
        )
        deadline = time.time() + 120
        keys: set[str] = set()
        while time.time() < deadline and "extracted_video" not in keys:
            with urllib.request.urlopen(req, timeout=30) as r:
                nodes = json.loads(r.read())["data"]["repositoriesOrError"].get("nodes", [])
            keys = {"/".join(a["assetKey"]["path"]) for n in nodes for a in n["assetNodes"]}
            time.sleep(1)
        assert {"extracted_video", "lineage_report", "camera_read_accuracy"} <= keys
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
