"""``extracted_video``: recorded sources of a day x camera group extracted into plate_reads /
face_sightings.

Partitioned by UTC day x camera GROUP (``day_x_group``; groups are dynamic partitions from the
camera registry). A run processes the inbox files of its days and its groups' cameras
(``HOME/inbox/<camera_id>/<YYYY-MM-DD>/``) plus, with ``include_registered``, every source the
``videos`` table already knows for them. Sources already extracted with the same model version are
skipped by the library, so re-running only picks up new files; a new model version re-processes
everything, each source committed to every table and then switched to the new version in one commit
(readers see one version per source), and the run ends with a lineage report of what the new
version changed (``lineage`` table; the app's Lineage page). With ``BackfillPolicy.single_run()`` a
backfill over a range of days and groups is ONE run (one actor pool, one model load):
``dagster asset materialize -m dagster_project.definitions --select extracted_video
--partition-range '<group>|<first day>...<group>|<last day>' -c backfill.yaml`` (a range spans the
rectangle of groups x days), or the UI's backfill.

Checks emitted with each materialization (can fail): plates present, plate read rate and face rate
of each camera against its own trailing baseline, null and range problems.
"""

import datetime as dt

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from dagster_project.defs.extraction.detector import DetectorClient
from dagster_project.defs.partitions import day_x_group
from dagster_project.defs.resources import LakehouseResource
from lakehouse import Lakehouse
from pipelines.batch import (
    DEFAULT_GROUP_H3_RES,
    cameras_of_groups,
    merge_sources,
    registered_sources,
    scan_inbox,
)

PLATE_NOT_NULL = "plate_reads_have_plate"
PLATE_RATE = "plate_read_rate_vs_baseline"
FACE_RATE = "face_rate_vs_baseline"
NULL_RANGE = "null_and_range"


class ExtractConfig(dg.Config):
    model_version: str | None = None  # write rows under this version; None = the library's
    cameras: list[str] = []  # only these cameras of the groups (empty: all)
    include_registered: bool = True  # also the videos table's sources of those days
    max_null_plate_share: float = 0.0  # check threshold
    group_h3_res: int = DEFAULT_GROUP_H3_RES  # camera group cell size (must match the sensor's)
    baseline_days: int = 7  # rate checks: trailing days a camera is compared with
    min_rate_ratio: float = 0.5  # rate checks: flag a camera under this share of its baseline
    lineage: bool = True  # end a re-process with a lineage report


def partitions_of(context: dg.AssetExecutionContext) -> tuple[list[dt.date], list[str]]:
    """The UTC days and camera groups of the run's partition(s) (a range, for single-run backfills)."""
    days, groups = set(), set()
    for key in context.partition_keys:
        parts = (
            key.keys_by_dimension
            if isinstance(key, dg.MultiPartitionKey)
            else dg.MultiPartitionKey.from_str(key).keys_by_dimension
            if "|" in key
            else {"date": key}
        )
        days.add(dt.date.fromisoformat(parts["date"]))
        if "camera_group" in parts:
            groups.add(parts["camera_group"])
    return sorted(days), sorted(groups)


def null_plate_stats(
    lh: Lakehouse, first: dt.date, last: dt.date, model_version: str, cameras: list[str] | None = None
) -> tuple[int, int]:
    """(rows, rows without a plate) of plate_reads for the days, cameras and model version."""
    expr = (ds.field("date") >= pa.scalar(first, pa.date32())) & (
        ds.field("date") <= pa.scalar(last, pa.date32())
    )
    if cameras is not None:
        expr &= ds.field("camera_id").isin(cameras)
    t = lh.read("plate_reads", columns=["plate", "model_version"], filter=expr)
    t = t.filter(pc.equal(t["model_version"].cast(pa.string()), model_version))
    plates = t["plate"].cast(pa.string())
    missing = (
        pc.sum(pc.or_kleene(pc.is_null(plates), pc.equal(pc.utf8_trim_whitespace(plates), ""))).as_py() or 0
    )
    return t.num_rows, int(missing)


def _check(name: str, outcome, severity=dg.AssetCheckSeverity.ERROR) -> dg.AssetCheckResult:
    meta = {"summary": outcome.summary}
    for k, v in outcome.metrics.items():
        meta[k] = v if isinstance(v, int | float | str) else dg.MetadataValue.json(v)
    if outcome.details:
        meta["details"] = dg.MetadataValue.json(outcome.details[:50])
    return dg.AssetCheckResult(check_name=name, passed=outcome.passed, severity=severity, metadata=meta)


