"""``pesquisa backfill --model-version V [--from D --to D] [--camera ID]...``

Re-process the recorded sources the ``videos`` table knows for a day range (and cameras) with model
version ``V``, through the same library call as ``pesquisa ingest`` and Dagster's
``extracted_video`` asset (:func:`pipelines.batch.run_sources` -> ``pipelines.extract.ingest_paths``):
each source's rows for ``V`` are replaced in one commit and the source switches to ``V`` once every
table has committed (readers see one version per source); sources already done with ``V`` are
skipped, so an interrupted backfill resumes where it stopped. It ends with a lineage report per
previous version (``pesquisa lineage list``; the app's Lineage page).
"""

from __future__ import annotations

import argparse
import datetime as dt

from jobs.output import CliError, Output
from lakehouse.timeutil import FROM_HELP, TO_HELP, TimeRange


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "backfill", parents=[common], help="re-process recorded video of a day range with a model version"
    )
    p.add_argument("--model-version", required=True, help="extraction model version to produce")
    p.add_argument("--from", dest="start", metavar="T", help=FROM_HELP + " (default: the earliest source)")
    p.add_argument("--to", dest="end", metavar="T", help=TO_HELP + " (default: the latest source)")
    p.add_argument("--camera", action="append", help="only this camera (repeatable)")
    p.add_argument("--sample-fps", type=float, help="frames per second to analyse (default: per camera kind)")
    p.add_argument("--workers", type=int, help="extraction workers (default: from the hardware)")
    p.add_argument("--dry-run", action="store_true", help="list the sources, process nothing")
    p.add_argument(
        "--no-lineage",
        action="store_true",
        help="skip the lineage report (what the new version changed) at the end",
    )
    p.set_defaults(func=run)


def _range(lh, window: TimeRange) -> tuple[dt.date, dt.date] | None:
    """The UTC ``date`` partitions ``window`` touches (open ends: the earliest / latest source)."""
    first = window.start.date() if window.start is not None else None
    last = (window.end - dt.timedelta(microseconds=1)).date() if window.end is not None else None
    if first is not None and last is not None:
        return first, last
    days = lh.read("videos", columns=["date"])["date"].to_pylist()
    days = [d for d in days if d is not None]
    if not days:
        return None
    return first or min(days), last or max(days)


def run(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from pipelines.batch import registered_sources, reprocess, resolve_model_version

    lh = Lakehouse(home=args.home)
    try:
        window = TimeRange.parse(args.start, args.end, tz=lh.settings.time.zone)
    except ValueError as exc:
        raise CliError(str(exc), code=2) from None
    span = _range(lh, window)
    sources = registered_sources(lh, *span, cameras=args.camera) if span else []
    sources = [s for s in sources if s.start is None or window.contains(s.start)]
    where = f"{span[0]}..{span[1]}" if span else "(no videos registered)"
    cams = ",".join(args.camera) if args.camera else "all cameras"
    if args.dry_run:
        out.info(f"backfill dry run: {len(sources)} sources, {where}, {cams}")
        out.table(
            [
                {
                    "camera_id": s.camera_id,
                    "day": s.day,
                    "start": s.start,
                    "video_id": s.video_id,
                    "uri": s.path,
                }
                for s in sources
            ],
            ["camera_id", "day", "start", "video_id", "uri"],
        )
        return 0
    try:
        version = resolve_model_version(args.model_version)
    except ImportError as exc:
        raise CliError(f"the extraction library is not available: {exc}") from exc
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    out.info(f"backfill {where}, {cams}: {len(sources)} sources -> model version {version}")
    if not sources:
        out.record({"sources": 0, "model_version": version}, text="nothing to do")
        return 0

    def on_group(done: int, total: int, group: list, result: object) -> None:
        n_reads = getattr(result, "plate_reads", 0)
        n_faces = getattr(result, "face_sightings", 0)
        failed = len(getattr(result, "failed", []) or [])
        out.info(
            f"[{done}/{total}] {group[0].camera_id} {group[0].day}: {len(group)} source(s), "
            f"{n_reads} plate reads, {n_faces} face sightings" + (f", {failed} FAILED" if failed else "")
        )

    extra = {k: v for k, v in (("sample_fps", args.sample_fps), ("workers", args.workers)) if v is not None}
    report = reprocess(
        lh,
        sources,
        model_version=args.model_version,
        on_group=on_group,
        progress=False,
        lineage=not args.no_lineage,
        **extra,
    )
    for path, reason in report.failed:
        out.info(f"failed: {path}: {reason}")
    for lin in report.lineage:
        out.info(
            f"lineage {lin['from_version']} -> {version} ({lin['report_id']}): {lin['sources']} sources, "
            f"passes +{lin['passes_added']} -{lin['passes_dropped']}, {lin['passes_reread']} re-read, faces "
            f"+{lin['faces_added']} -{lin['faces_dropped']} (pesquisa lineage list; app: Lineage)"
        )
    summary = report.as_dict()
    out.record(
        summary,
        text=(
            f"backfill done: {summary['succeeded']} processed, {summary['skipped']} already "
            f"at {version}, {summary['failed']} failed; {summary['plate_reads']} plate reads, "
            f"{summary['face_sightings']} face sightings in {summary['seconds']} s"
        ),
    )
    return 1 if report.failed else 0
