"""The demo job: synthetic city -> cameras, incidents -> ingest every clip -> face index.

Idempotent: the city is generated once under HOME/city; sources already processed with the current
model version are skipped by the extraction library; imports are upserts.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakehouse import Lakehouse
from lakehouse.config import resolve_home


@dataclass
class DemoOptions:
    cameras: int = 6
    minutes: float = 0.5
    seed: int = 7
    incidents: int = 5000
    video: bool = True


def build_demo(home: str | Path, opts: DemoOptions, say: Callable[[str], None] = print) -> dict[str, Any]:
    from pipelines.cameras import import_camera_rows
    from pipelines.governance.signin import demo_home_check
    from pipelines.synth import generate_city, load_manifest

    home_path = resolve_home(home)
    demo_home_check(home_path)  # refuses a home with non-demo data (the demo password is published)
    lh = Lakehouse(home=home_path)
    lh.ensure_all()
    city_dir = home_path / "city"
    if (city_dir / "manifest.json").exists():
        say(f"[1/5] reusing synthetic city at {city_dir}")
        city = load_manifest(city_dir)
    else:
        say(
            f"[1/5] generating synthetic city ({opts.cameras} cameras, {opts.minutes} min each) at {city_dir}"
        )
        city = generate_city(
            city_dir, cameras=opts.cameras, minutes=opts.minutes, seed=opts.seed, incidents=opts.incidents
        )
    summary: dict[str, Any] = {"home": str(home_path), "city": str(city_dir)}

    say("[2/5] loading cameras")
    summary["cameras"] = import_camera_rows(lh, city.cameras)

    say("[3/5] importing incidents")
    if city.incidents_csv:
        from pipelines.crime.importer import import_incidents

        import_incidents(lh, city.abspath(city.incidents_csv))
    summary["incidents"] = lh.count("incidents")

    failed: list[str] = []
    if opts.video:
        from pipelines.extract import ingest_paths

        say(f"[4/5] extracting plates and faces from {len(city.videos)} clips (Ray, CPU/GPU auto)")
        for i, v in enumerate(city.videos, 1):
            say(f"      clip {i}/{len(city.videos)}: {v.path} (camera {v.camera_id})")
            rep = ingest_paths(
                lh, [city.abspath(v.path)], camera_id=v.camera_id, start=v.start_ts, progress=True
            )
            failed += [f"{p}: {why}" for p, why in rep.failed]
        say("[5/5] building the face index")
        from pipelines.search import FaceIndex

        index = FaceIndex.for_home(home_path)
        index.update(lh)
        summary["indexed_faces"] = index.size
        release_compute()
    summary["videos"] = lh.count("videos")
    summary["plate_reads"] = lh.count("plate_reads")
    summary["face_sightings"] = lh.count("face_sightings")
    summary["failed"] = failed
    return summary


def release_compute() -> None:
    """Free the extraction actors and the local Ray (the demo then only serves the app: nothing
    idle may hold ~1.8 GB per model actor)."""
    from pipelines.extract.actors import shutdown_pools

    shutdown_pools()
    try:
        import ray

        if ray.is_initialized():
            ray.shutdown()
    except Exception:  # noqa: BLE001 - Ray never started
        pass


# ------------------------------------------------------------------------------------ live camera
LIVE_SUFFIX = "-LIVE"
DEMO_CASE = "DEMO-LIVE-0001"


@dataclass
class LiveDemo:
    """The demo's simulated live camera (ffmpeg on loopback) and its ``stream run`` process."""

    camera_id: str
    url: str
    sim: Any  # pipelines.live.simulator.SimulatedCamera
    runner: Any  # subprocess.Popen of `pesquisa stream run`
    log_path: Path

    def stop(self, timeout_s: float = 60.0, linger_s: float = 10.0) -> None:
        """Stop the runner (SIGTERM: it commits its last rows and marks the camera offline), then the
        sender. Every process the demo started is gone when this returns: Ray's helper processes
        (agents) that the runner started notice its end only after a while, so any still running
        ``linger_s`` after the runner exited are terminated."""
        import signal
        import subprocess

        import psutil

        helpers: list[psutil.Process] = []
        if self.runner is not None and self.runner.poll() is None:
            try:
                helpers = psutil.Process(self.runner.pid).children(recursive=True)
            except psutil.Error:
                helpers = []
            self.runner.send_signal(signal.SIGTERM)
            try:
                self.runner.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.runner.pid, signal.SIGKILL)
                self.runner.wait(10)
        self.sim.stop()
        _gone, alive = psutil.wait_procs(helpers, timeout=linger_s)
        for p in alive:
            try:
                p.terminate()
            except psutil.Error:
                pass
        _gone, alive = psutil.wait_procs(alive, timeout=10)
        for p in alive:
            try:
                p.kill()
            except psutil.Error:
                pass


