"""Extraction throughput, side by side in one run on the same clip.

    python -m benchmarks.extraction [--quick] [--seconds S] [--sample-fps F] [--work DIR]
    python -m benchmarks.extraction --smoke    # a 2 s clip at 2 fps, report to a temp dir

On one synthetic street clip (720p, 25 fps, ``pipelines.synth.generate_city`` with one street camera):

1. raw PyAV decode (threaded), every frame, no conversion: frames/s;
2. decode + sampling at ``--sample-fps`` + RGB conversion: sampled frames/s;
3. the models' own inference throughput on those sampled frames, whole frames, in this process, no
   pipeline: the same calls the actors make (plate reader on every sampled frame with the clock
   overlay masked, face analyzer on every second one): frames/s;
4. the pipeline, ``ingest_paths`` (Ray actor pool, tracking, Delta commits) with motion gating off:
   sampled frames/s and its ratio to (3);
5. the pipeline with motion gating (regions, the default): real-time factor (video seconds per
   wall second) and frames the models saw;

and the passes found against the clip's ground truth with and without gating (plates: exact
read; faces: nearest enrolled identity). Writes ``benchmarks/results/extraction.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import smoke

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "extraction.md"


def _city(work: Path, seconds: float, seed: int):  # noqa: ANN202
    from pipelines.synth.city import generate_city
    from pipelines.synth.manifest import load_manifest

    city_dir = work / f"city-street-{seconds:g}s-seed{seed}"
    if (city_dir / "manifest.json").exists():
        return load_manifest(city_dir)
    return generate_city(
        city_dir,
        cameras=1,
        minutes=seconds / 60.0,
        seed=seed,
        incidents=0,
        width=1280,
        height=720,
        fps=25,
        progress=False,
    )


def _decode_fps(path: str) -> tuple[float, int]:
    from pipelines.video import VideoReader

    t = time.perf_counter()
    with VideoReader(path, sample_fps=None) as r:
        n = sum(1 for _ in r)
    return n / (time.perf_counter() - t), n


def _sampled_frames(path: str, fps: float) -> tuple[list, float]:
    from pipelines.video import VideoReader

    t = time.perf_counter()
    with VideoReader(path, sample_fps=fps) as r:
        frames = [f.rgb() for f in r]
    return frames, len(frames) / (time.perf_counter() - t)


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes (all their threads)."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def _models_fps(
    frames: list, formats: list[str] | None, batch: int, threads: int | None = None
) -> tuple[float, str, float]:
    """The same model calls the pipeline makes on every sampled frame (whole frames, overlay masks,
    faces on every ``face_every``-th frame), in this process, one batch after the other; with the
    libraries' own threading (``threads=None``: every core) or ``threads`` per library."""
    from pipelines.extract.frames import FrameProcessor, FrameTask
    from pipelines.extract.runner import RunOptions

    every = RunOptions().face_every
    if threads:
        import torch

        torch.set_num_threads(threads)
    proc = FrameProcessor(threads=threads)
    masks = proc.find_overlays(frames[0]) or None
    proc.process([FrameTask(0, frames[0])], formats)  # warm-up
    cpu0 = _cpu_seconds([os.getpid()])
    t = time.perf_counter()
    for i in range(0, len(frames), batch):
        proc.process(
            [
                FrameTask(i + k, f, None, faces=(i + k) % every == 0, masks=masks)
                for k, f in enumerate(frames[i : i + batch])
            ],
            formats,
        )
    wall = time.perf_counter() - t
    return len(frames) / wall, proc.info()["device"], _cpu_seconds([os.getpid()]) - cpu0


