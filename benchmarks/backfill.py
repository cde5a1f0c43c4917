"""Backfill throughput with 1 and 2 Ray workers on the same clips (goal: >= 1.7x where the cores are free).

    python -m benchmarks.backfill              # 2 street cameras x 20 s clips, sampled at 5 fps
    python -m benchmarks.backfill --smoke      # one 2 s clip at 2 fps; report to a temp dir

The clips (``pipelines.synth.generate_city``, street cameras, 960x540, 10 fps) are ingested once as
``bench-v1``; then the SAME sources are re-processed as a new model version by
:func:`pipelines.batch.reprocess` (what ``pesquisa backfill`` and Dagster's backfill run: per-source
replace, version switch, lineage report) with a pool of 1 worker on a 1-CPU Ray and of 2 workers on
a 2-CPU Ray, one model thread per worker in both, at the driver's priority (``RAY_worker_niceness=0``).
Model loading (actor start) is not timed.
``--rounds 2`` runs 2, 1, 1, 2 workers (ABBA) so a drift in the other jobs' load cancels out.

Reported per run: wall seconds, sampled frames/s, video seconds per wall second, the CPU seconds the
driver and the workers used and their ratio to the wall time (the parallelism the run really got:
near 2 with two free cores, lower when other processes hold them), and the 1-minute load average
before and after. The machine this was written on has 2 cores shared with other jobs: the speed-up
is only meaningful next to that load. Writes ``benchmarks/results/backfill.md``.
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
from typing import Any

from benchmarks import smoke

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "backfill.md"
V1 = "bench-v1"


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


def _pool(workers: int) -> tuple[Any, list[int]]:
    """A fresh local Ray with ``workers`` CPUs and its pool of ``workers`` actors (models loaded)."""
    import ray

    from pipelines.extract.actors import PoolConfig, get_pool, shutdown_pools
    from pipelines.ray_runtime import ensure_ray

    # model workers at the driver's priority: Ray's default (+15) lets any other job starve them,
    # which would measure the neighbours rather than the pool
    os.environ.setdefault("RAY_worker_niceness", "0")
    same = ray.is_initialized() and int(ray.cluster_resources().get("CPU", 0)) == workers
    if not same:  # a Ray with exactly `workers` CPUs (the pool of the same size is reused)
        shutdown_pools()
        if ray.is_initialized():
            ray.shutdown()
        for attempt in range(8):  # a local Ray start gives up after 30 s; on a loaded machine, retry
            try:
                ensure_ray(num_cpus=workers)
                break
            except Exception as exc:  # ray raises a bare Exception on a start timeout
                if attempt == 7:
                    raise
                print(f"Ray did not start ({exc}); again", flush=True)
                ray.shutdown()
                time.sleep(10)
    pool = get_pool(PoolConfig(workers=workers))
    pids = [int(i["pid"]) for i in ray.get([a.info.remote() for a in pool.actors], timeout=300)]
    return pool, [os.getpid(), *pids]


def _run(lh: Any, sources: list[Any], version: str, workers: int, fps: float) -> dict[str, Any]:
    from pipelines.batch import reprocess

    pool, pids = _pool(workers)
    totals = {"frames": 0, "video_s": 0.0}

    def on_group(done: int, total: int, group: list[Any], result: Any) -> None:
        totals["frames"] += int(getattr(result, "frames_processed", 0) or 0)
        totals["video_s"] += float(getattr(result, "video_seconds", 0.0) or 0.0)

    load0 = os.getloadavg()[0]
    cpu0 = _cpu_seconds(pids)
    t0 = time.perf_counter()
    rep = reprocess(
        lh, sources, model_version=version, workers=workers, sample_fps=fps, progress=False, on_group=on_group
    )
    wall = time.perf_counter() - t0
    cpu = _cpu_seconds(pids) - cpu0
    if rep.failed or rep.succeeded != len(sources):
        raise SystemExit(f"backfill {version} failed: {rep.failed}")
    return {
        "workers": workers,
        "version": version,
        "pool": f"{pool.size} actor(s) on {pool.device}, {pool.resources}",
        "wall_s": wall,
        "frames": totals["frames"],
        "video_s": totals["video_s"],
        "cpu_s": cpu,
        "plate_reads": rep.plate_reads,
        "face_sightings": rep.face_sightings,
        "lineage": len(rep.lineage),
        "load_before": load0,
        "load_after": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cameras", type=int, default=2, help="clips (one per street camera)")
    ap.add_argument("--seconds", type=float, default=20.0, help="clip length")
    ap.add_argument("--sample-fps", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=1, help="2: workers 2, 1, 1, 2 (ABBA)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--work", type=Path, help="where the clips and tables go (default: a temp dir)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--quick", action="store_true", help="one 10 s clip")
    ap.add_argument("--smoke", action="store_true", help=smoke.HELP)
    args = ap.parse_args(argv)
    if args.quick:
        args.cameras, args.seconds = 1, 10.0
    work = args.work or Path(tempfile.gettempdir()) / "pesquisa-bench-backfill"
    if args.smoke:
        work = smoke.smoke_dir("backfill")
        args.cameras, args.seconds, args.sample_fps, args.rounds = 1, 2.0, 2.0, 1
        args.out = work / "backfill.md"
    work.mkdir(parents=True, exist_ok=True)

    from lakehouse import Lakehouse
    from pipelines.batch import registered_sources, reprocess
    from pipelines.synth.city import generate_city
    from pipelines.synth.manifest import load_manifest

    t = time.perf_counter()
    city_dir = work / f"city-{args.cameras}x{args.seconds:g}s-seed{args.seed}"
    if (city_dir / "manifest.json").exists():
        m = load_manifest(city_dir)
    else:
        m = generate_city(
            city_dir,
            cameras=args.cameras,
            minutes=args.seconds / 60.0,
            seed=args.seed,
            incidents=0,
            fps=10,
            width=960,
            height=540,
            progress=False,
            workers=1,
        )
    home = work / "home"
    shutil.rmtree(home, ignore_errors=True)
    lh = Lakehouse(home=home)
    lh.upsert("cameras", m.cameras)
    days = sorted({v.start_ts.date() for v in m.videos})
    print(
        f"{len(m.videos)} clip(s) of {args.seconds:g} s ready ({time.perf_counter() - t:.0f} s)", flush=True
    )

    # the recorded sources, first processed as v1 (2 workers; not part of the comparison)
    from pipelines.batch import Source

    first = [
        Source(str(m.abspath(v.path)), v.camera_id, v.start_ts.date(), v.start_ts, None, None)
        for v in m.videos
    ]
    _pool(2)
    rep = reprocess(lh, first, model_version=V1, sample_fps=args.sample_fps, progress=False, workers=2)
    if rep.failed or rep.succeeded != len(first):
        raise SystemExit(f"ingest {V1} failed: {rep.failed}")
    sources = registered_sources(lh, days[0], days[-1])
    print(f"{V1}: {len(sources)} source(s), {rep.plate_reads} plate reads", flush=True)

    # 2 first: it reuses the v1 pass's Ray and pool (a Ray start is slow on a loaded machine)
    order = [2, 1] if args.rounds <= 1 else [2, 1, 1, 2] * (args.rounds // 2)
    runs = []
    for k, workers in enumerate(order):
        r = _run(lh, sources, f"bench-w{workers}-r{k}", workers, args.sample_fps)
        runs.append(r)
        print(
            f"{workers} worker(s): {r['wall_s']:.1f} s, {r['frames'] / r['wall_s']:.2f} frames/s, "
            f"CPU {r['cpu_s']:.0f} s ({r['cpu_s'] / r['wall_s']:.2f} cores busy), load "
            f"{r['load_before']:.1f} -> {r['load_after']:.1f}",
            flush=True,
        )
    from pipelines.extract.actors import shutdown_pools

    shutdown_pools()

    def total(w: int, key: str) -> float:
        return sum(r[key] for r in runs if r["workers"] == w)

    fps = {w: total(w, "frames") / total(w, "wall_s") for w in (1, 2)}
    speedup = fps[2] / fps[1]
    busy = {w: total(w, "cpu_s") / total(w, "wall_s") for w in (1, 2)}
    cores = os.cpu_count() or 1
    lines = [
        "## Backfill throughput, 1 vs 2 Ray workers (backfill)",
        "",
        f"{len(sources)} recorded clip(s) (`generate_city(cameras={args.cameras}, seed={args.seed})`, "
        f"{args.seconds:g} s each, 960x540, 10 fps), sampled at {args.sample_fps:g} fps, first ingested as "
        f"`{V1}`, then re-processed as a new model version by `pipelines.batch.reprocess` (what "
        "`pesquisa backfill` runs: replace, switch, lineage report) with each pool. Machine: "
        f"{platform.machine()}, {cores} cores shared with other jobs.",
        "",
        "| run | workers | pool | wall s | frames | frames/s | video s per wall s | CPU s | CPU s per frame | "
        "cores busy (CPU s / wall s) | load 1 min before -> after |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for k, r in enumerate(runs, 1):
        lines.append(
            f"| {k} | {r['workers']} | {r['pool']} | {r['wall_s']:.1f} | {r['frames']} | "
            f"{r['frames'] / r['wall_s']:.2f} | {r['video_s'] / r['wall_s']:.2f} | {r['cpu_s']:.0f} | "
            f"{r['cpu_s'] / max(r['frames'], 1):.2f} | {r['cpu_s'] / r['wall_s']:.2f} | {r['load_before']:.1f} -> {r['load_after']:.1f} |"
        )
    lines += [
        "",
        f"2 workers / 1 worker: **{speedup:.2f}x** frames/s (goal >= 1.7x where 2 cores are free). "
        f"Cores the runs really got: {busy[1]:.2f} with 1 worker, {busy[2]:.2f} with 2. "
        + (
            "Other jobs held the cores (the 2-worker runs got under 1.8 of the 2): the ratio "
            "shows the share of the cores these runs got, not what 2 free cores give."
            if busy[2] < 0.9 * min(cores, 2)
            else "The 2-worker runs had the 2 cores (the load average counts these runs' own threads)."
        ),
        "",
        f"Command: `python -m benchmarks.backfill{' --smoke' if args.smoke else ''}` (`--cameras "
        f"{args.cameras} --seconds {args.seconds:g} --sample-fps {args.sample_fps:g} --rounds {args.rounds}`). "
        "Wall times include the Delta commits, the version switch and the lineage report; model "
        "loading is excluded.",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {args.out}")
    if args.smoke:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
