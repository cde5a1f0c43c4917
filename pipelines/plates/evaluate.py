"""Accuracy of the plate reader on a labelled folder of photos, side by side with plain RapidOCR.

The folder holds ``NAME.jpg`` + ``NAME.txt`` pairs; each .txt is one tab-separated line
``file x y w h PLATE`` (the OpenALPR benchmark layout). The reader gets the FULL image and must
find the plate itself; the labelled box is used only to report whether the read came from it.

Scores: *exact* (read == label) and *O/0-I/1-equal* (exact after mapping O->0 and I->1 on both
sides; the labels themselves spell the same plate both ways). The baseline is the tuned RapidOCR
pipeline used plainly: its most confident text line of 4-10 letters/digits; for reference, also
the text of its lines whose centre lies in the labelled box (a baseline told where the plate is).

    python -m pipelines.plates.evaluate /path/to/openalpr_eu [--formats EU] [--errors] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .layout import overlap_ratio
from .reader import PlateReader
from .text import normalize, twin_equal


@dataclass
class Sample:
    image: Path
    plate: str
    box: tuple[float, float, float, float]  # x1, y1, x2, y2


@dataclass
class Score:
    n: int = 0
    exact: int = 0
    equal: int = 0
    ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)

    def add(self, pred: str, truth: str, ms: float, cpu_ms: float) -> None:
        self.n += 1
        self.exact += pred == truth
        self.equal += ocr_equal(pred, truth)
        self.ms.append(ms)
        self.cpu_ms.append(cpu_ms)

    def summary(self) -> dict:
        n = max(self.n, 1)
        return {
            "images": self.n,
            "exact": self.exact,
            "exact_rate": round(self.exact / n, 4),
            "o0_i1_equal": self.equal,
            "o0_i1_equal_rate": round(self.equal / n, 4),
            "ms_per_image_mean": round(float(np.mean(self.ms)) if self.ms else 0.0, 1),
            "ms_per_image_median": round(float(np.median(self.ms)) if self.ms else 0.0, 1),
            # CPU time of all threads: steadier than wall time on a shared machine
            "cpu_ms_per_image_mean": round(float(np.mean(self.cpu_ms)) if self.cpu_ms else 0.0, 1),
        }


def ocr_equal(a: str, b: str) -> bool:
    """Equal once O/0 and I/1 are the same character (label conventions differ on these)."""
    return twin_equal(a, b)


def load_samples(folder: str | Path) -> list[Sample]:
    folder = Path(folder)
    out = []
    for txt in sorted(folder.glob("*.txt")):
        parts = txt.read_text().strip().split("\t")
        if len(parts) < 6:
            continue
        name, x, y, w, h, plate = parts[:6]
        x1, y1 = float(x), float(y)
        out.append(Sample(folder / name, normalize(plate), (x1, y1, x1 + float(w), y1 + float(h))))
    if not out:
        raise FileNotFoundError(f"no labelled images (NAME.txt: file x y w h PLATE) in {folder}")
    return out


def load_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot read image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def baseline_read(
    reader: PlateReader, rgb: np.ndarray, label_box: tuple[float, float, float, float] | None = None
) -> tuple[str, str]:
    """Plain RapidOCR (same tuned engine) on the full image: its most confident line of 4-10
    letters/digits; and, as a reference that peeks at the label, the lines inside the label box."""
    out = reader.engine.ocr(
        np.ascontiguousarray(rgb[:, :, ::-1]),
        use_det=True,
        use_cls=False,
        use_rec=True,
        return_word_box=False,
        return_single_char_box=False,
    )
    best, best_score, inside = "", -1.0, []
    boxes = getattr(out, "boxes", None)
    txts = getattr(out, "txts", None) or ()
    scores = getattr(out, "scores", None) or ()
    for i, (txt, score) in enumerate(zip(txts, scores, strict=False)):
        t = normalize(txt)
        if 4 <= len(t) <= 10 and score > best_score:
            best, best_score = t, float(score)
        if label_box is not None and boxes is not None and i < len(boxes):
            cx, cy = np.asarray(boxes[i]).mean(axis=0)
            if label_box[0] <= cx <= label_box[2] and label_box[1] <= cy <= label_box[3]:
                inside.append(t)
    return best, "".join(inside)


def evaluate(
    folder: str | Path,
    formats: list[str] | None = None,
    *,
    baseline: bool = True,
    reader: PlateReader | None = None,
    limit: int | None = None,
) -> dict:
    """Run the reader (and the baseline) over the folder; returns summaries and per-image rows."""
    samples = load_samples(folder)[:limit]
    reader = reader or PlateReader(formats=formats or ["EU"])
    ours, base, oracle = Score(), Score(), Score()
    located = 0
    rows = []
    reader.read(load_rgb(samples[0].image))  # warm-up: session start is not per-image cost
    for s in samples:
        rgb = load_rgb(s.image)
        t0, c0 = time.perf_counter(), time.process_time()
        reads = reader.read(rgb)
        ms, cpu = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
        pred = reads[0].text if reads else ""
        ours.add(pred, s.plate, ms, cpu)
        hit = bool(reads) and overlap_ratio(reads[0].bbox, s.box) > 0.3
        located += hit
        row = {
            "image": s.image.name,
            "label": s.plate,
            "read": pred,
            "ok": ocr_equal(pred, s.plate),
            "score": round(reads[0].score, 3) if reads else 0.0,
            "in_label_box": hit,
            "candidates": reads[0].candidates if reads else [],
            "ms": round(ms, 1),
        }
        if baseline:
            t0, c0 = time.perf_counter(), time.process_time()
            b, b_box = baseline_read(reader, rgb, s.box)
            ms, cpu = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
            base.add(b, s.plate, ms, cpu)
            oracle.add(b_box, s.plate, ms, cpu)
            row["baseline"] = b
        rows.append(row)
    result = {
        "folder": str(folder),
        "formats": reader.formats,
        "model_version": reader.model_version,
        "device": reader.device,
        "reader": {**ours.summary(), "top_read_in_label_box": located},
        "rows": rows,
    }
    if baseline:
        result["baseline"] = base.summary()
        result["baseline_in_label_box"] = oracle.summary()
    return result


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def format_report(result: dict) -> str:
    r = result["reader"]
    lines = [
        f"{result['folder']}: {r['images']} images, formats {','.join(result['formats'])}, "
        f"{result['model_version']} on {result['device']}",
        f"{'':10} {'exact':>8} {'O/0,I/1 equal':>14} {'wall ms/image (mean, median)':>30} {'CPU ms':>8}",
    ]
    rows = [("reader", r)]
    if "baseline" in result:
        rows += [("baseline", result["baseline"]), ("base+box*", result["baseline_in_label_box"])]
    for name, x in rows:
        lines.append(
            f"{name:10} {_pct(x['exact_rate']):>8} {_pct(x['o0_i1_equal_rate']):>14} "
            f"{x['ms_per_image_mean']:>20.0f} {x['ms_per_image_median']:>9.0f} {x['cpu_ms_per_image_mean']:>8.0f}"
        )
    lines.append(f"top read inside the labelled plate box: {r['top_read_in_label_box']}/{r['images']}")
    if "baseline" in result:
        lines.append(
            "baseline: plain RapidOCR, same tuned engine, its most confident line of 4-10 letters/digits; "
            "*base+box: the text of its lines inside the LABELLED box (peeks at the answer's location)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m pipelines.plates.evaluate", description=__doc__.split("\n")[0]
    )
    ap.add_argument("folder")
    ap.add_argument("--formats", default="EU", help="comma-separated presets (default EU)")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--errors", action="store_true", help="list the images read wrong")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    reader = PlateReader(formats=args.formats.split(","), device=args.device)
    result = evaluate(args.folder, baseline=not args.no_baseline, reader=reader, limit=args.limit)
    if args.json:
        print(
            json.dumps(result, default=lambda o: asdict(o) if hasattr(o, "__dataclass_fields__") else str(o))
        )
        return 0
    print(format_report(result))
    if args.errors:
        for row in result["rows"]:
            if not row["ok"]:
                print(
                    f"  {row['image']:14} label {row['label']:10} read {row['read'] or '-':10} "
                    f"score {row['score']:.2f} baseline {row.get('baseline', '')} cands {row['candidates'][:3]}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
