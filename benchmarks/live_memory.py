"""Model-pool memory, in process: the live :class:`~pipelines.extract.frames.FrameProcessor` on a
street clip's frames with motion regions of ever new sizes, resident memory every ``--every`` frames.

    python -m benchmarks.live_memory --frames 400            # what a pool actor does (live profile)
    python -m benchmarks.live_memory --frames 400 --bucket 0 # exact motion regions (before the fix)

What a live pool actor sees: sampled 720p frames of a street camera, cut to the motion gate's
regions (:class:`~pipelines.extract.motion.MotionGate`, as the camera actor computes them), plates
on every frame at the live detector size, faces on every ``face_every``-th frame. A looped clip
would repeat its regions after one loop; a real street never does, so each region is grown by a
random few pixels (``--jitter``): every frame brings input shapes the models have not seen, which is
what a live stream does to ONNX Runtime and torch over hours.

Besides RSS, glibc's ``mallinfo2`` splits the heap into bytes in use and bytes free but kept by
the allocator (fragmentation): growth of the first is a cache or a leak, of the second the
allocator. Cheap and insensitive to CPU load (it counts bytes, not seconds), so it can run while
the machine is busy. Writes nothing but its JSON (``--out``).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _profile_step() -> int:
    from pipelines.live.profile import LiveProfile

    return LiveProfile().region_step_px


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def heap_mb() -> dict[str, float]:
    """glibc heap: ``in_use`` (allocated chunks, mmapped ones included) and ``free`` (kept by the
    allocator in its arenas) in MB; empty where glibc's ``mallinfo2`` is missing."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        fn = libc.mallinfo2
    except (OSError, AttributeError):
        return {}
    fn.restype = _MallInfo2
    m = fn()
    return {
        "in_use": (m.uordblks + m.hblkhd) / 2**20,
        "free": m.fordblks / 2**20,
        "mmapped": m.hblkhd / 2**20,
    }


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def sampled_frames(clip: Path, fps: float, limit: int) -> list[Any]:
    """RGB frames of ``clip`` at ``fps`` (the live profile's sampling), at most ``limit``."""
    import av

    out: list[Any] = []
    with av.open(str(clip)) as c:
        stream = c.streams.video[0]
        rate = float(stream.average_rate or 25)
        step = max(1, round(rate / fps))
        for i, frame in enumerate(c.decode(stream)):
            if i % step == 0:
                out.append(frame.to_ndarray(format="rgb24"))
                if len(out) >= limit:
                    break
    return out


