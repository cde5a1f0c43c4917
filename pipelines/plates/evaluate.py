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
from typing import Any

import cv2
import numpy as np

from .formats import PRESETS
from .layout import overlap_ratio
from .reader import MODEL_VERSION, PlateReader
from .text import normalize, twin_equal

#: a read scoring this much keeps a video track of two or more reads
#: (:class:`pipelines.extract.passes.PlateFilter`'s ``min_best_score``)
KEEP_SCORE = 0.5


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


# ------------------------------------------------------------------------------ several sets
def read_sample(reader: PlateReader, sample) -> tuple[str, str, float]:
    """(text, format, score) of the reader on one sample (full image: its best read; crop:
    recognition only); ("", "", 0) when nothing is read."""
    rgb = sample.rgb()
    if sample.kind == "full":
        reads = reader.read(rgb)
        r = reads[0] if reads else None
    else:
        r = reader.read_crop(rgb)
    return (r.text, r.plate_format, float(r.score)) if r is not None else ("", "", 0.0)


def plain_sample(reader: PlateReader, sample) -> str:
    """Plain RapidOCR on the same input: a full image's most confident 4-10 character line, a
    crop's recognised text (recognition only, as RapidOCR reads a line)."""
    rgb = sample.rgb()
    if sample.kind == "full":
        return baseline_read(reader, rgb)[0]
    out = reader.engine.ocr(
        np.ascontiguousarray(rgb[:, :, ::-1]),
        use_det=False,
        use_cls=False,
        use_rec=True,
        return_word_box=False,
        return_single_char_box=False,
    )
    txts = getattr(out, "txts", None) or ()
    return normalize("".join(txts))


def evaluate_sets(sets: list, *, device: str = "cpu", baseline: bool = True, log=None, on_set=None) -> dict:
    """Every set read by the reader at that set's camera formats and by plain RapidOCR, in one run.

    Per set: ``n``, ``exact``, ``equal`` (exact up to O/0 and I/1), ``found`` (a read at all), the
    same three for ``plain``, and per sample rows (label, read, format, plain read)."""
    from .engine import get_engine

    engine = get_engine(device)
    readers: dict[tuple[str, ...], PlateReader] = {}
    out: dict[str, Any] = {"model_version": MODEL_VERSION, "sets": []}
    for es in sets:
        key = tuple(f for f in es.formats if f in PRESETS)  # a preset this version lacks: defaults
        if key not in readers:
            readers[key] = PlateReader(formats=list(key) or None, device=device, engine=engine)
        reader = readers[key]
        res: dict[str, Any] = {
            "set": es.name,
            "formats": reader.formats,
            "n": 0,
            "exact": 0,
            "equal": 0,
            "found": 0,
            "kept": 0,
            "plain_exact": 0,
            "plain_equal": 0,
            "plain_found": 0,
            "rows": [],
        }
        t0 = time.perf_counter()
        for smp in es.samples:
            text, fmt, score = read_sample(reader, smp)
            res["n"] += 1
            res["exact"] += text == smp.plate
            res["equal"] += bool(text) and twin_equal(text, smp.plate)
            res["found"] += bool(text)
            res["kept"] += score >= KEEP_SCORE  # a video track of such reads is kept
            row = {
                "sample": smp.name,
                "label": smp.plate,
                "read": text,
                "format": fmt,
                "score": round(score, 3),
            }
            if baseline:
                plain = plain_sample(reader, smp)
                res["plain_exact"] += plain == smp.plate
                res["plain_equal"] += bool(plain) and twin_equal(plain, smp.plate)
                res["plain_found"] += bool(plain)
                row["plain"] = plain
            res["rows"].append(row)
        res["seconds"] = round(time.perf_counter() - t0, 1)
        out["sets"].append(res)
        if on_set:
            on_set(out)
        if log:
            log(
                f"{es.name}: exact {res['exact']}/{res['n']}, plain {res['plain_exact']}/{res['n']} "
                f"({res['seconds']} s)"
            )
    return out


