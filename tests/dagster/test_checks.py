"""The processing-failure asset check over a real processing_runs table."""

from __future__ import annotations

import datetime as dt

from dagster_project.defs.extraction.checks import processing_failures_below_threshold
from dagster_project.defs.resources import LakehouseResource


def _runs(n_ok: int, n_failed: int, version: str) -> list[dict]:
    t = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    return [
        {
            "video_id": f"{version}-{i}",
            "model_version": version,
            "source_uri": f"/v/{i}.mp4",
            "status": "failed" if i < n_failed else "succeeded",
            "error": "corrupt" if i < n_failed else None,
            "started": t,
            "finished": t,
        }
        for i in range(n_ok + n_failed)
    ]


def test_processing_failure_check(tmp_path) -> None:
    from lakehouse import Lakehouse

    home = tmp_path / "home"
    lh = Lakehouse(home=home)
    lh.upsert("processing_runs", _runs(39, 1, "old-v"))  # 2.5 % failed
    res = processing_failures_below_threshold(lakehouse=LakehouseResource(home=str(home)))
    assert res.metadata["threshold"].value == 0.05  # setting orchestration.max_failure_share
    assert res.passed
    assert res.metadata["runs"].value == 40 and res.metadata["failed"].value == 1

    lh.upsert("processing_runs", _runs(7, 3, "old-w"))  # all versions together: 4 of 50 = 8 %
    res = processing_failures_below_threshold(lakehouse=LakehouseResource(home=str(home)))
    assert not res.passed
    assert res.metadata["failed"].value == 4
    assert "corrupt" in res.metadata["examples"].value

    # once the current version has runs, only they count
    from pipelines.batch import library_model_version

    lh.upsert("processing_runs", _runs(20, 0, library_model_version()))
    res = processing_failures_below_threshold(lakehouse=LakehouseResource(home=str(home)))
    assert res.passed and res.metadata["runs"].value == 20
