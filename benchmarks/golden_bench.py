"""Benchmarks before/after: the same benchmarks on the OLD code and on this code, interleaved.

Issue 13 asks for the benchmarks in ``benchmarks/RESULTS.md`` within ±10% after the refactor. On a
shared machine the load changes from minute to minute, so the two sides run in the SAME session,
alternating (round 1: old then new, round 2: new then old, ...): load hits both alike. Each side runs
from its own checkout (``--old``: a worktree of the commit before the refactor; ``--new``: default a
detached worktree of HEAD made here) so the benchmarks' result files land there, not in this tree.

Every timing cell of each benchmark's markdown table (a header with ``(s)``/``(ms)`` or a value
ending in `` s``/`` ms``) is paired old/new by table, row and column; the report gives each
benchmark's geometric mean of new/old (median over rounds) and the cells off by more than 10%.

    python -m benchmarks.golden_bench --old /tmp/golden-old [--rounds 2] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

NEW_ROOT = Path(__file__).resolve().parent.parent

#: small sizes: on 2 cores shared at a load of ~30 a --quick run of one side takes over 25 min
BENCHES: dict[str, list[str]] = {
    "search_plates": [
        "--sizes",
        "1000000",
        "--queries",
        "10",
        "--scan-queries",
        "2",
        "--pandas-queries",
        "1",
    ],
    "search_faces": ["--size", "20000", "--queries", "100"],
    "crime_analytics": ["--sizes", "50000", "--repeat", "1"],
    "app_page": ["--rows", "100000", "--repeats", "3"],
}
#: environment per benchmark: at 20,000 vectors the face index would stay exact (flat, below 100,000)
#: and the benchmark's HNSW sweep has nothing to sweep
BENCH_ENV: dict[str, dict[str, str]] = {"search_faces": {"PESQUISA_FACE_INDEX_EXACT_BELOW": "10000"}}
_TIME = re.compile(r"^\s*([0-9][0-9,]*\.?[0-9]*)\s*(s|ms)\s*$")


def run(root: Path, bench: str, args: Sequence[str], work: Path, tag: str, timeout: float) -> dict[str, str]:
    """One benchmark run on the checkout ``root``; returns its markdown and stdout."""
    md = root / "benchmarks" / "results" / f"{bench}.md"
    before = md.read_text() if md.exists() else ""
    extra = ["--results", str(work / f"{tag}.md")] if bench in ("search_plates", "search_faces") else []
    out_dir = ["--out", str(work / f"out-{tag}")] if bench in ("search_plates", "search_faces") else []
    env = dict(os.environ, PYTHONPATH=str(root), **BENCH_ENV.get(bench, {}))
    env.pop("PESQUISA_HOME", None)
    cmd = [sys.executable, "-m", f"benchmarks.{bench}", *args, *extra, *out_dir]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
    (work / f"{tag}.log").write_text(p.stdout + "\n--- stderr\n" + p.stderr)
    text = (work / f"{tag}.md").read_text() if extra and (work / f"{tag}.md").exists() else ""
    if not extra:
        text = md.read_text() if md.exists() else ""
        if before:
            md.write_text(before)  # leave the checkout's result file as it was
        (work / f"{tag}.md").write_text(text)
    shutil.rmtree(work / f"out-{tag}", ignore_errors=True)
    return {"rc": str(p.returncode), "md": text, "seconds": f"{time.perf_counter() - t0:.0f}"}


def timings(md: str) -> dict[str, float]:
    """Every timing cell of the markdown tables: ``table#i | row key | column`` -> seconds."""
    out: dict[str, float] = {}
    table, header = -1, list[str]()
    for line in md.splitlines():
        if not line.startswith("|"):
            header = [] if not line.strip() else header
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not header:
            table += 1
            header = cells
            continue
        if set("".join(cells)) <= set("-: "):
            continue
        key = _row_key(cells)
        for c, h in zip(cells, header, strict=False):
            v = _seconds(c, h)
            if v is not None:
                out[f"{table} | {key} | {h}"] = v
    return out


