"""Audit replay (issue 12.3): a case's logged searches re-run against the same table versions (Delta
time travel) reproduce what was seen; rows erased since are reported as erased; replay is itself
audited and works on a closed case."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from jobs.cli import main
from pipelines.governance import SearchContext, audit_rows
from pipelines.governance.cases import close_case, open_case
from pipelines.governance.identity import map_os_user
from pipelines.governance.replay import replay_case
from pipelines.governance.scope import ReadScope
from pipelines.search.plates import PlateQuery, search_plates
from pipelines.search.route import RouteQuery, plate_route

UTC = dt.UTC
T0 = dt.datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
CAMS = [
    {"camera_id": "P1", "agency": "police911", "lat": -25.28, "lon": -57.63},
    {"camera_id": "P2", "agency": "police911", "lat": -25.29, "lon": -57.64},
]
INV = SearchContext(user="ana", role="investigator", agency="police911", case_number="K-1", purpose="robbery")
AUDITOR = SearchContext(user="sara", role="supervisor", agency="police911")
AUDITOR_ALL = SearchContext(user="root", role="admin")


def read(rid: str, minutes: int, cam: str = "P1", plate: str = "ABC123") -> dict:
    return {
        "read_id": rid,
        "camera_id": cam,
        "ts": T0 + dt.timedelta(minutes=minutes),
        "plate": plate,
        "confidence": 0.9,
        "candidates": [{"text": plate, "score": 0.9}],
        "source_uri": "/v.mp4",
        "offset_s": 0.0,
        "model_version": "v1",
        "agency": "police911",
    }


def test_replay_reproduces_then_reports_erased_rows(lakehouse, tmp_path, capsys):
    lh = lakehouse
    lh.append("cameras", CAMS)
    lh.append("plate_reads", [read("r1", 0), read("r2", 30, "P2"), read("r3", 60, plate="XYZ999")])
    open_case(lh, INV, "K-1", "robbery at the bank")
    scope = ReadScope.of(INV, start="2024-05-01", end="2024-05-01")
    first = {h["read_id"] for h in search_plates(lh, PlateQuery("ABC123"), scope).hits}
    steps = [s["read_id"] for s in plate_route(lh, RouteQuery("ABC123"), scope)]
    assert first == {"r1", "r2"} and steps == ["r1", "r2"]
    row = next(r for r in audit_rows(lh, action="plates.search"))
    assert (
        json.loads(row["table_versions"])["plate_reads"] == lh.version("plate_reads") and row["result_digest"]
    )
    # later: more reads arrive, r2 is erased (retention), the case is closed
    lh.append("plate_reads", [read("r4", 45)])
    lh.replace("plate_reads", [], "read_id = 'r2'")
    close_case(lh, INV, "K-1")
    out = replay_case(lh, AUDITOR, "K-1")
    assert [(r["action"], r["status"], r["logged_count"], r["replayed_count"], r["erased"]) for r in out] == [
        ("plates.search", "reproduced", 2, 2, 1),
        ("plates.route", "reproduced", 2, 2, 1),
    ]
    assert audit_rows(lh)[0]["action"] == "audit.replay"  # replay is audited, and writes no search rows
    assert sum(r["action"] == "plates.search" for r in audit_rows(lh)) == 1
    # from the CLI, as a supervisor; an investigator may not replay
    home = str(lh.storage.root).removesuffix("/tables")
    map_os_user(home, "sara", role="supervisor", agency="police911")
    assert main(["--home", home, "--json", "audit", "replay", "K-1"]) == 0
    recs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["status"] for r in recs] == ["reproduced", "reproduced"] and recs[0]["erased"] == 1
    map_os_user(home, "ana", role="investigator", agency="police911")
    assert main(["--home", home, "audit", "replay", "K-1"]) == 3


@pytest.mark.slow
def test_face_search_replayed_from_the_kept_probe(lakehouse, shared_data):
    """A real face search (dlib descriptors of real photos) is replayed from the probe photo kept with
    the case against the pinned face_sightings version; a sighting erased since is reported."""
    from pipelines.faces import load_image_rgb
    from pipelines.search.faces import FaceQuery, default_analyzer, search_faces

    root = shared_data / "faces" / "face_recognition_examples" / "examples" / "knn_examples" / "train"
    photos = sorted(root.glob("*/*.jpg"))[:6]
    assert len(photos) >= 4
    analyzer = default_analyzer()
    rows = []
    for i, f in enumerate(photos):
        det = analyzer.probe(load_image_rgb(f))
        if det is None:
            continue
        rows.append(
            {
                "sighting_id": f"s{i}",
                "camera_id": "P1",
                "ts": T0 + dt.timedelta(minutes=i),
                "embedding": det.embedding.tolist(),
                "searchable": True,
                "quality": det.quality,
                "source_uri": str(f),
                "offset_s": 0.0,
                "model_version": "v1",
                "agency": "police911",
            }
        )
    lakehouse.append("cameras", CAMS)
    lakehouse.append("face_sightings", rows)
    res = search_faces(lakehouse, FaceQuery(image=str(photos[0]), k=3), ReadScope.of(INV), analyzer=analyzer)
    assert res.face_found and res.hits[0]["sighting_id"] == "s0"
    lakehouse.replace("face_sightings", [], "sighting_id = 's0'")  # erased since (retention)
    (out,) = replay_case(lakehouse, AUDITOR, "K-1")
    assert (out["action"], out["status"], out["replayed_count"], out["erased"]) == (
        "faces.search",
        "reproduced",
        3,
        1,
    )


def test_movement_tools_replayed_against_the_versions_they_read(tmp_path):
    """Canvass, convoy, stakeout and crime-series leads are replayed through their own library calls
    on the pinned table versions: reads added since do not change what replay shows, reads erased
    since (retention) are counted as erased, and the digest of the returned plates matches."""
    from lakehouse import Lakehouse
    from pipelines.movement.canvass import canvass
    from pipelines.movement.convoy import convoy
    from pipelines.movement.leads import crime_leads
    from pipelines.movement.scenario import SMALL_CITY, simulate_city
    from pipelines.movement.stakeout import PlaceWindow, stakeout

    lh = Lakehouse(home=tmp_path / "home")
    scn = simulate_city(seed=3, **SMALL_CITY)
    scn.write_to(lh)
    admin = SearchContext(user="ana", role="admin", case_number="K-M", purpose="series")
    open_case(lh, admin, "K-M", "series of robberies")
    scope = ReadScope.of(admin, start=scn.start, end=scn.end)
    cams = ["C0101", "C0102"]
    t0 = scn.start + dt.timedelta(days=1)
    can = canvass(lh, ReadScope.of(admin, start=t0, end=t0 + dt.timedelta(hours=6)), cameras=cams)
    target = scn.truth.convoys[0][0]
    con = convoy(lh, scope, target, window_s=60, min_cameras=3)
    _, wins = scn.truth.stakeouts[0]
    stk = stakeout(lh, ReadScope.of(admin), [PlaceWindow(w.start, w.end, cameras=w.cameras) for w in wins])
    lds = crime_leads(lh, ReadScope.of(admin), incident_ids=scn.truth.crime_series[0][1])
    assert can.rows and con.rows and stk.rows and lds.rows

    # later: a new read of the canvass's top plate in its window; the partner's reads are erased
    top = can.rows[0]["plate"]
    extra = dict(next(r for r in scn.rows if r["plate"] == top and r["camera_id"] in cams), read_id="new-1")
    lh.append("plate_reads", [extra])
    partner, rare = con.rows[0]["plate"], can.rows[-1]["plate"]
    assert top not in (partner, rare)
    t1 = t0 + dt.timedelta(hours=6)
    in_canvass = sum(
        r["plate"] in (partner, rare) and r["camera_id"] in cams and t0 <= r["ts"] < t1 for r in scn.rows
    )
    n_partner = sum(r["plate"] == partner and scn.start <= r["ts"] < scn.end for r in scn.rows)
    lh.replace("plate_reads", [], f"plate IN ('{partner}', '{rare}')")
    close_case(lh, admin, "K-M")

    out = {r["action"]: r for r in replay_case(lh, AUDITOR_ALL, "K-M")}
    assert set(out) == {"plates.canvass", "movement.convoy", "movement.stakeout", "crime.leads"}
    for action, res in (
        ("plates.canvass", can),
        ("movement.convoy", con),
        ("movement.stakeout", stk),
        ("crime.leads", lds),
    ):
        r = out[action]
        assert (r["status"], r["logged_count"], r["replayed_count"]) == (
            "reproduced",
            len(res.rows),
            len(res.rows),
        ), r
    assert out["plates.canvass"]["erased"] == in_canvass > 0  # the erased plates' reads in its window
    assert out["movement.convoy"]["erased"] >= n_partner > 0  # the partner's reads (at least)
    assert audit_rows(lh)[0]["action"] == "audit.replay"


def test_replay_after_a_real_retention_purge(lakehouse):
    """`maintain retention` purges the table versions a search read (their commits and files are
    gone, by design): replay re-runs on the first version kept after the purge and reports the
    rows retention erased as erased, instead of failing."""
    from lakehouse import maintenance

    now = dt.datetime.now(UTC)
    old = dict(read("r-old", 0), ts=now - dt.timedelta(days=400))
    fresh = dict(read("r-new", 0), ts=now - dt.timedelta(days=1))
    lakehouse.append("cameras", CAMS)
    lakehouse.append("plate_reads", [old, fresh])
    open_case(lakehouse, INV, "K-1", "robbery at the bank")
    hits = search_plates(lakehouse, PlateQuery("ABC123"), ReadScope.of(INV)).hits
    assert {h["read_id"] for h in hits} == {"r-old", "r-new"}
    logged = json.loads(audit_rows(lakehouse, action="plates.search")[0]["table_versions"])["plate_reads"]
    maintenance.retention(lakehouse, now=now)
    from deltalake.exceptions import DeltaError

    with pytest.raises(DeltaError):  # the version the search read is gone
        lakehouse.table("plate_reads", logged)
    (out,) = replay_case(lakehouse, AUDITOR, "K-1")
    assert (out["status"], out["logged_count"], out["replayed_count"], out["erased"]) == (
        "partly erased",
        2,
        1,
        1,
    )
    assert "purged by retention" in out["note"] and f"plate_reads v{logged} -> v" in out["note"]
