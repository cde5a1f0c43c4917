"""Cost of the current-model-version filter on plate search (goal: < 10% added p95).

    python -m benchmarks.version_filter --smoke          # 20k reads, seconds
    python -m benchmarks.version_filter --quick          # 1M reads
    python -m benchmarks.version_filter                  # 10M reads (run when the machine is quiet)

Data: the plate-search benchmark's synthetic ``plate_reads`` (``benchmarks.search_plates.generate``:
90 days, skewed vehicle activity, OCR-like candidates), every source with a succeeded ``bench-v1``
run; then a partial backfill: ``--backfill-share`` of the sources (default 2%) re-processed as
``bench-v2`` (their rows copied under the new version) and switched, so the filter has real work:
hide ``bench-v1`` rows of those sources, keep everything else.

For each query (exact, wildcard, fuzzy) and strategy: latency WITHOUT the version filter and WITH
it; each side runs ``--repeat`` times, alternating, and keeps its best (the machine is shared: this
removes other jobs' spikes). Strategies:

- ``index``: the library's plate search on the plate index (``find_plates``), without (a plain
  RowFilter) and with ``version_filter`` computed per search, as the readers do, applied in the
  index mask;
- ``scan``: the library's DuckDB scan strategy, the same two ways (the filter in SQL);
- ``duckdb``: a hand-written DuckDB query over the same Delta dataset, as a data engineer would
  write it without the library: ``plate = ...`` / ``LIKE`` / ``levenshtein(...) <= 1`` on the best
  read, newest first, ``LIMIT 100`` with the total; with the filter, an anti-join on the current
  version of each source (``arg_max(model_version, switched_at)`` per source in
  ``source_versions``: every source with two versions has a row there).

Reported: p50/p95 per strategy and the added p95 in percent, the peak RSS; written to
``benchmarks/results/version_filter.md``. ``--scan-queries`` caps the queries per kind of the two
full-scan strategies (seconds each at 10M reads).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "out" / "version_filter"
RESULTS = HERE / "results" / "version_filter.md"
V1, V2 = "bench-v1", "bench-v2"


def plant_backfill(home: str, share: float, seed: int = 7) -> dict[str, Any]:
    """Runs for every source, a ``bench-v2`` copy of ``share`` of them, switched to v2."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as pds

    from lakehouse import Lakehouse
    from pipelines.versions import record_switch

    lh = Lakehouse(home=home)
    vids = pc.unique(lh.read("plate_reads", columns=["video_id"])["video_id"]).to_pylist()
    now = dt.datetime.now(dt.UTC)
    lh.append(
        "processing_runs",
        [
            {"video_id": v, "model_version": V1, "status": "succeeded", "started": now, "finished": now}
            for v in vids
        ],
    )
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(vids, max(1, int(len(vids) * share)), replace=False).tolist())
    rows = lh.read("plate_reads", filter=pds.field("video_id").isin(chosen))
    rows = rows.set_column(
        rows.schema.get_field_index("model_version"), "model_version", pa.array([V2] * rows.num_rows)
    )
    rows = rows.set_column(
        rows.schema.get_field_index("read_id"),
        "read_id",
        pc.binary_join_element_wise(rows["read_id"].cast(pa.string()), pa.scalar(V2), "-"),
    )
    lh.append("plate_reads", rows)
    lh.append(
        "processing_runs",
        [
            {"video_id": v, "model_version": V2, "status": "succeeded", "started": now, "finished": now}
            for v in chosen
        ],
    )
    record_switch(
        lh, [{"video_id": v, "model_version": V2} for v in chosen], by="bench", reason="planted backfill"
    )
    return {"sources": len(vids), "backfilled": len(chosen), "v2_rows": rows.num_rows}


def _duckdb_sql(kind: str, text: str, with_filter: bool) -> str:
    """The hand-written query: best-read match, newest first, 100 rows and the total."""
    from lakehouse.store import sql_literal

    if kind == "exact":
        cond = f"plate = {sql_literal(text)}"
    elif kind == "wildcard":
        cond = f"plate LIKE {sql_literal(text.replace('?', '_').replace('*', '%'))}"
    else:
        cond = f"levenshtein(plate, {sql_literal(text)}) <= 1"
    head, anti = "", ""
    if with_filter:
        head = (
            "WITH cur AS (SELECT video_id, arg_max(model_version, switched_at) AS model_version "
            "FROM source_versions GROUP BY video_id) "
        )
        anti = (
            " AND NOT EXISTS (SELECT 1 FROM cur WHERE cur.video_id = p.video_id "
            "AND cur.model_version <> p.model_version)"
        )
    return (
        f"{head}SELECT read_id, camera_id, ts, plate, model_version, count(*) OVER () AS total "
        f"FROM plate_reads p WHERE {cond}{anti} ORDER BY ts DESC LIMIT 100"
    )


