"""Plate search at scale: the plate index and the DuckDB scan vs a pandas full scan, side by side.

    python -m benchmarks.search_plates --quick          # 1M reads, a couple of minutes
    python -m benchmarks.search_plates                  # 10M and 100M reads (an hour or more on 2 cores)
    python -m benchmarks.search_plates --sizes 10000000 --keep
    python -m benchmarks.search_plates --smoke          # 4,000 reads, report to a temp dir

Synthetic reads are written directly as a Delta ``plate_reads`` table (the product's schema, via
``lakehouse.conform``): 90 days, partitioned by ``date``, each day's file sorted by plate (what
``maintain`` z-ordering would give) with 128k-row row groups. Vehicles follow a skewed activity
distribution (some plates seen thousands of times); each read has its best OCR text plus 1-2
candidates built from OCR confusions (0/O, 8/B, ...) and some random misreads, so the true plate is
sometimes only a candidate. Crops are left out (a search never reads them).

Queries (whole history, ``limit=100``): ``exact`` (a plate), ``wildcard`` (half ``AB?12?D``-style,
half ``*23?D``-style with a leading star), ``fuzzy`` (a plate with one OCR confusion, ``fuzzy=1``).
Each phase runs in its own process (peak RSS per phase). The pandas baseline reads the same
Parquet files day by day and matches best read and candidates with pandas/Python; where it is
marked "sampled" it ran on whole days totalling the stated rows and is extrapolated linearly.
Data goes to ``benchmarks/out/`` (gitignored); results to ``benchmarks/results/search_plates.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import re
import resource
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import smoke

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "out"
RESULTS = HERE / "results" / "search_plates.md"
DAYS = 90
START = dt.date(2024, 1, 1)
CAMERAS = 200
ROW_GROUP = 131_072
FORMATS = [("LLDDDLL", 0.35), ("LLLDDD", 0.25), ("LLLDLDD", 0.2), ("LLLLDDD", 0.2)]
LETTERS = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", np.uint8)
DIGITS = np.frombuffer(b"0123456789", np.uint8)
ALNUM = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", np.uint8)
HEX = np.frombuffer(b"0123456789abcdef", np.uint8)


# ====================================================================== generator
def _partners() -> tuple[np.ndarray, np.ndarray]:
    from pipelines.search.plate_match import SUB_COSTS

    table = np.zeros((256, 8), np.uint8)
    count = np.zeros(256, np.int64)
    for c in ALNUM:
        ps = [b for b in ALNUM if b != c and SUB_COSTS[c, b] < 1.0]
        count[c] = len(ps)
        table[c, : len(ps)] = ps
    return table, count


def _vehicles(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(plates as n x 7 uint8, zero padded; lengths; activity weights)."""
    mat = np.zeros((n, 7), np.uint8)
    fmt = rng.choice(len(FORMATS), size=n, p=[w for _, w in FORMATS])
    lens = np.zeros(n, np.int64)
    for fi, (f, _) in enumerate(FORMATS):
        rows = np.flatnonzero(fmt == fi)
        lens[rows] = len(f)
        for j, kind in enumerate(f):
            pool = LETTERS if kind == "L" else DIGITS
            mat[rows, j] = pool[rng.integers(0, len(pool), len(rows))]
    activity = rng.lognormal(0.0, 1.3, n)
    return mat, lens, activity / activity.sum()


