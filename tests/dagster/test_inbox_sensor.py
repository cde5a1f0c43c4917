"""The inbox sensor asks for one extracted_video run per day x camera group whose inbox files changed,
and adds the groups the instance lacks as dynamic partitions."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg

from dagster_project.defs.extraction.sensors import inbox_sensor
from dagster_project.defs.resources import LakehouseResource


def _drop(home: Path, camera: str, day: str, name: str, age_s: float = 3600, size: int = 1000) -> Path:
    f = home / "inbox" / camera / day / name
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_bytes(b"\0" * size)
    t = time.time() - age_s
    os.utime(f, (t, t))
    return f


def test_inbox_sensor_requests_changed_days(tmp_path) -> None:
    home = tmp_path / "home"
    _drop(home, "cam-1", "2026-03-01", "080000.mp4")
    _drop(home, "cam-2", "2026-03-01", "090000.mp4")
    _drop(home, "cam-1", "2026-03-02", "100000.mkv")
    _drop(home, "cam-1", "2026-03-02", "notes.txt")  # not a recording
    _drop(home, "cam-1", "not-a-day", "x.mp4")  # not a day folder
    _drop(home, "cam-3", "2026-03-03", "copying.mp4", age_s=0)  # still being written
    from lakehouse import Lakehouse
    from pipelines.batch import camera_group

    cam1 = {"camera_id": "cam-1", "agency": "municipal", "lat": -25.28, "lon": -57.61}
    Lakehouse(home=home).upsert("cameras", [cam1])  # cam-1 registered; cam-2, cam-3 are not
    g1 = camera_group(cam1)
    resources = {"lakehouse": LakehouseResource(home=str(home))}

    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, resources=resources)
        res = inbox_sensor(ctx)
        assert sorted(str(r.partition_key) for r in res.run_requests) == sorted(
            [f"{g1}|2026-03-01", "unregistered|2026-03-01", f"{g1}|2026-03-02"]
        )
        (add,) = res.dynamic_partitions_requests
        assert sorted(add.partition_keys) == sorted([g1, "unregistered"])
        instance.add_dynamic_partitions("camera_groups", list(add.partition_keys))
        cursor = res.cursor

        # nothing new: skip
        ctx = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
        res = inbox_sensor(ctx)
        assert not res.run_requests and res.skip_reason is not None

        # a new file on one day, and the one being copied has settled
        _drop(home, "cam-2", "2026-03-02", "110000.mp4")
        os.utime(home / "inbox" / "cam-3" / "2026-03-03" / "copying.mp4", (time.time() - 600,) * 2)
        ctx = dg.build_sensor_context(instance=instance, cursor=res.cursor, resources=resources)
        res = inbox_sensor(ctx)
        assert sorted(str(r.partition_key) for r in res.run_requests) == [
            "unregistered|2026-03-02",
            "unregistered|2026-03-03",
        ]
        assert not res.dynamic_partitions_requests  # both groups known already
        assert all(r.run_key and r.run_key.startswith("inbox:") for r in res.run_requests)


def test_recording_start_from_file_name() -> None:
    import datetime as dt

    from pipelines.batch import start_from_name

    day = dt.date(2026, 3, 2)
    t = dt.datetime(2026, 3, 2, 13, 11, tzinfo=dt.UTC)
    assert start_from_name(day, "ASU-MUN-001_20260302T131100Z.mp4") == t
    assert start_from_name(day, "131100.mp4") == t
    assert start_from_name(day, "13-11-00.mkv") == t
    assert start_from_name(day, "camera.mp4") is None
    assert start_from_name(day, "20260302T251100.mp4") is None  # not a time
