"""The search indexes on object storage: with the tables on S3 (a real moto server on loopback) the
face and plate indexes are shared at ``<tables_uri>/_index/<kind>``, each machine keeping a local
cache under its home; the manifest is replaced with a conditional PUT so two writers never lose an
update (the loser retries from the winner's manifest, or fails clearly when out of tries)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lakehouse import Lakehouse, StorageConfig
from lakehouse.object_store import ObjectDir
from pipelines.search import FaceIndex, PlateIndex
from pipelines.search import plate_match as pm
from pipelines.search.filters import RowFilter
from pipelines.search.index_dir import IndexConflict
from tests.scaleout.components import ComponentUnavailable, s3_server

pytestmark = pytest.mark.component

T0 = dt.datetime(2026, 11, 3, 12, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def s3():
    try:
        with s3_server(bucket="idx") as server:
            yield server
    except ComponentUnavailable as exc:
        pytest.skip(str(exc))


def reads(n: int, prefix: str, offset: int = 0) -> list[dict]:
    return [
        {
            "read_id": f"{prefix}{i}",
            "camera_id": "CAM-1",
            "video_id": f"vid-{prefix}",
            "ts": T0 + dt.timedelta(seconds=i),
            "plate": f"{prefix[:2].upper()}{i:03d}XY",
            "confidence": 0.9,
            "candidates": [{"text": f"{prefix[:2].upper()}{i:03d}XY", "score": 0.9}],
            "model_version": "v1",
            "agency": "municipal",
        }
        for i in range(offset, offset + n)
    ]


def faces(n: int, prefix: str, seed: int) -> tuple[np.ndarray, list[dict]]:
    vecs = np.random.default_rng(seed).normal(0, 0.1, (n, 128)).astype(np.float32)
    rows = [
        {
            "sighting_id": f"{prefix}{i}",
            "camera_id": "CAM-1",
            "ts": T0 + dt.timedelta(minutes=i),
            "embedding": vecs[i].tolist(),
            "searchable": True,
            "quality": 0.9,
            "model_version": "v1",
            "agency": "municipal",
        }
        for i in range(n)
    ]
    return vecs, rows


def machine(s3, prefix: str, home: Path, **settings: object) -> Lakehouse:
    """One machine of a deployment: its own home (settings, index cache), the shared S3 tables."""
    home.mkdir(parents=True, exist_ok=True)
    if settings:
        (home / "pesquisa.yaml").write_text(json.dumps({"storage": settings}))
    return Lakehouse(StorageConfig(root=s3.uri(prefix), storage_options=s3.storage_options), home=home)


def remote(s3, prefix: str, kind: str) -> ObjectDir:
    return ObjectDir(f"{s3.uri(prefix)}/_index/{kind}", s3.storage_options)


def plate_ids(idx: PlateIndex, text: str) -> list[str]:
    hits, _ = idx.search(pm.parse_pattern(text, 0), RowFilter(), None)
    return [h["read_id"] for h in hits]


def test_indexes_live_on_object_storage_with_a_local_cache_per_machine(s3, tmp_path: Path) -> None:
    a = machine(s3, "shared", tmp_path / "a")
    b = machine(s3, "shared", tmp_path / "b")
    a.append("plate_reads", reads(40, "ab"))
    vecs, rows = faces(50, "f", seed=1)
    a.append("face_sightings", rows)

    # machine A builds both indexes: the files and the manifest go to S3, A's home is the cache
    assert PlateIndex(a).update()["action"] == "built"
    assert FaceIndex(a, exact_below=1000).update()["vectors"] == 50
    for kind in ("plates", "faces"):
        r = remote(s3, "shared", kind)
        got = r.get("manifest.json")
        assert got is not None, kind
        m = json.loads(got[0])
        stored = set(r.names(""))
        # exactly the current version is stored: no orphan of an older or a lost version
        named = PlateIndex(a)._files(m) if kind == "plates" else FaceIndex(a)._files(m)
        assert {n.split("/")[0] for n in stored} == named | {"manifest.json"}
        assert (tmp_path / "a" / "index" / kind).is_dir()
    assert not (tmp_path / "b" / "index").exists()

    # machine B, with an empty cache, reads the same index (fetched once into its cache)
    assert plate_ids(PlateIndex(b), "AB007XY") == ["ab7"]
    assert FaceIndex(b).search(vecs[7], 1)[0]["sighting_id"] == "f7"
    assert any((tmp_path / "b" / "index" / "plates").glob("seg-*"))

    # B updates after new rows; A sees B's version without rebuilding anything itself
    b.append("plate_reads", reads(10, "cd"))
    v2, rows2 = faces(5, "g", seed=2)
    b.append("face_sightings", rows2)
    assert PlateIndex(b).update()["action"] == "updated"
    assert FaceIndex(b).update()["vectors"] == 55
    assert plate_ids(PlateIndex(a), "CD003XY") == ["cd3"]
    assert FaceIndex(a).search(v2[3], 1)[0]["sighting_id"] == "g3"
    assert PlateIndex(a).status()["table_version"] == a.version("plate_reads")
    # the replaced version's files are gone from S3
    m = json.loads(remote(s3, "shared", "plates").get("manifest.json")[0])  # type: ignore[index]
    stored = {n.split("/")[0] for n in remote(s3, "shared", "plates").names("")}
    assert stored == PlateIndex(a)._files(m) | {"manifest.json"}
    # and A's cache holds only the current version (the one it replaced was pruned on fetch)
    cached = {p.name for p in (tmp_path / "a" / "index" / "plates").iterdir() if not p.name.startswith(".")}
    assert cached == PlateIndex(a)._files(m)

    # retention on the S3 tables erases rows from the shared index too
    a.table("plate_reads").delete("read_id = 'cd3'")
    PlateIndex(a).update()
    assert plate_ids(PlateIndex(b), "CD003XY") == []


def test_a_writer_that_loses_the_conditional_put_retries_from_the_winners_manifest(
    s3, tmp_path: Path, monkeypatch
) -> None:
    a = machine(s3, "race", tmp_path / "a")
    b = machine(s3, "race", tmp_path / "b")
    a.append("plate_reads", reads(20, "ab"))
    PlateIndex(a).update()
    a.append("plate_reads", reads(20, "cd"))

    # A's commit is interleaved: right before A's manifest PUT, B commits its own update
    real_put = ObjectDir.put
    raced: list[str] = []

    def put(self, name, body, **kw):
        if name == "manifest.json" and not raced and self.storage_options is a.storage.storage_options:
            raced.append("b")
            b.append("plate_reads", reads(20, "ef"))
            assert PlateIndex(b).update()["action"] == "updated"
        return real_put(self, name, body, **kw)

    monkeypatch.setattr(ObjectDir, "put", put)
    res = PlateIndex(a).update()
    assert raced == ["b"]
    # A lost the first PUT, started over from B's manifest, and committed on top of it
    assert res["action"] in ("updated", "current")
    idx = PlateIndex(b)
    assert idx.status()["table_version"] == b.version("plate_reads")
    for text, rid in (("AB004XY", "ab4"), ("CD005XY", "cd5"), ("EF006XY", "ef6")):
        assert plate_ids(idx, text) == [rid]
    stored = {n.split("/")[0] for n in remote(s3, "race", "plates").names("")}
    m = json.loads(remote(s3, "race", "plates").get("manifest.json")[0])  # type: ignore[index]
    assert stored == idx._files(m) | {"manifest.json"}  # the loser's uploads were removed


def test_a_writer_holding_an_older_table_snapshot_does_not_undo_a_newer_index(s3, tmp_path: Path) -> None:
    """Writer A read the table, then B appended and indexed the newer version before A committed:
    A must not index its older snapshot over B's (that would mark B's file deleted: a lost update)."""
    from pipelines.search.delta_files import snapshot

    a = machine(s3, "stale", tmp_path / "a")
    b = machine(s3, "stale", tmp_path / "b")
    a.append("plate_reads", reads(10, "ab"))
    stale = snapshot(a, "plate_reads")
    b.append("plate_reads", reads(10, "cd"))
    PlateIndex(b).update()
    PlateIndex(a).update(snap=stale)
    idx = PlateIndex(b)
    assert idx.status()["table_version"] == b.version("plate_reads")
    assert plate_ids(idx, "CD004XY") == ["cd4"] and plate_ids(idx, "AB004XY") == ["ab4"]


def test_out_of_tries_is_a_clear_error_and_nothing_is_committed(s3, tmp_path: Path, monkeypatch) -> None:
    a = machine(s3, "tries", tmp_path / "a", index_commit_attempts=1)
    b = machine(s3, "tries", tmp_path / "b")
    vecs, rows = faces(30, "f", seed=3)
    a.append("face_sightings", rows)
    FaceIndex(b).update()
    before = remote(s3, "tries", "faces").get("manifest.json")
    a.append("face_sightings", faces(4, "h", seed=4)[1])
    real_put = ObjectDir.put

    def put(self, name, body, **kw):
        if name == "manifest.json" and self.storage_options is a.storage.storage_options:
            b.append("face_sightings", faces(3, "k", seed=5)[1])
            FaceIndex(b).update()
        return real_put(self, name, body, **kw)

    monkeypatch.setattr(ObjectDir, "put", put)
    with pytest.raises(IndexConflict, match="another writer"):
        FaceIndex(a).update()
    after = remote(s3, "tries", "faces").get("manifest.json")
    assert after is not None and before is not None and after[1] != before[1]
    m = json.loads(after[0])
    assert m["ntotal"] == 37  # B's update stands whole
    stored = {n.split("/")[0] for n in remote(s3, "tries", "faces").names("")}
    assert stored == FaceIndex(b)._files(m) | {"manifest.json"}


_WRITER = """
import sys, json, datetime as dt
from lakehouse import Lakehouse, StorageConfig
from pipelines.search import PlateIndex
root, opts, home, tag = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
lh = Lakehouse(StorageConfig(root=root, storage_options=opts), home=home)
t0 = dt.datetime(2026, 11, 3, 12, tzinfo=dt.UTC)
for j in range(5):
    rows = [{"read_id": f"{tag}{j}-{i}", "camera_id": "CAM-1", "ts": t0 + dt.timedelta(seconds=i),
             "plate": f"{tag}{j}{i:03d}Z", "candidates": [{"text": f"{tag}{j}{i:03d}Z", "score": 0.9}],
             "model_version": "v1", "agency": "municipal"} for i in range(20)]
    lh.append("plate_reads", rows)
    print(json.dumps(PlateIndex(lh).update()), flush=True)