@dg.asset(
    partitions_def=day_x_group,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="extraction",
    kinds={"python", "delta"},
    check_specs=[
        dg.AssetCheckSpec(
            PLATE_NOT_NULL,
            asset="extracted_video",
            description="plate_reads rows of the processed days carry a plate",
        ),
        dg.AssetCheckSpec(
            PLATE_RATE,
            asset="extracted_video",
            description="each camera's plate reads per video minute >= min_rate_ratio x its trailing median",
        ),
        dg.AssetCheckSpec(
            FACE_RATE,
            asset="extracted_video",
            description="each camera's face sightings per video minute >= min_rate_ratio x its trailing median",
        ),
        dg.AssetCheckSpec(
            NULL_RANGE,
            asset="extracted_video",
            description="no empty plates, confidences/qualities in 0..1, 4-number boxes, 128-d faces",
        ),
    ],
)
def extracted_video(
    context: dg.AssetExecutionContext,
    config: ExtractConfig,
    lakehouse: LakehouseResource,
    detector: DetectorClient,
) -> dg.MaterializeResult:
    """Recorded video of the day(s) x camera group(s) -> plate_reads, face_sightings, videos,
    processing_runs, source_versions (and a lineage report when a new version replaced an old one)."""
    from pipelines import table_checks

    lh = lakehouse.lakehouse()
    days, groups = partitions_of(context)
    inbox_all = scan_inbox(lakehouse.home_path, days=days, cameras=config.cameras or None)
    registered_all = (
        registered_sources(lh, days[0], days[-1], config.cameras or None) if config.include_registered else []
    )
    if groups:
        seen = {s.camera_id for s in inbox_all} | {s.camera_id for s in registered_all}
        cameras = cameras_of_groups(lh, groups, config.group_h3_res, seen)
        if config.cameras:
            cameras = [c for c in cameras if c in set(config.cameras)]
    else:
        cameras = sorted(set(config.cameras))
    keep = set(cameras)
    inbox = [s for s in inbox_all if not groups or s.camera_id in keep]
    registered = [s for s in registered_all if not groups or s.camera_id in keep]
    sources = merge_sources(registered, inbox)
    context.log.info(
        f"{len(sources)} sources for {days[0]}..{days[-1]}, groups {groups or 'all'} "
        f"({len(cameras)} cameras; {len(inbox)} in the inbox, {len(registered)} registered)"
    )

    def on_group(done: int, total: int, group: list, result: object) -> None:
        context.log.info(f"[{done}/{total}] camera {group[0].camera_id}: {len(group)} source(s)")

    report = detector.extract(
        lh, sources, model_version=config.model_version, on_group=on_group, lineage=config.lineage
    )
    for path, reason in report.failed:
        context.log.warning(f"failed: {path}: {reason}")
    for lin in report.lineage:
        context.log.info(f"lineage {lin['from_version']} -> {report.model_version}: {lin}")
    cams = cameras or None if groups else None
    rows, missing = null_plate_stats(lh, days[0], days[-1], report.model_version, cams)
    share = missing / rows if rows else 0.0
    checks = [
        dg.AssetCheckResult(
            check_name=PLATE_NOT_NULL,
            passed=share <= config.max_null_plate_share,
            metadata={"rows": rows, "without_plate": missing, "share": share},
        )
    ]
    plate_rate = [
        table_checks.rate_anomalies(
            lh, d, cameras=cams, baseline_days=config.baseline_days, min_ratio=config.min_rate_ratio
        )
        for d in days
    ]
    face_rate = [
        table_checks.rate_anomalies(
            lh,
            d,
            cameras=cams,
            baseline_days=config.baseline_days,
            min_ratio=config.min_rate_ratio,
            metric="face_rate",
        )
        for d in days
    ]
    checks.append(_check(PLATE_RATE, _merge(plate_rate)))
    checks.append(_check(FACE_RATE, _merge(face_rate), dg.AssetCheckSeverity.WARN))
    checks.append(_check(NULL_RANGE, table_checks.null_and_range(lh, days[0], days[-1], cams)))
    meta = {
        "days": f"{days[0]}..{days[-1]}",
        "camera_groups": ",".join(groups),
        "cameras": len(cameras),
        **{k: v for k, v in report.as_dict().items() if k != "lineage"},
    }
    if report.lineage:
        meta["lineage"] = dg.MetadataValue.json(report.lineage)
    return dg.MaterializeResult(metadata=meta, check_results=checks)


def _merge(outcomes: list):
    from pipelines.table_checks import CheckOutcome

    if len(outcomes) == 1:
        return outcomes[0]
    flagged = sorted({c for o in outcomes for c in o.metrics.get("flagged", [])})
    return CheckOutcome(
        outcomes[0].name,
        all(o.passed for o in outcomes),
        "; ".join(o.summary for o in outcomes),
        [d for o in outcomes for d in o.details],
        {"judged": sum(o.metrics.get("judged", 0) for o in outcomes), "flagged": flagged},
    )