def gate_regions(frames: list[Any]) -> list[list[tuple[float, float, float, float]] | None]:
    """The motion gate's regions of each frame, as the camera actor computes them."""
    import cv2

    from pipelines.extract.motion import MotionGate

    h, w = frames[0].shape[:2]
    gate = MotionGate(w, h)
    gw = gate.config.width
    gh = max(2, round(h * gw / w))
    out = []
    for k, f in enumerate(frames):
        gray = cv2.cvtColor(cv2.resize(f, (gw, gh), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
        d = gate.update(gray, k / 3.0)
        out.append(d.regions if d.process else [])
    return out


def jitter(
    regions: list[tuple[float, float, float, float]], rng: random.Random, px: int, w: int, h: int
) -> list[tuple[float, float, float, float]]:
    out = []
    for x1, y1, x2, y2 in regions:
        out.append(
            (
                max(0.0, x1 - rng.randint(0, px)),
                max(0.0, y1 - rng.randint(0, px)),
                min(float(w), x2 + rng.randint(0, px)),
                min(float(h), y2 + rng.randint(0, px)),
            )
        )
    return out


def slope_per_100(points: list[tuple[int, float]]) -> float:
    if len(points) < 3:
        return 0.0
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    den = sum((x - mx) ** 2 for x, _ in points) or 1.0
    return 100.0 * sum((x - mx) * (y - my) for x, y in points) / den


def run(args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks.live import _city
    from pipelines.extract.frames import FrameProcessor, FrameTask
    from pipelines.live.profile import LiveProfile
    from pipelines.live.regions import bucket_regions
    from pipelines.live.simulator import prepare_clip

    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    m = _city(work)
    v = m.videos[0]
    clip = prepare_clip(m.abspath(v.path))
    profile = LiveProfile()
    frames = sampled_frames(clip, profile.sample_fps, args.clip_frames)
    regions = gate_regions(frames)
    h, w = frames[0].shape[:2]
    import torch

    torch.set_num_threads(1)
    if args.no_mkldnn:
        torch.backends.mkldnn.enabled = False
    if args.ort_no_mem_pattern:
        from rapidocr.inference_engine.onnxruntime.main import OrtInferSession

        build = OrtInferSession._init_sess_opts

        def no_pattern(cfg: Any) -> Any:
            opts = build(cfg)
            opts.enable_mem_pattern = False
            return opts

        OrtInferSession._init_sess_opts = staticmethod(no_pattern)
    proc = FrameProcessor(threads=1)
    rng = random.Random(args.seed)
    samples: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    k = 0
    for i in range(args.frames):
        k = i % len(frames)
        regs = regions[k]
        if regs is not None and not regs:  # the gate let nothing through: the next frame
            regs = None if args.whole_frames else regions[(k + 1) % len(frames)] or None
        if regs is not None:
            regs = bucket_regions(jitter(regs, rng, args.jitter, w, h), w, h, args.bucket)
        task = FrameTask(
            i,
            frames[k],
            regs,
            faces=i % profile.face_every == 0,
            plate_det_side=profile.plate_det_side,
        )
        proc.process([task], None)
        if args.trim_every and (i + 1) % args.trim_every == 0:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        if (i + 1) % args.every == 0 or i == 0:
            s = {"frames": i + 1, "rss_mb": rss_mb(), "s": time.perf_counter() - t0, **heap_mb()}
            samples.append(s)
            print(
                json.dumps({k2: round(v2, 1) if isinstance(v2, float) else v2 for k2, v2 in s.items()}),
                flush=True,
            )
    steady = [s for s in samples if s["frames"] >= args.warmup]
    result = {
        "frames": args.frames,
        "jitter": args.jitter,
        "options": {
            k2: getattr(args, k2) for k2 in ("bucket", "no_mkldnn", "ort_no_mem_pattern", "trim_every")
        },
        "env": {
            k: os.environ[k] for k in sorted(os.environ) if k.startswith(("MALLOC_", "ONEDNN_", "DNNL_"))
        },
        "load": os.getloadavg(),
        "samples": samples,
        "rss_slope_mb_per_100": slope_per_100([(s["frames"], s["rss_mb"]) for s in steady]),
        "in_use_slope_mb_per_100": slope_per_100([(s["frames"], s.get("in_use", 0.0)) for s in steady]),
        "free_slope_mb_per_100": slope_per_100([(s["frames"], s.get("free", 0.0)) for s in steady]),
    }
    print(
        f"after frame {args.warmup}: RSS {result['rss_slope_mb_per_100']:+.1f} MB per 100 frames "
        f"(heap in use {result['in_use_slope_mb_per_100']:+.1f}, free in the allocator "
        f"{result['free_slope_mb_per_100']:+.1f}); {result['options']} {result['env']}, load {result['load'][0]:.1f}",
        flush=True,
    )
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=400, help="frames processed (default 400)")
    ap.add_argument("--every", type=int, default=25, help="sample memory every N frames")
    ap.add_argument("--warmup", type=int, default=100, help="slopes from this frame on")
    ap.add_argument("--jitter", type=int, default=24, help="grow each region by up to N px per side")
    ap.add_argument("--clip-frames", type=int, default=45, help="sampled frames of the clip kept in memory")
    ap.add_argument("--whole-frames", action="store_true", help="frames the gate stops go whole")
    ap.add_argument(
        "--bucket",
        type=int,
        default=_profile_step(),
        help="grow regions to multiples of N px, as the camera does (live.region_step_px; 0: exact regions)",
    )
    ap.add_argument("--no-mkldnn", action="store_true", help="torch without oneDNN (its primitive cache)")
    ap.add_argument(
        "--ort-no-mem-pattern", action="store_true", help="ONNX Runtime sessions without memory patterns"
    )
    ap.add_argument("--trim-every", type=int, default=0, help="malloc_trim every N frames (0: never)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", type=Path, default=Path("/tmp/pesquisa-bench-live-memory"))
    ap.add_argument("--out", type=Path, help="JSON result")
    ap.add_argument(
        "--smoke", action="store_true", help="seconds-long run on a few frames to check the probe works"
    )
    args = ap.parse_args(argv)
    if args.smoke:
        import tempfile

        args.frames, args.every, args.warmup, args.clip_frames = 6, 2, 2, 4
        args.work = Path(tempfile.mkdtemp(prefix="pq-live-memory-"))
    res = run(args)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
