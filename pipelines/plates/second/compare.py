"""Does the second recogniser help? Every evaluation set read with it off and on, and by plain
RapidOCR, in one run; paired flips per set; negative controls both ways; its cost per crop.

    python -m pipelines.plates.second.compare --save second.json [--sets ...] [--synthetic 12]

The sets, the reader call per sample and the plain baseline are those of
``python -m pipelines.plates.evaluate`` (:func:`pipelines.plates.evaluate.read_sample`,
:func:`~pipelines.plates.evaluate.plain_sample`); "off" is the reader as it is without this
package. Exit 1 when a set drops with the second recogniser on (exact or O/0-I/1-equal).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ENV = "PESQUISA__PLATES__SECOND_RECOGNISER"


class SharedEngine:
    """RapidOCR's engine with its detections and recognitions remembered per input, so the reader
    with the second recogniser on repeats none of the off reader's OCR work on the same sample
    (same inputs, same outputs: the engine is deterministic)."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._det: dict[tuple[bytes, int | None], Any] = {}
        self._rec: dict[bytes, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    @staticmethod
    def _key(a: Any) -> bytes:
        import hashlib

        return hashlib.sha1(a.tobytes() + str(a.shape).encode()).digest()

    def detect(self, bgr: Any, limit_side: int | None = None) -> Any:
        key = (self._key(bgr), limit_side)
        if key not in self._det:
            self._det[key] = self._engine.detect(bgr, limit_side)
        return self._det[key]

    def recognize(self, crops: list) -> list:
        keys = [self._key(c) for c in crops]
        todo = [i for i, k in enumerate(keys) if k not in self._rec]
        if todo:
            for i, line in zip(todo, self._engine.recognize([crops[i] for i in todo]), strict=True):
                self._rec[keys[i]] = line
        return [self._rec[k] for k in keys]

    def clear(self) -> None:
        self._det.clear()
        self._rec.clear()


def compare_sets(sets: list, device: str = "cpu", log: Any = None, on_set: Any = None) -> dict[str, Any]:
    from pipelines.plates.engine import get_engine
    from pipelines.plates.evaluate import plain_sample, read_sample
    from pipelines.plates.formats import PRESETS
    from pipelines.plates.reader import PlateReader
    from pipelines.plates.text import twin_equal

    engine: Any = SharedEngine(get_engine(device))
    out: dict[str, Any] = {"sets": []}
    for es in sets:
        fmts = [f for f in es.formats if f in PRESETS] or None
        off = PlateReader(formats=fmts, device=device, engine=engine, second="off")
        on = PlateReader(formats=fmts, device=device, engine=engine, second="on")
        assert on.second is not None
        res: dict[str, Any] = {"set": es.name, "n": 0, "rows": []}
        for k in ("off", "on", "plain"):
            res.update({f"{k}_exact": 0, f"{k}_equal": 0, f"{k}_found": 0})
        t0 = time.perf_counter()
        for smp in es.samples:
            engine.clear()
            reads = {
                "off": read_sample(off, smp)[0],
                "on": read_sample(on, smp)[0],
                "plain": plain_sample(off, smp),
            }
            res["n"] += 1
            for k, text in reads.items():
                res[f"{k}_exact"] += text == smp.plate
                res[f"{k}_equal"] += bool(text) and twin_equal(text, smp.plate)
                res[f"{k}_found"] += bool(text)
            res["rows"].append({"sample": smp.name, "label": smp.plate, **reads})
        res["asked"] = on.second.asked
        res["changed"] = on.second.changed
        res["gained"] = [r["sample"] for r in res["rows"] if r["on"] == r["label"] != r["off"]]
        res["lost"] = [r["sample"] for r in res["rows"] if r["off"] == r["label"] != r["on"]]
        res["seconds"] = round(time.perf_counter() - t0, 1)
        out["sets"].append(res)
        if on_set:
            on_set(out)
        if log:
            log(
                f"{es.name}: off {res['off_exact']}/{res['n']}, on {res['on_exact']}/{res['n']}, plain "
                f"{res['plain_exact']}/{res['n']}; asked {res['asked']}, +{len(res['gained'])} "
                f"-{len(res['lost'])} ({res['seconds']} s)"
            )
    return out


def negatives_both(device: str, video: Path | None) -> dict[str, list[dict]]:
    """The evaluation's negative controls with the second recogniser off and on."""
    from pipelines.plates.evaluate import negative_controls

    out = {}
    before = os.environ.get(ENV)
    try:
        for mode in ("off", "on"):
            os.environ[ENV] = mode
            out[mode] = negative_controls(device=device, video=video)
    finally:
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before
    return out


def cost_per_crop(device: str = "cpu", n: int = 60) -> dict[str, float]:
    """Milliseconds per crop of the second recogniser alone (one crop per call, as the reader asks),
    on synthetic CCTV crops; and its load time."""
    from pipelines.plates.eval_sets import synthetic_sets

    from .infer import SecondRecogniser

    t0 = time.perf_counter()
    rec = SecondRecogniser(device=device)
    load_s = time.perf_counter() - t0
    crops = [s.rgb()[:, :, ::-1] for es in synthetic_sets(4) for s in es.samples][:n]
    rec.recognize(crops[:2])  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    for c in crops:
        rec.recognize([c])
    wall = (time.perf_counter() - t0) * 1000 / len(crops)
    cpu = (time.process_time() - c0) * 1000 / len(crops)
    import torch

    return {
        "ms_per_crop": round(wall, 2),
        "cpu_ms_per_crop": round(cpu, 2),
        "load_s": round(load_s, 2),
        "torch_threads": torch.get_num_threads(),
        "crops": len(crops),
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        "| set | n | off (before): exact / O0-I1 / found | on (after): exact / O0-I1 / found | "
        "plain RapidOCR: exact / O0-I1 / found | asked | flips + / - |",
        "|---|---:|---|---|---|---:|---|",
    ]
    for r in result["sets"]:
        cells = [f"{r[f'{k}_exact']} / {r[f'{k}_equal']} / {r[f'{k}_found']}" for k in ("off", "on", "plain")]
        lines.append(
            f"| {r['set']} | {r['n']} | {cells[0]} | **{cells[1]}** | {cells[2]} | {r['asked']} | "
            f"+{len(r['gained'])} / -{len(r['lost'])} |"
        )
    return "\n".join(lines)


def drops(result: dict[str, Any]) -> list[str]:
    return [
        f"{r['set']}: on {r['on_exact']}/{r['on_equal']} < off {r['off_exact']}/{r['off_equal']}"
        for r in result["sets"]
        if r["on_exact"] < r["off_exact"] or r["on_equal"] < r["off_equal"]
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m pipelines.plates.second.compare", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--sets", default=None, help="comma-separated substrings: only these sets")
    ap.add_argument(
        "--synthetic", type=int, default=12, metavar="N", help="synthetic plates per country and light"
    )
    ap.add_argument("--no-negatives", action="store_true")
    ap.add_argument("--save", type=Path, default=None)
    args = ap.parse_args(argv)

    from pipelines.plates.evaluate import all_sets
    from pipelines.shared_data import shared_path

    plates = shared_path("plates")
    sets = all_sets(plates, args.synthetic, args.sets.split(",") if args.sets else None)

    def save(partial: dict) -> None:
        if args.save:
            args.save.write_text(json.dumps(partial, indent=1, default=str))

    result = compare_sets(sets, args.device, log=lambda m: print(m, file=sys.stderr, flush=True), on_set=save)
    result["cost"] = cost_per_crop(args.device)
    if not args.no_negatives:
        video = shared_path("video", "intel_sample_videos", "car-detection.mp4")
        result["negatives"] = negatives_both(args.device, video)
    save(result)
    print(table(result))
    print(f"second recogniser: {result['cost']}")
    for mode, controls in result.get("negatives", {}).items():
        for c in controls:
            print(
                f"negatives ({mode}) {c['control']}: {c['false_plates']} false plates "
                f"({c['per_camera_minute']}/min, {c['reads']} raw reads): {c['texts'][:12]}"
            )
    tot = {k: sum(r[k] for r in result["sets"]) for k in ("off_exact", "on_exact", "plain_exact", "n")}
    print(f"all sets: off {tot['off_exact']}, on {tot['on_exact']}, plain {tot['plain_exact']} of {tot['n']}")
    bad = drops(result)
    for b in bad:
        print(f"DROP {b}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