def _mutate(
    mat: np.ndarray,
    lens: np.ndarray,
    rng: np.random.Generator,
    confusion_share: float,
    partners: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """One substitution per row at a random position: an OCR confusion partner when the character
    has one (with probability ``confusion_share``), else a random character."""
    table, count = partners
    out = mat.copy()
    n = len(mat)
    pos = (rng.random(n) * lens).astype(np.int64)
    cur = out[np.arange(n), pos]
    k = count[cur]
    use_conf = (rng.random(n) < confusion_share) & (k > 0)
    pick = table[cur, (rng.random(n) * np.maximum(k, 1)).astype(np.int64)]
    rand = ALNUM[rng.integers(0, len(ALNUM), n)]
    rand = np.where(rand == cur, ALNUM[(np.searchsorted(ALNUM, cur) + 1) % len(ALNUM)], rand)
    out[np.arange(n), pos] = np.where(use_conf, pick, rand)
    return out


def _strings(mat: np.ndarray):
    import pyarrow as pa

    w = mat.shape[1]
    arr = pa.array(np.ascontiguousarray(mat).view(f"S{w}").ravel())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(pa.string())


def _day_table(day: int, n: int, veh: tuple, rng: np.random.Generator, partners):
    import pyarrow as pa

    from lakehouse.conform import conform
    from lakehouse.specs import PLATE_READS

    plates, plens, activity = veh
    vid = rng.choice(len(plates), size=n, p=activity)
    true = plates[vid]
    lens = plens[vid]
    err = rng.random(n) < 0.12
    best = np.where(err[:, None], _mutate(true, lens, rng, 0.75, partners), true)
    second = np.where(err[:, None], true, _mutate(true, lens, rng, 0.9, partners))
    has3 = rng.random(n) < 0.5
    third = _mutate(true, lens, rng, 0.75, partners)
    order = np.argsort(np.ascontiguousarray(best).view("S7").ravel(), kind="stable")  # sorted by plate
    best, second, third, has3, lens = best[order], second[order], third[order], has3[order], lens[order]
    s1 = rng.uniform(0.55, 0.98, n).astype(np.float32)
    s2 = ((1 - s1) * rng.uniform(0.4, 0.9, n)).astype(np.float32)
    s3 = (s2 * rng.uniform(0.2, 0.8, n)).astype(np.float32)
    ncand = 2 + has3.astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(ncand)]).astype(np.int32)
    flat = np.zeros((offsets[-1], 7), np.uint8)
    fs = np.zeros(offsets[-1], np.float32)
    st = offsets[:-1]
    flat[st], fs[st] = best, s1
    flat[st + 1], fs[st + 1] = second, s2
    flat[st[has3] + 2], fs[st[has3] + 2] = third[has3], s3[has3]
    cand = pa.ListArray.from_arrays(
        pa.array(offsets), pa.StructArray.from_arrays([_strings(flat), pa.array(fs)], ["text", "score"])
    )
    raw = rng.integers(0, 16, (n, 24), dtype=np.uint8)
    read_id = _strings(HEX[raw])
    date = START + dt.timedelta(days=day)
    day0 = np.datetime64(date.isoformat(), "us")
    secs = rng.integers(0, 86_400_000_000, n)
    ts = (day0 + secs.astype("timedelta64[us]")).astype("datetime64[us]")
    cam = rng.integers(0, CAMERAS, n)
    hour = (secs // 3_600_000_000).astype(np.int64)
    cam_names = np.array([f"cam-{i:03d}" for i in range(CAMERAS)], dtype=object)
    src_key = cam * 24 + hour
    src_dict = pa.array(
        [f"/recordings/cam-{k // 24:03d}/{date.isoformat()}/{k % 24:02d}.mp4" for k in range(CAMERAS * 24)]
    )
    vid_dict = pa.array([f"{date.isoformat()}-{k:05d}" for k in range(CAMERAS * 24)])
    t = pa.table(
        {
            "read_id": read_id,
            "camera_id": pa.array(cam_names[cam]),
            "video_id": pa.DictionaryArray.from_arrays(pa.array(src_key.astype(np.int32)), vid_dict).cast(
                pa.string()
            ),
            "source_uri": pa.DictionaryArray.from_arrays(pa.array(src_key.astype(np.int32)), src_dict).cast(
                pa.string()
            ),
            "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "offset_s": pa.array((secs % 3_600_000_000) / 1e6),
            "plate": _strings(best),
            "confidence": pa.array(s1),
            "candidates": cand,
            "track_len": pa.array(rng.integers(3, 40, n).astype(np.int32)),
            "model_version": pa.array(["bench-v1"] * n),
            "agency": pa.array(np.where(cam % 2 == 0, "municipal", "police911").astype(object)),
        }
    )
    return conform(t, PLATE_READS)


def generate(n_rows: int, home: str, seed: int = 7) -> dict[str, Any]:
    from deltalake import WriterProperties, write_deltalake

    from lakehouse import Lakehouse

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    lh = Lakehouse(home=home)
    lh.ensure("plate_reads")
    uri = lh.uri("plate_reads")
    veh = _vehicles(max(20_000, n_rows // 40), rng)
    partners = _partners()
    per_day = n_rows // DAYS
    props = WriterProperties(max_row_group_size=ROW_GROUP)
    written = 0
    for day in range(DAYS):
        n = per_day if day < DAYS - 1 else n_rows - written
        t = _day_table(day, n, veh, rng, partners)
        write_deltalake(
            uri, t, mode="append", partition_by=["date"], writer_properties=props, target_file_size=1 << 31
        )
        written += n
    lh.table("plate_reads").create_checkpoint()
    queries = _queries(veh, rng, partners)
    Path(home, "queries.json").write_text(json.dumps(queries))
    return {
        "rows": written,
        "vehicles": len(veh[0]),
        "seconds": time.perf_counter() - t0,
        "table_bytes": _du(Path(uri)),
    }


def _queries(veh, rng: np.random.Generator, partners, per_kind: int = 40) -> dict[str, list[str]]:
    plates, lens, activity = veh
    vid = rng.choice(len(plates), size=per_kind * 3, p=activity)
    text = [bytes(plates[v, : lens[v]]).decode() for v in vid]
    exact = text[:per_kind]
    wild = []
    for i, p in enumerate(text[per_kind : 2 * per_kind]):
        if i % 2 == 0:
            pos = rng.choice(len(p), 2, replace=False)
            wild.append("".join("?" if j in pos else c for j, c in enumerate(p)))
        else:
            wild.append("*" + p[-4:-2] + "?" + p[-1])
    conf = _mutate(plates[vid[2 * per_kind :]], lens[vid[2 * per_kind :]], rng, 1.0, partners)
    fuzzy = [bytes(conf[i, : lens[v]]).decode() for i, v in enumerate(vid[2 * per_kind :])]
    return {"exact": exact, "wildcard": wild, "fuzzy": fuzzy}


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# ====================================================================== phases
def build_index(home: str) -> dict[str, Any]:
    from lakehouse import Lakehouse
    from pipelines.search.plate_index import PlateIndex

    idx = PlateIndex(Lakehouse(home=home))
    t0 = time.perf_counter()
    summary = idx.update(rebuild=True)
    return {"seconds": time.perf_counter() - t0, "index_bytes": _du(idx.root), **summary}


KIND_FUZZY = {"exact": 0, "wildcard": 0, "fuzzy": 1}


def run_queries(home: str, strategy: str, per_kind: int) -> dict[str, Any]:
    from lakehouse import Lakehouse
    from pipelines.search import plate_match as pm
    from pipelines.search.filters import RowFilter
    from pipelines.search.plates import find_plates

    lh = Lakehouse(home=home)
    queries = json.loads(Path(home, "queries.json").read_text())
    out: dict[str, Any] = {"loadavg": os.getloadavg()[0]}
    find_plates(
        lh, pm.parse_pattern(queries["exact"][-1]), RowFilter(), limit=100, strategy=strategy
    )  # warm-up
    for kind, pats in queries.items():
        lat, hits, totals = [], [], []
        again = []
        for pat in pats[:per_kind]:
            p = pm.parse_pattern(pat, KIND_FUZZY[kind])
            t0 = time.perf_counter()
            h, total, _ = find_plates(lh, p, RowFilter(), limit=100, strategy=strategy)
            lat.append(time.perf_counter() - t0)
            hits.append(len(h))
            totals.append(total)
            if strategy == "index":  # the same query again: its pages are now cached
                t0 = time.perf_counter()
                find_plates(lh, p, RowFilter(), limit=100, strategy=strategy)
                again.append(time.perf_counter() - t0)
        out[kind] = {
            "latencies": lat,
            "repeat": again,
            "hits": hits,
            "totals": totals,
            "patterns": pats[:per_kind],
        }
    # a time-windowed query: one day, exact
    p = pm.parse_pattern(queries["exact"][0])
    day = START + dt.timedelta(days=DAYS // 2)
    flt = RowFilter(
        start=dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC),
        end=dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) + dt.timedelta(days=1),
    )
    lat = []
    for pat in queries["exact"][:per_kind]:
        t0 = time.perf_counter()
        find_plates(lh, pm.parse_pattern(pat), flt, limit=100, strategy=strategy)
        lat.append(time.perf_counter() - t0)
    out["exact, 1-day window"] = {"latencies": lat, "hits": [], "totals": [], "patterns": [p.text]}
    return out


def pandas_scan(home: str, per_kind: int, days: int | None) -> dict[str, Any]:
    """The naive baseline: read each day's Parquet with pandas, match best read and candidates."""
    import pyarrow.parquet as pq

    from lakehouse import Lakehouse
    from pipelines.search.plate_match import distance, parse_pattern

    lh = Lakehouse(home=home)
    files = sorted(lh.table("plate_reads").file_uris())
    queries = json.loads(Path(home, "queries.json").read_text())
    total_rows = lh.count("plate_reads")
    out: dict[str, Any] = {}
    for kind, pats in queries.items():
        # Python edit distance over every text is ~100x slower than equality: sample 3 days for fuzzy
        used = files if days is None and kind != "fuzzy" else files[: (days or 3)]
        lat, rows_seen = [], 0
        for pat in pats[:per_kind]:
            p = parse_pattern(pat, KIND_FUZZY[kind])
            rx = re.compile(p.regex())
            if kind == "exact":

                def hit(t, p=p):
                    return t == p.text
            elif kind == "wildcard":

                def hit(t, rx=rx):
                    return rx.fullmatch(t) is not None
            else:

                def hit(t, p=p):
                    return abs(len(t) - len(p.text)) <= 1 and distance(p, t) <= p.fuzzy + 1e-6

            t0 = time.perf_counter()
            found = []
            rows_seen = 0
            for f in used:
                df = pq.read_table(
                    f, columns=["read_id", "plate", "ts", "camera_id", "candidates"]
                ).to_pandas()
                rows_seen += len(df)
                m = df["plate"].map(hit) | df["candidates"].map(
                    lambda cs, hit=hit: any(hit(c["text"]) for c in cs)
                )
                found.append(df[m])
            import pandas as pd

            res = pd.concat(found).sort_values("ts", ascending=False).head(100)
            lat.append((time.perf_counter() - t0) * total_rows / rows_seen)
            del res
        out[kind] = {"latencies": lat, "rows_measured": rows_seen, "extrapolated": rows_seen < total_rows}
    return out


# ====================================================================== driver
def _phase(fn, *args) -> tuple[Any, float]:
    """Run ``fn(*args)`` in a fresh spawned process; return (result, peak RSS GiB of that process)."""
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as ex:
        return ex.submit(_with_rss, fn, *args).result()


def _with_rss(fn, *args):
    res = fn(*args)
    return res, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q)) if xs else float("nan")