"""


def test_two_processes_updating_one_shared_index_lose_nothing(s3, tmp_path: Path) -> None:
    lh = machine(s3, "procs", tmp_path / "check")
    lh.ensure("plate_reads")
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(script),
                lh.storage.root,
                json.dumps(s3.storage_options),
                str(tmp_path / t),
                t,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for t in ("PA", "QB")
    ]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
        assert len(out.splitlines()) == 5
    idx = PlateIndex(lh)
    st = idx.status()
    assert st["reads"] == 200 and st["table_version"] == lh.version("plate_reads")
    for tag in ("PA", "QB"):
        for j in range(5):
            assert plate_ids(idx, f"{tag}{j}007Z") == [f"{tag}{j}-7"]


def test_store_stalled_mid_update_is_a_clear_error_and_the_index_stays_as_it_was(
    s3, tmp_path: Path, monkeypatch
) -> None:
    import signal

    from lakehouse.object_store import ObjectStoreError

    opts = {**s3.storage_options, "timeout": "3s", "connect_timeout": "2s", "max_retries": "1"}
    a = Lakehouse(StorageConfig(root=s3.uri("stall"), storage_options=opts), home=tmp_path / "a")
    a.append("plate_reads", reads(20, "ab"))
    PlateIndex(a).update()
    before = remote(s3, "stall", "plates").get("manifest.json")
    a.append("plate_reads", reads(20, "cd"))
    real_upload = ObjectDir.upload

    def upload(self, local, name):  # the store stops answering as the new files go up
        os.kill(s3.proc.pid, signal.SIGSTOP)
        return real_upload(self, local, name)

    monkeypatch.setattr(ObjectDir, "upload", upload)
    try:
        with pytest.raises(ObjectStoreError, match="failed"):
            PlateIndex(a).update()
    finally:
        os.kill(s3.proc.pid, signal.SIGCONT)
    monkeypatch.undo()
    assert remote(s3, "stall", "plates").get("manifest.json") == before  # nothing committed
    assert plate_ids(PlateIndex(a), "AB004XY") == ["ab4"] and plate_ids(PlateIndex(a), "CD004XY") == []
    assert PlateIndex(a).update()["action"] == "updated"  # the next update completes
    assert plate_ids(PlateIndex(a), "CD004XY") == ["cd4"]


def test_objects_left_by_a_dead_writer_are_collected_after_the_grace_period(
    s3, tmp_path: Path, monkeypatch
) -> None:
    from pipelines.search import index_dir

    a = machine(s3, "orphans", tmp_path / "a")
    a.append("plate_reads", reads(10, "ab"))
    PlateIndex(a).update()
    r = remote(s3, "orphans", "plates")
    r.put("seg-000042-deadbeef/keys.npy", b"left by a writer that died", create_only=True)
    a.append("plate_reads", reads(10, "cd"))
    PlateIndex(a).update()
    assert r.names("seg-000042-deadbeef"), "younger than the grace period: kept"
    monkeypatch.setattr(index_dir, "ORPHAN_GRACE_S", 0.0)
    a.append("plate_reads", reads(10, "ef"))
    PlateIndex(a).update()
    assert not r.names("seg-000042-deadbeef")
    m = json.loads(r.get("manifest.json")[0])  # type: ignore[index]
    assert {n.split("/")[0] for n in r.names("")} == PlateIndex(a)._files(m) | {"manifest.json"}
