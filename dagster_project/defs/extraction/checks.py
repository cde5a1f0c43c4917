"""Checks on extraction that look at the whole ``processing_runs`` table (not one partition)."""


import dagster as dg
import pyarrow as pa

from dagster_project.defs.extraction.assets import extracted_video
from dagster_project.defs.resources import LakehouseResource
from pipelines.extract.run_stats import run_stats


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
        metadata={"runs": total, "failed": failed, "share": share, "threshold": threshold,
                  "model_version": version or "all", "examples": "\n".join(errors)},
    )
