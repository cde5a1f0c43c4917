"""Check a synthetic city's ground truth against its pixels.

``python -m pipelines.synth.verify CITY_DIR [--faces]`` decodes each plate pass's largest-box frame,
crops the manifest box (plus a 15 % margin) and reads it with RapidOCR (DESIGN.md §5 settings);
it prints the exact-read rate by lighting and scene. With ``--faces`` it also runs MTCNN on each
face pass's largest box and reports how many faces are found there (IoU >= 0.4).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from pipelines.plates.text import normalize
from pipelines.synth.manifest import CityManifest, load_manifest

__all__ = ["crop_box", "decode_frames", "face_find_rate", "plate_read_rate"]


def decode_frames(path: str | Path, wanted: set[int]) -> dict[int, np.ndarray]:
    """RGB frames ``wanted`` (indices) of a clip."""
    import av

    out: dict[int, np.ndarray] = {}
    if not wanted:
        return out
    last = max(wanted)
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i in wanted:
                out[i] = f.to_ndarray(format="rgb24")
            if i >= last:
                break
    return out


def crop_box(img: np.ndarray, box: tuple, margin: float) -> tuple[np.ndarray, int, int]:
    """Crop ``(frame, x1, y1, x2, y2)`` with ``margin`` x its size on each side; returns the crop
    and its top-left corner."""
    _, x1, y1, x2, y2 = box
    mx, my = margin * (x2 - x1), margin * (y2 - y1)
    H, W = img.shape[:2]
    xa, ya = max(0, int(x1 - mx)), max(0, int(y1 - my))
    xb, yb = min(W, int(math.ceil(x2 + mx))), min(H, int(math.ceil(y2 + my)))
    return img[ya:yb, xa:xb], xa, ya


def plate_read_rate(m: CityManifest, *, complete_only: bool = True, engine=None) -> dict:
    """Exact-read counts of the plate passes, by lighting and by scene, plus the misses."""
    if engine is None:
        from rapidocr import RapidOCR

        engine = RapidOCR(
            params={
                "Global.use_cls": False,
                "Det.limit_type": "max",
                "Det.limit_side_len": 960,
                "Global.log_level": "error",
            }
        )
    scene = {v.camera_id: v.scene for v in m.videos}
    passes = [p for p in m.plate_passes if p.complete or not complete_only]
    by_video: dict[str, list] = defaultdict(list)
    for p in passes:
        by_video[p.video].append(p)
    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses = []
    for video, ps in by_video.items():
        frames = decode_frames(m.abspath(video), {p.best_box()[0] for p in ps})
        for p in ps:
            crop, _, _ = crop_box(frames[p.best_box()[0]], p.best_box(), 0.15)
            r = engine(crop, use_det=True, use_cls=False, use_rec=True)
            texts = [normalize(t) for t in (r.txts or ())]
            ok = p.plate in texts or p.plate == "".join(texts)
            for key in ("all", p.lighting, f"{p.lighting}/{scene.get(p.camera_id, '?')}"):
                stats[key][0] += ok
                stats[key][1] += 1
            if not ok:
                misses.append(
                    {
                        "plate": p.plate,
                        "read": texts,
                        "char_px": p.char_px,
                        "lighting": p.lighting,
                        "camera_id": p.camera_id,
                        "frame": p.best_box()[0],
                    }
                )
    return {
        "rates": {
            k: {"ok": v[0], "n": v[1], "rate": round(v[0] / v[1], 4)} for k, v in sorted(stats.items())
        },
        "misses": misses,
    }


def face_find_rate(m: CityManifest, *, min_face_px: float = 40.0) -> dict:
    """How many face passes (largest box >= ``min_face_px``) MTCNN finds at their manifest box."""
    import torch
    from facenet_pytorch import MTCNN

    det = MTCNN(min_face_size=20, keep_all=True, device=torch.device("cpu")).eval()
    passes = [p for p in m.face_passes if p.face_px >= min_face_px]
    by_video: dict[str, list] = defaultdict(list)
    for p in passes:
        by_video[p.video].append(p)
    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for video, ps in by_video.items():
        frames = decode_frames(m.abspath(video), {p.best_box()[0] for p in ps})
        for p in ps:
            box = p.best_box()
            crop, ox, oy = crop_box(frames[box[0]], box, 0.6)
            with torch.no_grad():
                boxes, probs = det.detect(crop)
            best = 0.0
            _, x1, y1, x2, y2 = box
            for b, pr in zip(
                boxes if boxes is not None else [], probs if probs is not None else [], strict=True
            ):
                if pr is None or pr < 0.9:
                    continue
                bx1, by1, bx2, by2 = b[0] + ox, b[1] + oy, b[2] + ox, b[3] + oy
                iw, ih = max(0, min(x2, bx2) - max(x1, bx1)), max(0, min(y2, by2) - max(y1, by1))
                inter = iw * ih
                best = max(best, inter / ((x2 - x1) * (y2 - y1) + (bx2 - bx1) * (by2 - by1) - inter))
            for key in ("all", p.lighting):
                stats[key][0] += best >= 0.4
                stats[key][1] += 1
    return {k: {"ok": v[0], "n": v[1], "rate": round(v[0] / v[1], 4)} for k, v in sorted(stats.items())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m pipelines.synth.verify", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("city", help="directory with manifest.json")
    ap.add_argument("--faces", action="store_true", help="also check the face boxes with MTCNN")
    ap.add_argument("--all", action="store_true", help="include plate passes cut by the clip's ends")
    args = ap.parse_args(argv)
    m = load_manifest(args.city)
    res = {"plates": plate_read_rate(m, complete_only=not args.all)}
    if args.faces:
        res["faces"] = face_find_rate(m)
    json.dump(res, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
