"""Checks on extraction that look at the whole ``processing_runs`` table (not one partition)."""


import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from dagster_project.defs.extraction.assets import extracted_video
from dagster_project.defs.resources import LakehouseResource


def failure_share(runs: pa.Table, model_version: str | None = None) -> tuple[int, int, list[str]]:
    """(runs, failed runs, up to 5 example errors), optionally for one model version."""
    if model_version is not None:
        runs = runs.filter(pc.equal(runs["model_version"].cast(pa.string()), model_version))
    failed = runs.filter(pc.equal(runs["status"].cast(pa.string()), "failed"))
    errors = [f"{r['source_uri']}: {r['error']}" for r in failed.slice(0, 5).to_pylist()]
    return runs.num_rows, failed.num_rows, errors


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
    total, failed, errors = failure_share(runs, version)
    share = failed / total if total else 0.0
    threshold = lh.settings.orchestration.max_failure_share  # highest tolerated share of failed runs
    return dg.AssetCheckResult(
        passed=share <= threshold,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"runs": total, "failed": failed, "share": share, "threshold": threshold,
                  "model_version": version or "all", "examples": "\n".join(errors)},
    )
