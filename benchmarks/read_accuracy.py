"""Self-measured read accuracy vs the truth, on synthetic cities with a dirty lens.

    python -m benchmarks.read_accuracy --smoke      # one 8-camera city, 12 vehicles (seconds to a minute)
    python -m benchmarks.read_accuracy              # five cities: 8, 9, 10, 12 and 16 cameras, other seeds
    python -m benchmarks.read_accuracy --quick      # three cities: 8, 9 and 10 cameras
    python -m benchmarks.read_accuracy --cities 12x120s7,12x120s5

Each pass's plate is rendered through its camera's optics (one camera degraded: blur + noise) and
read by the real plate reader; the estimators see only the reads (text, confidence) and the camera
positions (:mod:`pipelines.read_accuracy`). For every city, in one run: per camera the estimate
(``accuracy``, the EM model over cross-camera agreement and the reader's pooled-calibrated
confidence), the earlier estimate (``agreement_fit``, agreement counts only) and the true accuracy
(reads equal to the true plate / passes); then both estimators' Spearman rank correlation with the
truth and the dirty lens's rank. Results go to ``benchmarks/results/read_accuracy.md`` (not --smoke).
"""

from __future__ import annotations

import argparse
import os
import re
import time
from pathlib import Path
from typing import Any

from benchmarks import smoke

RESULTS = Path(__file__).resolve().parent / "results" / "read_accuracy.md"
#: cameras x vehicles s seed: the test city, the earlier 12-camera benchmark city, three other
#: sizes/seeds (the dev cities), then six cities first run after ``repeat_coincide`` was chosen
CITIES = "9x30s7,12x120s7,10x80s11,16x120s3,8x60s21,10x80s5,12x100s13,9x60s17,14x120s29,8x80s31,11x90s41"


def _parse(spec: str) -> list[tuple[int, int, int]]:
    out = []
    for part in spec.split(","):
        m = re.fullmatch(r"(\d+)x(\d+)s(\d+)", part.strip())
        if not m:
            raise SystemExit(f"bad city {part!r}: want CAMERASxVEHICLESsSEED, e.g. 12x120s7")
        out.append((int(m[1]), int(m[2]), int(m[3])))
    return out


def _city(cameras: int, vehicles: int, seed: int, reader: Any, cache: Path | None) -> tuple[Any, bool]:
    """The planned city with its passes read by the plate reader; (city, came from the cache).

    With ``cache``, reads are kept in ``cache/c{cameras}_v{vehicles}_s{seed}.pkl`` and reused when the
    cached city's passes are exactly those planned now (reading is the slow part; the reader is
    deterministic)."""
    import pickle

    from pipelines.synth.read_quality import plan_read_city, read_passes

    city = plan_read_city(cameras=cameras, vehicles=vehicles, stops=5, seed=seed)
    f = cache / f"c{cameras}_v{vehicles}_s{seed}.pkl" if cache is not None else None
    if f is not None and f.exists():
        cached = pickle.loads(f.read_bytes())
        if cached.passes == city.passes and cached.optics == city.optics and cached.reads:
            return cached, True
    read_passes(city, reader())
    if f is not None:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(pickle.dumps(city))
    return city, False


def measure(cameras: int, vehicles: int, seed: int, reader: Any, cache: Path | None = None) -> dict[str, Any]:
    """One city: plan, render, read, estimate; per-camera rows and both Spearman figures."""
    from pipelines.read_accuracy import AccuracyParams, estimate_accuracy, spearman

    city, cached = _city(cameras, vehicles, seed, reader, cache)
    truth = city.true_accuracy()
    est = {r["camera_id"]: r for r in estimate_accuracy(city.reads, city.cameras)}
    ranked = sorted((c for c in est if est[c]["accuracy"] is not None), key=lambda c: -est[c]["accuracy"])
    t = [truth[c] for c in ranked]
    p = AccuracyParams()
    indep = {  # the same EM with independent errors (a partner agreeing twice is as rare as once)
        r["camera_id"]: r["accuracy"]
        for r in estimate_accuracy(city.reads, city.cameras, AccuracyParams(repeat_coincide=p.coincide))
    }
    return {
        "city": f"{cameras}x{vehicles}s{seed}",
        "cameras": cameras,
        "vehicles": vehicles,
        "seed": seed,
        "passes": len(city.passes),
        "cached": cached,
        "reads": len(city.reads),
        "rows": [{**est[c], "true": truth[c], "dirty": c == city.degraded} for c in ranked],
        "rho_new": spearman(t, [est[c]["accuracy"] for c in ranked]),
        "mae": sum(abs(est[c]["accuracy"] - truth[c]) for c in ranked) / max(1, len(ranked)),
        "rho_old": spearman(t, [est[c]["agreement_fit"] for c in ranked]),
        "rho_indep": spearman(t, [indep[c] for c in ranked]),
        "dirty_rank": ranked.index(city.degraded) + 1 if city.degraded in ranked else None,
        "dirty_rank_old": sorted(ranked, key=lambda c: -est[c]["agreement_fit"]).index(city.degraded) + 1
        if city.degraded in ranked
        else None,
        "ranked": len(ranked),
    }


