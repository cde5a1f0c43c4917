"""``extracted_video``: the day's recorded sources extracted into plate_reads / face_sightings.

One partition per UTC day. A run processes the inbox files of its day(s)
(``HOME/inbox/<camera_id>/<YYYY-MM-DD>/``) plus, with ``include_registered``, every source the
``videos`` table already knows for those days. Sources already extracted with the same model
version are skipped by the library, so re-running a day only picks up new files; a new model
version re-processes everything, each source replaced in one commit (backfill). With
``BackfillPolicy.single_run()`` a backfill over many days is ONE run (one actor pool, one model
load) instead of one per day.
"""

import datetime as dt

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from dagster_project.defs.extraction.detector import DetectorClient
from dagster_project.defs.partitions import daily
from dagster_project.defs.resources import LakehouseResource
from lakehouse import Lakehouse
from pipelines.batch import merge_sources, registered_sources, scan_inbox

PLATE_NOT_NULL = "plate_reads_have_plate"


class ExtractConfig(dg.Config):
    model_version: str | None = None  # write rows under this version; None = the library's
    cameras: list[str] = []  # only these cameras (empty: all)
    include_registered: bool = True  # also the videos table's sources of those days
    max_null_plate_share: float = 0.0  # check threshold


def days_of(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The UTC days of the run's partition (or partition range, for single-run backfills)."""
    window = context.partition_time_window
    first = window.start.astimezone(dt.UTC).date()
    last = (window.end.astimezone(dt.UTC) - dt.timedelta(microseconds=1)).date()
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def null_plate_stats(lh: Lakehouse, first: dt.date, last: dt.date, model_version: str) -> tuple[int, int]:
    """(rows, rows without a plate) of plate_reads for the days and model version."""
    expr = ((ds.field("date") >= pa.scalar(first, pa.date32())) & (ds.field("date") <= pa.scalar(last, pa.date32())))
    t = lh.read("plate_reads", columns=["plate", "model_version"], filter=expr)
    t = t.filter(pc.equal(t["model_version"].cast(pa.string()), model_version))
    plates = t["plate"].cast(pa.string())
    missing = pc.sum(pc.or_kleene(pc.is_null(plates), pc.equal(pc.utf8_trim_whitespace(plates), ""))).as_py() or 0
    return t.num_rows, int(missing)


@dg.asset(
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="extraction",
    kinds={"python", "delta"},
    check_specs=[dg.AssetCheckSpec(PLATE_NOT_NULL, asset="extracted_video",
                                   description="plate_reads rows of the processed days carry a plate")],
)
def extracted_video(
    context: dg.AssetExecutionContext, config: ExtractConfig, lakehouse: LakehouseResource,
    detector: DetectorClient,
) -> dg.MaterializeResult:
    """Recorded video of the day(s) -> plate_reads, face_sightings, videos, processing_runs."""
    lh = lakehouse.lakehouse()
    days = days_of(context)
    cameras = config.cameras or None
    inbox = scan_inbox(lakehouse.home_path, days=days, cameras=cameras)
    registered = registered_sources(lh, days[0], days[-1], cameras) if config.include_registered else []
    sources = merge_sources(registered, inbox)
    context.log.info(f"{len(sources)} sources for {days[0]}..{days[-1]} "
                     f"({len(inbox)} in the inbox, {len(registered)} registered)")

    def on_group(done: int, total: int, group: list, result: object) -> None:
        context.log.info(f"[{done}/{total}] camera {group[0].camera_id}: {len(group)} source(s)")

    report = detector.extract(lh, sources, model_version=config.model_version, on_group=on_group)
    for path, reason in report.failed:
        context.log.warning(f"failed: {path}: {reason}")
    rows, missing = null_plate_stats(lh, days[0], days[-1], report.model_version)
    share = missing / rows if rows else 0.0
    check = dg.AssetCheckResult(
        check_name=PLATE_NOT_NULL,
        passed=share <= config.max_null_plate_share,
        metadata={"rows": rows, "without_plate": missing, "share": share},
    )
    return dg.MaterializeResult(
        metadata={"days": f"{days[0]}..{days[-1]}", **report.as_dict()},
        check_results=[check],
    )