def negative_controls(
    *,
    device: str = "cpu",
    video: Path | None = None,
    signage: int = 20,
    heldout: int = 60,
    every_s: float = 1.0,
) -> list[dict]:
    """False plates on inputs without a readable plate, at a camera with no registered format
    (the reader's defaults, ``generic`` included). A text counts as a false plate when the video
    pipeline would keep its track: one read scoring >= 0.7, or two or more reads, one >= 0.5
    (:class:`pipelines.extract.passes.PlateFilter`); per camera-minute at one frame per
    ``every_s`` seconds. Controls: the real parking-lot clip, ``signage`` frames of the synthetic
    signage the reader was tuned on, ``heldout`` frames of held-out signage (invented texts,
    another seed: :data:`pipelines.plates.eval_sets.HELDOUT_SIGNAGE_SEED`)."""
    from pipelines.extract.passes import PlateFilter

    from .engine import get_engine
    from .eval_sets import HELDOUT_SIGNAGE_SEED, signage_frames, video_frames

    reader = PlateReader(device=device, engine=get_engine(device))
    flt = PlateFilter()
    out = []
    controls: list[tuple[str, list[np.ndarray], float]] = []
    if video is not None and video.is_file():
        frames, duration = video_frames(video, every_s)
        controls.append((f"video {video.name}", frames, duration))
    if signage:
        frames = signage_frames(signage)
        controls.append(("synthetic signage", frames, len(frames) * every_s))
    if heldout:
        frames = signage_frames(heldout, seed=HELDOUT_SIGNAGE_SEED, texts=[])
        controls.append(("held-out signage", frames, len(frames) * every_s))
    for name, frames, seconds in controls:
        by_text: dict[str, list[tuple[float, str]]] = {}
        n_reads = 0
        for fr in frames:
            for r in reader.read(fr):
                n_reads += 1
                by_text.setdefault(r.text, []).append((float(r.score), r.plate_format))
        kept = sorted(
            t
            for t, sc in by_text.items()
            if max(s for s, _ in sc) >= (flt.min_single_score if len(sc) == 1 else flt.min_best_score)
        )
        minutes = max(seconds / 60.0, 1e-9)
        out.append(
            {
                "control": name,
                "frames": len(frames),
                "minutes": round(minutes, 2),
                "reads": n_reads,
                "false_plates": len(kept),
                "per_camera_minute": round(len(kept) / minutes, 2),
                "texts": kept,
                # every text read: (reads, best score, format of the best read)
                "all_reads": {
                    t: (len(sc), round(max(sc)[0], 3), max(sc)[1]) for t, sc in sorted(by_text.items())
                },
            }
        )
    return out


def sets_table(result: dict, previous: dict | None = None) -> str:
    """Markdown: per set exact / O0-I1 equal / found for the reader and plain RapidOCR (and the
    previous run's reader figures when given)."""
    prev = {r["set"]: r for r in (previous or {}).get("sets", [])}
    head = "| set | n | exact | exact O/0-I/1 | found | plain exact | plain O/0-I/1 | plain found |"
    sep = "|---|---|---|---|---|---|---|---|"
    if prev:
        head += " before exact | before O/0-I/1 |"
        sep += "---|---|"
    lines = [head, sep]
    for r in result["sets"]:
        line = (
            f"| {r['set']} | {r['n']} | {r['exact']} | {r['equal']} | {r['found']} | "
            f"{r['plain_exact']} | {r['plain_equal']} | {r['plain_found']} |"
        )
        if prev:
            p = prev.get(r["set"])
            line += f" {p['exact'] if p else '–'} | {p['equal'] if p else '–'} |"
        lines.append(line)
    return "\n".join(lines)


def paired_flips(result: dict, previous: dict) -> dict[str, tuple[list[str], list[str]]]:
    """Per set present in both runs: (samples read exactly now and not before, the reverse)."""
    prev = {r["set"]: {row["sample"]: row for row in r["rows"]} for r in previous.get("sets", [])}
    out: dict[str, tuple[list[str], list[str]]] = {}
    for r in result["sets"]:
        before = prev.get(r["set"])
        if not before:
            continue
        gained, lost = [], []
        for row in r["rows"]:
            b = before.get(row["sample"])
            if b is None or b["label"] != row["label"]:
                continue
            now_ok, was_ok = row["read"] == row["label"], b["read"] == b["label"]
            if now_ok and not was_ok:
                gained.append(row["sample"])
            elif was_ok and not now_ok:
                lost.append(row["sample"])
        out[r["set"]] = (gained, lost)
    return out


