"""Re-ingesting: same model version does nothing; a new version replaces that source's rows for
that version in one commit and leaves other versions alone; a failure keeps the previous rows."""

from __future__ import annotations

import datetime as dt

import pytest

pytestmark = pytest.mark.slow

START = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
TABLES = ("plate_reads", "face_sightings", "processing_runs", "videos")


class _BrokenExecutor:
    """An executor whose actors die on the first batch (a crash mid-source)."""

    max_inflight = 1
    device = "cpu"
    quality_floor = 0.4

    def submit(self, tasks, formats):
        from pipelines.extract.actors import PoolError

        raise PoolError("actor died (simulated)")

    def pending(self) -> int:
        return 0

    def wait(self, timeout_s: float = 0.0):
        return []

    def cancel(self) -> None:
        pass

    def find_overlays(self, image):
        return []


def _rows(lh, version: str) -> list[dict]:
    rows = [r for r in lh.read("plate_reads").to_pylist() if r["model_version"] == version]
    return sorted(rows, key=lambda r: r["read_id"])


def test_same_version_skips_new_version_replaces_failure_keeps(short_clip, ray_session, lakehouse) -> None:
    from pipelines.extract import EXTRACTION_MODEL_VERSION, ingest_paths

    clip, truth = short_clip
    lh = lakehouse
    first = ingest_paths(lh, [clip], camera_id="CAM-I", start=START, progress=False)
    assert first.ok and first.succeeded == [str(clip)] and first.plate_reads >= 1
    v1_rows = _rows(lh, EXTRACTION_MODEL_VERSION)
    assert truth.plate in {r["plate"] for r in v1_rows}
    versions = {t: lh.version(t) for t in TABLES}

    again = ingest_paths(lh, [clip], camera_id="CAM-I", start=START, progress=False)
    assert again.skipped == [str(clip)] and not again.succeeded and again.frames == 0
    assert {t: lh.version(t) for t in TABLES} == versions  # no new commit anywhere
    assert _rows(lh, EXTRACTION_MODEL_VERSION) == v1_rows

    v2 = ingest_paths(lh, [clip], camera_id="CAM-I", start=START, progress=False, model_version="test-v2")
    assert v2.ok and v2.succeeded == [str(clip)]
    assert lh.version("plate_reads") == versions["plate_reads"] + 1  # one commit
    assert lh.version("face_sightings") == versions["face_sightings"] + 1
    assert _rows(lh, EXTRACTION_MODEL_VERSION) == v1_rows  # other version untouched
    v2_rows = _rows(lh, "test-v2")
    assert [r["plate"] for r in v2_rows] == [r["plate"] for r in v1_rows]
    assert not {r["read_id"] for r in v2_rows} & {r["read_id"] for r in v1_rows}

    # a crash while re-processing under a third version: recorded, previous rows intact
    before = {t: lh.version(t) for t in ("plate_reads", "face_sightings")}
    broken = ingest_paths(
        lh,
        [clip],
        camera_id="CAM-I",
        start=START,
        progress=False,
        model_version="test-v3",
        executor=_BrokenExecutor(),
    )
    assert not broken.ok and "actor died" in broken.failed[0][1]
    assert {t: lh.version(t) for t in ("plate_reads", "face_sightings")} == before
    assert _rows(lh, EXTRACTION_MODEL_VERSION) == v1_rows and _rows(lh, "test-v2") == v2_rows
    runs = {r["model_version"]: r for r in lh.read("processing_runs").to_pylist()}
    assert runs["test-v3"]["status"] == "failed" and "actor died" in runs["test-v3"]["error"]
    assert runs[EXTRACTION_MODEL_VERSION]["status"] == runs["test-v2"]["status"] == "succeeded"
    # ... and the next attempt of that version goes through (failed runs are not skipped)
    retry = ingest_paths(lh, [clip], camera_id="CAM-I", start=START, progress=False, model_version="test-v3")
    assert retry.ok and [r["plate"] for r in _rows(lh, "test-v3")] == [r["plate"] for r in v1_rows]