def _fmt_s(x: float) -> str:
    if x != x:
        return "–"
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one small size (1M reads)")
    ap.add_argument("--sizes", help="comma-separated read counts (default 10M,100M)")
    ap.add_argument("--queries", type=int, default=30, help="index queries per kind")
    ap.add_argument("--scan-queries", type=int, default=3, help="DuckDB scan queries per kind (2 above 10M)")
    ap.add_argument("--pandas-queries", type=int, default=2, help="pandas queries per kind")
    ap.add_argument(
        "--pandas-days",
        type=int,
        default=None,
        help="days the pandas baseline reads (default: all up to 10M reads, else 3)",
    )
    ap.add_argument("--out", default=str(OUT_DIR / "search_plates"), help="where the Delta tables go")
    ap.add_argument("--keep", action="store_true", help="keep (and reuse) generated data")
    ap.add_argument("--results", default=str(RESULTS))
    ap.add_argument("--assemble", action="store_true", help="only rewrite the markdown from saved reports")
    ap.add_argument(
        "--index-only",
        action="store_true",
        help="rebuild the index and rerun its queries on kept data; reuse the saved scan/pandas numbers",
    )
    ap.add_argument("--smoke", action="store_true", help=smoke.HELP)
    args = ap.parse_args(argv)
    if args.smoke:
        tmp = smoke.smoke_dir("search_plates")
        args.out, args.results, args.sizes = str(tmp), str(tmp / "search_plates.md"), "4000"
        args.queries, args.scan_queries, args.pandas_queries = 2, 1, 1
    if args.assemble:
        write_markdown(_all_reports(Path(args.out), []), args, Path(args.results))
        return 0
    sizes = (
        [int(float(s)) for s in args.sizes.split(",")]
        if args.sizes
        else ([1_000_000] if args.quick else [10_000_000, 100_000_000])
    )
    if args.quick:
        args.queries, args.scan_queries, args.pandas_queries = (
            min(args.queries, 10),
            min(args.scan_queries, 3),
            1,
        )
    report: list[dict[str, Any]] = []
    for n in sizes:
        home = Path(args.out) / f"reads_{n}"
        need = n * 220  # bytes: table + index, measured ~200 B/read
        free = shutil.disk_usage(Path(args.out).parent if Path(args.out).parent.exists() else HERE).free
        if not (home / "queries.json").exists():
            if free < need:
                print(f"skip {n:,}: {free / 1e9:.0f} GB free, need ~{need / 1e9:.0f} GB", flush=True)
                report.append(
                    {"rows": n, "skipped": f"only {free / 1e9:.0f} GB free of ~{need / 1e9:.0f} GB needed"}
                )
                continue
            shutil.rmtree(home, ignore_errors=True)
            print(f"[{n:,}] generating", flush=True)
            gen, gen_rss = _phase(generate, n, str(home))
        else:
            gen, gen_rss = (
                {"rows": n, "seconds": float("nan"), "table_bytes": _du(home / "tables")},
                float("nan"),
            )
        print(f"[{n:,}] generated {gen}", flush=True)
        idx, idx_rss = _phase(build_index, str(home))
        print(f"[{n:,}] index {idx}", flush=True)
        q_idx, q_idx_rss = _phase(run_queries, str(home), "index", args.queries)
        print(f"[{n:,}] index queries done", flush=True)
        saved = Path(args.out, f"report_{n}.json")
        if args.index_only and saved.exists():  # keep the earlier run's generation, scan and pandas numbers
            old = json.loads(saved.read_text())
            old.update(
                {
                    "index": idx,
                    "index_rss": idx_rss,
                    "q_index": q_idx,
                    "q_index_rss": q_idx_rss,
                    "index_cmd": _cmd(),
                }
            )
            report.append(old)
            saved.write_text(json.dumps(old, default=str))
            write_markdown(_all_reports(Path(args.out), report), args, Path(args.results))
            continue
        q_scan, q_scan_rss = _phase(
            run_queries, str(home), "scan", args.scan_queries if n <= 10_000_000 else 2
        )
        print(f"[{n:,}] scan queries done", flush=True)
        days = args.pandas_days if args.pandas_days is not None else (None if n <= 10_000_000 else 3)
        pd_res, pd_rss = _phase(pandas_scan, str(home), args.pandas_queries, days)
        print(f"[{n:,}] pandas done", flush=True)
        report.append(
            {
                "rows": n,
                "cmd": _cmd(),
                "gen": gen,
                "gen_rss": gen_rss,
                "index": idx,
                "index_rss": idx_rss,
                "q_index": q_idx,
                "q_index_rss": q_idx_rss,
                "q_scan": q_scan,
                "q_scan_rss": q_scan_rss,
                "pandas": pd_res,
                "pandas_rss": pd_rss,
            }
        )
        Path(args.out, f"report_{n}.json").write_text(json.dumps(report[-1], default=str))
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
        write_markdown(_all_reports(Path(args.out), report), args, Path(args.results))
    write_markdown(_all_reports(Path(args.out), report), args, Path(args.results))
    return 0


