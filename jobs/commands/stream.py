"""``pesquisa stream run [--camera ID ...] [--duration S]`` and ``pesquisa stream status``.

``run`` reads the live cameras of the registry (``stream_uri``) until stopped (Ctrl-C, SIGTERM) or
``--duration`` seconds of streaming passed, through :func:`pipelines.live.run.run_streams`; rows
land in ``plate_reads`` / ``face_sightings`` every ``live.commit_every_s`` seconds. ``status``
lists each live camera's state (live / reconnecting / offline), last frame time, analysed frames
per second and lag (:func:`pipelines.live.read_status`). URLs are shown without credentials.
"""

from __future__ import annotations

import argparse

from jobs.argtypes import positive as _positive
from jobs.output import CliError, Output


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("stream", parents=[common], help="live cameras -> tables and alerts; their status")
    ss = p.add_subparsers(dest="stream_command", metavar="SUBCOMMAND")
    r = ss.add_parser("run", parents=[common], help="read the registry's live cameras until stopped")
    r.add_argument(
        "--camera",
        action="append",
        metavar="ID",
        help="only this camera (repeatable; default: every camera with a stream_uri)",
    )
    r.add_argument("--duration", type=_positive, metavar="S", help="stop after S seconds of streaming")
    r.add_argument("--workers", type=int, help="model actors shared by the cameras (default: one per CPU)")
    r.add_argument(
        "--sample-fps",
        type=_positive,
        help="analysed frames per second per camera (default: live profile, settings live.sample_fps)",
    )
    r.set_defaults(func=run, long_running=True)  # runs for days: see pipelines.memory
    s = ss.add_parser("status", parents=[common], help="each live camera's state, last frame, fps, lag")
    s.set_defaults(func=status)
    p.set_defaults(func=lambda args, out: _usage(p))


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help()
    return 2


def run(args: argparse.Namespace, out: Output) -> int:
    import signal
    import threading
    import time

    from lakehouse import Lakehouse
    from pipelines.live.profile import LiveProfile
    from pipelines.live.run import StreamError, live_cameras, run_streams

    if args.workers is not None and args.workers < 1:
        raise CliError("--workers must be >= 1")
    lh = Lakehouse(home=args.home)
    try:
        live_cameras(lh, args.camera)  # a bad camera list fails before Ray and the models start
    except StreamError as exc:
        raise CliError(str(exc)) from None
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    from pipelines.ray_runtime import ensure_ray

    ensure_ray()  # first: Ray installs its own SIGTERM handler, ours must win (stop = commit + offline)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    profile = LiveProfile.from_settings(args.home, sample_fps=args.sample_fps)
    last_say = [0.0]

    def on_batch(res, statuses) -> None:  # noqa: ANN001
        if time.time() - last_say[0] < 10 and not stop.is_set():
            return
        last_say[0] = time.time()
        for s in statuses:
            lag = s.get("lag_s")
            out.info(
                f"  {s['camera_id']}: {s['state']}, {s.get('fps_analysed') or 0:.1f} fps analysed, "
                f"lag {lag:.1f} s"
                if lag is not None
                else f"  {s['camera_id']}: {s['state']}"
            )

    try:
        report = run_streams(
            lh,
            args.camera,
            duration_s=args.duration,
            home=args.home,
            profile=profile,
            workers=args.workers,
            stop=stop,
            on_batch=on_batch,
            say=out.info,
        )
    except StreamError as exc:
        raise CliError(str(exc)) from None
    summary = {
        "cameras": report.cameras,
        "seconds": round(report.seconds, 1),
        "batches": report.batches,
        "plate_read_writes": report.plate_reads,
        "face_sighting_writes": report.face_sightings,
        "alerts": report.alerts,
        "device": report.device,
        "errors": report.errors,
        "status": [
            {
                k: s.get(k)
                for k in ("camera_id", "frames_decoded", "frames_analysed", "frames_dropped", "reconnects")
            }
            for s in report.status
        ],
    }
    out.record(
        summary,
        text=f"streamed {len(report.cameras)} camera(s) for {report.seconds:.0f} s: "
        f"{report.batches} micro-batches, {report.plate_reads} plate-read and {report.face_sightings} "
        f"face-sighting writes" + (f"; errors: {report.errors}" if report.errors else ""),
    )
    return 1 if report.errors else 0


def status(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from pipelines.live import read_status

    rows = read_status(Lakehouse(home=args.home), home=args.home)
    cols = ["camera_id", "state", "last_frame_ts", "fps_analysed", "lag_s", "error"]
    if out.json_mode:
        out.records(rows)
    else:
        out.table([{c: r.get(c) for c in cols} for r in rows], cols)
    return 0
