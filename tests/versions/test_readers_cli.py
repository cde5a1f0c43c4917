"""Every reader built on the ReadScope shows each pass once (the current version of each source)
and ``--model-version`` shows another: plate search, route, canvass, movement counts, the Cameras
page's counts."""

from __future__ import annotations

import json

from jobs.cli import main
from lakehouse import Lakehouse
from tests.versions.conftest import START, commit_source

V1, V2 = "m-v1", "m-v2"
CASE = ["--case", "C-9", "--purpose", "versions"]


def _city(home) -> Lakehouse:
    lh = Lakehouse(home=home)
    lh.upsert(
        "cameras",
        [
            {"camera_id": "cam-1", "agency": "municipal", "lat": -25.28, "lon": -57.61, "kind": "street"},
            {"camera_id": "cam-2", "agency": "municipal", "lat": -25.29, "lon": -57.62, "kind": "street"},
        ],
    )
    commit_source(lh, "vidA", "cam-1", V1, [(1.0, "ABC123"), (5.0, "XYZ789")], [(2.0, 1)])
    commit_source(lh, "vidB", "cam-2", V1, [(300.0, "ABC123")], [(4.0, 2)])
    commit_source(lh, "vidA", "cam-1", V2, [(1.0, "ABC123"), (5.0, "XYZ780")], [(2.0, 1)])
    commit_source(lh, "vidB", "cam-2", V2, [(300.0, "ABC123")], [(4.0, 2)])
    return lh


def _json(capsys, home, *argv) -> list[dict]:
    rc = main(["--home", str(home), "--json", *argv])
    out = capsys.readouterr().out
    assert rc == 0, out
    return [json.loads(x) for x in out.splitlines() if x.strip()]


def test_cli_readers_show_each_pass_once(tmp_path, capsys, cli_user) -> None:
    home = tmp_path / "home"
    _city(home)
    cli_user(home, role="admin")
    hits = _json(capsys, home, "plates", "search", "ABC123", *CASE)
    assert sorted((h["camera_id"], h["model_version"]) for h in hits) == [("cam-1", V2), ("cam-2", V2)]
    assert _json(capsys, home, "plates", "search", "XYZ789", *CASE) == []
    old = _json(capsys, home, "plates", "search", "XYZ789", "--model-version", V1, *CASE)
    assert [(h["plate"], h["model_version"]) for h in old] == [("XYZ789", V1)]
    route = _json(capsys, home, "plates", "route", "ABC123", *CASE)
    assert [s["camera_id"] for s in route] == ["cam-1", "cam-2"]
    day = START.date().isoformat()
    canvass = _json(capsys, home, "plates", "canvass", "--camera", "cam-1", "--from", day, "--to", day, *CASE)
    assert sorted(r["plate"] for r in canvass) == ["ABC123", "XYZ780"]
    assert all(r.get("reads", 1) == 1 for r in canvass)
    canvass_v1 = _json(
        capsys,
        home,
        "plates",
        "canvass",
        "--camera",
        "cam-1",
        "--from",
        day,
        "--to",
        day,
        "--model-version",
        V1,
        *CASE,
    )
    assert sorted(r["plate"] for r in canvass_v1) == ["ABC123", "XYZ789"]
    counts = _json(capsys, home, "movement", "counts", "--from", day, "--to", day)
    assert sum(r["reads"] for r in counts) == 3


def test_cameras_page_counts_follow_the_current_version(tmp_path) -> None:
    from app.ui.data import camera_activity
    from pipelines.versions import set_version

    lh = _city(tmp_path / "home")
    act = camera_activity(lh, None).set_index("camera_id")
    assert act.loc["cam-1", "plate_reads"] == 2 and act.loc["cam-2", "plate_reads"] == 1
    assert act.loc["cam-1", "face_sightings"] == 1
    commit_source(lh, "vidC", "cam-2", V2, [(9.0, "NEW111")])  # a new pass: counted once
    set_version(lh, V1, cameras=["cam-1"], by="ops")  # a rollback re-counts (no stale cache)
    act = camera_activity(lh, None).set_index("camera_id")
    assert act.loc["cam-1", "plate_reads"] == 2 and act.loc["cam-2", "plate_reads"] == 2
