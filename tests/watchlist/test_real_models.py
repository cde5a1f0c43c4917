"""Real reads and sightings: real photos ingested as stills through the extraction (RapidOCR, MTCNN,
dlib in this process), a plate and a face put on the watchlist, alerts raised over the ingested rows:
exactly one alert each, none on re-processing; historical matching finds the same rows."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from watch_testkit import CAMERAS

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]

PLATE_PHOTO = "eu11.jpg"  # one clean EU plate, BS47040


@pytest.fixture(scope="module")
def ingested(shared_data, tmp_path_factory):
    """(lakehouse, true plate, face examples root, ingest time)."""
    import torch

    from lakehouse import Lakehouse
    from pipelines.extract import ingest_paths
    from pipelines.extract.executors import LocalExecutor
    from pipelines.extract.frames import FrameProcessor

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    plates = shared_data / "plates" / "openalpr_eu"
    faces = shared_data / "faces" / "face_recognition_examples"
    truth = (plates / PLATE_PHOTO.replace(".jpg", ".txt")).read_text().split()[-1]
    lh = Lakehouse(home=tmp_path_factory.mktemp("watch-real"))
    lh.append("cameras", [dict(c, plate_format="EU") for c in CAMERAS])
    executor = LocalExecutor(FrameProcessor(device="cpu"))
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    rep = ingest_paths(
        lh, [plates / PLATE_PHOTO], camera_id="MUN-1", start=t0, progress=False, executor=executor
    )
    assert rep.ok and rep.plate_reads >= 1, rep.failed
    train = faces / "examples" / "knn_examples" / "train"
    rep = ingest_paths(
        lh,
        [train / "obama" / "obama.jpg", train / "biden" / "biden.jpg"],
        camera_id="POL-1",
        start=t0 + dt.timedelta(minutes=1),
        progress=False,
        executor=executor,
    )
    assert rep.ok and rep.face_sightings >= 2, rep.failed
    yield lh, truth, faces, t0
    torch.set_num_threads(threads)


def test_watchlisted_plate_and_face_raise_one_alert_each(ingested):
    from pipelines.governance import SearchContext
    from pipelines.watchlist import list_alerts, raise_alerts
    from pipelines.watchlist.manage import add_face, add_plate

    lh, truth, faces, t0 = ingested
    sup = SearchContext(
        user="sara", role="supervisor", agency="police911", case_number="C-77", purpose="wanted"
    )
    plate = add_plate(lh, sup, truth, reason="stolen", priority=1, fuzzy=0.8)
    face = add_face(
        lh,
        sup,
        [faces / "examples" / "knn_examples" / "test" / "obama1.jpg"],
        reason="arrest warrant",
        label="Barack O.",
        priority=2,
    )
    assert face.entry["photos"] == 1 and face.entry["value"] == "Barack O."

    # historical matching: the rows ingested an hour ago, audited under the entry's case
    assert [h["camera_id"] for h in plate.historical] and {h["camera_id"] for h in plate.historical} == {
        "MUN-1"
    }
    obama_video = _video_of(lh, faces / "examples" / "knn_examples" / "train" / "obama" / "obama.jpg")
    assert [h["video_id"] for h in face.historical] == [obama_video]
    assert face.historical[0]["distance"] <= 0.5
    audit = lh.read("audit_log").to_pylist()
    assert {r["case_number"] for r in audit} == {"C-77"}
    adds = [json.loads(r["parameters"]) for r in audit if r["action"] == "watchlist.add"]
    assert sorted(a["historical_hits"] for a in adds) == sorted([len(plate.historical), 1])

    # the ingested rows, as the live committer would hand them over
    reads, sightings = lh.read("plate_reads"), lh.read("face_sightings")
    alerts = raise_alerts(lh, reads=reads, sightings=sightings)
    by_kind = {a["kind"]: a for a in alerts}
    assert len(alerts) == 2 and set(by_kind) == {"plate", "face"}
    p, f = by_kind["plate"], by_kind["face"]
    assert p["entry_id"] == plate.entry["entry_id"] and p["camera_id"] == "MUN-1" and p["read_id"]
    assert p["crop_jpeg"][:2] == b"\xff\xd8" and p["ts"] == t0
    assert f["entry_id"] == face.entry["entry_id"] and f["camera_id"] == "POL-1" and f["sighting_id"]
    sighting = next(s for s in sightings.to_pylist() if s["sighting_id"] == f["sighting_id"])
    assert (
        sighting["video_id"] == obama_video
        and f["distance"] <= 0.5
        and f["score"] == pytest.approx(1 / (1 + f["distance"]), abs=1e-3)
    )
    assert f["recipients"] == ["police911"] and p["recipients"] == ["police911", "municipal"]
    assert 3500 < p["latency_s"] < 3600 + 600  # rows an hour old
    # the same rows again: nothing new
    assert raise_alerts(lh, reads=reads, sightings=sightings) == []
    mun = SearchContext(user="mario", role="supervisor", agency="municipal")
    assert [a["kind"] for a in list_alerts(lh, mun)] == ["plate"]

    # face alarms keep their own quality floor: the same searchable sighting, scored under the floor
    import pyarrow as pa

    from pipelines.watchlist.config import watchlist_settings
    from pipelines.watchlist.entries import active_entries
    from pipelines.watchlist.matching import face_hits

    cfg = watchlist_settings(lh)
    obama = sightings.filter(pa.compute.equal(sightings["video_id"], obama_video))
    assert face_hits(active_entries(lh), obama, cfg.face_alarm_quality_min, cfg.face_max_distance)
    blurred = obama.set_column(
        obama.schema.get_field_index("quality"),
        "quality",
        pa.array([cfg.face_alarm_quality_min - 0.01] * obama.num_rows, pa.float32()),
    )
    assert all(obama["searchable"].to_pylist())
    assert face_hits(active_entries(lh), blurred, cfg.face_alarm_quality_min, cfg.face_max_distance) == []


def _video_of(lh, path) -> str:
    rows = lh.read("videos", columns=["video_id", "uri"]).to_pylist()
    return next(r["video_id"] for r in rows if r["uri"] and r["uri"].endswith(str(path)))


def test_cli_face_entry_and_csv_import_with_photos(ingested, cli_user, capsys, tmp_path):
    from jobs.cli import main

    lh, truth, faces, _ = ingested
    home = str(lh.storage.root).removesuffix("/tables")
    cli_user(home, role="admin")
    ident = ["--case", "C-78", "--purpose", "wanted person", "--role", "supervisor", "--agency", "municipal"]
    biden = faces / "examples" / "knn_examples" / "train" / "biden" / "biden2.jpg"
    assert (
        main(
            [
                "--home",
                home,
                "--json",
                "watchlist",
                "add",
                "face",
                str(biden),
                "--reason",
                "witness",
                "--covert",
                *ident,
            ]
        )
        == 0
    )
    entry = json.loads(capsys.readouterr().out.strip())
    assert (
        entry["kind"] == "face"
        and entry["photos"] == 1
        and entry["covert"]
        and entry["agency"] == "municipal"
    )
    # the biden still was ingested at a police camera not shared with the municipality: out of scope
    assert entry["historical_hits"] == 0
    no_face = tmp_path / "plate.jpg"
    no_face.write_bytes((faces.parent.parent / "plates" / "openalpr_eu" / PLATE_PHOTO).read_bytes())
    assert main(["--home", home, "watchlist", "add", "face", str(no_face), "--reason", "x", *ident]) == 2
    assert "no face found" in capsys.readouterr().err
    csv = tmp_path / "hotlist.csv"
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "o.jpg").write_bytes(
        (faces / "examples" / "knn_examples" / "train" / "obama" / "obama2.jpg").read_bytes()
    )
    csv.write_text(
        "kind,value,reason,priority,photos\nface,Barack O.,arrest warrant,1,photos/o.jpg\n"
        f"plate,{truth},stolen,2,\n"
    )
    assert main(["--home", home, "--json", "watchlist", "import", str(csv), *ident]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert [(r["kind"], r["value"]) for r in rows] == [("face", "Barack O."), ("plate", truth)]
    assert rows[1]["historical_hits"] == 1  # the plate still at MUN-1, the municipality's own camera