def run_duckdb(home: str, per_kind: int, repeat: int = 3) -> dict[str, Any]:
    """The hand-written DuckDB query without and with the current-version anti-join."""
    from lakehouse import Lakehouse
    from pipelines.search import plate_match as pm

    lh = Lakehouse(home=home)
    queries = json.loads(Path(home, "queries.json").read_text())
    con = lh.duckdb(["plate_reads", "source_versions"])
    con.execute(_duckdb_sql("exact", pm.parse_pattern(queries["exact"][0]).text, True)).fetchall()  # warm
    base, with_v, extra = [], [], []
    for kind, pats in queries.items():
        for pat in pats[:per_kind]:
            text = pm.parse_pattern(pat).text
            tb, tw = [], []
            for _ in range(repeat):
                t0 = time.perf_counter()
                r0 = con.execute(_duckdb_sql(kind, text, False)).fetchall()
                tb.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                r1 = con.execute(_duckdb_sql(kind, text, True)).fetchall()
                tw.append(time.perf_counter() - t0)
            base.append(min(tb))
            with_v.append(min(tw))
            extra.append((r0[0][-1] if r0 else 0) - (r1[0][-1] if r1 else 0))
    return _summary(base, with_v, extra)


def _summary(base: list[float], with_v: list[float], extra: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "base": base,
        "with": with_v,
        "queries": len(base),
        "hidden_total": int(sum(extra)),
        "p50_base": _pct(base, 50),
        "p95_base": _pct(base, 95),
        "p50_with": _pct(with_v, 50),
        "p95_with": _pct(with_v, 95),
    }
    out["added_p95_pct"] = 100.0 * (out["p95_with"] / out["p95_base"] - 1.0)
    return out


def run(
    home: str, per_kind: int, strategies: list[str], repeat: int = 3, scan_per_kind: int | None = None
) -> dict[str, Any]:
    from lakehouse import Lakehouse
    from pipelines.search import plate_match as pm
    from pipelines.search.filters import RowFilter
    from pipelines.search.plates import find_plates
    from pipelines.versions import version_filter

    lh = Lakehouse(home=home)
    queries = json.loads(Path(home, "queries.json").read_text())
    fuzzy = {"exact": 0, "wildcard": 0, "fuzzy": 1}
    out: dict[str, Any] = {}
    for strategy in strategies:
        n = per_kind if strategy == "index" else min(per_kind, scan_per_kind or per_kind)
        if strategy == "duckdb":
            out[strategy] = run_duckdb(home, n, repeat)
            continue
        base, with_v, extra = [], [], []
        warm = pm.parse_pattern(queries["exact"][0])  # warm both paths (index files, source codes)
        find_plates(lh, warm, RowFilter(), limit=100, strategy=strategy)
        find_plates(lh, warm, RowFilter(versions=version_filter(lh)), limit=100, strategy=strategy)
        for kind, pats in queries.items():
            for pat in pats[:n]:
                p = pm.parse_pattern(pat, fuzzy[kind])
                tb, tw = [], []
                for _ in range(repeat):  # alternate, keep each side's best: less noise from other load
                    t0 = time.perf_counter()
                    h0, n0, _ = find_plates(lh, p, RowFilter(), limit=100, strategy=strategy)
                    tb.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    flt = RowFilter(versions=version_filter(lh))
                    h1, n1, _ = find_plates(lh, p, flt, limit=100, strategy=strategy)
                    tw.append(time.perf_counter() - t0)
                base.append(min(tb))
                with_v.append(min(tw))
                extra.append(n0 - n1)
        out[strategy] = _summary(base, with_v, extra)
    return out


