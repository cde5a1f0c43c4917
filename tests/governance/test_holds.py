"""Legal holds (issue 12.5): held sightings / reads / a camera's time range survive retention and
purge, every copy; once released the next retention erases them. Placing and releasing are audited."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lakehouse import Lakehouse, maintenance
from pipelines.governance.context import SearchContext
from pipelines.governance.holds import HoldError, add_hold, list_holds, release_hold
from pipelines.governance.identity import PermissionDenied
from tests.governance.test_retention_erases import _crop, _hits, _reads, _rid, _sightings

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
OLD = NOW - dt.timedelta(days=400)  # past every default retention


def _ctx(role: str = "supervisor") -> SearchContext:
    return SearchContext(user="sup", role=role, agency="municipal")


def test_held_rows_survive_until_released(tmp_path: Path) -> None:
    home = tmp_path / "home"
    lh = Lakehouse(home=home)
    held_s, free_s = _rid("held-s", 0), _rid("free-s", 0)
    held_r = _rid("held-r", 0)
    lh.append("face_sightings", _sightings([held_s, free_s], OLD, [1, 2]))
    cam_rows = _reads([held_r], OLD, [3])
    for r in cam_rows:
        r["camera_id"] = "cam-held"
    lh.append("plate_reads", cam_rows + _reads([_rid("free-r", 0)], OLD, [4]))
    h1 = add_hold(lh, _ctx(), "C-1", sighting_ids=[held_s], reason="court order")
    h2 = add_hold(
        lh,
        _ctx("investigator"),
        "C-1",
        camera_id="cam-held",
        time_from=OLD - dt.timedelta(hours=1),
        time_to=OLD + dt.timedelta(hours=1),
    )
    assert {h["hold_id"] for h in list_holds(lh, active_only=True)} == {h1["hold_id"], h2["hold_id"]}

    by = {(r.table, r.action): r.detail for r in maintenance.retention(lh, now=NOW)}
    assert by[("face_sightings", "retention")]["deleted"] == 1 and by[("face_sightings", "retention")]["held"]
    assert by[("plate_reads", "retention")]["deleted"] == 1
    left = lh.table("face_sightings").to_pyarrow_table(columns=["sighting_id"])["sighting_id"].to_pylist()
    assert left == [held_s]
    reads = lh.table("plate_reads").to_pyarrow_table(columns=["read_id"])["read_id"].to_pylist()
    assert reads == [held_r]
    gone = _hits(
        home,
        {
            "free sighting": free_s[4:].encode(),
            "free crop": _crop(2)[100:400],
            "free read": _rid("free-r", 0)[4:].encode(),
        },
    )
    assert gone == {}, gone

    # an investigator cannot release; a supervisor can, once
    with pytest.raises(PermissionDenied):
        release_hold(lh, _ctx("investigator"), h1["hold_id"])
    release_hold(lh, _ctx(), h1["hold_id"])
    with pytest.raises(HoldError, match="already released"):
        release_hold(lh, _ctx(), h1["hold_id"])
    maintenance.retention(lh, now=NOW)
    assert lh.table("face_sightings").to_pyarrow_table().num_rows == 0
    left_after = _hits(home, {"held sighting": held_s[4:].encode(), "its crop": _crop(1)[100:400]})
    # the id stays only in the hold's own record and in the audit log (which names, never holds, data)
    assert "its crop" not in left_after
    assert all(
        p.startswith(("tables/holds/", "tables/audit_log/")) for p in left_after.get("held sighting", [])
    )
    assert lh.table("plate_reads").to_pyarrow_table().num_rows == 1  # the camera hold is still active

    rows = lh.table("audit_log").to_pyarrow_table(columns=["action", "outcome"]).to_pylist()
    actions = [r["action"] for r in rows if r["outcome"] == "ok"]
    assert actions.count("holds.add") == 2 and actions.count("holds.release") == 1
    assert [r["action"] for r in rows if r["outcome"] == "refused"] == ["holds.release"]  # the investigator


def test_bad_holds_are_refused(tmp_path: Path) -> None:
    lh = Lakehouse(home=tmp_path / "home")
    with pytest.raises(HoldError, match="name what to hold"):
        add_hold(lh, _ctx(), "C-1")
    with pytest.raises(HoldError, match="time range"):
        add_hold(lh, _ctx(), "C-1", camera_id="cam-1")
    with pytest.raises(HoldError, match="no hold"):
        release_hold(lh, _ctx(), "nope")
    with pytest.raises(PermissionDenied):
        add_hold(lh, _ctx("engineer"), "C-1", read_ids=["r1"])
    assert list_holds(lh) == []


def test_cli_hold_add_list_release(tmp_path: Path, cli_user) -> None:
    home = tmp_path / "home"
    home.mkdir()
    cli_user(home, role="supervisor", agency="municipal")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "jobs.cli", "hold", *args, "--home", str(home), "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    r = cli("add", "--case", "C-9", "--sightings", "s1", "s2", "--reason", "appeal")
    assert r.returncode == 0, r.stderr
    hold = json.loads(r.stdout.splitlines()[0])
    assert hold["sighting_ids"] == ["s1", "s2"]
    r = cli("add", "--case", "C-9", "--camera", "cam-1")
    assert r.returncode == 2 and "time range" in r.stderr
    r = cli("list", "--active")
    assert r.returncode == 0 and hold["hold_id"] in r.stdout
    r = cli("release", hold["hold_id"])
    assert r.returncode == 0, r.stderr
    r = cli("list", "--active")
    assert r.returncode == 0 and hold["hold_id"] not in r.stdout


def test_held_rows_survive_in_derived_files_until_released(tmp_path: Path) -> None:
    """Expired derived results (HOME/derived) keep only their held rows — by id, or by camera and
    time — and lose them at the first retention after the hold is released; the rest is erased."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.movement.derived import write_derived

    home = tmp_path / "home"
    lh = Lakehouse(home=home)
    held_r, free_r, cam_r = _rid("d-held", 0), _rid("d-free", 0), _rid("d-cam", 0)
    day = OLD.date().isoformat()
    rows = pa.table(
        {
            "read_id": [held_r, free_r, cam_r],
            "camera_id": ["cam-1", "cam-1", "cam-held"],
            "ts": pa.array([OLD, OLD, OLD], pa.timestamp("us", tz="UTC")),
            "plate": ["HLD001", "FRE002", "CAM003"],
        }
    )
    sightings = write_derived(home, "daily_sightings", rows, day)
    flows = write_derived(home, "flows", pa.table({"origin": ["a"], "destination": ["b"], "trips": [3]}), day)
    old_mtime = sightings.stat().st_mtime_ns
    h1 = add_hold(lh, _ctx(), "C-2", read_ids=[held_r])
    h2 = add_hold(lh, _ctx(), "C-2", camera_id="cam-held", time_from=OLD - dt.timedelta(hours=1), time_to=OLD)
    by = {r.table: r.detail for r in maintenance.retention(lh, now=NOW, names=["derived"])}
    assert by["derived"]["held_files"] == 1 and by["derived"]["held_rows"] == 2
    assert not flows.exists()  # nothing in it can be held: erased
    assert sorted(pq.read_table(sightings)["read_id"].to_pylist()) == sorted([held_r, cam_r])
    assert sightings.stat().st_mtime_ns == old_mtime  # still expired once the holds are released
    assert _hits(home / "derived", {"free read": free_r.encode(), "free plate": b"FRE002"}) == {}

    release_hold(lh, _ctx(), h1["hold_id"])
    maintenance.retention(lh, now=NOW, names=["derived"])
    assert pq.read_table(sightings)["read_id"].to_pylist() == [cam_r]
    release_hold(lh, _ctx(), h2["hold_id"])
    by = {r.table: r.detail for r in maintenance.retention(lh, now=NOW, names=["derived"])}
    assert by["derived"]["deleted_files"] == 1 and not sightings.exists()
    assert _hits(home, {"held read": held_r.encode(), "camera-held read": cam_r.encode()}).keys() <= {
        "held read",
        "camera-held read",
    }
    left = [p for ps in _hits(home, {"a": held_r.encode(), "b": cam_r.encode()}).values() for p in ps]
    assert all(p.startswith(("tables/holds/", "tables/audit_log/")) for p in left), left
