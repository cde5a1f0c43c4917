"""Movement tools at scale: canvass, convoy and stakeout (library calls, audited) vs a plain DuckDB
query written the obvious way, plus the daily Beam movement job on the local runner and on a
2-worker Dask cluster.

    python -m benchmarks.movement --smoke                 # tiny, checks it runs (report to a temp dir)
    python -m benchmarks.movement --quick                 # 1M reads (benchmarks.run_all)
    python -m benchmarks.movement                         # 10M reads (when the machine is quiet)
    python -m benchmarks.movement --reads 100000000       # if memory and time allow

Data (written straight into a Delta ``plate_reads`` table, 14 days, ``date`` partitions): trips of
vehicles with a skewed activity (a few vehicles make many trips) walking a 20 x 10 camera grid,
2-6 min per hop, daytime-heavy; plus one planted convoy (a partner 20-50 s behind a target at 6
cameras) and one planted stakeout vehicle (3 windows), which must rank first at every size.

Queries (``--queries`` each, p50/p95): canvass (2 cameras, 1 hour), convoy (one target, ±60 s,
>= 3 cameras, the whole 14 days), stakeout (3 one-hour windows at 2 cameras). "Tool" is the library
call (scope, version filter, significance ranking, one audit commit); "obvious" is a plain DuckDB
query over the same dataset without partition pruning or ranking (canvass: GROUP BY plate over a
camera/time filter; convoy: a self-join on camera and |Δt| <= 60 s; stakeout: distinct plates per
window, GROUP BY plate HAVING >= 2 windows). Beam: ``run_movement`` over one day (``--beam-reads``)
on FnApiRunner and on DaskRunner with 2 local workers: wall time and the driver's peak RSS.
Results: ``benchmarks/results/movement.md``.
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

import numpy as np

from benchmarks.smoke import HELP as SMOKE_HELP
from benchmarks.smoke import smoke_dir

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "movement"
RESULTS = HERE / "results" / "movement.md"
DAY0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
DAYS = 14
GX, GY = 20, 10
TARGET, PARTNER, STAKE = "TGT0001", "FLW0001", "STK0001"


def _cameras() -> list[dict[str, Any]]:
    return [
        {
            "camera_id": f"K{x:02d}{y:02d}",
            "agency": "municipal" if x < 15 else "police911",
            "name": f"cam {x},{y}",
            "kind": "portico" if x in (0, GX - 1) else "street",
            "lat": -25.40 + y * 0.01,
            "lon": -57.70 + x * 0.01,
            "shared_with": [],
        }
        for x in range(GX)
        for y in range(GY)
    ]


def generate(home: str, n_reads: int, seed: int = 11) -> dict[str, Any]:
    """Write ``n_reads`` reads (+ planted cases) into ``home``; returns the planted truth."""
    import pyarrow as pa

    from lakehouse import Lakehouse

    lh = Lakehouse(home=home)
    lh.upsert("cameras", _cameras())
    rng = np.random.default_rng(seed)
    hops = 5
    n_trips = n_reads // hops
    vehicles = max(1000, n_reads // 40)
    letters = np.array(list("ABCDEFGHJKLMNPRSTUVWXYZ"))
    plates = np.char.add(
        np.char.add(
            letters[rng.integers(0, len(letters), vehicles)], letters[rng.integers(0, len(letters), vehicles)]
        ),
        np.char.zfill(np.arange(vehicles).astype(str), 6),
    )
    weights = 1.0 / np.arange(1, vehicles + 1) ** 0.8
    weights /= weights.sum()
    per_day = n_trips // DAYS
    t0 = time.perf_counter()
    written = 0
    for d in range(DAYS):
        n = per_day if d < DAYS - 1 else n_trips - per_day * (DAYS - 1)
        veh = rng.choice(vehicles, size=n, p=weights)
        hour = np.clip(rng.normal(14, 4, n), 0, 23.99)
        start = (DAY0 + dt.timedelta(days=d)).timestamp() + hour * 3600
        x = rng.integers(0, GX, n)
        y = rng.integers(0, GY, n)
        xs, ys, ts = [x], [y], [start]
        for _ in range(hops - 1):
            step = rng.integers(0, 4, n)
            x = np.clip(x + np.where(step == 0, 1, np.where(step == 1, -1, 0)), 0, GX - 1)
            y = np.clip(y + np.where(step == 2, 1, np.where(step == 3, -1, 0)), 0, GY - 1)
            xs.append(x)
            ys.append(y)
            ts.append(ts[-1] + rng.uniform(120, 360, n))
        X, Y, T = np.concatenate(xs), np.concatenate(ys), np.concatenate(ts)
        P = np.tile(plates[veh], hops)
        keep = T < (DAY0 + dt.timedelta(days=d + 1)).timestamp()
        X, Y, T, P = X[keep], Y[keep], T[keep], P[keep]
        order = np.argsort(T, kind="stable")
        X, Y, T, P = X[order], Y[order], T[order], P[order]
        cams = np.char.add(np.char.add("K", np.char.zfill(X.astype(str), 2)), np.char.zfill(Y.astype(str), 2))
        k = len(T)
        table = pa.table(
            {
                "read_id": pa.array(np.char.add(f"d{d:02d}-", np.arange(k).astype(str))),
                "camera_id": pa.array(cams),
                "ts": pa.array((T * 1e6).astype("int64"), pa.timestamp("us", tz="UTC")),
                "plate": pa.array(P),
                "confidence": pa.array(rng.uniform(0.6, 0.99, k).astype("float32")),
                "model_version": pa.array(np.full(k, "bench-v1")),
                "agency": pa.array(np.where(X < 15, "municipal", "police911")),
            }
        )
        lh.append("plate_reads", table)
        written += k
    truth = _plant(lh, rng)
    write_s = time.perf_counter() - t0
    from pipelines.movement.presence import build_presence

    built = build_presence(lh)  # what the daily movement job does for each day
    return {
        "reads": written + truth.pop("_n"),
        "write_s": write_s,
        "presence_s": built["seconds"],
        "presence_rows": sum(built["days"].values()),
        **truth,
    }


def _plant(lh, rng) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    t = DAY0 + dt.timedelta(days=5, hours=13)
    path = [(3 + i, 4) for i in range(6)]
    for i, (x, y) in enumerate(path):
        ts = t + dt.timedelta(minutes=4 * i)
        rows.append({"plate": TARGET, "camera_id": f"K{x:02d}{y:02d}", "ts": ts})
        rows.append(
            {"plate": PARTNER, "camera_id": f"K{x:02d}{y:02d}", "ts": ts + dt.timedelta(seconds=20 + 5 * i)}
        )
    windows = []
    for d, (x, y) in ((2, (5, 5)), (6, (8, 2)), (10, (12, 7))):
        w0 = DAY0 + dt.timedelta(days=d, hours=15)
        cams = (f"K{x:02d}{y:02d}", f"K{x + 1:02d}{y:02d}")
        windows.append((cams, w0, w0 + dt.timedelta(hours=1)))
        rows.append({"plate": STAKE, "camera_id": cams[0], "ts": w0 + dt.timedelta(minutes=25)})
    for i, r in enumerate(rows):
        r.update(
            read_id=f"plant-{i}",
            confidence=0.95,
            model_version="bench-v1",
            agency="municipal" if int(r["camera_id"][1:3]) < 15 else "police911",
        )
    lh.append("plate_reads", rows)
    return {"_n": len(rows), "windows": [(list(c), a.isoformat(), b.isoformat()) for c, a, b in windows]}


def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q)) if xs else float("nan")


def _run_capped(con: Any, sql: str, cap_s: float | None) -> tuple[float, bool]:
    """Run ``sql``; interrupt it after ``cap_s`` seconds (then the time counted is ``cap_s``:
    the obvious query's figure is a lower bound). Returns (seconds, stopped)."""
    import threading

    import duckdb

    timer = threading.Timer(cap_s, con.interrupt) if cap_s else None
    t = time.perf_counter()
    if timer is not None:
        timer.start()
    try:
        con.execute(sql).fetchall()
    except duckdb.InterruptException:
        return float(cap_s or 0.0), True
    finally:
        if timer is not None:
            timer.cancel()
    return time.perf_counter() - t, False


def run_queries(
    home: str, n_queries: int, windows: list, obvious_cap_s: float | None = None
) -> dict[str, Any]:
    from lakehouse import Lakehouse
    from pipelines.governance.context import SearchContext
    from pipelines.governance.scope import ReadScope
    from pipelines.movement.canvass import canvass
    from pipelines.movement.convoy import MAX_TARGET_READS, convoy
    from pipelines.movement.stakeout import PlaceWindow, stakeout

    lh = Lakehouse(home=home)
    ctx = SearchContext(user="bench", role="admin", case_number="BENCH", purpose="benchmark")
    rng = np.random.default_rng(3)
    cams = [c["camera_id"] for c in _cameras()]
    span = (DAY0, DAY0 + dt.timedelta(days=DAYS))
    con = lh.duckdb(["plate_reads"])
    con.execute("SET TimeZone = 'UTC'")
    some = [r[0] for r in con.execute("SELECT plate FROM plate_reads USING SAMPLE 200 ROWS").fetchall()]
    out: dict[str, dict[str, list[float]]] = {
        k: {"tool": [], "obvious": []} for k in ("canvass", "convoy", "stakeout")
    }
    checks: dict[str, Any] = {}
    obvious_stopped = 0
    target_reads: list[int] = []
    narrowed = 0
    for q in range(n_queries):
        c2 = list(rng.choice(cams, 2, replace=False))
        w0 = DAY0 + dt.timedelta(days=int(rng.integers(0, DAYS)), hours=int(rng.integers(7, 20)))
        w1 = w0 + dt.timedelta(hours=1)
        t = time.perf_counter()
        canvass(lh, ReadScope.of(ctx, start=w0, end=w1), cameras=c2)
        out["canvass"]["tool"].append(time.perf_counter() - t)
        t = time.perf_counter()
        con.execute(
            f"SELECT plate, min(ts), max(ts), count(*) FROM plate_reads WHERE camera_id IN ('{c2[0]}', "
            f"'{c2[1]}') AND ts >= TIMESTAMPTZ '{w0.isoformat()}' AND ts < TIMESTAMPTZ '{w1.isoformat()}' "
            "GROUP BY plate"
        ).fetchall()
        out["canvass"]["obvious"].append(time.perf_counter() - t)

        target = TARGET if q == 0 else some[q % len(some)]
        t = time.perf_counter()
        res = convoy(lh, ReadScope.of(ctx, start=span[0], end=span[1]), target, window_s=60, min_cameras=3)
        out["convoy"]["tool"].append(time.perf_counter() - t)
        target_reads.append(res.target_reads_in_window)
        narrowed += res.narrowed_from is not None
        if q == 0:
            checks["convoy_planted_first"] = bool(res.rows) and res.rows[0]["plate"] == PARTNER
        seconds, stopped = _run_capped(
            con,
            f"""SELECT b.plate, count(DISTINCT b.camera_id) AS n FROM plate_reads a JOIN plate_reads b
            ON a.camera_id = b.camera_id AND abs(epoch(a.ts) - epoch(b.ts)) <= 60
            WHERE a.plate = '{target}' AND b.plate <> '{target}' GROUP BY b.plate HAVING n >= 3
            ORDER BY n DESC""",
            obvious_cap_s,
        )
        out["convoy"]["obvious"].append(seconds)
        obvious_stopped += stopped

        if q == 0:
            wins = [
                (tuple(c), dt.datetime.fromisoformat(a), dt.datetime.fromisoformat(b)) for c, a, b in windows
            ]
        else:
            wins = []
            for _ in range(3):
                c = tuple(rng.choice(cams, 2, replace=False))
                a = DAY0 + dt.timedelta(days=int(rng.integers(0, DAYS)), hours=int(rng.integers(7, 20)))
                wins.append((c, a, a + dt.timedelta(hours=1)))
        t = time.perf_counter()
        found = stakeout(
            lh, ReadScope.of(ctx), [PlaceWindow(a, b, cameras=c) for c, a, b in wins], min_windows=2
        )
        out["stakeout"]["tool"].append(time.perf_counter() - t)
        if q == 0:
            checks["stakeout_planted_first"] = bool(found.rows) and found.rows[0]["plate"] == STAKE
        parts = " UNION ALL ".join(
            f"SELECT DISTINCT plate, {i} AS w FROM plate_reads WHERE camera_id IN ('{c[0]}', '{c[1]}') "
            f"AND ts >= TIMESTAMPTZ '{a.isoformat()}' AND ts < TIMESTAMPTZ '{b.isoformat()}'"
            for i, (c, a, b) in enumerate(wins)
        )
        t = time.perf_counter()
        con.execute(f"SELECT plate, count(*) AS n FROM ({parts}) GROUP BY plate HAVING n >= 2").fetchall()
        out["stakeout"]["obvious"].append(time.perf_counter() - t)
    con.close()
    summary = {}
    for k, v in out.items():
        summary[k] = {f"{side}_{q}": round(_pct(xs, q), 4) for side, xs in v.items() for q in (50, 95)}
        summary[k]["ratio_p95"] = round(summary[k]["tool_95"] / summary[k]["obvious_95"], 2)
    checks["convoy_narrowed"] = narrowed
    checks["obvious_convoy_stopped"] = obvious_stopped
    checks["obvious_cap_s"] = obvious_cap_s
    checks["max_target_reads"] = MAX_TARGET_READS
    checks["convoy_target_reads_max"] = max(target_reads, default=0)
    return {"queries": n_queries, "latency_s": summary, **checks}


#: simulated reads per street camera and day in the Beam benchmark (a city with 1M reads a day has
#: ~200 cameras, not 12: the co-occurrence pairs grow with reads per camera squared); porticos are
#: scaled too (one per 10 street cameras, at least 4)
READS_PER_CAMERA_DAY = 5000


def run_beam(
    n_reads: int, out_dir: Path = OUT, seed: int = 5, runners: tuple[str, ...] = ("local", "dask")
) -> dict[str, Any]:
    """The daily job over one day of ``n_reads`` simulated reads: local runner vs 2 Dask workers,
    each in its own process (its own peak RSS), then the DuckDB/Polars reference
    (:mod:`pipelines.movement.reference`) that both are compared with."""
    import pickle

    from lakehouse import Lakehouse
    from pipelines.movement.reference import differences, reference_normalized
    from pipelines.movement.runner import portico_ids, read_plate_reads
    from pipelines.movement.simulate import simulate_traffic

    home = out_dir / f"beam-{n_reads}"
    shutil.rmtree(home, ignore_errors=True)
    lh = Lakehouse(home=home)
    day = DAY0.date()
    streets = max(8, n_reads // READS_PER_CAMERA_DAY)
    porticos = max(4, streets // 10)  # every trip starts at a portico: keep them as busy as streets
    t = time.perf_counter()
    sim = simulate_traffic(day, vehicles=max(10, n_reads // 8), streets=streets, porticos=porticos, seed=seed)
    lh.upsert("cameras", sim.cameras)
    lh.append("plate_reads", sim.rows)
    out: dict[str, Any] = {
        "reads": len(sim.rows),
        "cameras": len(sim.cameras),
        "simulate_s": round(time.perf_counter() - t, 1),
    }
    convoy = sorted(sim.convoy)
    del sim
    results = {}
    for runner in runners:
        res = _child(["--phase", "beam-run", "--beam-runner", runner, "--home", str(home)])
        print(json.dumps({runner: res}), file=sys.stderr, flush=True)  # kept if a later runner fails
        out[f"{runner}_s"] = res["seconds"]
        out[f"{runner}_driver_peak_rss_mb" if runner == "dask" else f"{runner}_peak_rss_mb"] = res[
            "peak_rss_mb"
        ]
        if runner == "dask":
            out["dask_worker_peak_rss_mb"] = res.get("worker_peak_rss_mb")
        out[f"{runner}_slices"] = res["slices"]
        out["convoy_planted_first"] = res["convoy_top"] == convoy
        results[runner] = pickle.loads((home / f"{runner}.pickle").read_bytes())
    end = DAY0 + dt.timedelta(days=1)
    t = time.perf_counter()
    reads = read_plate_reads(lh, DAY0, end)
    ref = reference_normalized(reads, portico_ids(lh), _beam_params(), (end - DAY0).total_seconds())
    out["reference_s"] = round(time.perf_counter() - t, 2)
    out["reference_peak_rss_mb"] = _peak_rss_mb()
    del reads
    for runner, got in results.items():
        out[f"{runner}_differences"] = _diff_counts(differences(got, ref))
        out[f"{runner}_equals_reference"] = not out[f"{runner}_differences"]
    out["equal"] = all(out.get(f"{r}_equals_reference") for r in results)
    out["convoys"] = len(ref["convoys"])
    shutil.rmtree(home, ignore_errors=True)
    return out


def run_beam_once(home: str, runner: str) -> dict[str, Any]:
    """One runner over the day in ``home`` (a child process): its time, peak RSS, slices, the top
    convoy pair; the normalized tables go to ``home/<runner>.pickle``."""
    import pickle

    from lakehouse import Lakehouse
    from pipelines.movement import run_movement
    from pipelines.movement.dask_cluster import dask_options, local_dask_cluster
    from pipelines.movement.reference import normalize
    from pipelines.movement.source import ROWS_PER_SLICE

    lh = Lakehouse(home=home)
    end = DAY0 + dt.timedelta(days=1)
    out: dict[str, Any] = {}
    t = time.perf_counter()
    if runner == "dask":
        # a Dask worker pauses at 80 % of its memory limit, and Beam's bundles are memory Dask cannot
        # spill: give each worker what one machine can (the default 2 GiB stalls at 1M reads)
        with local_dask_cluster(n_workers=2, memory_limit=DASK_WORKER_MEMORY) as address:
            res = run_movement(
                lh, DAY0, end, runner="DaskRunner", options=dask_options(address), params=_beam_params()
            )
            out["seconds"] = round(time.perf_counter() - t, 2)
            out["worker_peak_rss_mb"] = _worker_peak_rss_mb(address)
    else:
        res = run_movement(lh, DAY0, end, params=_beam_params())
        out["seconds"] = round(time.perf_counter() - t, 2)
    out["peak_rss_mb"] = _peak_rss_mb()
    out["slices"] = -(-res.reads // ROWS_PER_SLICE)
    out["convoy_top"] = (
        sorted([res.convoys["plate_a"][0].as_py(), res.convoys["plate_b"][0].as_py()])
        if res.convoys.num_rows
        else []
    )
    (Path(home) / f"{runner}.pickle").write_bytes(pickle.dumps(normalize(res.tables)))
    return out


#: memory limit of each of the 2 loopback Dask workers in the Beam benchmark
DASK_WORKER_MEMORY = "8GiB"


def _beam_params() -> Any:
    from pipelines.movement import MovementParams

    return MovementParams(flow_bucket_s=3600, convoy_min_cameras=4)


def _diff_counts(diff: dict[str, tuple[list, list]]) -> dict[str, list[int]]:
    """Per table that differs: [rows only in the run, rows only in the reference]."""
    return {name: [len(a), len(b)] for name, (a, b) in diff.items()}


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _worker_peak_rss_mb(address: str) -> float | None:
    """The largest peak RSS among the Dask workers (each asked in its own process)."""
    try:
        from distributed import Client

        with Client(address, timeout=30) as client:
            return max(client.run(_peak_rss_mb).values())
    except Exception:  # noqa: BLE001 - a measurement, not the result
        return None


def _child(args: list[str]) -> dict[str, Any]:
    """Run one phase in a fresh process (its own peak RSS); the last stdout line is JSON."""
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    res = subprocess.run(
        [sys.executable, "-m", "benchmarks.movement", *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--smoke", action="store_true", help=SMOKE_HELP + " (20k reads, 2 queries, Beam ~1k reads)"
    )
    ap.add_argument("--quick", action="store_true", help="1M reads, 10 queries (what run_all uses)")
    ap.add_argument("--reads", type=int, default=10_000_000)
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--beam-reads", type=int, default=20_000)
    ap.add_argument("--keep", action="store_true", help="keep the generated table under benchmarks/out/")
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="reuse the table a --keep run generated for the same --reads (skips generation; implies --keep)",
    )
    ap.add_argument("--skip-beam", action="store_true", help="queries only (no Beam job)")
    ap.add_argument(
        "--obvious-cap",
        type=float,
        default=None,
        metavar="S",
        help="stop an obvious convoy self-join after S seconds and count S (a lower bound; default: no cap)",
    )
    ap.add_argument(
        "--beam-runners", default="local,dask", help="comma-separated: local, dask (default both)"
    )
    ap.add_argument(
        "--beam-only",
        action="store_true",
        help="only the daily Beam job (local runner vs 2 Dask workers) over --beam-reads reads; "
        "prints its line for RESULTS.md",
    )
    ap.add_argument("--results", type=Path, help=f"report file (default {RESULTS.relative_to(HERE.parent)})")
    ap.add_argument("--phase", choices=["generate", "queries", "beam", "beam-run"], help=argparse.SUPPRESS)
    ap.add_argument("--beam-runner", help=argparse.SUPPRESS)
    ap.add_argument("--home", help=argparse.SUPPRESS)
    ap.add_argument("--windows", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    out_dir, results = (Path(args.out) if args.out else OUT), (args.results or RESULTS)
    if args.smoke:
        args.reads, args.queries, args.beam_reads = 20_000, 2, 1_000
        if not args.out:  # smoke: data and report in a temp dir, never benchmarks/out or results
            out_dir = smoke_dir("movement")
        results = out_dir / "movement.md"
    elif args.quick:
        args.reads, args.queries, args.beam_reads = 1_000_000, 10, 5_000
    if args.phase == "generate":
        res = generate(args.home, args.reads)
        res["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        print(json.dumps(res))
        return 0
    if args.phase == "queries":
        load0 = os.getloadavg()[0]
        res = run_queries(args.home, args.queries, json.loads(args.windows), args.obvious_cap)
        res["load_avg"] = [round(load0, 1), round(os.getloadavg()[0], 1)]
        res["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        print(json.dumps(res))
        return 0
    runners = tuple(r.strip() for r in args.beam_runners.split(",") if r.strip())
    if args.phase == "beam":
        print(json.dumps(run_beam(args.beam_reads, out_dir, runners=runners)))
        return 0
    if args.phase == "beam-run":
        print(json.dumps(run_beam_once(args.home, args.beam_runner)))
        return 0
    beam_args = ["--phase", "beam", "--beam-reads", str(args.beam_reads), "--out", str(out_dir)]
    beam_args += ["--beam-runners", ",".join(runners)]
    if args.beam_only:
        load0 = os.getloadavg()[0]
        only = _child(beam_args)
        only["load_avg"] = [round(load0, 1), round(os.getloadavg()[0], 1)]
        print(json.dumps(only), file=sys.stderr)
        print(beam_line(only))
        return 0
    home = out_dir / f"reads-{args.reads}"
    saved = home / "generated.json"
    if args.reuse and saved.is_file():
        gen = json.loads(saved.read_text())
        print(f"reusing {gen['reads']:,} reads under {home}", file=sys.stderr)
    else:
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        gen = _child(["--phase", "generate", "--home", str(home), "--reads", str(args.reads)])
        saved.write_text(json.dumps(gen))
        print(
            f"generated {gen['reads']:,} reads in {gen['write_s']:.0f}s, presence index in "
            f"{gen.get('presence_s', 0):.0f}s",
            file=sys.stderr,
        )
    q = _child(
        [
            "--phase",
            "queries",
            "--home",
            str(home),
            "--queries",
            str(args.queries),
            "--windows",
            json.dumps(gen["windows"]),
            *(["--obvious-cap", str(args.obvious_cap)] if args.obvious_cap else []),
        ]
    )
    print(json.dumps(q), file=sys.stderr)
    beam: dict[str, Any] | None = None if args.skip_beam else _child(beam_args)
    print(json.dumps(beam), file=sys.stderr)
    if not (args.keep or args.reuse):
        shutil.rmtree(home, ignore_errors=True)
    write_markdown(gen, q, beam, args, results)
    return 0


def beam_line(beam: dict | None) -> str:
    if beam is None:
        return "Daily Beam movement job: not run (--skip-beam)."
    load = f" Load average {beam['load_avg']}." if beam.get("load_avg") else ""
    parts = []
    if "local_s" in beam:
        parts.append(
            f"local runner (FnApiRunner) {beam['local_s']} s (peak RSS {beam['local_peak_rss_mb']:.0f} MB), "
            f"equals the reference: {beam.get('local_equals_reference')}"
        )
    if "dask_s" in beam:
        parts.append(
            f"Dask runner, 2 worker processes on 127.0.0.1, {beam['dask_s']} s (driver peak RSS "
            f"{beam['dask_driver_peak_rss_mb']:.0f} MB, largest worker peak RSS "
            f"{beam.get('dask_worker_peak_rss_mb') or 'n/a'} MB), equals the reference: "
            f"{beam.get('dask_equals_reference')}"
        )
    return (
        f"Daily Beam movement job (trips, counts, OD flows, convoys) over one day of {beam['reads']:,} reads "
        f"on {beam.get('cameras', '?')} cameras, read by the workers in "
        f"{beam.get('local_slices', beam.get('dask_slices', '?'))} time slices (DuckDB/Polars reference "
        f"{beam.get('reference_s')} s, peak RSS {beam.get('reference_peak_rss_mb', 0):.0f} MB, "
        f"{beam.get('convoys')} convoy pairs); each runner in its own process: {'; '.join(parts)}; "
        "planted convoy first: "
        f"{beam.get('convoy_planted_first')}.{load}"
    )


def write_markdown(
    gen: dict, q: dict, beam: dict | None, args: argparse.Namespace, path: Path = RESULTS
) -> None:
    lines = [
        "## Movement tools (movement)",
        "",
        f"`python -m benchmarks.movement{' --smoke' if args.smoke else ''} --reads {args.reads}` — "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores (shared).",
        "",
        f"{gen['reads']:,} reads over {DAYS} days on {GX * GY} cameras (written in {gen['write_s']:.0f} s; "
        f"plate presence index, {gen.get('presence_rows', 0):,} rows, built in {gen.get('presence_s', 0):.0f} s). "
        f"{q['queries']} queries of each kind; latency in seconds. *Tool* = the library call (scope, version "
        "filter, ranking against background, one audit commit); *obvious* = a plain DuckDB query over the same "
        "dataset (no partition pruning, no ranking).",
        "",
        "| query | tool p50 | tool p95 | obvious p50 | obvious p95 | p95 ratio tool/obvious |",
        "|---|---|---|---|---|---|",
    ]
    for k, v in q["latency_s"].items():
        lines.append(
            f"| {k} | {v['tool_50']:.3f} | {v['tool_95']:.3f} | {v['obvious_50']:.3f} | "
            f"{v['obvious_95']:.3f} | {v['ratio_p95']} |"
        )
    lines += [
        "",
        f"Planted convoy partner ranked first: {q.get('convoy_planted_first')}; planted stakeout vehicle "
        f"ranked first: {q.get('stakeout_planted_first')}. Convoy targets above the {q.get('max_target_reads', 0):,}-read cap "
        f"(searched over their most recent reads): {q.get('convoy_narrowed')} of {q['queries']} (largest: "
        f"{q.get('convoy_target_reads_max', 0):,} reads). Obvious convoy self-joins stopped at the "
        f"{q.get('obvious_cap_s')} s cap (counted as the cap: a lower bound): {q.get('obvious_convoy_stopped', 0)}. "
        f"Query process peak RSS {q['peak_rss_mb']:.0f} MB. "
        f"1-minute load average at the start / end of the queries: {q.get('load_avg')}.",
        "",
        beam_line(beam),
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    print(path.read_text())


if __name__ == "__main__":
    sys.exit(main())
