"""The demo's live side (``make demo`` = ``pesquisa demo --open``): a simulated camera (ffmpeg on
loopback), a demo watchlist with a plate and a face of its clip, and ``pesquisa stream run`` as a
child process; alerts arrive; stopping the demo stops every process it started (the runner, the
Ray processes the runner started, ffmpeg) and shows the camera offline."""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.component]  # a skip (no ffmpeg) fails under CI=true


def _wait(what: str, cond, timeout_s: float, every: float = 1.0):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def test_demo_live_camera_alerts_and_stop_leaves_no_process(live_clip, tmp_path, cli_user):
    import psutil

    from jobs.demo import DEMO_CASE, start_live_demo
    from lakehouse import Lakehouse
    from pipelines.live import read_status

    city, video, _clip, events = live_clip
    home = tmp_path / "home"
    lh = Lakehouse(home=home)
    lh.upsert("cameras", city.cameras)
    cli_user(home, role="admin")
    said: list[str] = []
    demo = start_live_demo(home, city, say=said.append, workers=1)
    procs: list[psutil.Process] = []
    try:
        assert demo.camera_id == f"{video.camera_id}-LIVE"
        entries = lh.read("watchlist").to_pylist()
        kinds = {e["kind"] for e in entries}
        assert "plate" in kinds and {e["case_number"] for e in entries} == {DEMO_CASE}
        if any(e.kind == "face" for e in events):
            assert "face" in kinds, "the demo watchlist has a face of the live clip"

        def status():
            return {s["camera_id"]: s for s in read_status(lh, home=home)}.get(demo.camera_id, {})

        _wait("the demo camera live", lambda: status().get("state") == "live", 420)
        _wait("a live alert", lambda: lh.exists("alerts") and lh.count("alerts") > 0, 240)
        runner = psutil.Process(demo.runner.pid)
        procs = [runner, *runner.children(recursive=True), psutil.Process(demo.sim.proc.pid)]
        assert len(procs) >= 3, "the runner, its Ray processes and ffmpeg"
    finally:
        demo.stop()
    _gone, alive = psutil.wait_procs(procs, timeout=60)
    assert not alive, f"left running after the demo stopped: {[(p.pid, p.name()) for p in alive]}"
    assert demo.runner.returncode == 0
    final = {s["camera_id"]: s for s in read_status(lh, home=home)}[demo.camera_id]
    assert final["state"] == "offline"
    alerts = lh.read("alerts").to_pylist()
    assert {a["camera_id"] for a in alerts} == {demo.camera_id}
    # alerts are raised before their micro-batch commits; the rows they name are committed after
    read_ids = set(lh.read("plate_reads", columns=["read_id"])["read_id"].to_pylist())
    sighting_ids = (
        set(lh.read("face_sightings", columns=["sighting_id"])["sighting_id"].to_pylist())
        if lh.exists("face_sightings")
        else set()
    )
    assert {a["read_id"] for a in alerts if a["read_id"]} <= read_ids
    assert {a["sighting_id"] for a in alerts if a["sighting_id"]} <= sighting_ids
