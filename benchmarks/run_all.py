"""Run every benchmark (or assemble existing results) into benchmarks/RESULTS.md.

    python -m benchmarks.run_all            # run all benchmarks in --quick mode, then assemble
    python -m benchmarks.run_all --full     # full sizes (long: hours for the 100M-row search bench)
    python -m benchmarks.run_all --assemble # only rebuild RESULTS.md from benchmarks/results/*.md
    python -m benchmarks.run_all --smoke    # every benchmark's seconds-long smoke run (writes no results)

Every module ``benchmarks/<name>.py`` with a ``main`` is a benchmark (:func:`benchmark_names`); each
takes ``--quick`` and ``--smoke`` (:mod:`benchmarks.smoke`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"
#: the order of RESULTS.md; benchmark modules not listed here follow, by name
BENCHMARKS = [
    "extraction",
    "search_plates",
    "search_faces",
    "crime_analytics",
    "app_page",
    "scaleout",
    "live",
    "movement",
]
#: before/after tools (they compare this code with an older checkout): not run by ``make bench``;
#: their results file (``results/golden.md``) is assembled after the benchmarks' sections
NOT_BENCHMARKS = {"__init__", "run_all", "smoke", "golden", "golden_bench"}
REPORTS = ["golden"]


def benchmark_names() -> list[str]:
    """Every benchmark module in this folder: those of :data:`BENCHMARKS` first, then the others."""
    found = sorted(p.stem for p in HERE.glob("*.py") if p.stem not in NOT_BENCHMARKS)
    return [n for n in BENCHMARKS if n in found] + [n for n in found if n not in BENCHMARKS]


def assemble() -> Path:
    parts = [
        "# Benchmark results\n",
        "Each section is written by one benchmark module (`python -m benchmarks.<name>`), measured side by "
        "side in one run on the machine it names. Regenerate with `make bench` "
        "(`python -m benchmarks.run_all`).\n",
        f"_Assembled {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, Python {platform.python_version()}._\n",
    ]
    for name in benchmark_names():
        f = RESULTS_DIR / f"{name}.md"
        if f.exists():
            parts.append(f.read_text().strip() + "\n")
        else:
            parts.append(f"## {name}\n\nNot measured yet (`python -m benchmarks.{name}`).\n")
    for name in REPORTS:
        f = RESULTS_DIR / f"{name}.md"
        if f.exists():
            parts.append(f.read_text().strip() + "\n")
    out = HERE / "RESULTS.md"
    out.write_text("\n".join(parts))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="full sizes instead of --quick")
    ap.add_argument("--assemble", action="store_true", help="only assemble RESULTS.md")
    ap.add_argument(
        "--smoke", action="store_true", help="run every benchmark in smoke mode; assemble nothing"
    )
    args = ap.parse_args(argv)
    rc = 0
    if not args.assemble:
        mode = ["--smoke"] if args.smoke else [] if args.full else ["--quick"]
        for name in benchmark_names():
            cmd = [sys.executable, "-m", f"benchmarks.{name}", *mode]
            print("running", " ".join(cmd), flush=True)
            rc |= subprocess.call(cmd, cwd=HERE.parent)
    if not args.smoke:
        print("wrote", assemble())
    return rc


if __name__ == "__main__":
    sys.exit(main())