def _row_key(cells: list[str]) -> str:
    """A row's name: its first cell, and the second too when the first is a size (``1,000,000 |
    pesquisa``). Counts and query texts are left out: they follow the generated data, which may
    differ between the two code versions."""
    if len(cells) > 1 and re.fullmatch(r"[0-9][0-9,.]*", cells[0]):
        return f"{cells[0]} / {cells[1]}"
    return cells[0]


def _seconds(cell: str, head: str) -> float | None:
    m = _TIME.match(cell)
    if m:
        v = float(m.group(1).replace(",", ""))
        return v / 1000 if m.group(2) == "ms" else v
    if re.search(r"\((s|ms)\)", head) and re.fullmatch(r"[0-9]+\.?[0-9]*", cell):
        v = float(cell)
        return v / 1000 if "(ms)" in head else v
    return None


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", type=Path, required=True)
    ap.add_argument(
        "--new", type=Path, default=None, help="checkout of the new code (default: a worktree of HEAD)"
    )
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", default=",".join(BENCHES), help="comma-separated benchmarks")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--timeout", type=float, default=1500.0, help="seconds per benchmark run")
    ap.add_argument("--report-only", action="store_true", help="only recompute the report from --out's files")
    args = ap.parse_args(argv)
    work = args.out or Path(tempfile.mkdtemp(prefix="pesquisa-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        return report(work, args.only.split(","))
    new = args.new
    if new is None:
        new = work / "new-tree"
        if not new.exists():
            subprocess.run(["git", "worktree", "add", "--detach", str(new), "HEAD"], cwd=NEW_ROOT, check=True)
    sides = {"old": args.old.resolve(), "new": new.resolve()}
    for r in range(args.rounds):
        for b, bench in enumerate(args.only.split(",")):
            order = ["old", "new"] if (r + b) % 2 == 0 else ["new", "old"]  # who goes first alternates
            for side in order:
                res = run(sides[side], bench, BENCHES[bench], work, f"{bench}-{side}-{r}", args.timeout)
                print(f"round {r} {bench} {side}: exit {res['rc']}, {res['seconds']} s", flush=True)
    return report(work, args.only.split(","))


def report(work: Path, benches: Sequence[str]) -> int:
    """new/old per timing cell (median over the rounds found in ``work``) and per benchmark."""
    runs: dict[str, dict[str, list[dict[str, float]]]] = {}
    for bench in benches:
        for side in ("old", "new"):
            for md in sorted(work.glob(f"{bench}-{side}-*.md")):
                runs.setdefault(bench, {}).setdefault(side, []).append(timings(md.read_text()))
    out: dict[str, object] = {}
    for bench, by_side in runs.items():
        if len(by_side) < 2:
            continue
        cells: dict[str, float] = {}
        for key in set.intersection(*(set(t) for t in by_side["old"] + by_side["new"])) if by_side else ():
            old = statistics.median(t[key] for t in by_side["old"])
            new_v = statistics.median(t[key] for t in by_side["new"])
            if old > 0.005 and new_v > 0:  # below 5 ms the table's rounding dominates
                cells[key] = new_v / old
        gm = math.exp(statistics.fmean(math.log(v) for v in cells.values())) if cells else float("nan")
        off = {k: round(v, 2) for k, v in sorted(cells.items()) if abs(v - 1) > 0.10}
        rounds = min(len(by_side["old"]), len(by_side["new"]))
        out[bench] = {
            "geomean_new_over_old": round(gm, 3),
            "cells": len(cells),
            "rounds": rounds,
            "off_by_10pct": off,
        }
        print(
            f"{bench}: new/old geometric mean {gm:.3f} over {len(cells)} timings, {rounds} round(s); >10% off: {off}"
        )
    (work / "report.json").write_text(json.dumps(out, indent=1))
    print(f"report: {work / 'report.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
