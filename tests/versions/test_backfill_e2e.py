"""Real models, real video: ingest with v1, backfill with v2, then every reader returns each pass
once; ``--model-version v1`` still shows v1; a re-process killed between its two table commits leaves
the current version readable; rollback works.

The two clips of a tiny synthetic city (a street camera's plates, a face camera's faces), extracted
in-process (LocalExecutor: no Ray start)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

V1, V2, V3 = "e2e-v1", "e2e-v2", "e2e-v3"
CASE = ["--case", "C-VERS-1", "--purpose", "version test"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from lakehouse import Lakehouse
    from pipelines.batch import registered_sources, reprocess
    from pipelines.extract import ingest_paths
    from pipelines.extract.executors import LocalExecutor
    from pipelines.extract.frames import FrameProcessor
    from pipelines.governance.identity import map_os_user
    from pipelines.synth.city import generate_city

    tmp = tmp_path_factory.mktemp("versions-e2e")
    city = generate_city(
        tmp / "city",
        cameras=2,
        minutes=0.1,
        incidents=0,
        progress=False,
        difficulty="easy",
        fps=10,
        width=640,
        height=360,
    )
    home = tmp / "home"
    lh = Lakehouse(home=home)
    lh.upsert("cameras", city.cameras)
    map_os_user(home, "tester", role="admin", agency=None)  # the OS user running the tests is an admin
    video = city.videos[0]  # a street camera (plates); the other clip is a face camera
    assert any(p.camera_id != video.camera_id for p in city.face_passes)
    executor = LocalExecutor(FrameProcessor(device="cpu"))
    for clip in city.videos:
        rep = ingest_paths(
            lh,
            [city.abspath(clip.path)],
            camera_id=clip.camera_id,
            start=clip.start_ts,
            sample_fps=2.0,
            model_version=V1,
            executor=executor,
            progress=False,
        )
        assert not rep.failed
    assert _rows(lh, "plate_reads", V1) and _rows(lh, "face_sightings", V1)
    days = sorted({clip.start_ts.date() for clip in city.videos})
    bf = reprocess(
        lh,
        registered_sources(lh, days[0], days[-1]),
        model_version=V2,
        executor=executor,
        sample_fps=2.0,
        progress=False,
    )
    assert bf.succeeded == len(city.videos) and bf.lineage and bf.lineage[0]["from_version"] == V1
    return {"city": city, "home": home, "lh": lh, "video": video}


def _cli(capsys, home, *argv) -> list[dict]:
    from jobs.cli import main

    rc = main(["--home", str(home), "--json", *argv])
    out = capsys.readouterr().out
    assert rc == 0, out
    return [json.loads(x) for x in out.splitlines() if x.strip()]


def _rows(lh, table: str, version: str) -> list[dict]:
    return [r for r in lh.read(table).to_pylist() if r["model_version"] == version]


def test_every_reader_returns_each_pass_once(world, capsys) -> None:
    home, lh = world["home"], world["lh"]
    v2 = _rows(lh, "plate_reads", V2)
    assert v2 and len(_rows(lh, "plate_reads", V1)) == len(v2)  # both versions stored
    per_plate = Counter(r["plate"] for r in v2)
    for strategy in ("scan", "index"):
        for plate, n in per_plate.items():
            hits = _cli(capsys, home, "plates", "search", plate, "--strategy", strategy, *CASE)
            assert len(hits) == n and {h["model_version"] for h in hits} == {V2}, (strategy, plate, hits)
    plate = per_plate.most_common(1)[0][0]
    route = _cli(capsys, home, "plates", "route", plate, *CASE)
    assert len(route) == per_plate[plate]
    counts = _cli(
        capsys,
        home,
        "movement",
        "counts",
        "--from",
        world["video"].start_ts.date().isoformat(),
        "--to",
        world["video"].start_ts.date().isoformat(),
    )
    assert sum(r["reads"] for r in counts) == len(v2)
    faces = _rows(lh, "face_sightings", V2)
    assert faces and len(faces) == len(_rows(lh, "face_sightings", V1))  # both versions stored
    # the face camera's clip: a probe cut from a sighting finds each sighting once, under v2 only
    probe = Path(home) / "probe.jpg"
    probe.write_bytes(max(faces, key=lambda r: r["quality"] or 0)["crop_jpeg"])
    hits = _cli(capsys, home, "faces", "search", str(probe), "--k", "50", *CASE)
    keys = [(h["video_id"], h["offset_s"]) for h in hits]
    assert hits and len(keys) == len(set(keys)) and {h["model_version"] for h in hits} == {V2}


def test_model_version_flag_shows_the_old_version(world, capsys) -> None:
    home, lh = world["home"], world["lh"]
    v1 = _rows(lh, "plate_reads", V1)
    plate = Counter(r["plate"] for r in v1).most_common(1)[0][0]
    hits = _cli(capsys, home, "plates", "search", plate, "--model-version", V1, *CASE)
    assert hits and {h["model_version"] for h in hits} == {V1}
    route = _cli(capsys, home, "plates", "route", plate, "--model-version", V1, *CASE)
    assert len(route) == sum(1 for r in v1 if r["plate"] == plate)


KILL = textwrap.dedent("""
    import os, sys
    from lakehouse import Lakehouse
    from lakehouse.store import Lakehouse as LH
    from pipelines.extract import ingest_paths
    from pipelines.extract.executors import LocalExecutor
    from pipelines.extract.frames import FrameProcessor
    import datetime as dt

    real = LH.replace
    def replace(self, name, data, predicate):
        n = real(self, name, data, predicate)
        if name == "plate_reads":
            os._exit(9)  # killed between the plate and the face commit
        return n
    LH.replace = replace
    home, path, cam, start, version = sys.argv[1:]
    ingest_paths(Lakehouse(home=home), [path], camera_id=cam, start=dt.datetime.fromisoformat(start),
                 sample_fps=2.0, model_version=version, executor=LocalExecutor(FrameProcessor(device="cpu")),
                 progress=False)
