"""The stream's committer folds its small micro-batch files: a commit every few seconds leaves one
small file each, and without compaction every later commit loads more of them (the driver's memory
grew ~0.27 MB per commit; benchmarks/live.py --soak measures it)."""

from __future__ import annotations

import datetime as dt

from lakehouse import Lakehouse
from pipelines.live.commit import MicroBatchCommitter

T0 = dt.datetime(2026, 12, 7, 23, 59, 50, tzinfo=dt.UTC)  # the batches cross midnight: two days


def _batch(k: int) -> list[dict]:
    return [
        {
            "read_id": f"live-{k}-{i}",
            "camera_id": "CAM-1",
            "video_id": "CAM-1@seg",
            "model_version": "m1",
            "ts": T0 + dt.timedelta(seconds=4 * k + i),
            "date": (T0 + dt.timedelta(seconds=4 * k + i)).date(),
            "plate": f"ABC{k}{i}",
            "confidence": 0.9,
        }
        for i in range(3)
    ]


def _files(lh: Lakehouse, day: dt.date) -> int:
    return sum(f"date={day.isoformat()}" in u for u in lh.table("plate_reads").file_uris())


def test_compaction_folds_each_written_day_into_one_file_and_keeps_every_row(tmp_path) -> None:
    lh = Lakehouse(home=tmp_path / "home")
    committer = MicroBatchCommitter(lh, alerts=False)
    for k in range(6):
        committer.commit(_batch(k), [], [])
    committer.commit(_batch(5), [], [])  # a re-committed batch (a retry) changes nothing
    before = sorted(lh.read("plate_reads")["read_id"].to_pylist())
    days = sorted({r["date"] for k in range(6) for r in _batch(k)})
    assert len(days) == 2 and sum(_files(lh, d) for d in days) >= 6

    done = committer.compact()

    assert [r.table for r in done] == ["plate_reads"] and done[0].detail["days"] == 2
    assert all(_files(lh, d) == 1 for d in days)
    assert sorted(lh.read("plate_reads")["read_id"].to_pylist()) == before  # nothing lost, nothing doubled
    assert len(before) == 18
    assert committer.compact() == []  # nothing written since: nothing to do
    committer.commit(_batch(6), [], [])  # and commits go on afterwards
    assert lh.count("plate_reads") == 21
