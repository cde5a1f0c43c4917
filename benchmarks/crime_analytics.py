"""Crime-map analytics at scale: heat map (H3 counts) + Gi* hot spots, Pesquisa vs naive pandas.

    python -m benchmarks.crime_analytics --quick        # 200k incidents, about a minute
    python -m benchmarks.crime_analytics                # 1M and 10M incidents
    python -m benchmarks.crime_analytics --sizes 1000000 --keep
    python -m benchmarks.crime_analytics --smoke        # 5,000 incidents, report to a temp dir

For each size, synthetic incidents (``pipelines.synth.incidents``: 5 planted hot spots holding 40%
of the incidents, 10% near repeats, uniform background over a ~33 x 33 km city, 90 days) are written
once as the Delta ``incidents`` table (``h3`` at res 9 filled, as the importer does). Then each
implementation runs in its own fresh process (peak RSS per implementation) doing the same work:

- read the incidents from the Lakehouse (pandas: ``lat, lon, h3, ts, type`` into memory);
- heat map: incident count per H3 cell at res 9;
- hot spots: Getis-Ord Gi* (k = 1 ring, binary weights, self included) over the occupied cells
  plus one ring of empty cells, z and two-sided p per cell.

**pesquisa** is the library: ``h3_counts(lh)`` and ``gi_star(lh)``, each a streaming Polars
group-by pushed into the Delta scan, then esda ``G_Local`` on a libpysal Graph. **pandas** is what an analyst would write without it: ``to_pandas()``,
``groupby().size()``, then Gi* with Python loops over ``h3.grid_disk`` and the textbook formula.
The run checks that both give the same counts and z-scores. Data goes to ``benchmarks/out/``
(gitignored); results to ``benchmarks/results/crime_analytics.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import smoke

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "out" / "crime_analytics"
RESULTS = HERE / "results" / "crime_analytics.md"
#: ~33 x 33 km around Asuncion (about 10k H3 res-9 cells)
BBOX = (-57.78, -25.45, -57.45, -25.15)
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
IMPLS = ("pesquisa", "pandas")


def _rss_gib() -> float:
    """Peak RSS of this process image. VmHWM, not ``ru_maxrss``: Linux carries ``ru_maxrss`` over
    ``exec``, so a worker would report its (larger) parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


# ------------------------------------------------------------------------------------ data
def build(home: Path, n: int, seed: int = 1) -> dict[str, Any]:
    """Generate ``n`` incidents and write them as the incidents table (in chunks of 2M rows)."""
    import polars as pl

    from lakehouse import Lakehouse
    from pipelines.crime.grid import cells_series
    from pipelines.synth.incidents import generate_incident_table

    t0 = time.perf_counter()
    lh = Lakehouse(home=home)
    chunk = 2_000_000
    written = 0
    part = 0
    while written < n:
        m = min(chunk, n - written)
        syn = generate_incident_table(m, BBOX, seed=seed + part, start=START, days=90)
        df = pl.from_arrow(syn.table)
        assert isinstance(df, pl.DataFrame)
        df = df.with_columns(cells_series(df["lat"].to_numpy(), df["lon"].to_numpy(), 9, name="h3"))
        lh.append("incidents", df.to_arrow())
        written += m
        part += 1
    size = sum(f.stat().st_size for f in (home / "tables" / "incidents").rglob("*.parquet"))
    return {
        "seconds": time.perf_counter() - t0,
        "table_gib": size / 2**30,
        "rows": lh.count("incidents"),
        "peak_rss_gib": _rss_gib(),
    }


# ------------------------------------------------------------------------------------ workers
def work_pesquisa(home: Path, out: Path) -> dict[str, float]:
    ti = time.perf_counter()
    import esda.getisord  # noqa: F401  (imported lazily by gi_star; timed apart, as a server imports once)
    import libpysal.graph  # noqa: F401
    import polars  # noqa: F401

    from lakehouse import Lakehouse
    from pipelines.crime.heatmap import h3_counts
    from pipelines.crime.hotspots import gi_star

    base = _rss_gib()
    t0 = time.perf_counter()
    imports = t0 - ti
    lh = Lakehouse(home=home)
    heat = h3_counts(lh, res=9)  # streaming aggregation over the Delta scan
    t1 = time.perf_counter()
    gi = gi_star(lh, res=9, k=1)  # its own aggregation + esda G_Local
    t2 = time.perf_counter()
    heat.select("h3", "count").write_parquet(out / "heat.parquet")
    gi.select("h3", "count", "z", "p").write_parquet(out / "gi.parquet")
    return {
        "read": float("nan"),
        "heatmap": t1 - t0,
        "hotspots": t2 - t1,
        "total": t2 - t0,
        "cells": heat.height,
        "lattice": gi.height,
        "base_rss_gib": base,
        "imports": imports,
    }


