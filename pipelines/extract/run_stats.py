"""Statistics of extraction runs (the ``processing_runs`` table): one computation for the app's
ingest page and Dagster's failure check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa


@dataclass(frozen=True)
class RunStats:
    """Counts over a set of runs; ``examples`` are up to 5 ``source_uri: error`` of failed runs."""

    runs: int
    sources: int
    succeeded: int
    failed: int
    running: int
    model_versions: int
    examples: list[str] = field(default_factory=list)

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed

    @property
    def failure_share(self) -> float:
        """Failed runs over all runs (0 when there is none)."""
        return self.failed / self.runs if self.runs else 0.0


def _frame(runs: Any) -> pl.DataFrame:
    if isinstance(runs, pl.DataFrame):
        return runs
    if isinstance(runs, pa.Table):
        return pl.from_arrow(runs)
    return pl.from_pandas(runs)  # a pandas DataFrame (the app's cached read)


def run_stats(runs: Any, model_version: str | None = None) -> RunStats:
    """:class:`RunStats` of ``runs`` (Arrow, Polars or pandas), optionally of one model version."""
    df = _frame(runs)
    if df.height == 0:
        return RunStats(0, 0, 0, 0, 0, 0)
    if model_version is not None:
        df = df.filter(pl.col("model_version").cast(pl.Utf8) == model_version)
    status = df["status"].cast(pl.Utf8).fill_null("unknown")
    failed = df.filter(status == "failed")
    examples = [f"{r.get('source_uri')}: {r.get('error')}" for r in failed.head(5).to_dicts()]
    return RunStats(
        runs=df.height,
        sources=df["video_id"].n_unique() if "video_id" in df.columns else df.height,
        succeeded=int((status == "succeeded").sum()),
        failed=failed.height,
        running=int((status == "running").sum()),
        model_versions=df["model_version"].n_unique(),
        examples=examples,
    )


def runs_by_version(runs: Any) -> pl.DataFrame:
    """Per model version: sources, succeeded / failed / running runs, frames, rows written, wall
    seconds, frames per second and the last finish time."""
    df = _frame(runs).with_columns(pl.col("status").cast(pl.Utf8).fill_null("unknown"))
    out = (
        df.group_by("model_version")
        .agg(
            pl.col("video_id").n_unique().alias("sources"),
            (pl.col("status") == "succeeded").sum().alias("succeeded"),
            (pl.col("status") == "failed").sum().alias("failed"),
            (pl.col("status") == "running").sum().alias("running"),
            pl.col("frames_processed").sum().alias("frames"),
            pl.col("plate_reads").sum().alias("plate_reads"),
            pl.col("face_sightings").sum().alias("face_sightings"),
            pl.col("duration_s").sum().alias("seconds"),
            pl.col("finished").max().alias("last_finished"),
        )
        .sort("model_version", nulls_last=True)
    )
    return out.with_columns(
        pl.when(pl.col("seconds") > 0)
        .then((pl.col("frames") / pl.col("seconds")).round(1))
        .alias("frames_per_s")
    )
