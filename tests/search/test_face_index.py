"""FAISS face index: build, incremental update, deletes, rebuild, recorded version, kinds, filters,
low-quality faces indexed (ranked and filtered by quality, never hidden); face search with real dlib
embeddings of real photos."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import pytest

from pipelines.governance import MissingCaseError, audit_rows
from pipelines.search import FaceIndex
from pipelines.search.filters import RowFilter

from .conftest import CAMERAS, T0, face_hits

RNG = np.random.default_rng(0)


def sightings(n: int, prefix: str, *, searchable=True, cams=("m1", "m2", "p1"), hours0: float = 0, vecs=None):
    vecs = RNG.normal(0, 0.1, (n, 128)).astype(np.float32) if vecs is None else vecs
    rows = [
        {
            "sighting_id": f"{prefix}{i}",
            "camera_id": cams[i % len(cams)],
            "ts": T0 + dt.timedelta(hours=hours0 + i),
            "embedding": vecs[i].tolist(),
            "searchable": searchable,
            "quality": 0.9 if searchable else 0.1,
            "source_uri": f"/v/{prefix}{i}.jpg",
            "offset_s": 0.0,
            "model_version": "test-v1",
            "agency": next(c["agency"] for c in CAMERAS if c["camera_id"] == cams[i % len(cams)]),
        }
        for i in range(n)
    ]
    return vecs, rows


def test_build_update_delete_rebuild(lakehouse):
    lakehouse.append("cameras", CAMERAS)
    v1, r1 = sightings(60, "a")
    vx, rx = sightings(20, "x", searchable=False)
    lakehouse.append("face_sightings", r1)
    lakehouse.append("face_sightings", rx)
    idx = FaceIndex(lakehouse, exact_below=1000)
    s = idx.update()
    assert s["action"] == "built" and s["kind"] == "flat" and s["vectors"] == 80
    st = idx.status()
    assert st["table_version"] == lakehouse.version("face_sightings") and st["vectors"] == 80
    assert (idx.root / "manifest.json").exists() and str(idx.root).endswith("index/faces")
    assert idx.update()["action"] == "current"
    # exact search: a stored vector finds itself first with distance 0 and score 1
    hit = idx.search(v1[7], 3)[0]
    assert hit["sighting_id"] == "a7" and hit["distance"] == 0 and hit["score"] == 1.0
    # faces under the quality floor are still found (ranked, quality shown) ...
    hit = idx.search(vx[3], 1)[0]
    assert hit["sighting_id"] == "x3" and hit["quality"] == pytest.approx(0.1)
    assert len(idx.search(vx[3], 100)) == 80
    # ... and min_quality filters them out
    assert all(not h["sighting_id"].startswith("x") for h in idx.search(vx[3], 100, min_quality=0.5))
    assert len(idx.search(vx[3], 100, min_quality=0.5)) == 60
    assert idx.search(vx[3], 1, RowFilter(cameras=frozenset({"m1"})), min_quality=0.05)[0]["quality"] >= 0.05
    # incremental: new rows only
    v2, r2 = sightings(30, "b", hours0=100)
    lakehouse.append("face_sightings", r2)
    s = idx.update()
    assert s["action"] == "updated" and s["vectors_added"] == 30 and s["vectors"] == 110
    assert idx.search(v2[4], 1)[0]["sighting_id"] == "b4"
    # a delete removes exactly those ids
    lakehouse.table("face_sightings").delete("sighting_id = 'a7'")
    s = idx.update()
    assert s["files_removed"] >= 1 and s["vectors"] == 109
    assert "a7" not in [h["sighting_id"] for h in idx.search(v1[7], 5)]
    # a row re-processed to a lower quality stays, with its new quality
    r_b4 = dict(r2[4], searchable=False, quality=0.1)
    lakehouse.replace("face_sightings", [r_b4], "sighting_id = 'b4'")
    idx.update()
    assert idx.search(v2[4], 1)[0]["sighting_id"] == "b4" and idx.search(v2[4], 1)[0][
        "quality"
    ] == pytest.approx(0.1)
    assert idx.search(v2[4], 1, min_quality=0.5)[0]["sighting_id"] != "b4"
    before = [(h["sighting_id"], h["distance"]) for h in idx.search(v1[3], 10)]
    s = idx.rebuild()
    assert s["action"] == "built" and s["vectors"] == 109 == idx.size
    assert [(h["sighting_id"], h["distance"]) for h in idx.search(v1[3], 10)] == before
    assert len(list(idx.root.glob("index-*.faiss"))) == 1  # old versions cleaned up


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_switches_to_ann_above_threshold_and_filters(lakehouse, kind):
    lakehouse.append("cameras", CAMERAS)
    centers = RNG.normal(0, 0.3, (40, 128)).astype(np.float32)
    vecs = (centers[np.arange(800) % 40] + RNG.normal(0, 0.02, (800, 128))).astype(np.float32)
    _, rows = sightings(800, "c", vecs=vecs)
    lakehouse.append("face_sightings", rows[:300])
    idx = FaceIndex(lakehouse, exact_below=500, kind=kind, nprobe=8)
    assert idx.update()["kind"] == "flat"
    lakehouse.append("face_sightings", rows[300:])
    s = idx.update()
    assert s["kind"] == kind and s["vectors"] == 800 and s["action"] == "rebuilt"
    exact = FaceIndex(lakehouse, root=idx.root.parent / "faces_exact", exact_below=10**9)
    exact.update()
    recall = []
    for q in range(0, 800, 37):
        a = {h["sighting_id"] for h in idx.search(vecs[q], 10)}
        b = {h["sighting_id"] for h in exact.search(vecs[q], 10)}
        recall.append(len(a & b) / 10)
    assert np.mean(recall) >= 0.9
    # filters: time window, cameras, agency scope (exact over the allowed ids)
    start, end = T0 + dt.timedelta(hours=100), T0 + dt.timedelta(hours=200)
    hits = idx.search(vecs[150], 10, RowFilter(start=start, end=end))
    assert len(hits) == 10 and all(start <= h["ts"] < end for h in hits)
    hits = idx.search(vecs[150], 5, RowFilter(cameras=frozenset({"p1"})))
    assert len(hits) == 5 and {h["camera_id"] for h in hits} == {"p1"}
    assert idx.search(vecs[150], 5, RowFilter(cameras=frozenset())) == []


def test_hnsw_deletes_are_tombstones_until_rebuild(lakehouse):
    vecs, rows = sightings(600, "h")
    for i in range(0, 600, 100):  # six files
        lakehouse.append("face_sightings", rows[i : i + 100])
    idx = FaceIndex(lakehouse, exact_below=100, kind="hnsw")
    assert idx.update()["kind"] == "hnsw"
    lakehouse.table("face_sightings").delete("sighting_id = 'h5'")
    s = idx.update()
    assert s["vectors"] == 599 and s["action"] == "updated" and idx.status()["tombstones"] >= 1
    assert "h5" not in {h["sighting_id"] for h in idx.search(vecs[5], 5)}
    assert idx.search(vecs[6], 1)[0]["sighting_id"] == "h6"
    lakehouse.table("face_sightings").delete("sighting_id >= 'h3'")  # most rows: the graph is rebuilt
    s = idx.update()
    assert s["action"] == "rebuilt" and idx.status()["tombstones"] == 0
    left = {r["sighting_id"] for r in rows if r["sighting_id"] < "h3"}
    assert s["vectors"] == len(left) == 223
    found = {h["sighting_id"] for h in idx.search(vecs[1], 300)}
    assert found <= left and len(found) >= 0.95 * len(left)  # HNSW is approximate even at k ~ n


def test_search_by_embedding_is_audited_and_scoped(lakehouse, ctx):
    lakehouse.append("cameras", CAMERAS)
    vecs, rows = sightings(30, "d")
    lakehouse.append("face_sightings", rows)
    hits = face_hits(lakehouse, vecs[4], ctx, k=5)
    assert hits[0]["sighting_id"] == "d4" and len(hits) == 5
    assert {"sighting_id", "score", "ts", "camera_id", "source_uri", "offset_s"} <= set(hits[0])
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    d = hits[1]["distance"]
    assert hits[1]["score"] == pytest.approx(1 / (1 + d), abs=1e-4)
    row = audit_rows(lakehouse)[0]
    assert row["action"] == "faces.search" and row["result_count"] == 5 and row["case_number"] == "C-2024-17"
    municipal = dataclasses.replace(ctx, agency="municipal")
    hits = face_hits(lakehouse, vecs[2], municipal, k=30)  # d2 sits on p1
    assert {h["camera_id"] for h in hits} == {"m1", "m2"} and len(hits) == 20
    with pytest.raises(MissingCaseError):
        face_hits(lakehouse, vecs[4], dataclasses.replace(ctx, case_number=""))
    assert [r["outcome"] for r in audit_rows(lakehouse)] == ["refused", "ok", "ok"]  # refusals are logged


# ------------------------------------------------------------------ real photos, real embeddings
PEOPLE = {
    "obama": ["examples/knn_examples/train/obama/obama.jpg", "examples/knn_examples/train/obama/obama2.jpg"],
    "biden": ["examples/knn_examples/train/biden/biden.jpg", "examples/knn_examples/train/biden/biden2.jpg"],
    "kit_harington": [
        "examples/knn_examples/train/kit_harington/john1.jpeg",
        "examples/knn_examples/train/kit_harington/john2.jpeg",
    ],
    "rose_leslie": [
        "examples/knn_examples/train/rose_leslie/img1.jpg",
        "examples/knn_examples/train/rose_leslie/img2.jpg",
    ],
}


@pytest.fixture(scope="module")
def analyzer():
    from pipelines.faces import FaceAnalyzer

    return FaceAnalyzer(device="cpu")


@pytest.mark.slow
def test_face_search_with_real_photos(lakehouse, ctx, shared_data, analyzer):
    """Sightings carry real 128-d dlib descriptors of real photos; probing with a photo returns
    another photo of the same person first (the probe's own sighting is excluded)."""
    from pipelines.faces import load_image_rgb

    root = shared_data / "faces" / "face_recognition_examples"
    lakehouse.append("cameras", CAMERAS)
    rows, who, emb = [], {}, {}
    for person, files in PEOPLE.items():
        for f in files:
            det = analyzer.probe(load_image_rgb(root / f))
            assert det is not None, f
            emb[f], who[f] = det.embedding, person
            rows.append(
                {
                    "sighting_id": f,
                    "camera_id": "m1",
                    "ts": T0,
                    "embedding": det.embedding.tolist(),
                    "searchable": True,
                    "quality": det.quality,
                    "source_uri": str(root / f),
                    "offset_s": 0.0,
                    "model_version": analyzer.model_version,
                    "agency": "municipal",
                }
            )
    lakehouse.append("face_sightings", rows)
    for f, person in who.items():
        hits = [h for h in face_hits(lakehouse, emb[f], ctx, k=5) if h["sighting_id"] != f]
        assert who[hits[0]["sighting_id"]] == person, (f, hits[0])
        assert hits[0]["distance"] < 0.6 and hits[-1]["distance"] > 0.6
    # the whole path from a photo file: probe -> embedding -> index -> sightings
    probe = PEOPLE["biden"][1]
    hits = face_hits(lakehouse, root / probe, ctx, k=3, analyzer=analyzer)
    assert hits[0]["sighting_id"] == probe and hits[0]["score"] > 0.99
    assert hits[1]["sighting_id"] == PEOPLE["biden"][0]
    blank = np.full((200, 200, 3), 127, np.uint8)
    assert face_hits(lakehouse, blank, ctx, analyzer=analyzer) == []
    last = audit_rows(lakehouse)[0]
    assert last["result_count"] == 0 and json.loads(last["parameters"])["face_found"] is False
