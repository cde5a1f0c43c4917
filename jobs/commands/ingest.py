"""``pesquisa ingest PATH... --camera ID [--start ISO8601] [--agency A] [--sample-fps F]``

Recorded videos (mp4, mkv, avi, ts, ...) and still images (jpg, png), or directories of them
(recursively) -> plate reads and face sightings, through :func:`pipelines.extract.ingest_paths`.
One line per failed file (``error: PATH: reason``); exit code 1 when any source failed.
"""

from __future__ import annotations

import argparse

from jobs.argtypes import positive as _positive
from jobs.output import CliError, Output


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "ingest", parents=[common], help="recorded video and stills -> plate reads, face sightings"
    )
    p.add_argument(
        "paths", nargs="+", metavar="PATH", help="video or image files, or directories (recursive)"
    )
    p.add_argument("--camera", required=True, help="camera id (its agency/kind come from the cameras table)")
    p.add_argument(
        "--start",
        help="time of the first frame (ISO 8601; without a zone = the home time zone). Default: "
        "container creation time / EXIF DateTimeOriginal, else file mtime",
    )
    p.add_argument("--agency", help="owning agency when the camera is not registered (default municipal)")
    p.add_argument(
        "--sample-fps",
        type=_positive,
        help="frames per second to analyse (default per camera kind: street 5, portico 10)",
    )
    p.add_argument("--workers", type=int, help="model actors (default: one per CPU, two per GPU)")
    p.add_argument("--model-version", help="write rows under this model version (backfills)")
    p.add_argument(
        "--gating",
        choices=["region", "frame", "off"],
        help="motion gating: detect only in moving regions, moving frames, or everywhere "
        "(default: the camera's registered gating, else the setting extraction.gating)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from pipelines.extract import ingest_paths

    if args.workers is not None and args.workers < 1:
        raise CliError("--workers must be >= 1")
    from lakehouse.timeutil import parse_instant

    lh = Lakehouse(home=args.home)
    try:
        start = parse_instant(args.start, tz=lh.settings.time.zone)
    except ValueError as exc:
        raise CliError(f"--start: {exc}", code=2) from None
    report = ingest_paths(
        lh,
        args.paths,
        camera_id=args.camera,
        agency=args.agency,
        start=start,
        sample_fps=args.sample_fps,
        progress=not args.no_progress,
        workers=args.workers,
        model_version=args.model_version,
        gating=args.gating,
    )
    for src in report.sources:
        rec = {"camera_id": report.camera_id, "model_version": report.model_version, **src}
        if src["status"] == "failed":
            out.error(f"{src['path']}: {src['reason']}")
            if args.json:
                out.record(rec)
            continue
        if src["status"] == "skipped":
            text = f"skipped  {src['path']} ({src['reason']})"
        else:
            text = (
                f"ok       {src['path']}: {src['plate_reads']} plate reads, {src['face_sightings']} face "
                f"sightings ({src['frames_processed']}/{src['frames_decoded']} frames analysed)"
            )
        out.record(rec, text=text)
    summary = {
        "summary": True,
        "succeeded": len(report.succeeded),
        "skipped": len(report.skipped),
        "failed": len(report.failed),
        "plate_reads": report.plate_reads,
        "face_sightings": report.face_sightings,
        "frames": report.frames,
        "seconds": round(report.seconds, 2),
        "realtime_factor": round(report.realtime_factor, 2),
        "device": report.device,
        "model_version": report.model_version,
    }
    out.record(
        summary,
        text=(
            f"{len(report.succeeded)} succeeded, {len(report.skipped)} skipped, {len(report.failed)} failed; "
            f"{report.plate_reads} plate reads, {report.face_sightings} face sightings; {report.frames} frames in "
            f"{report.seconds:.1f} s ({report.realtime_factor:.2f}x real time) on {report.device or '-'}; "
            f"model {report.model_version}"
        ),
    )
    return 1 if report.failed else 0
