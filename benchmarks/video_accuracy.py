"""Real plate photos played as an H.264 clip: ``pesquisa ingest`` against plain RapidOCR on the same
sampled frames, and the speed/accuracy trade of each video setting, in one run.

    python -m benchmarks.video_accuracy [--photos N] [--hold S] [--only NAME,...] [--work DIR]
    python -m benchmarks.video_accuracy --quick    # 20 photos
    python -m benchmarks.video_accuracy --smoke    # 2 photos, 2 settings, report to a temp dir

The clip (:mod:`pipelines.synth.photo_clip`): ``N`` photos of ``../shared/data/plates/openalpr_eu``
(spread over the set), each held ``--hold`` s at 1280x720, 25 fps, with a slow 15 % zoom and pan,
sensor noise, H.264 capped at 2.5 Mb/s. Every setting runs ``ingest_paths`` (what ``pesquisa
ingest`` calls) in this process (``LocalExecutor``, one ONNX Runtime / torch thread) into a fresh
home whose ``pesquisa.yaml`` holds the setting's ``extraction`` section, at a camera registered
with format ``EU``; plain RapidOCR (:mod:`pipelines.extract.clip_accuracy`) reads every frame
sampled at the same rate. Scores: photos read exactly (best read per pass, or for plain any line of
any frame), O/0-I/1-equal, rows that match no label; speed: wall and CPU seconds (this process, all
threads) per second of video. The sweep changes one setting at a time from the previous recorded
default; the profiles run with the face analyzer on (their full cost).

Results: ``benchmarks/results/video_accuracy.md`` (and ``--save`` JSON; ``--resume`` keeps the
settings already in that JSON, so a long sweep can be run in pieces on a shared machine).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks import smoke

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "video_accuracy.md"
CAMERA = "EU-CLIP"
START = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Setting:
    name: str
    plate_det_side: int = 640
    gating: str = "region"
    sample_fps: float = 5.0
    second_pass: bool = False
    faces: bool = False
    face_every: int = 2
    note: str = ""

    def extraction(self) -> dict[str, Any]:
        return {
            "plate_det_side": self.plate_det_side,
            "gating": self.gating,
            "plate_second_pass": self.second_pass,
            "face_every": self.face_every,
        }


#: the recorded default before this benchmark (detector 640 px, motion regions, 5 fps), then one
#: setting changed at a time, then the profiles (faces on: their full cost)
SWEEP = [
    Setting("old default (640 px region)", note="main before issue 15"),
    Setting("gating frame", gating="frame"),
    Setting("gating off", gating="off"),
    Setting("det 960", plate_det_side=960),
    Setting("960 + frame", plate_det_side=960, gating="frame"),
    Setting("960 + off", plate_det_side=960, gating="off"),
    Setting("det 1280", plate_det_side=1280),
    Setting("det 480", plate_det_side=480),
    Setting("second pass", second_pass=True),
    Setting("2.5 fps", sample_fps=2.5),
    Setting("10 fps", sample_fps=10.0),
]
PROFILES = [
    Setting("profile: recorded old (faces on)", faces=True, note="640, region, 5 fps"),
    Setting(
        "profile: recorded (faces on)",
        plate_det_side=960,
        gating="frame",
        faces=True,
        note="extraction: defaults",
    ),
    Setting(
        "profile: live (faces on)",
        plate_det_side=480,
        gating="region",
        sample_fps=3.0,
        face_every=3,
        faces=True,
        note="live: defaults, no frame drops",
    ),
]


def _cpu() -> float:
    return time.process_time()


def build_clip(work: Path, photos: int, hold_s: float) -> Any:
    from pipelines.plates.evaluate import load_samples
    from pipelines.shared_data import shared_path
    from pipelines.synth.photo_clip import build_photo_clip, load_photo_clip, spread

    folder = shared_path("plates", "openalpr_eu")
    if folder is None:
        return None
    out = work / f"eu-photos-{photos}x{hold_s:g}s.mp4"
    if out.exists() and out.with_suffix(".json").exists():
        return load_photo_clip(out)
    samples = spread(load_samples(folder), photos)
    return build_photo_clip(samples, out, hold_s=hold_s)


def run_setting(clip: Any, s: Setting, work: Path, processors: dict[bool, Any]) -> dict[str, Any]:
    import yaml

    from lakehouse import Lakehouse
    from pipelines.extract import ingest_paths
    from pipelines.extract.clip_accuracy import score_rows
    from pipelines.extract.executors import LocalExecutor

    home = work / ("home-" + "".join(c if c.isalnum() else "-" for c in s.name))
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    (home / "pesquisa.yaml").write_text(yaml.safe_dump({"extraction": s.extraction()}))
    lh = Lakehouse(home=home)
    lh.upsert(
        "cameras",
        [
            {
                "camera_id": CAMERA,
                "agency": "police911",
                "lat": 0.0,
                "lon": 0.0,
                "kind": "street",
                "plate_format": "EU",
            }
        ],
    )
    t0, c0 = time.perf_counter(), _cpu()
    rep = ingest_paths(
        lh,
        [clip.path],
        camera_id=CAMERA,
        start=START,
        sample_fps=s.sample_fps,
        progress=False,
        executor=LocalExecutor(processors[s.faces]),
    )
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    if rep.failed:
        raise SystemExit(f"ingest failed: {rep.failed}")
    rows = lh.read("plate_reads", columns=["offset_s", "plate"]).to_pylist()
    sc = score_rows(clip, rows)
    shutil.rmtree(home, ignore_errors=True)
    return {
        "setting": asdict(s),
        **sc.summary(),
        "exact_files": sorted(sc.exact),
        "frames": rep.frames_processed,
        "pixels_share": rep.sources[-1].get("pixels_share") if rep.sources else None,
        "video_s": rep.video_seconds,
        "wall_s": wall,
        "cpu_s": cpu,
    }


def run_plain(clip: Any, kind: str, sample_fps: float) -> dict[str, Any]:
    from pipelines.extract.clip_accuracy import plain_frames, score_frames

    run = plain_frames(clip.path, sample_fps, kind)
    sc = score_frames(clip, run.frames)
    return {
        "setting": {"name": f"plain RapidOCR ({kind})", "sample_fps": sample_fps},
        **sc.summary(),
        "exact_files": sorted(sc.exact),
        "frames": len(run.frames),
        "video_s": clip.seconds,
        "wall_s": run.wall_s,
        "cpu_s": run.cpu_s,
    }


def _row(r: dict[str, Any], bar: set[str]) -> str:
    s = r["setting"]
    n = r["photos"]
    got = set(r["exact_files"])
    vs = f"+{len(got - bar)} / -{len(bar - got)}" if bar else "-"
    vsec = r["video_s"] or 1.0
    if s["name"].startswith("plain"):
        conf = f"every sampled frame, {s['sample_fps']:g} fps"
    else:
        conf = (
            f"{s['plate_det_side']} px, {s['gating']}, {s['sample_fps']:g} fps"
            + (", 2nd pass" if s["second_pass"] else "")
            + (f", faces 1/{s['face_every']}" if s["faces"] else "")
        )
    share = r.get("pixels_share")
    frames = f"{r['frames']}" + (f" ({100 * share:.0f} %)" if share is not None else "")
    return (
        f"| {s['name']} | {conf} | **{r['exact']}**/{n} ({100 * r['exact'] / max(n, 1):.0f} %) | "
        f"{r['equal']} | {vs} | {r.get('rows', 0)} ({r.get('wrong', 0)}) | {frames} | "
        f"{r['wall_s'] / vsec:.2f} | {r['cpu_s'] / vsec:.2f} |"
    )


def report(clip: Any, results: dict[str, dict[str, Any]], loads: tuple[float, float], cmd: str) -> str:
    plain = [r for k, r in results.items() if k.startswith("plain")]
    bar_r = max(plain, key=lambda r: r["exact"]) if plain else None
    bar = set(bar_r["exact_files"]) if bar_r else set()
    lines = [
        "## Video accuracy: real plate photos as an H.264 clip (video_accuracy)",
        "",
        f"Clip: {clip.describe()} ({clip.seconds:.0f} s; photos of `plates/openalpr_eu` spread over the set, "
        f"plates {min(s.plate_px[0] for s in clip.shown):.0f}-{max(s.plate_px[1] for s in clip.shown):.0f} px "
        f"tall). Camera registered with format `EU`. CPU, {os.cpu_count()} cores "
        f"({platform.processor() or platform.machine()}), one process, one model thread; "
        f"load average (1 min) {loads[0]:.1f} before, {loads[1]:.1f} after (shared machine: wall times "
        "are inflated, CPU times are the steadier figure).",
        "",
        "| run | settings | exact | O/0-I/1 | vs best plain (+gained / -lost) | rows (matching no label) | "
        "frames analysed (pixels) | wall s per video s | CPU s per video s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results.values():
        lines.append(_row(r, bar if r is not bar_r else set()))
    lines += [
        "",
        "Exact = photos whose plate a row read exactly (best read per pass, the row's time inside the "
        "photo's hold); plain = any text line of any sampled frame of the photo equal to the label. "
        "`plain RapidOCR (package)`: the installed package as it comes (detector `limit_type: min`, 736 px: "
        "~1310 px longest side on 720p, angle classifier on); `(engine960)`: the project's engine used "
        "plainly (detector at 960 px longest side). Rows without faces exclude the face analyzer's cost.",
        "",
        f"Command: `{cmd}`.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, help="photos in the clip (default: all 108; --quick: 20)")
    ap.add_argument("--hold", type=float, default=2.4, help="seconds each photo is on screen")
    ap.add_argument("--quick", action="store_true", help="20 photos")
    ap.add_argument(
        "--only",
        help="comma-separated setting names (no name has a comma; default: every one); 'sweep', 'profiles'",
    )
    ap.add_argument("--plain", default="package,engine960", help="plain RapidOCR kinds to run ('' for none)")
    ap.add_argument("--work", type=Path, help="where the clip goes (default: a temp dir)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--save", type=Path, help="JSON of every result (with --resume: results kept)")
    ap.add_argument("--resume", action="store_true", help="keep the results already in --save")
    ap.add_argument(
        "--merge",
        type=Path,
        nargs="*",
        default=[],
        help="JSON files (--save) of runs on the same clip to report too",
    )
    ap.add_argument("--smoke", action="store_true", help=smoke.HELP)
    args = ap.parse_args(argv)
    photos = args.photos or (20 if args.quick else 108)
    work = args.work or Path(tempfile.gettempdir()) / "pesquisa-bench-video-accuracy"
    settings = SWEEP + PROFILES
    if args.smoke:
        work = smoke.smoke_dir("video_accuracy")
        photos, args.hold, args.out, args.save = 2, 1.0, work / "video_accuracy.md", None
        settings, args.plain = [SWEEP[0], PROFILES[1]], "package"
    elif args.only:
        names = {n.strip() for n in args.only.split(",")}
        unknown = names - {s.name for s in settings} - {"sweep", "profiles"}
        if unknown:
            ap.error(f"--only: no setting named {sorted(unknown)}; known: {[s.name for s in settings]}")
        settings = [
            s
            for s in settings
            if s.name in names or ("sweep" in names and s in SWEEP) or ("profiles" in names and s in PROFILES)
        ]
    work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    t = time.perf_counter()
    clip = build_clip(work, photos, args.hold)
    if clip is None:
        print("../shared/data/plates/openalpr_eu is not present (set PESQUISA_SHARED_DATA): nothing measured")
        return 0
    print(f"clip: {clip.describe()} ({time.perf_counter() - t:.0f} s to build): {clip.path}", flush=True)

    results: dict[str, dict[str, Any]] = {}
    if args.save and args.resume and args.save.exists():
        kept = json.loads(args.save.read_text())
        if kept.get("clip") == clip.path.name:
            results = kept["results"]

    for extra in args.merge:  # pieces of the sweep run in other processes
        kept = json.loads(extra.read_text())
        if kept.get("clip") == clip.path.name:
            results.update({k: v for k, v in kept["results"].items() if k not in results})

    def save() -> None:
        if args.save:
            args.save.parent.mkdir(parents=True, exist_ok=True)
            args.save.write_text(json.dumps({"clip": clip.path.name, "results": results}, indent=1))

    import torch

    torch.set_num_threads(1)
    from pipelines.extract.frames import FrameProcessor

    processors: dict[bool, Any] = {}
    for kind in [k for k in args.plain.split(",") if k]:
        key = f"plain RapidOCR ({kind})"
        if key in results:
            continue
        results[key] = r = run_plain(clip, kind, 5.0)
        print(f"{key}: exact {r['exact']}/{r['photos']}, CPU {r['cpu_s']:.0f} s", flush=True)
        save()
    for s in settings:
        if s.name in results:
            continue
        if s.faces not in processors:
            processors[s.faces] = FrameProcessor(device="cpu", faces=s.faces, threads=1)
        results[s.name] = r = run_setting(clip, s, work, processors)
        print(
            f"{s.name}: exact {r['exact']}/{r['photos']} ({r['rows']} rows, {r['wrong']} wrong), "
            f"{r['frames']} frames, CPU {r['cpu_s']:.0f} s, wall {r['wall_s']:.0f} s",
            flush=True,
        )
        save()
    cmd = "python -m benchmarks.video_accuracy" + (
        " --smoke" if args.smoke else f" --photos {photos} --hold {args.hold:g}"
    )
    text = report(clip, results, (load_before, os.getloadavg()[0]), cmd)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