def _live_video(city: Any) -> Any:
    """The clip with the most readable plate and face passes (day street first)."""
    from pipelines.live.simulator import readable_events

    def score(v: Any) -> tuple:
        ev = readable_events(city, v.camera_id)
        return (len({e.value for e in ev if e.kind == "face"}) > 0, v.lighting == "day", len(ev))

    return max(city.videos, key=score)


def start_live_demo(
    home: str | Path, city: Any, say: Callable[[str], None] = print, workers: int = 1
) -> LiveDemo:
    """Stream one of the city's clips on loopback as camera ``<CAM>-LIVE``, watch a plate and a face
    of that clip, and start ``pesquisa stream run`` for it (a child process, its log in
    ``HOME/logs/stream.log``)."""
    import subprocess
    import sys

    from pipelines.live.simulator import SimulatedCamera, prepare_clip, readable_events

    home_path = resolve_home(home)
    lh = Lakehouse(home=home_path)
    v = _live_video(city)
    events = readable_events(city, v.camera_id)
    say(f"[live] pre-encoding {v.path} camera-like (1 s keyframes; once)")
    clip = prepare_clip(city.abspath(v.path))
    sim = SimulatedCamera(clip, fps=v.fps, frames=v.frames, events=events).start()
    sim.wait_started()
    cam = dict(city.camera(v.camera_id))
    cam_id = v.camera_id + LIVE_SUFFIX
    cam.update(camera_id=cam_id, name=f"{cam.get('name') or v.camera_id} (live)", stream_uri=sim.url)
    lh.upsert("cameras", [cam])
    sim.stamp(home_path / "live" / "sim" / f"{cam_id}.json")
    say(f"[live] camera {cam_id} streaming {clip.name} in a loop at {sim.url} (MPEG-TS over UDP)")
    entries = demo_watchlist(lh, city, cam, events, say)
    log_dir = home_path / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "stream.log"
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child process
    runner = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jobs.cli",
            "--home",
            str(home_path),
            "stream",
            "run",
            "--camera",
            cam_id,
            "--workers",
            str(workers),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()
    say(
        f"[live] stream run for {cam_id} started (pid {runner.pid}, log {log_path}); "
        f"watchlist: {', '.join(entries) or 'none'}"
    )
    return LiveDemo(cam_id, sim.url, sim, runner, log_path)


def demo_watchlist(
    lh: Lakehouse, city: Any, cam: dict[str, Any], events: list, say: Callable[[str], None]
) -> list[str]:
    """Watch one plate and one face that appear in the live clip (case DEMO-LIVE-0001, owned by the
    camera's agency). Face enrolment loads the face models, so it runs in a short child process:
    the demo holds no model while it serves the app."""
    plates = sorted({e.value for e in events if e.kind == "plate"})
    faces = sorted({e.value for e in events if e.kind == "face"})
    photos = [p for ident in faces[:1] for p in (city.identities.get(ident) or [])[:2]]
    if not plates and not photos:
        return []
    import json
    import subprocess
    import sys

    from pipelines.live.status import home_of

    spec = {
        "home": str(home_of(lh)),
        "agency": cam.get("agency") or "municipal",
        "plates": plates[:1],
        "face_photos": photos,
        "face_label": faces[0] if faces else None,
    }
    proc = subprocess.run(
        [sys.executable, "-m", "jobs.demo", "watchlist", json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        say(f"[live] demo watchlist not created: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
        return []
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _add_demo_watchlist(spec: dict[str, Any]) -> list[str]:
    from pipelines.governance.context import SearchContext
    from pipelines.watchlist.manage import add_face, add_plate

    lh = Lakehouse(home=spec["home"])
    ctx = SearchContext(
        user="demo-supervisor",
        role="supervisor",
        agency=spec["agency"],
        case_number=DEMO_CASE,
        purpose="demo: live alarms on the simulated camera",
    )
    out = []
    for plate in spec["plates"]:
        add_plate(lh, ctx, plate, reason="demo: reported stolen (simulated)", priority=1, historical=False)
        out.append(f"plate {plate}")
    if spec["face_photos"]:
        add_face(
            lh,
            ctx,
            spec["face_photos"],
            reason="demo: wanted person (simulated)",
            priority=1,
            label=spec["face_label"],
            historical=False,
        )
        out.append(f"face {spec['face_label']}")
    return out


if __name__ == "__main__":  # `python -m jobs.demo watchlist SPEC_JSON` (a child of start_live_demo)
    import json
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "watchlist":
        print(json.dumps(_add_demo_watchlist(json.loads(sys.argv[2]))))
    else:
        sys.exit("usage: python -m jobs.demo watchlist SPEC_JSON")