def work_pandas(home: Path, out: Path) -> dict[str, float]:
    ti = time.perf_counter()
    import math

    import h3
    import pandas as pd
    from scipy import stats

    from lakehouse import Lakehouse

    base = _rss_gib()
    t0 = time.perf_counter()
    imports = t0 - ti
    df = Lakehouse(home=home).read("incidents", columns=["lat", "lon", "h3", "ts", "type"]).to_pandas()
    df = df[df["lat"].notna() & df["lon"].notna()]
    t1 = time.perf_counter()
    heat = df.groupby("h3").size().rename("count").reset_index().sort_values("count", ascending=False)
    t2 = time.perf_counter()
    counts = dict(zip(heat["h3"], heat["count"], strict=True))
    lattice: set[str] = set()
    for c in counts:
        lattice.update(h3.grid_disk(c, 1))
    cells = sorted(lattice)
    x = [float(counts.get(c, 0)) for c in cells]
    n = len(cells)
    xbar = sum(x) / n
    s = math.sqrt(sum(v * v for v in x) / n - xbar * xbar)
    index = {c: i for i, c in enumerate(cells)}
    rows = []
    for i, c in enumerate(cells):
        nb = [index[d] for d in h3.grid_disk(c, 1) if d in index]
        w = len(nb)
        z = (sum(x[j] for j in nb) - xbar * w) / (s * math.sqrt((n * w - w * w) / (n - 1)))
        rows.append((c, int(x[i]), z, 2 * stats.norm.sf(abs(z))))
    gi = pd.DataFrame(rows, columns=["h3", "count", "z", "p"]).sort_values("z", ascending=False)
    t3 = time.perf_counter()
    heat.to_parquet(out / "heat.parquet")
    gi.to_parquet(out / "gi.parquet")
    return {
        "read": t1 - t0,
        "heatmap": t2 - t1,
        "hotspots": t3 - t2,
        "total": t3 - t0,
        "cells": len(heat),
        "lattice": len(gi),
        "base_rss_gib": base,
        "imports": imports,
    }


