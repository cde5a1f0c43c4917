"""``pesquisa demo [--open]``: build a small synthetic city under --home, load it, process it and
serve the app. Every step is idempotent: running it again reuses what is already there.

With ``--open`` the demo also starts a simulated live camera (a city clip looped by ffmpeg on
loopback), a demo watchlist (a plate and a face of that clip) and ``pesquisa stream run`` for it,
so the app shows live rows and alerts arriving; stopping the demo stops every process it started.
The extraction actors used to build the city are released before the app is served."""

from __future__ import annotations

import argparse
import time

from jobs.output import CliError, Output


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("demo", parents=[common], help="build the synthetic city, process it, serve the app")
    p.add_argument("--open", action="store_true", help="serve the app when done (blocks until Ctrl-C)")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--cameras", type=int, default=6, help="cameras in the demo city")
    p.add_argument("--minutes", type=float, default=0.5, help="minutes of video per camera")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--incidents", type=int, default=5000)
    p.add_argument("--no-video", action="store_true", help="only cameras and incidents (seconds)")
    p.add_argument(
        "--no-live",
        action="store_true",
        help="with --open: no simulated live camera (default: one clip looped on loopback, streamed "
        "by `stream run`, with a demo watchlist)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace, out: Output) -> int:
    from jobs.demo import DemoOptions, build_demo

    opts = DemoOptions(
        cameras=args.cameras,
        minutes=args.minutes,
        seed=args.seed,
        incidents=args.incidents,
        video=not args.no_video,
    )
    from pipelines.governance.signin import DemoHomeError

    t0 = time.time()
    try:
        summary = build_demo(args.home, opts, say=out.info)
    except DemoHomeError as exc:
        raise CliError(str(exc), code=2) from None
    summary["seconds"] = round(time.time() - t0, 1)
    out.record(summary, text=_summary_text(summary))
    if args.open:
        from app.auth import DEMO_PASSWORD
        from app.server import serve_app

        live = None
        if opts.video and not args.no_live:
            from jobs.demo import start_live_demo
            from pipelines.synth import load_manifest

            try:
                live = start_live_demo(args.home, load_manifest(summary["city"]), say=out.info)
            except Exception as exc:  # noqa: BLE001 - the recorded demo still works without the live camera
                out.error(f"live camera not started: {exc}")
        try:
            # the demo home gets the documented login demo / pesquisa-demo; `pesquisa app` elsewhere
            # creates a random first password
            serve_app(args.home, port=args.port, demo_password=DEMO_PASSWORD, say=out.info)
        finally:
            if live is not None:
                out.info("stopping the live camera and its stream runner")
                live.stop()
    return 0 if not summary.get("failed") else 1


def _summary_text(s: dict) -> str:
    lines = [f"demo city ready under {s['home']} in {s['seconds']} s"]
    for k in ("cameras", "incidents", "videos", "plate_reads", "face_sightings", "indexed_faces", "failed"):
        if k in s:
            lines.append(f"  {k:15s} {s[k]}")
    return "\n".join(lines)