def main(argv: list[str] | None = None) -> int:
    from pipelines.plates.reader import PlateReader

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help=smoke.HELP)
    ap.add_argument("--quick", action="store_true", help="three cities: 9x30s7, 8x60s21, 10x80s11")
    ap.add_argument("--cities", default=CITIES, help="CAMERASxVEHICLESsSEED, comma separated")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument(
        "--reads-cache", type=Path, help="keep/reuse each city's OCR reads here (checked against the plan)"
    )
    args = ap.parse_args(argv)
    if args.quick and args.cities == CITIES:
        args.cities = "9x30s7,8x60s21,10x80s11"
    cities = [(8, 12, 7)] if args.smoke else _parse(args.cities)
    t0 = time.perf_counter()
    load0 = os.getloadavg()[0]
    readers: list[Any] = []

    def reader() -> Any:  # loaded on first use (not at all when every city's reads are cached)
        if not readers:
            readers.append(PlateReader(device="cpu"))
        return readers[0]

    results = []
    for cams, vehicles, seed in cities:
        r = measure(cams, vehicles, seed, reader, None if args.smoke else args.reads_cache)
        results.append(r)
        print(
            f"{r['city']}: Spearman {r['rho_old']:.3f} -> {r['rho_indep']:.3f} -> {r['rho_new']:.3f}; "
            f"dirty lens rank "
            f"{r['dirty_rank']} of {r['ranked']}",
            flush=True,
        )
    lines = [
        "## Self-measured read accuracy (read_accuracy)",
        "",
        "Synthetic cities (`pipelines.synth.read_quality`): vehicles drive through 5 neighbouring cameras "
        "each; every pass's plate is rendered through its camera's optics (one camera with a dirty lens: "
        "blur + noise) and read by the real plate reader. The estimators see only the reads and the "
        "camera positions. *before* = the agreement-count fit (`agreement_fit`); *after* = the EM "
        "latent-class model over cross-camera agreement with a pooled confidence calibration "
        "(`accuracy`); *independent errors* = that EM model assuming a wrong read agrees with each "
        "partner independently (`repeat_coincide = coincide`, the model before systematic misreads "
        "were allowed for); all computed in the same run on the same reads. Truth = reads equal to the "
        "true plate / passes (missed passes count as wrong). The first five cities were used to build "
        "the estimator; the last six were first run after its parameters were chosen.",
        "",
        "| city (cameras x vehicles, seed) | passes | reads | Spearman before | independent errors | "
        "Spearman after | dirty lens rank before | after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['cameras']} x {r['vehicles']}, seed {r['seed']} | {r['passes']} | {r['reads']} | "
            f"{r['rho_old']:.3f} | {r['rho_indep']:.3f} | **{r['rho_new']:.3f}** | "
            f"{r['dirty_rank_old']} of {r['ranked']} | "
            f"{r['dirty_rank']} of {r['ranked']} |"
        )
    for r in results:
        lines += [
            "",
            f"{r['city']} per camera (best first by the new estimate):",
            "",
            "| camera | estimated (after) | before | true | links | reads | note |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for e in r["rows"]:
            lines.append(
                f"| {e['camera_id']} | {e['accuracy']:.2f} | {e['agreement_fit']:.2f} | {e['true']:.2f} | "
                f"{e['links']} | {e['reads']} | {'dirty lens' if e['dirty'] else ''} |"
            )
    cached = [r["city"] for r in results if r["cached"]]
    lines += [
        "",
        "MAE = mean |estimated - true| over the ranked cameras (after): "
        + ", ".join(f"{r['city']} {r['mae']:.3f}" for r in results)
        + ".",
    ]
    if cached:
        lines += [
            "",
            f"OCR reads of {', '.join(cached)} reused from `--reads-cache` (an earlier run of the same "
            "reader on the same planned passes, checked equal); the estimators ran in this run.",
        ]
    lines += [
        "",
        f"{time.perf_counter() - t0:.0f} s in all; load average (1 min) {load0:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores shared with other jobs). Command: "
        f"`python -m benchmarks.read_accuracy{' --smoke' if args.smoke else f' --cities {args.cities}'}"
        + (f" --reads-cache {args.reads_cache}`." if args.reads_cache and not args.smoke else "`."),
    ]
    print("\n".join(lines))
    if not args.smoke:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
