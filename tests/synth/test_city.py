"""The synthetic city: clips decode as described, the ground truth matches the pixels (plates read
by RapidOCR at their manifest box, faces found by MTCNN at theirs), routes are physically plausible,
and the same seed gives the same city."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path

import av
import numpy as np
import pytest

from pipelines.plates.text import normalize
from pipelines.synth import load_manifest
from pipelines.synth.geo import haversine_m
from pipelines.synth.manifest import save_manifest
from pipelines.synth.plates import FORMATS


def _frames(path: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    out = {}
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i in wanted:
                out[i] = f.to_ndarray(format="rgb24")
            if i >= max(wanted):
                break
    return out


def _crop(img: np.ndarray, box, margin: float) -> np.ndarray:
    _, x1, y1, x2, y2 = box
    mx, my = margin * (x2 - x1), margin * (y2 - y1)
    H, W = img.shape[:2]
    xa, ya = max(0, int(x1 - mx)), max(0, int(y1 - my))
    xb, yb = min(W, int(math.ceil(x2 + mx))), min(H, int(math.ceil(y2 + my)))
    return img[ya:yb, xa:xb]


def _pixels_fill_the_box(img: np.ndarray, box) -> None:
    """The plate's white field (below its blue band, inside its dark border) fills the manifest box
    to within a few pixels: the box is where the plate was drawn."""
    import cv2

    _, x1, y1, x2, y2 = box
    ox, oy = max(0, int(x1 - 0.3 * (x2 - x1))), max(0, int(y1 - 0.3 * (y2 - y1)))
    crop = img[oy : int(y2 + 0.3 * (y2 - y1)), ox : int(x2 + 0.3 * (x2 - x1))]
    mask = (crop.min(axis=2) > 150).astype(np.uint8)
    _, _, st, _ = cv2.connectedComponentsWithStats(mask)
    x, y, w, h = st[1 + int(np.argmax(st[1:, 4])), :4]
    tol = 0.03 * (x2 - x1) + 2
    assert abs(x + ox - x1) <= tol and abs(x + ox + w - x2) <= tol, (box, (x + ox, y + oy, w, h))
    assert abs(y + oy + h - y2) <= tol and y1 < y + oy < y1 + 0.35 * (y2 - y1), (box, (x + ox, y + oy, w, h))


def test_videos_decode_as_described(tiny_city):
    m = tiny_city
    assert len(m.videos) == len(m.cameras) == 3
    for v in m.videos:
        with av.open(str(m.abspath(v.path))) as c:
            s = c.streams.video[0]
            n = sum(1 for _ in c.decode(video=0))
            assert s.codec_context.name == "h264"
            assert (s.width, s.height) == (v.width, v.height) == (1280, 720)
            assert float(s.average_rate) == pytest.approx(v.fps)
        assert n == v.frames == round(v.duration_s * v.fps)
        assert v.start_ts.tzinfo is not None
        assert v.lighting in ("day", "night")
    assert {v.lighting for v in m.videos} == {"day", "night"}


def test_day_plates_read_exactly_at_manifest_box(tiny_city):
    from rapidocr import RapidOCR

    m = tiny_city
    eng = RapidOCR(
        params={
            "Global.use_cls": False,
            "Det.limit_type": "max",
            "Det.limit_side_len": 960,
            "Global.log_level": "error",
        }
    )
    passes = [p for p in m.plate_passes if p.lighting == "day" and p.complete]
    assert len(passes) >= 5
    by_video: dict[str, list] = {}
    for p in passes:
        by_video.setdefault(p.video, []).append(p)
    ok, misses = 0, []
    for video, ps in by_video.items():
        frames = _frames(m.abspath(video), {p.best_box()[0] for p in ps})
        for p in ps:
            box = p.best_box()
            _pixels_fill_the_box(frames[box[0]], box)
            crop = _crop(frames[box[0]], box, 0.15)
            r = eng(crop, use_det=True, use_cls=False, use_rec=True)
            texts = [normalize(t) for t in (r.txts or ())]
            if p.plate in texts or p.plate == "".join(texts):
                ok += 1
            else:
                misses.append((p.plate, texts, p.char_px))
    rate = ok / len(passes)
    print(f"day plate exact-read rate {ok}/{len(passes)} = {rate:.1%}; misses {misses}")
    assert rate >= 0.95, misses


def test_plate_passes_are_consistent(tiny_city):
    m = tiny_city
    regex = {
        k: re.compile("^" + v[0].replace("L", "[A-Z]").replace("D", "[0-9]") + "$")
        for k, v in FORMATS.items()
    }
    for p in m.plate_passes:
        assert regex[p.plate_format].match(p.plate), p.plate
        frames = [b[0] for b in p.boxes]
        assert frames == sorted(frames) and len(set(frames)) == len(frames)
        v = m.video_for(p.camera_id)
        for _, x1, y1, x2, y2 in p.boxes:
            assert 0 <= x1 < x2 <= v.width and 0 <= y1 < y2 <= v.height
        # plate aspect ratio ~3 (slight roll/keystone)
        _, x1, y1, x2, y2 = p.best_box()
        assert 2.3 < (x2 - x1) / (y2 - y1) < 3.6
        assert p.t_start_s == pytest.approx(frames[0] / v.fps, abs=1e-3)
        if p.complete:
            assert p.char_px >= 20


def test_routes_and_convoys_are_plausible(tiny_city):
    m = tiny_city
    cams = {c["camera_id"]: c for c in m.cameras}
    routed = [v for v in m.vehicles if len({s["camera_id"] for s in v["sightings"]}) >= 2]
    assert routed, "some vehicles must be seen at two cameras"
    for v in routed:
        s = v["sightings"]
        for a, b in zip(s, s[1:], strict=False):
            ta, tb = dt.datetime.fromisoformat(a["ts"]), dt.datetime.fromisoformat(b["ts"])
            secs = (tb - ta).total_seconds()
            assert secs > 0
            d = haversine_m(
                cams[a["camera_id"]]["lat"],
                cams[a["camera_id"]]["lon"],
                cams[b["camera_id"]]["lat"],
                cams[b["camera_id"]]["lon"],
            )
            kmh = d / secs * 3.6
            assert 3 < kmh < 90, (v["plate"], kmh)
    # the same plate appears in plate passes at several cameras
    cams_per_plate: dict[str, set] = {}
    for p in m.plate_passes:
        cams_per_plate.setdefault(p.plate, set()).add(p.camera_id)
    assert max(len(c) for c in cams_per_plate.values()) >= 2
    assert m.convoys
    by_id = {v["vehicle_id"]: v for v in m.vehicles}
    assert any(len(c["cameras"]) >= 2 for c in m.convoys)
    for c in m.convoys:
        assert len(c["vehicle_ids"]) >= 2
        first = by_id[c["vehicle_ids"][0]]["sightings"]
        for vid in c["vehicle_ids"][1:]:
            for s in by_id[vid]["sightings"]:
                near = [
                    abs(
                        (
                            dt.datetime.fromisoformat(s["ts"]) - dt.datetime.fromisoformat(f["ts"])
                        ).total_seconds()
                    )
                    for f in first
                    if f["camera_id"] == s["camera_id"]
                ]
                assert near and min(near) < 10


def test_cameras_two_agencies_porticos_and_table_schema(tiny_city, lakehouse):
    import h3

    from lakehouse.specs import CAMERAS

    m = tiny_city
    assert {c["agency"] for c in m.cameras} == {"municipal", "police911"}
    assert any(c["kind"] == "portico" for c in m.cameras)
    assert any(c["kind"] == "street" for c in m.cameras)
    for c in m.cameras:
        assert list(c) == CAMERAS.columns
        assert h3.is_valid_cell(c["h3"]) and h3.get_resolution(c["h3"]) == 9
        lo0, la0, lo1, la1 = m.bbox
        assert lo0 <= c["lon"] <= lo1 and la0 <= c["lat"] <= la1
    lakehouse.append("cameras", m.cameras)
    assert lakehouse.count("cameras") == len(m.cameras)


def test_manifest_round_trip(tiny_city, tmp_path):
    m = tiny_city
    original = (m.root / "manifest.json").read_bytes()
    again = load_manifest(m.root)
    assert again.plate_passes == m.plate_passes
    assert again.face_passes == m.face_passes
    assert again.videos == m.videos
    assert again.cameras == m.cameras and again.vehicles == m.vehicles
    again.root = tmp_path
    save_manifest(again)
    assert (tmp_path / "manifest.json").read_bytes() == original
    assert again.incidents_csv and (m.root / again.incidents_csv).is_file()


def test_same_seed_same_city_and_cli(tmp_path):
    """The CLI and the library with the same seed write the same manifest (and the same clips)."""
    from jobs.cli import main
    from pipelines.synth import generate_city

    args = ["--cameras", "2", "--minutes", "0.04", "--seed", "11", "--incidents", "50"]
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["synth", "city", str(tmp_path / "a"), *args, "--json", "--no-progress"])
    assert rc == 0
    rec = json.loads(buf.getvalue().strip().splitlines()[-1])
    assert rec["cameras"] == 2 and rec["videos"] == 2 and rec["frames"] == 2 * 60
    generate_city(tmp_path / "b", cameras=2, minutes=0.04, seed=11, incidents=50, progress=False)
    a = (tmp_path / "a" / "manifest.json").read_bytes()
    b = (tmp_path / "b" / "manifest.json").read_bytes()
    assert a == b
    ma = load_manifest(tmp_path / "a")
    for v in ma.videos:
        assert (tmp_path / "a" / v.path).read_bytes() == (tmp_path / "b" / v.path).read_bytes()
    generate_city(tmp_path / "c", cameras=2, minutes=0.04, seed=12, incidents=0, progress=False)
    mc = load_manifest(tmp_path / "c")
    assert [p.plate for p in mc.plate_passes] != [p.plate for p in ma.plate_passes]


def test_face_passes_contain_a_face(tiny_city, shared_data):
    import torch
    from facenet_pytorch import MTCNN

    m = tiny_city
    day = [p for p in m.face_passes if p.lighting == "day" and p.face_px >= 40]
    assert len(day) >= 2
    # enrolment photos differ from the pasted one when the identity has several photos
    for p in day:
        enrol = m.identities[p.identity]
        assert all(Path(e).is_file() for e in enrol)
        if len(enrol) > 1 or enrol != [p.source_photo]:
            assert p.source_photo not in enrol
    det = MTCNN(min_face_size=20, keep_all=True, device=torch.device("cpu")).eval()
    found = 0
    by_video: dict[str, list] = {}
    for p in day:
        by_video.setdefault(p.video, []).append(p)
    for video, ps in by_video.items():
        frames = _frames(m.abspath(video), {p.best_box()[0] for p in ps})
        for p in ps:
            box = p.best_box()
            crop = _crop(frames[box[0]], box, 0.6)
            with torch.no_grad():
                boxes, probs = det.detect(crop)
            if boxes is None:
                continue
            # the detected face overlaps the manifest box
            _, x1, y1, x2, y2 = box
            ox, oy = max(0, int(x1 - 0.6 * (x2 - x1))), max(0, int(y1 - 0.6 * (y2 - y1)))
            best = 0.0
            for b, pr in zip(boxes, probs, strict=True):
                bx1, by1, bx2, by2 = b[0] + ox, b[1] + oy, b[2] + ox, b[3] + oy
                iw, ih = max(0, min(x2, bx2) - max(x1, bx1)), max(0, min(y2, by2) - max(y1, by1))
                inter = iw * ih
                iou = inter / ((x2 - x1) * (y2 - y1) + (bx2 - bx1) * (by2 - by1) - inter)
                if pr > 0.9:
                    best = max(best, iou)
            found += best >= 0.4
    print(f"faces found at their manifest box: {found}/{len(day)}")
    assert found / len(day) >= 0.9


def test_without_face_photos_there_are_no_face_passes(tmp_path, monkeypatch):
    from pipelines.synth import generate_city

    empty = tmp_path / "no_shared"
    empty.mkdir()
    monkeypatch.setenv("PESQUISA_SHARED_DATA", str(empty))
    m = generate_city(tmp_path / "city", cameras=2, minutes=0.04, seed=2, incidents=0, progress=False)
    assert m.face_passes == [] and m.identities == {}
    assert any("no face photos" in n for n in m.notes)
    assert m.plate_passes