def _ingest(home: Path, m, gating: str, fps: float, pids: list[int]):  # noqa: ANN001, ANN202
    from lakehouse import Lakehouse
    from pipelines.extract import ingest_paths

    shutil.rmtree(home, ignore_errors=True)
    lh = Lakehouse(home=home)
    lh.upsert("cameras", m.cameras)
    v = m.videos[0]
    cpu0 = _cpu_seconds(pids)
    rep = ingest_paths(
        lh,
        [m.abspath(v.path)],
        camera_id=v.camera_id,
        start=v.start_ts,
        sample_fps=fps,
        gating=gating,
        progress=False,
    )
    cpu = _cpu_seconds(pids) - cpu0
    if rep.failed:
        raise SystemExit(f"ingest failed: {rep.failed}")
    plates = lh.read("plate_reads", columns=["camera_id", "offset_s", "plate"]).to_pylist()
    faces = lh.read("face_sightings", columns=["camera_id", "offset_s", "embedding"]).to_pylist()
    return rep, plates, faces, cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a 12 s clip instead of 30 s")
    ap.add_argument("--seconds", type=float, help="clip length in seconds")
    ap.add_argument("--sample-fps", type=float, default=5.0, help="sampling rate (street default: 5)")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--work", type=Path, help="where the clip and tables go (default: a temp dir)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--smoke", action="store_true", help=smoke.HELP)
    args = ap.parse_args(argv)
    seconds = args.seconds or (12.0 if args.quick else 30.0)
    work = args.work or Path(tempfile.gettempdir()) / "pesquisa-bench-extraction"
    if args.smoke:
        work = smoke.smoke_dir("extraction")
        seconds, args.sample_fps, args.out = args.seconds or 2.0, 2.0, work / "extraction.md"
    work.mkdir(parents=True, exist_ok=True)

    from pipelines.device import torch_device
    from pipelines.extract import EXTRACTION_MODEL_VERSION
    from pipelines.extract.actors import PoolConfig, get_pool, shutdown_pools
    from pipelines.extract.evaluate import enrol_identities, score_faces, score_plates

    device = torch_device("auto")
    load_before = os.getloadavg()[0]
    print(
        f"device: {device}; cores: {os.cpu_count()}; clip: {seconds:g} s street, 1280x720, 25 fps; "
        f"sampling {args.sample_fps:g} fps",
        flush=True,
    )
    t = time.perf_counter()
    m = _city(work, seconds, args.seed)
    print(f"clip ready ({time.perf_counter() - t:.0f} s)", flush=True)
    v = m.videos[0]
    path = str(m.abspath(v.path))
    formats = [m.cameras[0]["plate_format"]] if m.cameras[0].get("plate_format") else None

    decode_fps, n_decoded = _decode_fps(path)
    print(f"raw decode: {decode_fps:.0f} frames/s ({n_decoded} frames)", flush=True)
    frames, sample_fps = _sampled_frames(path, args.sample_fps)
    print(f"decode+sample+RGB: {sample_fps:.0f} sampled frames/s ({len(frames)} frames)", flush=True)
    models_fps, model_device, models_cpu = _models_fps(frames, formats, batch=4)
    print(f"models alone: {models_fps:.2f} frames/s on {model_device} ({models_cpu:.1f} CPU s)", flush=True)
    fps1, _, cpu1 = _models_fps(frames, formats, batch=4, threads=1)
    cores = os.cpu_count() or 1
    print(
        f"models alone, one thread: {fps1:.2f} frames/s ({cpu1:.1f} CPU s); x{cores} cores: "
        f"{fps1 * cores:.2f}",
        flush=True,
    )
    del frames

    from pipelines.ray_runtime import ensure_ray

    ensure_ray()
    pool = get_pool(PoolConfig())  # model loading is not part of the throughput
    pool_desc = f"{pool.size} actor(s) on {pool.device}, {pool.resources}"
    import ray

    pids = [os.getpid()] + [
        int(i["pid"]) for i in ray.get([a.info.remote() for a in pool.actors], timeout=120)
    ]
    rep_off, plates_off, faces_off, cpu_off = _ingest(work / "home-off", m, "off", args.sample_fps, pids)
    pipe_fps = rep_off.frames_processed / rep_off.seconds
    print(f"pipeline, no gating: {pipe_fps:.2f} frames/s, RTF {rep_off.realtime_factor:.2f}", flush=True)
    rep_on, plates_on, faces_on, cpu_on = _ingest(work / "home-region", m, "region", args.sample_fps, pids)
    print(
        f"pipeline, motion gating: RTF {rep_on.realtime_factor:.2f} ({rep_on.frames_processed} frames, "
        f"{rep_on.sources[-1].get('pixels_share')} of their pixels)",
        flush=True,
    )
    shutdown_pools()

    names, vecs = enrol_identities(m.identities)
    p_off, p_on = score_plates(m, plates_off), score_plates(m, plates_on)
    f_off, f_on = score_faces(m, faces_off, names, vecs), score_faces(m, faces_on, names, vecs)

    video_s = rep_off.video_seconds
    share_on = float(rep_on.sources[-1].get("pixels_share", 1.0))
    load_after = os.getloadavg()[0]
    ratio = pipe_fps / models_fps if models_fps else 0.0
    ratio_ideal = pipe_fps / (fps1 * cores) if fps1 else 0.0

    def cpu_cols(cpu: float) -> str:
        per_video_s = cpu / video_s
        return f"{per_video_s:.2f} | {cores / per_video_s:.2f}"

    lines = [
        "## extraction",
        "",
        f"Clip: synthetic street camera (`generate_city(cameras=1, seed={args.seed})`), {video_s:.1f} s, "
        f"1280x720, 25 fps, sampled at **{args.sample_fps:g} fps** ({rep_off.frames_processed} sampled frames). "
        f"Device: **{device}**; {os.cpu_count()} cores ({platform.processor() or platform.machine()}); "
        f"pool: {pool_desc}. Model version `{EXTRACTION_MODEL_VERSION}`. Load average (1 min) "
        f"{load_before:.1f} before, {load_after:.1f} after (other processes share these cores).",
        "",
        "| measurement | frames/s | real-time factor | frames (pixels) through the models | "
        "CPU s per video s | RTF if CPU-bound on idle cores |",
        "|---|---:|---:|---:|---:|---:|",
        f"| raw PyAV decode (threaded, all frames) | {decode_fps:.0f} | {decode_fps / 25:.1f} | - | - | - |",
        f"| decode + sample + RGB | {sample_fps:.0f} (sampled) | {sample_fps / args.sample_fps:.1f} | - | - | - |",
        f"| models alone (plate + face, whole frames, in-process, libraries' threading) | {models_fps:.2f} | "
        f"{models_fps / args.sample_fps:.2f} | {rep_off.frames_processed} (100 %) | {cpu_cols(models_cpu)} |",
        f"| models alone, one thread each, x {cores} cores (ideal, not run in parallel) | {fps1 * cores:.2f} | "
        f"{fps1 * cores / args.sample_fps:.2f} | {rep_off.frames_processed} (100 %) | {cpu_cols(cpu1)} |",
        f"| pipeline, gating off (Ray pool + tracking + Delta) | {pipe_fps:.2f} | {rep_off.realtime_factor:.2f} | "
        f"{rep_off.frames_processed} (100 %) | {cpu_cols(cpu_off)} |",
        f"| pipeline, motion gating (regions) | {rep_on.frames_processed / rep_on.seconds:.2f} | "
        f"**{rep_on.realtime_factor:.2f}** | {rep_on.frames_processed} ({100 * share_on:.0f} %) | {cpu_cols(cpu_on)} |",
        "",
        f"Pipeline (gating off) / models alone: **{ratio:.2f}x** against the libraries run as they come "
        f"(every core per call), **{ratio_ideal:.2f}x** against {cores} x the one-thread throughput "
        "(the most the models could give on these cores with perfect parallelism).",
        "",
        "| passes found | plates (exact read) | plate rows correct | faces (right identity) |",
        "|---|---:|---:|---:|",
        f"| gating off | {p_off.found}/{p_off.passes} | {p_off.correct}/{p_off.rows} | {f_off.identified}/{f_off.passes} |",
        f"| motion gating | {p_on.found}/{p_on.passes} | {p_on.correct}/{p_on.rows} | {f_on.identified}/{f_on.passes} |",
        "",
        f"Command: `python -m benchmarks.extraction{' --smoke' if args.smoke else ' --quick' if args.quick else ''}` "
        f"(`--seconds {seconds:g} --sample-fps {args.sample_fps:g}`). Wall times include hashing the file, "
        "the Delta commits and the book-keeping rows; model loading (actor start) is excluded. "
        "CPU seconds are those of the driver and the actor processes (all threads), so the last "
        f"column (cores / CPU s per video s, {cores} cores) is what the run reaches when it has the "
        "cores to itself; it is an estimate, the real-time factor column is measured.",
    ]
    if p_on.misses or f_on.misses:
        lines += ["", "Missed with gating: " + "; ".join(p_on.misses + f_on.misses)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