def regressions(result: dict, previous: dict | None) -> list[str]:
    """Sets where the reader is below plain RapidOCR or below the previous run (exact or equal)."""
    prev = {r["set"]: r for r in (previous or {}).get("sets", [])}
    bad = []
    for r in result["sets"]:
        if r["exact"] < r["plain_exact"] or r["equal"] < r["plain_equal"]:
            bad.append(
                f"{r['set']}: below plain RapidOCR ({r['exact']}/{r['equal']} vs "
                f"{r['plain_exact']}/{r['plain_equal']})"
            )
        p = prev.get(r["set"])
        if p and (r["exact"] < p["exact"] or r["equal"] < p["equal"]):
            bad.append(
                f"{r['set']}: below the previous run ({r['exact']}/{r['equal']} vs {p['exact']}/{p['equal']})"
            )
    return bad


def all_sets(shared_plates: Path | None, n_synth: int, only: list[str] | None = None) -> list:
    from .eval_sets import foreign_set, generic_set, real_sets, synthetic_sets

    sets = (
        (real_sets(shared_plates) if shared_plates else [])
        + synthetic_sets(n_synth)
        + [foreign_set(), generic_set()]
    )
    if only:
        sets = [s for s in sets if any(o.lower() in s.name.lower() for o in only)]
    return sets


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m pipelines.plates.evaluate", description=__doc__.split("\n")[0]
    )
    ap.add_argument(
        "folder",
        nargs="?",
        default=None,
        help="one OpenALPR-layout folder (old single-set report); default: every set",
    )
    ap.add_argument("--formats", default="EU", help="comma-separated presets for FOLDER (default EU)")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--errors", action="store_true", help="list the images read wrong")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--sets", default=None, help="comma-separated substrings: only these sets")
    ap.add_argument(
        "--synthetic", type=int, default=12, metavar="N", help="synthetic plates per country and light"
    )
    ap.add_argument("--no-negatives", action="store_true", help="skip the negative controls")
    ap.add_argument(
        "--negatives-only", action="store_true", help="only the negative controls (no accuracy sets)"
    )
    ap.add_argument(
        "--heldout-signage",
        type=int,
        default=60,
        metavar="N",
        help="frames of held-out signage (one per second; 0: skip)",
    )
    ap.add_argument("--save", type=Path, default=None, help="write the full result (JSON) here")
    ap.add_argument(
        "--previous",
        type=Path,
        default=None,
        help="a saved result: print its figures beside these and fail on a drop",
    )
    args = ap.parse_args(argv)
    if args.folder is None:
        return _main_sets(args)
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


def _main_sets(args: argparse.Namespace) -> int:
    from pipelines.shared_data import shared_path

    plates = shared_path("plates")
    video = shared_path("video", "intel_sample_videos", "car-detection.mp4")
    if plates is None:
        print("note: ../shared/data/plates is absent: synthetic sets only", file=sys.stderr)
    sets = (
        []
        if args.negatives_only
        else all_sets(plates, args.synthetic, args.sets.split(",") if args.sets else None)
    )

    def save(partial: dict) -> None:  # after every set: a long run's figures survive an interruption
        if args.save:
            args.save.write_text(json.dumps(partial, indent=1, default=str))

    result = evaluate_sets(
        sets,
        device=args.device,
        baseline=not args.no_baseline,
        log=lambda m: print(m, file=sys.stderr),
        on_set=save,
    )
    if not args.no_negatives:
        result["negatives"] = negative_controls(device=args.device, video=video, heldout=args.heldout_signage)
    previous = json.loads(args.previous.read_text()) if args.previous else None
    if args.save:
        args.save.write_text(json.dumps(result, indent=1, default=str))
    if args.json:
        print(json.dumps(result, default=str))
    else:
        print(sets_table(result, previous))
        if previous:
            for name, (gained, lost) in paired_flips(result, previous).items():
                if gained or lost:
                    print(f"flips {name}: +{len(gained)} {gained[:8]} -{len(lost)} {lost[:8]}")
        for c in result.get("negatives", []):
            print(
                f"negative control {c['control']}: {c['false_plates']} false plates in {c['minutes']} "
                f"camera-minutes ({c['per_camera_minute']}/min; {c['reads']} raw reads): {c['texts'][:12]}"
            )
        if args.errors:
            for r in result["sets"]:
                for row in r["rows"]:
                    if row["read"] != row["label"]:
                        print(
                            f"  {r['set']:28} {row['sample']:16} label {row['label']:10} read "
                            f"{row['read'] or '-':10} ({row['format']}) plain {row.get('plain', '')}"
                        )
    bad = regressions(result, previous) if not args.no_baseline else []
    for b in bad:
        print(f"REGRESSION {b}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
