"""``pesquisa synth city OUT --cameras N --minutes M --seed S [--city NAME | --bbox a,b,c,d] ...``

Writes a synthetic city (cameras, H.264 clips, incidents CSV, ground-truth manifest) and prints
what it wrote (one JSON line of counts with ``--json``); the progress bar goes to stderr.
"""

from __future__ import annotations

import argparse
import time

from jobs.output import CliError, Output


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("synth", parents=[common], help="generate synthetic data with ground truth")
    ssub = p.add_subparsers(dest="synth_command", metavar="WHAT", required=True)
    c = ssub.add_parser(
        "city", parents=[common], help="a synthetic city: cameras, clips, incidents, manifest"
    )
    c.add_argument("out", metavar="OUT", help="output directory (created; manifest.json goes there)")
    c.add_argument("--cameras", type=int, default=6, help="number of cameras (default 6)")
    c.add_argument(
        "--minutes", type=float, default=0.5, help="length of each camera's clip in minutes (default 0.5)"
    )
    c.add_argument("--seed", type=int, default=7, help="random seed (same seed, same city)")
    c.add_argument(
        "--city",
        default="asuncion",
        help="asuncion | buenos_aires | lima, or a bbox min_lon,min_lat,max_lon,max_lat",
    )
    c.add_argument(
        "--bbox", default=None, help="min_lon,min_lat,max_lon,max_lat (overrides the preset's box)"
    )
    c.add_argument("--difficulty", choices=["easy", "default", "hard"], default="default")
    c.add_argument("--incidents", type=int, default=2000, help="synthetic incident reports (0: none)")
    c.add_argument("--fps", type=float, default=25.0)
    c.add_argument("--width", type=int, default=1280)
    c.add_argument("--height", type=int, default=720)
    c.add_argument("--workers", type=int, default=None, help="render processes (default: automatic)")
    c.add_argument("--no-progress", action="store_true", help="no progress bar")
    c.set_defaults(func=run)


def run(args: argparse.Namespace, out: Output) -> int:
    from pipelines.synth import generate_city

    t0 = time.perf_counter()
    try:
        m = generate_city(
            args.out,
            cameras=args.cameras,
            minutes=args.minutes,
            seed=args.seed,
            city=args.city,
            bbox=args.bbox,
            difficulty=args.difficulty,
            fps=args.fps,
            width=args.width,
            height=args.height,
            incidents=args.incidents,
            progress=not args.no_progress,
            workers=args.workers,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    agencies = sorted({c["agency"] for c in m.cameras})
    rec = {
        "out": str(m.root),
        "manifest": str(m.root / "manifest.json"),
        "city": m.city,
        "seed": m.seed,
        "cameras": len(m.cameras),
        "porticos": sum(1 for c in m.cameras if c["kind"] == "portico"),
        "agencies": agencies,
        "videos": len(m.videos),
        "frames": sum(v.frames for v in m.videos),
        "plate_passes": len(m.plate_passes),
        "face_passes": len(m.face_passes),
        "vehicles": len(m.vehicles),
        "routed_vehicles": sum(1 for v in m.vehicles if len(v["sightings"]) > 1),
        "convoys": len(m.convoys),
        "identities": len(m.identities),
        "incidents_csv": str(m.abspath(m.incidents_csv)) if m.incidents_csv else None,
        "seconds": round(time.perf_counter() - t0, 2),
        "notes": m.notes,
    }
    if out.json_mode:
        out.record(rec)
    else:
        out.record(
            rec,
            text=(
                f"wrote {rec['out']}: {rec['cameras']} cameras ({rec['porticos']} porticos; {', '.join(agencies)}), "
                f"{rec['videos']} clips / {rec['frames']} frames, {rec['plate_passes']} plate passes "
                f"({rec['routed_vehicles']} vehicles seen at 2+ cameras, {rec['convoys']} convoys), "
                f"{rec['face_passes']} face passes of {rec['identities']} identities, "
                f"incidents: {rec['incidents_csv'] or 'none'}; manifest {rec['manifest']} ({rec['seconds']} s)"
            ),
        )
        for note in m.notes:
            out.info(f"note: {note}")
    return 0
