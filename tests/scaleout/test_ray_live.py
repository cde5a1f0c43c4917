"""Live cameras on a Ray cluster, by settings only: ``pesquisa stream run`` with ``RAY_ADDRESS``
pointing at a head and a second raylet on loopback (DESIGN.md §13) and the tables on S3 (a moto
server on loopback, ``PESQUISA_TABLES_URI``) reads a real stream (ffmpeg, MPEG-TS over UDP on
loopback), its model actors run on both nodes, and the clip's plates land in the S3
``plate_reads``."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.scaleout.components import ComponentUnavailable, ray_cluster, s3_server, stop

pytestmark = [pytest.mark.component, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def _actor_processes(cluster_tmp: str, node_pid: int) -> dict[str, set[str]]:
    """This cluster's Ray actor processes (titles ``ray::Class...``), by node: ``node2`` when they
    descend from the second raylet's process, ``head`` when they descend from a raylet of this
    cluster (its sockets live under ``cluster_tmp``) that is not the second one. Other sessions'
    Ray processes on the machine are ignored."""
    import psutil

    procs = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        try:
            procs.append((p, " ".join(p.info["cmdline"] or [])))
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    raylets = {p.pid for p, cmd in procs if "/raylet/raylet " in cmd and f"{cluster_tmp}/" in cmd}
    out: dict[str, set[str]] = {"head": set(), "node2": set()}
    for p, cmd in procs:
        if not cmd.startswith("ray::") or "IDLE" in cmd:
            continue
        try:
            up = {a.pid for a in p.parents()}
        except psutil.NoSuchProcess:
            continue
        if node_pid in up:
            out["node2"].add(cmd.split()[0])
        elif up & raylets:
            out["head"].add(cmd.split()[0])
    return out


def test_stream_run_on_a_two_raylet_cluster_lands_rows(tmp_path: Path, cli_user) -> None:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed: the live path streams a real clip over loopback with it")
    from lakehouse import Lakehouse, StorageConfig
    from pipelines.live.simulator import SimulatedCamera, prepare_clip, readable_events
    from pipelines.synth.city import generate_city

    city = generate_city(tmp_path / "city", cameras=1, minutes=0.25, seed=7, incidents=0, progress=False)
    video = city.videos[0]
    events = readable_events(city, video.camera_id)
    plates = {e.value for e in events if e.kind == "plate"}
    assert plates, "the city must have a readable plate pass"
    clip = prepare_clip(city.abspath(video.path))
    home = tmp_path / "home"
    cli_user(home, role="admin")
    stack = contextlib.ExitStack()
    try:
        s3 = stack.enter_context(s3_server(bucket="live"))
        cluster = stack.enter_context(ray_cluster(tmp_path, head_cpus=1))
    except ComponentUnavailable as exc:
        stack.close()
        pytest.skip(str(exc))
    # the tables are on S3 (moto): the runner commits there by settings only
    tables = s3.uri("tables")
    lh = Lakehouse(StorageConfig(root=tables, storage_options=s3.storage_options), home=home)
    sim = SimulatedCamera(clip, fps=video.fps, frames=video.frames, events=events).start()
    proc = None
    try:
        node2, _ = cluster.add_node(num_cpus=1)
        cluster_tmp = str(cluster.temp_dir)
        lh.upsert("cameras", [dict(city.camera(video.camera_id), stream_uri=sim.url)])
        env = {
            **cluster.env,
            "RAY_ADDRESS": cluster.address,
            "PYTHONPATH": str(ROOT),
            "PESQUISA_ACTOR_START_TIMEOUT": "120",
            "PESQUISA_TABLES_URI": tables,
            "PESQUISA_STORAGE_OPTIONS": json.dumps(s3.storage_options),
        }
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jobs.cli",
                "--home",
                str(home),
                "--json",
                "stream",
                "run",
                "--camera",
                video.camera_id,
                "--workers",
                "2",
                "--duration",
                "240",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            start_new_session=True,
        )

        def landed() -> set[str]:
            if not lh.exists("plate_reads"):
                return set()
            t = lh.read("plate_reads", columns=["plate", "candidates"])
            texts = set(t["plate"].to_pylist())
            texts |= {c["text"] for cs in t["candidates"].to_pylist() for c in cs or []}
            return texts & plates

        placed: dict[str, set[str]] = {"head": set(), "node2": set()}
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:
            for k, v in _actor_processes(cluster_tmp, node2.pid).items():
                placed[k] |= v
            if landed() and placed["head"] and placed["node2"]:
                break
            time.sleep(2)
        got = landed()
        proc.send_signal(2)  # Ctrl-C: last commit, camera offline, exit 0
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-3000:]
        assert got, f"no plate of the clip landed; stderr: {err[-2000:]}"
        summary = json.loads([x for x in out.splitlines() if x.startswith("{")][-1])
        assert summary["errors"] == [] and summary["batches"] >= 1
        # the work ran on both raylets: model actors (2, one CPU each) on the head and the second node
        assert placed["head"] and placed["node2"], placed
        reads = lh.read("plate_reads", columns=["read_id", "camera_id"])
        ids = reads["read_id"].to_pylist()
        assert len(ids) == len(set(ids)) and set(reads["camera_id"].to_pylist()) == {video.camera_id}
        assert not (home / "tables").exists()  # nothing went to the local disk
    finally:
        if proc is not None and proc.poll() is None:
            stop(proc)
        sim.stop()
        stack.close()
