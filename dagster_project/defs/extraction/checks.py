"""Checks on extraction that look at whole tables (not one partition): failed runs, schema
conformance, freshness per camera. The per-partition rate and null/range checks are emitted by
``extracted_video`` itself (assets.py); all call :mod:`pipelines.table_checks`."""

import datetime as dt

import dagster as dg
import pyarrow as pa

from dagster_project.defs.extraction.assets import extracted_video
from dagster_project.defs.resources import LakehouseResource
from pipelines.extract.run_stats import run_stats

#: a camera whose newest row is older than this many hours is stale
FRESHNESS_HOURS = 26.0


@dg.asset_check(asset=extracted_video, description="failed extraction runs stay under the threshold")
def processing_failures_below_threshold(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
    lh = lakehouse.lakehouse()
    runs = lh.read("processing_runs", columns=["model_version", "status", "source_uri", "error"])
    versions = runs["model_version"].cast(pa.string()).unique().to_pylist() if runs.num_rows else []
    try:
        from pipelines.batch import library_model_version

        current: str | None = library_model_version()
    except ImportError:
        current = None
    version = current if current in versions else None
    stats = run_stats(runs, version)
    total, failed, errors, share = stats.runs, stats.failed, stats.examples, stats.failure_share
    threshold = lh.settings.orchestration.max_failure_share  # highest tolerated share of failed runs
    return dg.AssetCheckResult(
        passed=share <= threshold,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "runs": total,
            "failed": failed,
            "share": share,
            "threshold": threshold,
            "model_version": version or "all",
            "examples": "\n".join(errors),
        },
    )


def _result(outcome, severity=dg.AssetCheckSeverity.ERROR) -> dg.AssetCheckResult:
    meta = {
        "summary": outcome.summary,
        **{k: v for k, v in outcome.metrics.items() if isinstance(v, int | float | str)},
    }
    if outcome.details:
        meta["details"] = dg.MetadataValue.json(outcome.details[:50])
    return dg.AssetCheckResult(passed=outcome.passed, severity=severity, metadata=meta)


@dg.asset_check(asset=extracted_video, description="stored tables have their spec's columns and types")
def schema_conformance(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
    from pipelines.table_checks import schema_conformance as check

    return _result(check(lakehouse.lakehouse()))


@dg.asset_check(
    asset=extracted_video, description=f"every camera with data has a row newer than {FRESHNESS_HOURS:g} h"
)
def camera_freshness(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
    from pipelines.table_checks import freshness

    return _result(
        freshness(lakehouse.lakehouse(), max_age=dt.timedelta(hours=FRESHNESS_HOURS)),
        dg.AssetCheckSeverity.WARN,
    )


def _latest_day(lh) -> dt.date | None:
    if not lh.exists("videos"):
        return None
    days = [d for d in lh.read("videos", columns=["date"])["date"].to_pylist() if d is not None]
    return max(days) if days else None


@dg.asset_check(
    asset=extracted_video,
    description="latest day: each camera's plate reads per video minute >= 50% of its trailing 7-day median",
)
def plate_read_rate_latest_day(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
    from pipelines.table_checks import CheckOutcome, rate_anomalies

    lh = lakehouse.lakehouse()
    day = _latest_day(lh)
    if day is None:
        return _result(CheckOutcome("plate_rate_vs_baseline", True, "no video yet"))
    return _result(rate_anomalies(lh, day))


@dg.asset_check(
    asset=extracted_video,
    description="latest day: each camera's face sightings per video minute >= 50% of its trailing median",
)
def face_rate_latest_day(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
    from pipelines.table_checks import CheckOutcome, rate_anomalies

    lh = lakehouse.lakehouse()
    day = _latest_day(lh)
    if day is None:
        return _result(CheckOutcome("face_rate_vs_baseline", True, "no video yet"))
    return _result(rate_anomalies(lh, day, metric="face_rate"), dg.AssetCheckSeverity.WARN)


@dg.asset_check(
    asset=extracted_video, description="latest day: no empty plates, values in range, 128-d faces"
)
def null_and_range_latest_day(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
    from pipelines.table_checks import CheckOutcome, null_and_range

    lh = lakehouse.lakehouse()
    day = _latest_day(lh)
    if day is None:
        return _result(CheckOutcome("null_and_range", True, "no video yet"))
    return _result(null_and_range(lh, day, day))
