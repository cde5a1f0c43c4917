"""Run every benchmark (or assemble existing results) into benchmarks/RESULTS.md.

    python -m benchmarks.run_all            # run all benchmarks in --quick mode, then assemble
    python -m benchmarks.run_all --full     # full sizes (long: hours for the 100M-row search bench)
    python -m benchmarks.run_all --assemble # only rebuild RESULTS.md from benchmarks/results/*.md
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
BENCHMARKS = ["extraction", "search_plates", "search_faces", "crime_analytics", "app_page", "scaleout", "movement"]


def assemble() -> Path:
    parts = [
        "# Benchmark results\n",
        "Each section is written by one benchmark module (`python -m benchmarks.<name>`), measured side by "
        "side in one run on the machine it names. Regenerate with `make bench` "
        "(`python -m benchmarks.run_all`).\n",
        f"_Assembled {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, Python {platform.python_version()}._\n",
    ]
    for name in BENCHMARKS:
        f = RESULTS_DIR / f"{name}.md"
        if f.exists():
            parts.append(f.read_text().strip() + "\n")
        else:
            parts.append(f"## {name}\n\nNot measured yet (`python -m benchmarks.{name}`).\n")
    out = HERE / "RESULTS.md"
    out.write_text("\n".join(parts))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="full sizes instead of --quick")
    ap.add_argument("--assemble", action="store_true", help="only assemble RESULTS.md")
    args = ap.parse_args(argv)
    rc = 0
    if not args.assemble:
        for name in BENCHMARKS:
            if not (HERE / f"{name}.py").exists():
                continue
            cmd = [sys.executable, "-m", f"benchmarks.{name}"] + ([] if args.full else ["--quick"])
            print("running", " ".join(cmd), flush=True)
            rc |= subprocess.call(cmd, cwd=HERE.parent)
    print("wrote", assemble())
    return rc


if __name__ == "__main__":
    sys.exit(main())
