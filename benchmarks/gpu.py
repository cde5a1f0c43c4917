"""GPU measurements, written for the lent GPU machine as it really is (Python 3.12, torch, OpenCV,
ONNX Runtime; no faiss, PyAV or dlib there), and runnable on CPU at small sizes (the tests do).

    python -m benchmarks.gpu                 # full sizes on the detected device
    python -m benchmarks.gpu --smoke         # seconds, CPU is fine
    python -m benchmarks.gpu --make-reference   # (here, with dlib) rewrite the reference embeddings

What it measures, each side by side in one run:

1. **Face embedder parity**: the torch port of dlib's ResNet (pipelines/faces/dlib_resnet_torch.py)
   on the device against reference descriptors computed by dlib itself on this machine
   (``benchmarks/data/dlib_reference.npz``; the input chips are regenerated from a seed, so no
   image travels). Reports the max absolute difference.
2. **Streams per GPU**: N parallel synthetic camera streams (OpenCV-encoded clips, 720p or 1080p)
   decoded with OpenCV, sampled at 5 fps, through batched MTCNN (facenet-pytorch, when installed)
   and the torch face embedder: analysed frames/s and cameras per device at 5 fps analysis.
3. **Exact kNN**: exact top-10 over N x 128 float32 descriptors in torch on the device vs numpy
   on the CPU (the GPU search figure; FAISS has no GPU HNSW, and faiss is not on that machine).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REFERENCE = Path(__file__).with_name("data") / "dlib_reference.npz"
SEED = 1234


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def _sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def reference_chips(n: int = 16) -> list[np.ndarray]:
    """Deterministic 150x150 RGB chips (smooth gradients, blobs and noise): the maths of the
    network does not care whether a chip is a face, and no face photo has to travel."""
    rng = np.random.default_rng(SEED)
    yy, xx = np.mgrid[0:150, 0:150].astype(np.float32) / 149.0
    chips = []
    for _ in range(n):
        a, b, c = rng.uniform(0, 255, 3)
        base = np.stack([a * xx + (255 - a) * yy, b * yy, c * (1 - xx)], axis=-1)
        cx, cy, r = rng.uniform(30, 120, 2).tolist() + [rng.uniform(15, 50)]
        blob = np.exp(-(((xx * 149 - cx) ** 2 + (yy * 149 - cy) ** 2) / (2 * r * r)))[
            ..., None
        ] * rng.uniform(0, 255, 3)
        noise = rng.normal(0, 12, (150, 150, 3))
        chips.append(np.clip(0.6 * base + 0.4 * blob + noise, 0, 255).astype(np.uint8))
    return chips


def make_reference(path: Path = REFERENCE) -> Path:
    from pipelines.faces.models import load_dlib

    chips = reference_chips()
    ref = np.stack(
        [np.asarray(v, dtype=np.float32) for v in load_dlib().face_rec.compute_face_descriptor(chips)]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, embeddings=ref, seed=SEED)
    return path


def load_embedder(device: str, weights: str | None):
    from pipelines.faces.dlib_resnet_torch import load_dlib_resnet

    if weights is None:
        from pipelines.faces.models import DLIB_RESNET, dlib_model_path

        weights = str(dlib_model_path(DLIB_RESNET))
    return load_dlib_resnet(weights, device=device)


def face_parity(device: str, weights: str | None) -> dict:
    from pipelines.faces.dlib_resnet_torch import embed_chips

    ref = np.load(REFERENCE)["embeddings"]
    net = load_embedder(device, weights)
    chips = reference_chips(len(ref))
    t0 = time.perf_counter()
    got = embed_chips(net, chips)
    _sync(device)
    return {
        "chips": len(chips),
        "max_abs_diff": float(np.abs(got - ref).max()),
        "ms_per_chip": 1000 * (time.perf_counter() - t0) / len(chips),
    }


def _synthetic_clip(path: Path, width: int, height: int, seconds: float, fps: int = 25) -> Path:
    import cv2

    rng = np.random.default_rng(SEED)
    fourcc = cv2.VideoWriter_fourcc(*"mp4v")  # type: ignore[attr-defined]  # missing from the cv2 stubs
    out = cv2.VideoWriter(str(path), fourcc, fps, (width, height))
    bg = rng.integers(60, 160, (height, width, 3), dtype=np.uint8)
    for i in range(int(seconds * fps)):
        frame = bg.copy()
        x = int((i * 13) % max(1, width - 200))
        cv2.rectangle(frame, (x, height // 2), (x + 200, height // 2 + 120), (30, 30, 200), -1)
        cv2.circle(frame, (width - x - 60, height // 3), 40, (180, 200, 220), -1)
        out.write(frame)
    out.release()
    return path


def streams(
    device: str, n_streams: int, width: int, height: int, seconds: float, weights: str | None
) -> dict:
    """N decode threads (OpenCV) sampling 5 fps into one batched model loop on the device."""
    import queue

    import cv2
    import torch

    from pipelines.faces.dlib_resnet_torch import embed_chips

    net = load_embedder(device, weights)
    try:
        from facenet_pytorch import MTCNN

        mtcnn = MTCNN(keep_all=True, device=device, min_face_size=40)
    except Exception:  # not installed on the lent machine's image
        mtcnn = None
    with tempfile.TemporaryDirectory() as tmp:
        clip = _synthetic_clip(Path(tmp) / "cam.mp4", width, height, seconds)
        frames: queue.Queue = queue.Queue(maxsize=64)
        decoded = [0] * n_streams

        def reader(k: int) -> None:
            cap = cv2.VideoCapture(str(clip))
            fps = cap.get(cv2.CAP_PROP_FPS) or 25
            step = max(1, round(fps / 5))
            i = 0
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                decoded[k] += 1
                if i % step == 0:
                    frames.put(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
                i += 1
            frames.put(None)

        t0 = time.perf_counter()
        threads = [threading.Thread(target=reader, args=(k,), daemon=True) for k in range(n_streams)]
        for t in threads:
            t.start()
        done, analysed, batch = 0, 0, []
        while done < n_streams:
            item = frames.get()
            if item is None:
                done += 1
            else:
                batch.append(item)
            if len(batch) >= 8 or (done == n_streams and batch):
                if mtcnn is not None:
                    with torch.no_grad():
                        mtcnn.detect(batch)
                chips = [cv2.resize(f, (150, 150)) for f in batch]
                embed_chips(net, chips)
                analysed += len(batch)
                batch = []
        _sync(device)
        wall = time.perf_counter() - t0
    fps = analysed / wall
    return {
        "streams": n_streams,
        "resolution": f"{width}x{height}",
        "analysed_frames": analysed,
        "decoded_frames": sum(decoded),
        "wall_s": wall,
        "analysed_fps": fps,
        "cameras_at_5fps": fps / 5.0,
        "mtcnn": mtcnn is not None,
    }


def knn(device: str, n: int, queries: int) -> dict:
    import torch

    rng = np.random.default_rng(SEED)
    base = rng.normal(size=(n, 128)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    q = base[rng.choice(n, queries, replace=False)] + rng.normal(0, 0.01, (queries, 128)).astype(np.float32)
    t0 = time.perf_counter()
    d_np = ((q[:, None, :] - base[None, : min(n, 200_000), :]) ** 2).sum(-1) if n <= 200_000 else None
    if d_np is not None:
        ref = np.argsort(d_np, axis=1)[:, :10]
    else:  # numpy on the CPU, chunked
        ref = np.stack([np.argsort(((base - v) ** 2).sum(1))[:10] for v in q])
    cpu_s = time.perf_counter() - t0
    tb, tq = torch.from_numpy(base).to(device), torch.from_numpy(q).to(device)
    _sync(device)
    t0 = time.perf_counter()
    d = torch.cdist(tq, tb)
    got = torch.topk(d, 10, largest=False).indices.cpu().numpy()
    _sync(device)
    dev_s = time.perf_counter() - t0
    recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, ref, strict=True)]))
    return {
        "vectors": n,
        "queries": queries,
        "numpy_qps": queries / cpu_s,
        f"torch_{device}_qps": queries / dev_s,
        "ratio": cpu_s / dev_s,
        "recall_at_10": recall,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--smoke", action="store_true", help="seconds-long sizes (CPU is fine)")
    ap.add_argument(
        "--weights", help="dlib_face_recognition_resnet_model_v1.dat (default: the installed package's)"
    )
    ap.add_argument(
        "--make-reference", action="store_true", help="recompute the reference descriptors with dlib"
    )
    ap.add_argument("--out", help="write the JSON results here")
    args = ap.parse_args(argv)
    if args.make_reference:
        print(make_reference())
        return 0
    device = _device(args.device)
    res: dict = {"device": device, "smoke": args.smoke}
    if device == "cuda":
        import torch

        res["gpu"] = torch.cuda.get_device_name(0)
    res["face_parity"] = face_parity(device, args.weights)
    if args.smoke:
        res["streams"] = [streams(device, 2, 320, 180, 1.0, args.weights)]
        res["knn"] = knn(device, 5_000, 16)
    else:
        res["streams"] = [
            streams(device, n, w, h, 10.0, args.weights)
            for (w, h) in ((1280, 720), (1920, 1080))
            for n in (1, 4, 8)
        ]
        res["knn"] = knn(device, 1_000_000, 256)
    text = json.dumps(res, indent=2)
    # checks that can fail (the smoke run in the tests relies on them): the port reproduces dlib,
    # exact search is exact, frames went through the models
    problems = []
    if res["face_parity"]["max_abs_diff"] >= 1e-4:
        problems.append(f"torch port differs from dlib by {res['face_parity']['max_abs_diff']:.2e}")
    if res["knn"]["recall_at_10"] < 1.0:
        problems.append(f"exact kNN recall@10 {res['knn']['recall_at_10']}")
    if any(s["analysed_frames"] == 0 for s in res["streams"]):
        problems.append("no frame reached the models")
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    for p in problems:
        print("FAILED:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    sys.exit(main())