def worker(impl: str, home: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    fn = {"pesquisa": work_pesquisa, "pandas": work_pandas}[impl]
    res = fn(home, out)
    res["peak_rss_gib"] = _rss_gib()
    print("RESULT " + json.dumps(res), flush=True)


def run_impl(impl: str, home: Path, out: Path) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.crime_analytics",
        "--worker",
        impl,
        "--home",
        str(home),
        "--out",
        str(out),
    ]
    proc = subprocess.run(cmd, cwd=HERE.parent, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{impl} worker failed:\n{proc.stderr[-3000:]}")
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def compare(a: Path, b: Path) -> dict[str, Any]:
    import numpy as np
    import polars as pl

    ha = pl.read_parquet(a / "heat.parquet").select("h3", "count").sort("h3")
    hb = pl.read_parquet(b / "heat.parquet").select("h3", pl.col("count").cast(pl.Int64)).sort("h3")
    ga = pl.read_parquet(a / "gi.parquet").sort("h3")
    gb = pl.read_parquet(b / "gi.parquet").sort("h3")
    same_cells = ga["h3"].to_list() == gb["h3"].to_list()
    dz = float(np.max(np.abs(ga["z"].to_numpy() - gb["z"].to_numpy()))) if same_cells else float("nan")
    return {
        "counts_equal": ha.equals(hb),
        "gi_cells_equal": same_cells,
        "max_abs_dz": dz,
        "hot_cells": int(((ga["z"] > 0) & (ga["p"] < 0.05)).sum()),
    }


# ------------------------------------------------------------------------------------ report
def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()[0]
    return (
        f"{cpu}, {os.cpu_count()} CPU cores, {mem:.0f} GiB RAM, shared with other jobs (1-min load average "
        f"{load:.1f} at the end of the run: timings are noisy); Python {platform.python_version()}"
    )


def write_report(results: list[dict[str, Any]], command: str, path: Path = RESULTS) -> Path:
    import esda
    import h3
    import pandas as pd
    import polars as pl

    lines = [
        "## Crime analytics (crime_analytics)",
        "",
        f"Machine: {machine()}. Command: `{command}`. Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC. "
        f"polars {pl.__version__}, pandas {pd.__version__}, esda {esda.__version__}, h3 {h3.__version__}.",
        "",
        f"Work per implementation (fresh process each, best of {results[0]['repeat']} runs, warm page cache): read the Delta `incidents` table "
        "(pandas loads `lat, lon, h3, ts, type` of every incident); **heat map** = count per H3 res-9 cell; **hot spots** = "
        "Getis-Ord Gi* (k=1 ring, binary weights with self, occupied cells + 1 ring of empty cells), z and "
        "two-sided normal p per cell. **pesquisa** = the public calls `h3_counts(lh, res=9)` then "
        "`gi_star(lh, res=9, k=1)`, each a streaming Polars group-by pushed into the Delta scan (nothing "
        "row-sized in memory), then esda `G_Local` on a libpysal Graph; **pandas** = `to_pandas()` + `groupby().size()` + Gi* in Python loops "
        "over `h3.grid_disk`. Synthetic incidents: 5 planted hot spots (40%), 10% near repeats, uniform "
        "background over ~33 x 33 km, 90 days. Speed-up = pandas total / pesquisa total.",
        "",
        "| incidents | implementation | read | heat map | hot spots | total | peak RSS | cells (lattice) | speed-up |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        p, q = r["pesquisa"], r["pandas"]
        for name, m in (("pesquisa", p), ("pandas", q)):
            speed = f"{q['total'] / p['total']:.1f}x" if name == "pesquisa" else "1x"
            read = "in each step" if m["read"] != m["read"] else f"{m['read']:.2f} s"
            lines.append(
                f"| {r['n']:,} | {name} | {read} | {m['heatmap']:.2f} s | {m['hotspots']:.2f} s | "
                f"{m['total']:.2f} s | {m['peak_rss_gib']:.2f} GiB | {m['cells']:,} ({m['lattice']:,}) | {speed} |"
            )
    lines.append("")
    for r in results:
        c, b = r["check"], r["build"]
        lines.append(
            f"- {r['n']:,} incidents: table {b['table_gib']:.2f} GiB written in {b['seconds']:.0f} s; results "
            f"identical: counts {'yes' if c['counts_equal'] else 'NO'}, Gi* cells "
            f"{'yes' if c['gi_cells_equal'] else 'NO'}, max |z difference| {c['max_abs_dz']:.1e}; "
            f"{c['hot_cells']} hot cells at p < 0.05."
        )
    lines.append("")
    lines.append(
        "Library imports are timed apart and not in the totals (as in a long-running app or Dagster "
        f"process): pesquisa {results[0]['pesquisa']['imports']:.1f} s (esda + libpysal), "
        f"pandas {results[0]['pandas']['imports']:.1f} s."
    )
    lines.append(
        "Peak RSS is the whole process (interpreter and libraries included; about "
        f"{results[0]['pesquisa']['base_rss_gib']:.2f} GiB after imports for pesquisa, "
        f"{results[0]['pandas']['base_rss_gib']:.2f} GiB for pandas)."
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one small size (200k incidents)")
    ap.add_argument("--sizes", type=lambda s: [int(v) for v in s.split(",")], help="comma-separated sizes")
    ap.add_argument("--keep", action="store_true", help="keep the generated tables in benchmarks/out/")
    ap.add_argument("--repeat", type=int, default=2, help="runs per implementation; the fastest is reported")
    ap.add_argument("--worker", choices=IMPLS, help=argparse.SUPPRESS)
    ap.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--smoke", action="store_true", help=smoke.HELP)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker, args.home, args.out)
        return 0
    sizes = args.sizes or ([200_000] if args.quick else [1_000_000, 10_000_000])
    out_dir, results_path = OUT_DIR, RESULTS
    if args.smoke:
        out_dir = smoke.smoke_dir("crime_analytics")
        sizes, args.repeat, results_path = [5_000], 1, out_dir / "crime_analytics.md"
    command = (
        "python -m benchmarks.crime_analytics"
        + (" --quick" if args.quick and not args.sizes else "")
        + (f" --sizes {','.join(map(str, args.sizes))}" if args.sizes else "")
    )
    results = []
    for n in sizes:
        root = out_dir / f"n{n}"
        if root.exists() and not (root / "home" / "tables" / "incidents").exists():
            shutil.rmtree(root)
        home = root / "home"
        if (home / "tables" / "incidents").exists():
            from lakehouse import Lakehouse

            build_info = {
                "seconds": float("nan"),
                "rows": Lakehouse(home=home).count("incidents"),
                "table_gib": sum(f.stat().st_size for f in (home / "tables" / "incidents").rglob("*.parquet"))
                / 2**30,
            }
            if build_info["rows"] != n:
                shutil.rmtree(root)
        if not (home / "tables" / "incidents").exists():
            print(f"[{n:,}] generating and writing incidents ...", flush=True)
            build_info = build(home, n)
        print(f"[{n:,}] table ready ({build_info['table_gib']:.2f} GiB)", flush=True)
        rec: dict[str, Any] = {"n": n, "build": build_info, "repeat": args.repeat}
        for impl in IMPLS:
            runs = [run_impl(impl, home, root / impl) for _ in range(args.repeat)]
            rec[impl] = m = min(runs, key=lambda r: r["total"])
            print(
                f"[{n:,}] {impl}: total {m['total']:.2f} s (read {m['read']:.2f}, heat {m['heatmap']:.2f}, "
                f"gi* {m['hotspots']:.2f}), peak {m['peak_rss_gib']:.2f} GiB",
                flush=True,
            )
        rec["check"] = compare(root / "pesquisa", root / "pandas")
        print(f"[{n:,}] check: {rec['check']}", flush=True)
        results.append(rec)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print("wrote", write_report(results, command, results_path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