def _cmd() -> str:
    return ("python -m benchmarks.search_plates " + " ".join(sys.argv[1:])).strip()


def _all_reports(out: Path, current: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """This run's reports plus earlier ones of other sizes kept in ``out`` (sizes run separately)."""
    by_size = {}
    for f in out.glob("report_*.json"):
        r = json.loads(f.read_text())
        by_size[int(r["rows"])] = r
    for r in current:
        by_size[int(r["rows"])] = r
    return [by_size[k] for k in sorted(by_size)]


def write_markdown(report: list[dict[str, Any]], args: argparse.Namespace, path: Path) -> None:
    lines = [
        "## Plate search (search_plates)\n",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM, shared with other jobs; "
        f"Python {platform.python_version()}. Written {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; the commands are "
        "given per size. `--quick` runs 1M reads.\n",
        "Synthetic `plate_reads` written directly as Delta (90 daily partitions, each sorted by plate, 128k-row "
        "row groups), 2-3 OCR candidates per read. Queries run over the whole history with `limit=100`: "
        "**index** = the plate index (`pesquisa plates search`, strategy auto above 1M reads); "
        "**scan** = DuckDB over the Delta dataset with the SQL prefilter + numpy scoring; "
        "**pandas** = read every day with pandas and match best read + candidates in Python. "
        "One query at a time after one warm-up query; each index query is a new pattern, so its pages may "
        "still come from disk (at 100M the table and index together exceed the RAM left for the page cache); "
        "'repeated' runs the same pattern again at once. Speed-up = pandas time / index p95 (first runs).\n",
    ]
    for r in report:
        n = r["rows"]
        if "skipped" in r:
            lines.append(f"### {n:,} reads\n\nNot run: {r['skipped']}.\n")
            continue
        idx = r["index"]
        lines.append(f"### {n:,} reads\n")
        cmds = [c for c in (r.get("cmd"), r.get("index_cmd")) if c]
        if cmds:
            lines.append("Commands: " + "; then ".join(f"`{c}`" for c in cmds) + ".\n")
        lines.append(
            f"Table {r['gen']['table_bytes'] / 2**30:.2f} GiB; index {idx['index_bytes'] / 2**30:.2f} GiB "
            f"({idx['texts']:,} distinct texts), built in {idx['seconds']:.0f} s "
            f"(peak RSS {r['index_rss']:.2f} GiB). Generation {r['gen']['seconds']:.0f} s (peak {r['gen_rss']:.2f} GiB).\n"
        )
        lines.append(
            "| query | index p50 | index p95 | index p95, repeated | scan p50 | scan p95 | pandas (per query) | "
            "speed-up vs pandas | median hits (total) |"
        )
        lines.append("|---|---|---|---|---|---|---|---|---|")
        for kind in ("exact", "wildcard", "fuzzy", "exact, 1-day window"):
            qi = r["q_index"].get(kind, {})
            if not isinstance(qi, dict):
                continue
            qs = r["q_scan"].get(kind, {})
            pdk = r["pandas"].get(kind)
            li, ls = qi.get("latencies", []), qs.get("latencies", [])
            pd_t = float(np.mean(pdk["latencies"])) if pdk else float("nan")
            note = ""
            if pdk and pdk.get("extrapolated"):
                note = f" (sampled {pdk['rows_measured']:,} rows)"
            speed = pd_t / _pct(li, 95) if pdk else float("nan")
            hits = f"{int(np.median(qi['hits']))} ({int(np.median(qi['totals']))})" if qi.get("hits") else "–"
            lines.append(
                f"| {kind} (n={len(li)}/{len(ls)}) | {_fmt_s(_pct(li, 50))} | {_fmt_s(_pct(li, 95))} | "
                f"{_fmt_s(_pct(qi.get('repeat', []), 95))} | {_fmt_s(_pct(ls, 50))} | "
                f"{_fmt_s(_pct(ls, 95))} | {_fmt_s(pd_t)}{note} | {'–' if speed != speed else f'{speed:,.0f}x'} | {hits} |"
            )
        lines.append(
            f"\nPeak RSS: index queries {r['q_index_rss']:.2f} GiB, scan queries {r['q_scan_rss']:.2f} GiB, "
            f"pandas {r['pandas_rss']:.2f} GiB. 1-min load average when the index queries started: "
            f"{r['q_index'].get('loadavg', float('nan')):.1f} (2 cores).\n"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    sys.exit(main())