""")


def test_killed_reprocess_leaves_current_version_and_rollback_works(world, capsys) -> None:
    from pipelines.versions import current_versions

    home, lh, city, video = world["home"], world["lh"], world["city"], world["video"]
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            KILL,
            str(home),
            city.abspath(video.path),
            video.camera_id,
            video.start_ts.isoformat(),
            V3,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(home)},
        timeout=900,
    )
    assert proc.returncode == 9, proc.stderr[-2000:]
    assert _rows(lh, "plate_reads", V3)  # the plates of v3 were committed ...
    assert not _rows(lh, "face_sightings", V3)  # ... the faces never were (the process died first)
    runs = {r["model_version"]: r["status"] for r in lh.read("processing_runs").to_pylist()}
    assert runs[V3] == "running"
    assert set(current_versions(lh).values()) == {V2}  # no switch: v2 stays current
    v2 = _rows(lh, "plate_reads", V2)
    plate = Counter(r["plate"] for r in v2).most_common(1)[0][0]
    hits = _cli(capsys, home, "plates", "search", plate, *CASE)
    assert {h["model_version"] for h in hits} == {V2} and len(hits) == sum(r["plate"] == plate for r in v2)

    # rollback to v1, audited; readers follow; then forward again
    out = _cli(
        capsys,
        home,
        "versions",
        "set",
        "--camera",
        video.camera_id,
        "--model-version",
        V1,
        "--reason",
        "compare",
    )
    assert out[-1]["switched"] == 1
    hits = _cli(capsys, home, "plates", "search", plate, *CASE)
    here = {h["model_version"] for h in hits if h["camera_id"] == video.camera_id}
    assert here == {V1}  # the rolled-back camera shows v1; the other camera's source stays on v2
    assert {h["model_version"] for h in hits if h["camera_id"] != video.camera_id} <= {V2}
    assert any(a["action"] == "versions.set" for a in lh.read("audit_log").to_pylist())
    # v3 never completed: it cannot be made current
    from jobs.cli import main

    assert (
        main(["--home", str(home), "versions", "set", "--camera", video.camera_id, "--model-version", V3])
        == 1
    )
    capsys.readouterr()
    _cli(capsys, home, "versions", "set", "--camera", video.camera_id, "--model-version", V2)
    assert set(current_versions(lh).values()) == {V2}
