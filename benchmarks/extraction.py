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
5. the pipeline with the recorded profile *before* issue 15 (plate detector at 640 px, motion
   regions; a ``pesquisa.yaml`` ``extraction:`` section in its home) and *after* (the
   ``extraction`` settings' defaults), one after the other: real-time factor (video seconds per
   wall second) and frames the models saw;
6. the plate reader's decoding and fusion cost per plate crop, timed inside the reader on the
   sampled frames: recognition of a text line, format decoding of a line (``rank_candidates``),
   and CTC fusion of a track's frames (``fuse_track``, per read fused);

and the passes found against the clip's ground truth (plates: exact read; faces: nearest enrolled
identity). Writes ``benchmarks/results/extraction.md``.
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
    the recorded profile's plate detector size, faces on every ``face_every``-th frame), in this
    process, one batch after the other; with the libraries' own threading (``threads=None``: every
    core) or ``threads`` per library."""
    from lakehouse.settings import ExtractionSettings
    from pipelines.extract.frames import FrameProcessor, FrameTask
    from pipelines.extract.runner import RunOptions

    every = RunOptions().face_every
    side = ExtractionSettings().plate_det_side  # the recorded profile's plate detector
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
                FrameTask(i + k, f, None, faces=(i + k) % every == 0, masks=masks, plate_det_side=side)
                for k, f in enumerate(frames[i : i + batch])
            ],
            formats,
        )
    wall = time.perf_counter() - t
    return len(frames) / wall, proc.info()["device"], _cpu_seconds([os.getpid()]) - cpu0


#: the recorded profile before issue 15 (the ``extraction`` section of a home's pesquisa.yaml)
BEFORE = {"plate_det_side": 640, "gating": "region", "plate_second_pass": False, "face_every": 2}


def _ingest(  # noqa: ANN202
    home: Path,
    m,  # noqa: ANN001
    gating: str | None,
    fps: float,
    pids: list[int],
    extraction: dict | None = None,
    executor=None,  # noqa: ANN001 - None: the Ray pool
):
    import yaml

    from lakehouse import Lakehouse
    from pipelines.extract import ingest_paths

    shutil.rmtree(home, ignore_errors=True)
    if extraction:
        home.mkdir(parents=True)
        (home / "pesquisa.yaml").write_text(yaml.safe_dump({"extraction": extraction}))
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
        executor=executor,
    )
    cpu = _cpu_seconds(pids) - cpu0
    if rep.failed:
        raise SystemExit(f"ingest failed: {rep.failed}")
    plates = lh.read("plate_reads", columns=["camera_id", "offset_s", "plate"]).to_pylist()
    faces = lh.read("face_sightings", columns=["camera_id", "offset_s", "embedding"]).to_pylist()
    return rep, plates, faces, cpu


def _decode_fusion_cost(frames: list, formats: list[str] | None) -> dict[str, float]:
    """Milliseconds per plate crop of recognition (a text line), format decoding (a line's
    ``rank_candidates``) and fusion (``fuse_track`` per read fused), timed inside the plate reader
    on the sampled frames (one thread, the pipeline's video reader and tracker)."""
    import pipelines.plates.reader as reader_mod
    from pipelines.extract.frames import FrameProcessor, FrameTask
    from pipelines.extract.passes import fuse_track, plate_observation, plate_tracker
    from pipelines.plates.reader import DEFAULT_FORMATS

    fmts = list(formats) + [f for f in DEFAULT_FORMATS if f not in formats] if formats else None
    proc = FrameProcessor(device="cpu", faces=False, threads=1)
    engine = proc._ocr_engine()
    spent = {"rec": 0.0, "lines": 0, "dec": 0.0, "decoded": 0}
    rank, recognize = reader_mod.rank_candidates, engine.recognize

    def timed_rank(*a, **k):  # noqa: ANN002, ANN003, ANN202
        t = time.perf_counter()
        try:
            return rank(*a, **k)
        finally:
            spent["dec"] += time.perf_counter() - t
            spent["decoded"] += 1

    def timed_recognize(crops):  # noqa: ANN001, ANN202
        t = time.perf_counter()
        try:
            return recognize(crops)
        finally:
            spent["rec"] += time.perf_counter() - t
            spent["lines"] += len(crops)

    from lakehouse.settings import ExtractionSettings

    side = ExtractionSettings().plate_det_side
    tracker = plate_tracker()
    reader_mod.rank_candidates, engine.recognize = timed_rank, timed_recognize
    try:
        for i, f in enumerate(frames):
            (res,) = proc.process([FrameTask(i, f, None, faces=False, plate_det_side=side)], fmts)
            t = i / 5.0
            tracker.update(t, [plate_observation(i, t, p) for p in res.plates])
    finally:
        reader_mod.rank_candidates = rank
        del engine.recognize
    fused_reads, fuse_s = 0, 0.0
    for track in tracker.finish():
        n = sum(1 for o in track.obs if o.data.get("ctc") is not None)
        if n < 2:
            continue
        t = time.perf_counter()
        fuse_track(track, tuple(fmts) if fmts else None)
        fuse_s += time.perf_counter() - t
        fused_reads += min(n, 12)
    return {
        "rec_ms": 1000 * spent["rec"] / max(spent["lines"], 1),
        "lines": spent["lines"],
        "dec_ms": 1000 * spent["dec"] / max(spent["decoded"], 1),
        "decoded": spent["decoded"],
        "fuse_ms": 1000 * fuse_s / max(fused_reads, 1),
        "fused_reads": fused_reads,
    }


def _local(args, m, path: str, formats, seconds: float, device: str, load_before: float) -> int:  # noqa: ANN001
    """``--local``: the recorded profile before and after, in this process (LocalExecutor)."""
    import torch

    from lakehouse.settings import ExtractionSettings
    from pipelines.extract.evaluate import score_plates
    from pipelines.extract.executors import LocalExecutor
    from pipelines.extract.frames import FrameProcessor

    torch.set_num_threads(1)
    ex = LocalExecutor(FrameProcessor(threads=1))
    pids = [os.getpid()]
    runs = {}
    for name, extraction in (("before", BEFORE), ("after", None)):
        rep, plates, _, cpu = _ingest(work_home(args, name), m, None, args.sample_fps, pids, extraction, ex)
        runs[name] = (rep, score_plates(m, plates), cpu)
        print(f"pipeline, {name}: RTF {rep.realtime_factor:.2f}, {cpu:.0f} CPU s", flush=True)
    frames, _ = _sampled_frames(path, args.sample_fps)
    cost = _decode_fusion_cost(frames, formats)
    del frames
    after = ExtractionSettings()
    video_s = runs["after"][0].video_seconds
    rows = []
    for name, desc in (
        ("before", "old recorded profile (640 px, motion regions)"),
        ("after", f"recorded profile ({after.plate_det_side} px, gating {after.gating})"),
    ):
        rep, ps, cpu = runs[name]
        share = float(rep.sources[-1].get("pixels_share", 1.0))
        rows.append(
            f"| pipeline, {name}: {desc} | {rep.frames_processed / rep.seconds:.2f} | **{rep.realtime_factor:.2f}** | "
            f"{rep.frames_processed} ({100 * share:.0f} %) | {cpu / video_s:.2f} | {ps.found}/{ps.passes} | "
            f"{ps.correct}/{ps.rows} |"
        )
    lines = [
        "## extraction",
        "",
        f"Clip: synthetic street camera (`generate_city(cameras=1, seed={args.seed})`), {video_s:.1f} s, "
        f"1280x720, 25 fps, sampled at **{args.sample_fps:g} fps**. Device: **{device}**; {os.cpu_count()} cores "
        f"({platform.processor() or platform.machine()}); `--local`: the pipeline (`ingest_paths`: decoding, "
        "gating, plate reader + face analyzer, tracking, Delta commits) in one process with one model thread "
        f"(LocalExecutor; Ray could not start on the loaded machine). Load average (1 min) {load_before:.1f} "
        f"before, {os.getloadavg()[0]:.1f} after: this run got a small share of the 2 cores, so wall times and "
        "real-time factors are far below an idle machine's; CPU seconds per video second are the comparable figure.",
        "",
        "| run | frames/s | real-time factor | frames (pixels) through the models | CPU s per video s | "
        "plate passes found (exact) | plate rows correct |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Plate reader cost per plate crop (one thread, timed inside the reader on the sampled frames, recorded "
        f"profile): recognition **{cost['rec_ms']:.1f} ms** per text line ({cost['lines']} lines), format decoding "
        f"**{cost['dec_ms']:.2f} ms** per line ({cost['decoded']} decoded), CTC fusion of a track's frames "
        f"**{cost['fuse_ms']:.2f} ms** per read fused ({cost['fused_reads']} reads; camera format first, then every "
        "preset and `generic`).",
        "",
        f"Command: `python -m benchmarks.extraction --local{' --quick' if args.quick else ''}` "
        f"(`--seconds {seconds:g} --sample-fps {args.sample_fps:g}`).",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def work_home(args, name: str) -> Path:  # noqa: ANN001
    return (args.work or Path(tempfile.gettempdir()) / "pesquisa-bench-extraction") / f"home-{name}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a 12 s clip instead of 30 s")
    ap.add_argument("--seconds", type=float, help="clip length in seconds")
    ap.add_argument("--sample-fps", type=float, default=5.0, help="sampling rate (street default: 5)")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--work", type=Path, help="where the clip and tables go (default: a temp dir)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument(
        "--local",
        action="store_true",
        help="only the before/after pipeline rows and the per-crop cost, in this process (LocalExecutor, "
        "one thread, no Ray): for a machine too loaded to start Ray",
    )
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

    if args.local:
        return _local(args, m, path, formats, seconds, device, load_before)
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
    rep_b, plates_b, faces_b, cpu_b = _ingest(work / "home-before", m, None, args.sample_fps, pids, BEFORE)
    print(
        f"pipeline, before (640 px, regions): RTF {rep_b.realtime_factor:.2f} ({rep_b.frames_processed} "
        f"frames, {rep_b.sources[-1].get('pixels_share')} of their pixels)",
        flush=True,
    )
    rep_on, plates_on, faces_on, cpu_on = _ingest(work / "home-after", m, None, args.sample_fps, pids)
    print(
        f"pipeline, after (recorded profile): RTF {rep_on.realtime_factor:.2f} ({rep_on.frames_processed} "
        f"frames, {rep_on.sources[-1].get('pixels_share')} of their pixels)",
        flush=True,
    )
    shutdown_pools()
    frames, _ = _sampled_frames(path, args.sample_fps)
    cost = _decode_fusion_cost(frames, formats)
    del frames
    print(
        f"per plate crop: recognition {cost['rec_ms']:.1f} ms, decoding {cost['dec_ms']:.2f} ms, "
        f"fusion {cost['fuse_ms']:.2f} ms",
        flush=True,
    )

    names, vecs = enrol_identities(m.identities)
    p_off, p_b, p_on = score_plates(m, plates_off), score_plates(m, plates_b), score_plates(m, plates_on)
    f_off, f_b = score_faces(m, faces_off, names, vecs), score_faces(m, faces_b, names, vecs)
    f_on = score_faces(m, faces_on, names, vecs)
    from lakehouse.settings import ExtractionSettings

    after = ExtractionSettings()
    after_desc = f"{after.plate_det_side} px, gating {after.gating}" + (
        ", second pass" if after.plate_second_pass else ""
    )

    video_s = rep_off.video_seconds
    share_on = float(rep_on.sources[-1].get("pixels_share", 1.0))
    share_b = float(rep_b.sources[-1].get("pixels_share", 1.0))
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
        f"| pipeline, before: old recorded profile (640 px, motion regions) | "
        f"{rep_b.frames_processed / rep_b.seconds:.2f} | **{rep_b.realtime_factor:.2f}** | "
        f"{rep_b.frames_processed} ({100 * share_b:.0f} %) | {cpu_cols(cpu_b)} |",
        f"| pipeline, after: recorded profile ({after_desc}) | {rep_on.frames_processed / rep_on.seconds:.2f} | "
        f"**{rep_on.realtime_factor:.2f}** | {rep_on.frames_processed} ({100 * share_on:.0f} %) | {cpu_cols(cpu_on)} |",
        "",
        f"Plate reader cost per plate crop (one thread, timed inside the reader on the {rep_off.frames_processed} "
        f"sampled frames, recorded profile): recognition **{cost['rec_ms']:.1f} ms** per text line "
        f"({cost['lines']} lines), format decoding **{cost['dec_ms']:.2f} ms** per line "
        f"({cost['decoded']} decoded), CTC fusion of a track's frames **{cost['fuse_ms']:.2f} ms** per read fused "
        f"({cost['fused_reads']} reads; camera format first, then every preset and `generic`).",
        "",
        f"Pipeline (gating off) / models alone: **{ratio:.2f}x** against the libraries run as they come "
        f"(every core per call), **{ratio_ideal:.2f}x** against {cores} x the one-thread throughput "
        "(the most the models could give on these cores with perfect parallelism).",
        "",
        "| passes found | plates (exact read) | plate rows correct | faces (right identity) |",
        "|---|---:|---:|---:|",
        f"| gating off | {p_off.found}/{p_off.passes} | {p_off.correct}/{p_off.rows} | {f_off.identified}/{f_off.passes} |",
        f"| before (640 px, regions) | {p_b.found}/{p_b.passes} | {p_b.correct}/{p_b.rows} | "
        f"{f_b.identified}/{f_b.passes} |",
        f"| after (recorded profile) | {p_on.found}/{p_on.passes} | {p_on.correct}/{p_on.rows} | "
        f"{f_on.identified}/{f_on.passes} |",
        "",
        f"Command: `python -m benchmarks.extraction{' --smoke' if args.smoke else ' --quick' if args.quick else ''}` "
        f"(`--seconds {seconds:g} --sample-fps {args.sample_fps:g}`). Wall times include hashing the file, "
        "the Delta commits and the book-keeping rows; model loading (actor start) is excluded. "
        "CPU seconds are those of the driver and the actor processes (all threads), so the last "
        f"column (cores / CPU s per video s, {cores} cores) is what the run reaches when it has the "
        "cores to itself; it is an estimate, the real-time factor column is measured.",
    ]
    if p_on.misses or f_on.misses:
        lines += ["", "Missed after: " + "; ".join(p_on.misses + f_on.misses)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