def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q)) if xs else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--smoke",
        action="store_true",
        help="20k reads, 2 queries per kind, once each (seconds); no results file",
    )
    ap.add_argument("--quick", action="store_true", help="1M reads")
    ap.add_argument(
        "--rows", type=int, default=None, help="reads (default 10M; 1M with --quick; 20k with --smoke)"
    )
    ap.add_argument("--backfill-share", type=float, default=0.02)
    ap.add_argument("--queries", type=int, default=20, help="queries per kind")
    ap.add_argument("--strategies", default="index,scan,duckdb")
    ap.add_argument(
        "--scan-queries", type=int, default=None, help="queries per kind for scan/duckdb (default: --queries)"
    )
    ap.add_argument("--repeat", type=int, default=3, help="runs per query and side; the best is kept")
    ap.add_argument("--out", default=None, help=f"data folder (default {OUT_DIR}; --smoke: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the generated data for another run")
    ap.add_argument("--results", default=str(RESULTS))
    args = ap.parse_args(argv)
    rows = args.rows or (20_000 if args.smoke else 1_000_000 if args.quick else 10_000_000)
    from benchmarks import smoke

    out = args.out or (str(smoke.smoke_dir("version_filter")) if args.smoke else str(OUT_DIR))
    home = Path(out) / f"n{rows}"
    from benchmarks.search_plates import build_index, generate

    t0 = time.perf_counter()
    fresh = not (home / "queries.json").exists()
    if fresh:
        shutil.rmtree(home, ignore_errors=True)
        generate(rows, str(home))
        planted = plant_backfill(str(home), args.backfill_share)
        (home / "planted.json").write_text(json.dumps(planted))
    planted = json.loads((home / "planted.json").read_text())
    strategies = [s for s in args.strategies.split(",") if s]
    if "index" in strategies and (fresh or not (home / "index").exists()):
        build_index(str(home))
    setup_s = time.perf_counter() - t0
    load0 = os.getloadavg()
    res = run(
        str(home),
        args.queries if not args.smoke else min(args.queries, 2),
        strategies,
        args.repeat if not args.smoke else 1,
        args.scan_queries,
    )
    load = os.getloadavg()
    import resource

    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    report = {
        "rows": rows,
        "planted": planted,
        "setup_s": round(setup_s, 1),
        "loadavg": load,
        "loadavg_before": load0,
        "peak_rss_gib": round(peak_gib, 2),
        "results": {s: {k: v for k, v in r.items() if k not in ("base", "with")} for s, r in res.items()},
    }
    print(json.dumps(report, indent=1))
    # the library's two strategies run the same queries: they must hide the same rows, or the timing
    # is moot (the hand-written DuckDB query counts its own way)
    hidden = {s: res[s]["hidden_total"] for s in ("index", "scan") if s in res}
    if len(set(hidden.values())) > 1:
        print(f"version_filter: the strategies disagree on the rows hidden: {hidden}", file=sys.stderr)
        return 1
    if not args.smoke:
        Path(args.results).parent.mkdir(parents=True, exist_ok=True)
        n_q = {s: r["queries"] for s, r in res.items()}
        lines = [
            "## Current-version filter on plate search (version_filter)",
            "",
            f"{rows:,} synthetic plate reads (`benchmarks.search_plates.generate`, 90 days); "
            f"{planted['backfilled']:,} of {planted['sources']:,} sources backfilled to `{V2}` and switched "
            f"({planted['v2_rows']:,} `{V1}` rows the filter must hide). Each query runs without and with the "
            f"filter, alternating, {args.repeat} times per side (best kept). *index* / *scan* = the library's "
            "plate search (`find_plates`: version map read per search, filter in the index mask / SQL); "
            "*duckdb* = a hand-written DuckDB query over the same Delta dataset (best-read match, newest "
            "100 and the total; with the filter an anti-join on each source's current version in "
            "`source_versions`). Queries per strategy (exact + wildcard + fuzzy): "
            + ", ".join(f"{s} {n}" for s, n in n_q.items())
            + f". Machine: {os.cpu_count()} cores and 24 GiB shared with other jobs; load average (1 min) "
            f"{load0[0]:.1f} before, {load[0]:.1f} after; peak RSS {peak_gib:.2f} GiB.",
            "",
            "| strategy | p50 without | p95 without | p50 with | p95 with | added p95 |",
            "|---|---|---|---|---|---|",
        ]
        for s, r in res.items():
            lines.append(
                f"| {s} | {r['p50_base'] * 1000:.1f} ms | {r['p95_base'] * 1000:.1f} ms | "
                f"{r['p50_with'] * 1000:.1f} ms | {r['p95_with'] * 1000:.1f} ms | {r['added_p95_pct']:+.1f}% |"
            )
        lines += ["", f"Command: `python -m benchmarks.version_filter {' '.join(argv or sys.argv[1:])}`"]
        Path(args.results).write_text("\n".join(lines) + "\n")
    if not args.keep and args.smoke:
        shutil.rmtree(home if args.out else Path(out), ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
