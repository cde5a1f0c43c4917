"""A single-run backfill over a partition range hands every day's sources to one detector call."""

from __future__ import annotations

import datetime as dt
import os
import time

import dagster as dg

from dagster_project.defs.extraction.assets import extracted_video
from dagster_project.defs.extraction.detector import DetectorClient
from dagster_project.defs.resources import LakehouseResource
from pipelines.batch import BatchReport

CALLS: list[tuple[list[str], str | None]] = []


class RecordingDetector(DetectorClient):
    """Records what the asset asks for (selection logic only; extraction is tested end to end in
    test_extraction_assets.py)."""

    def model_version(self) -> str:
        return "recorded-v1"

    def extract(self, lh, sources, *, model_version=None, on_group=None, lineage=True) -> BatchReport:
        CALLS.append(([s.path for s in sources], model_version))
        return BatchReport(sources=len(sources), model_version=model_version or "recorded-v1")


def test_single_run_backfill_over_a_range(tmp_path) -> None:
    from lakehouse import Lakehouse

    home = tmp_path / "home"
    lh = Lakehouse(home=home)
    registered = []
    for day in (1, 2, 3, 4):
        start = dt.datetime(2026, 3, day, 9, tzinfo=dt.UTC)
        registered.append(
            {
                "video_id": f"v{day}",
                "camera_id": "cam-1",
                "uri": f"/rec/cam-1/{day}.mp4",
                "start_ts": start,
                "end_ts": start + dt.timedelta(minutes=5),
            }
        )
    lh.append("videos", registered)
    inbox = home / "inbox" / "cam-2" / "2026-03-03" / "101500.mp4"
    inbox.parent.mkdir(parents=True)
    inbox.write_bytes(b"\0")
    os.utime(inbox, (time.time() - 600,) * 2)

    CALLS.clear()
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("camera_groups", ["unregistered"])
        result = dg.materialize(
            [extracted_video],
            instance=instance,
            resources={"lakehouse": LakehouseResource(home=str(home)), "detector": RecordingDetector()},
            tags={
                "dagster/asset_partition_range_start": "unregistered|2026-03-02",
                "dagster/asset_partition_range_end": "unregistered|2026-03-03",
            },
            run_config={"ops": {"extracted_video": {"config": {"model_version": "v2"}}}},
        )
    assert result.success
    assert len(CALLS) == 1  # one run, one call for the whole range
    paths, version = CALLS[0]
    assert version == "v2"
    assert sorted(paths) == sorted(["/rec/cam-1/2.mp4", "/rec/cam-1/3.mp4", str(inbox.resolve())])
    (mat,) = [m for m in result.get_asset_materialization_events()][:1]
    assert mat.materialization.metadata["days"].value == "2026-03-02..2026-03-03"
