"""Asset checks that can fail: a camera whose read rate collapsed against its own trailing baseline
is flagged while healthy cameras pass; null/range, schema and freshness checks catch planted faults."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from dagster_project.defs.extraction.checks import (
    camera_freshness,
    null_and_range_latest_day,
    plate_read_rate_latest_day,
    schema_conformance,
)
from dagster_project.defs.resources import LakehouseResource
from lakehouse import Lakehouse
from tests.versions.conftest import commit_many, commit_source

DAY0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def _city(lh: Lakehouse, broken: str | None) -> None:
    """3 cameras x 6 days of 10-minute videos; ``broken`` reads 2 plates on the last day instead of ~20."""
    sources = []
    for day in range(6):
        start = DAY0 + dt.timedelta(days=day)
        for k, cam in enumerate(("cam-1", "cam-2", "cam-3")):
            n = 18 + (day + k) % 5
            if cam == broken and day == 5:
                n = 2
            plates = [(10.0 + 25 * i, f"AB{k}{day}{i:03d}") for i in range(n)]
            sources.append((f"v-{cam}-{day}", cam, "m-v1", plates, [(12.0, k)], start))
    commit_many(lh, sources, minutes=10)


def _check(fn, home) -> dg.AssetCheckResult:
    return fn(lakehouse=LakehouseResource(home=str(home)))


def test_read_rate_check_flags_the_collapsed_camera_only(tmp_path) -> None:
    home = tmp_path / "home"
    _city(Lakehouse(home=home), broken="cam-3")
    res = _check(plate_read_rate_latest_day, home)
    assert not res.passed
    assert "cam-3" in res.metadata["summary"].value and "cam-1" not in res.metadata["summary"].value
    details = {d["camera_id"]: d for d in res.metadata["details"].value}
    assert (
        details["cam-3"]["ratio"] < 0.2
        and details["cam-1"]["ratio"] > 0.8
        and details["cam-2"]["ratio"] > 0.8
    )


def test_healthy_city_passes_every_check(tmp_path) -> None:
    home = tmp_path / "home"
    _city(Lakehouse(home=home), broken=None)
    assert _check(plate_read_rate_latest_day, home).passed
    assert _check(null_and_range_latest_day, home).passed
    assert _check(schema_conformance, home).passed
    fresh = camera_freshness(lakehouse=LakehouseResource(home=str(home)))
    assert not fresh.passed  # the data is from March 2026, far older than 26 h: every camera is stale
    assert fresh.metadata["stale"].value == 3


def test_null_and_range_check_catches_planted_values(tmp_path) -> None:
    home = tmp_path / "home"
    lh = Lakehouse(home=home)
    _city(lh, broken=None)
    day = DAY0 + dt.timedelta(days=5)
    commit_source(lh, "v-bad", "cam-1", "m-v1", [(5.0, "")], start=day)  # an empty plate text
    res = _check(null_and_range_latest_day, home)
    assert not res.passed
    (problem,) = res.metadata["details"].value
    assert (problem["table"], problem["column"], problem["rows"]) == ("plate_reads", "plate", 1)
