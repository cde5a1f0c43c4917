"""Retention erases (issue 12.5): after ``maintain retention`` no file under the home — table data,
``_change_data/``, ``_delta_log/``, derived results, search indexes — holds an expired sighting's id,
embedding bytes or crop bytes, or an expired plate read's id or crop; fresh rows stay searchable;
the audit log's files are untouched."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from lakehouse import Lakehouse, maintenance

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
EXPIRED_TS = NOW - dt.timedelta(days=60)  # faces keep 30 days, plates 180: only faces expire
FRESH_TS = NOW - dt.timedelta(days=2)
OLD_PLATE_TS = NOW - dt.timedelta(days=400)


def _vec(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(128).astype(np.float32)


def _crop(seed: int) -> bytes:  # incompressible, so a copy anywhere is found verbatim
    return b"\xff\xd8\xff\xe0" + np.random.default_rng(1000 + seed).bytes(1500)


def _sightings(ids: list[str], ts: dt.datetime, seeds: list[int]) -> list[dict]:
    return [
        {
            "sighting_id": sid,
            "camera_id": "cam-1",
            "video_id": "v1",
            "source_uri": "/x.mp4",
            "ts": ts,
            "offset_s": float(i),
            "bbox": [0.0, 0.0, 10.0, 10.0],
            "det_score": 0.99,
            "quality": 0.9,
            "searchable": True,
            "embedding": _vec(s).tolist(),
            "crop_jpeg": _crop(s),
            "track_len": 5,
            "model_version": "m1",
            "agency": "municipal",
        }
        for i, (sid, s) in enumerate(zip(ids, seeds, strict=True))
    ]


def _reads(ids: list[str], ts: dt.datetime, seeds: list[int]) -> list[dict]:
    return [
        {
            "read_id": rid,
            "camera_id": "cam-1",
            "video_id": "v1",
            "source_uri": "/x.mp4",
            "ts": ts,
            "offset_s": 1.0,
            "plate": f"ABC{100 + s}",
            "plate_raw": f"ABC{100 + s}",
            "confidence": 0.9,
            "crop_jpeg": _crop(500 + s),
            "track_len": 3,
            "model_version": "m1",
            "agency": "municipal",
        }
        for rid, s in zip(ids, seeds, strict=True)
    ]


def _rid(kind: str, i: int) -> str:
    return hashlib.sha256(f"{kind}-{i}".encode()).hexdigest()[:24]


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _hits(root: Path, patterns: dict[str, bytes]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for p in _files(root):
        data = p.read_bytes()
        for label, pat in patterns.items():
            if pat in data:
                found.setdefault(label, []).append(str(p.relative_to(root)))
    return found


def _digest_tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in _files(root)}


@pytest.fixture
def legacy_home(tmp_path: Path) -> Path:
    """A home whose biometric tables were created the old way (change data feed on), where an old
    retention run already deleted a sighting: its row sits in ``_change_data/``."""
    from deltalake import DeltaTable, write_deltalake

    from lakehouse.specs import spec

    home = tmp_path / "home"
    lh = Lakehouse(home=home)
    for name in ("face_sightings", "plate_reads"):
        s = spec(name)
        DeltaTable.create(
            lh.uri(name),
            schema=s.schema,
            partition_by=list(s.partition_by),
            configuration={"delta.enableChangeDataFeed": "true"},
        )
    rows = _sightings([_rid("legacy", 0)], EXPIRED_TS, [5])
    rows[0]["date"] = EXPIRED_TS.date()
    uri = lh.uri("face_sightings")
    write_deltalake(uri, pa.Table.from_pylist(rows, schema=spec("face_sightings").schema), mode="append")
    DeltaTable(uri).delete(f"sighting_id = '{_rid('legacy', 0)}'")
    assert list(Path(uri).rglob("_change_data/**/*.parquet"))
    return home


def test_retention_erases_every_copy(legacy_home: Path) -> None:
    from pipelines.movement.derived import write_derived
    from pipelines.search.face_index import FaceIndex
    from pipelines.search.plate_index import PlateIndex

    home = legacy_home
    lh = Lakehouse(home=home)
    # ids of random characters: a compressed file cannot hide one behind a back-reference
    expired = [_rid("expired", i) for i in range(3)]
    fresh = [f"FRESH-SIGHTING-{i:04d}" for i in range(3)]
    # expired and fresh rows share a commit and a day partition with each other only partly, so the
    # delete both drops whole files and rewrites mixed ones
    lh.append("face_sightings", _sightings(expired, EXPIRED_TS, [1, 2, 3]))
    lh.append("face_sightings", _sightings(fresh, FRESH_TS, [11, 12, 13]))
    lh.append(
        "face_sightings",
        _sightings([_rid("expired", 3)], FRESH_TS - dt.timedelta(days=40), [4])
        + _sightings(["FRESH-SIGHTING-MIXED"], FRESH_TS, [14]),
    )
    expired.append(_rid("expired", 3))
    old_reads, new_reads = [_rid("read", 1)], ["FRESH-READ-0001"]
    lh.append("plate_reads", _reads(old_reads, OLD_PLATE_TS, [1]) + _reads(new_reads, FRESH_TS, [2]))
    FaceIndex(lh).build()
    PlateIndex(lh).update()
    write_derived(home, "trips", pa.table({"sighting_id": expired}), partition=EXPIRED_TS.date().isoformat())
    write_derived(home, "trips", pa.table({"sighting_id": fresh}), partition=FRESH_TS.date().isoformat())
    # the audit log exists and must not be touched by maintenance
    lh.append("audit_log", [{"audit_id": "a1", "ts": NOW, "user": "u", "action": "face_search"}])
    audit_before = _digest_tree(Path(lh.uri("audit_log").removeprefix("file://")))

    patterns: dict[str, bytes] = {}
    for i, sid in enumerate(expired):
        # the id's tail: snappy may back-reference a first character that follows a length prefix
        patterns[f"id {sid}"] = sid[4:].encode()
        seed = [1, 2, 3, 4][i]
        patterns[f"embedding {sid}"] = _vec(seed).tobytes()[:64]
        patterns[f"crop {sid}"] = _crop(seed)[100:400]
    patterns["id legacy"] = _rid("legacy", 0)[4:].encode()
    patterns["embedding legacy"] = _vec(5).tobytes()[:64]
    patterns["crop legacy"] = _crop(5)[100:400]
    patterns["id expired read"] = old_reads[0][4:].encode()
    patterns["crop expired read"] = _crop(501)[100:400]
    before = _hits(home, patterns)
    # positive control: the scan finds every pattern before retention (table files, index, derived)
    assert set(before) == set(patterns), set(patterns) - set(before)
    assert any("index" in p for p in before[f"embedding {expired[0]}"])

    results = maintenance.retention(lh, {"derived": 30}, now=NOW)
    by = {(r.table, r.action): r.detail for r in results}
    assert by[("face_sightings", "retention")]["deleted"] == 4
    assert by[("plate_reads", "retention")]["deleted"] == 1
    assert by[("derived", "retention")]["deleted_files"] == 1

    files = _files(home)
    left = _hits(home, patterns)
    assert left == {}, left
    print(
        f"retention scan: {len(files)} files, {sum(p.stat().st_size for p in files)} bytes scanned, "
        f"{len(patterns)} patterns, 0 left"
    )
    assert not [p for p in home.rglob("*") if p.is_file() and "_change_data" in p.parts]
    conf = lh.table("face_sightings").metadata().configuration
    assert conf.get("delta.enableChangeDataFeed") == "false"

    # fresh rows are still there and still searchable
    got = lh.table("face_sightings").to_pyarrow_table(columns=["sighting_id"])["sighting_id"].to_pylist()
    assert sorted(got) == sorted([*fresh, "FRESH-SIGHTING-MIXED"])
    hits = FaceIndex(lh).search(_vec(12), k=1)
    assert hits and hits[0]["sighting_id"] == "FRESH-SIGHTING-0001"
    assert PlateIndex(lh).status()["reads"] == 1
    assert _hits(home, {"fresh": b"FRESH-READ-0001"})  # kept in the table and the index
    # the audit log's files are byte for byte as before
    assert _digest_tree(Path(lh.uri("audit_log").removeprefix("file://"))) == audit_before

    # idempotent: a second run erases nothing more and keeps the fresh rows
    again = {(r.table, r.action): r.detail for r in maintenance.retention(lh, {"derived": 30}, now=NOW)}
    assert again[("face_sightings", "retention")]["deleted"] == 0
    assert lh.table("face_sightings").to_pyarrow_table().num_rows == 4


def test_new_biometric_tables_have_no_change_data_feed(tmp_path: Path) -> None:
    lh = Lakehouse(home=tmp_path / "home")
    for name in ("face_sightings", "plate_reads", "alerts", "watchlist"):
        lh.ensure(name)
        assert lh.table(name).metadata().configuration.get("delta.enableChangeDataFeed") == "false", name


def test_cli_maintain_retention_uses_the_home_settings(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    home = tmp_path / "home"
    home.mkdir()
    (home / "pesquisa.yaml").write_text("retention:\n  faces_days: 5\n")
    lh = Lakehouse(home=home)
    now = dt.datetime.now(dt.UTC)
    lh.append(
        "face_sightings",
        _sightings(["old-one"], now - dt.timedelta(days=10), [1])
        + _sightings(["new-one"], now - dt.timedelta(days=1), [2]),
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "jobs.cli",
            "maintain",
            "retention",
            "--home",
            str(home),
            "--json",
            "--table",
            "face_sightings",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    recs = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    faces = [x for x in recs if x["table"] == "face_sightings" and x["action"] == "retention"]
    assert faces and faces[0]["keep_days"] == 5 and faces[0]["deleted"] == 1
    assert {x["table"] for x in recs} == {"face_sightings"}
    ids = Lakehouse(home=home).table("face_sightings").to_pyarrow_table(columns=["sighting_id"])
    assert ids["sighting_id"].to_pylist() == ["new-one"]
    assert not _hits(home, {"old": b"old-one"})


def test_expired_managed_video_is_deleted_external_reported(tmp_path: Path) -> None:
    home = tmp_path / "home"
    lh = Lakehouse(home=home)
    inbox = home / "inbox"
    inbox.mkdir(parents=True)
    managed, external = inbox / "old.mp4", tmp_path / "elsewhere.mp4"
    managed.write_bytes(b"video")
    external.write_bytes(b"video")
    fresh = inbox / "new.mp4"
    fresh.write_bytes(b"video")
    rows = [
        {"video_id": vid, "camera_id": "cam-1", "uri": str(p), "start_ts": ts, "end_ts": ts}
        for vid, p, ts in (
            ("v-old", managed, OLD_PLATE_TS),
            ("v-ext", external, OLD_PLATE_TS),
            ("v-new", fresh, FRESH_TS),
        )
    ]
    lh.append("videos", rows)
    by = {(r.table, r.action): r.detail for r in maintenance.retention(lh, now=NOW)}
    v = by[("videos", "retention")]
    assert v["deleted"] == 2 and v["video_files_deleted"] == 1
    assert v["external_videos_past_retention"] == [str(external)]
    assert not managed.exists() and external.exists() and fresh.exists()
