"""Scale-out by configuration, what each path costs, side by side in one run:

1. **Backfill on a two-raylet Ray cluster vs one node**: the same synthetic city ingested with two
   model actors by ``tests/scaleout/ray_driver.py`` (the project's own ``ingest_paths``), once on a
   local one-node Ray (2 CPUs) and once joined by ``RAY_ADDRESS`` to a head + a second raylet on
   loopback (1 CPU each). The first clip warms the actor pool (models load); the backfill time is
   the remaining clips. Results (rows per table) must be equal.
2. **S3 (moto) vs local tables**: rows appended in N commits through ``Lakehouse``, read back, one
   DuckDB query, on the local filesystem and on a moto S3 server on loopback.
3. **Beam on the Dask runner vs the local runner**: measured by ``benchmarks.movement`` (its
   numbers are reused from ``benchmarks/results/movement.md``, not re-run).

On one 2-core machine every ratio measures the overhead of the scale-out path (processes, RPC, the
HTTP object-store protocol, conditional PUT commits), not scale: the second raylet, moto and the
Dask workers share the same two cores.

    python -m benchmarks.scaleout            # 200k rows in 4 commits; a 3-camera city
    python -m benchmarks.scaleout --quick    # the same (what make bench runs)
    python -m benchmarks.scaleout --smoke    # seconds: tables only, report to a temp dir

Writes benchmarks/results/scaleout.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


# ------------------------------------------------------------------------------- S3 vs local
def reads(n: int, offset: int, rng: np.random.Generator) -> pa.Table:
    letters = np.array(list("ABCDEFGHJKLMNPRSTUVWXYZ"))
    plates = [
        "".join(rng.choice(letters, 2)) + f"{rng.integers(0, 1000):03d}" + "".join(rng.choice(letters, 2))
        for _ in range(min(n, 5000))
    ]
    idx = rng.integers(0, len(plates), n)
    ts = [T0 + dt.timedelta(seconds=int(s)) for s in rng.integers(0, 7 * 86400, n)]
    return pa.table(
        {
            "read_id": [f"r{offset + i}" for i in range(n)],
            "camera_id": [f"CAM-{i % 50:03d}" for i in range(n)],
            "video_id": [f"v{(offset + i) // 1000}" for i in range(n)],
            "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "plate": [plates[i] for i in idx],
            "confidence": rng.uniform(0.5, 1.0, n).astype(np.float32),
            "model_version": ["v1"] * n,
            "agency": ["municipal"] * n,
        }
    )


def measure_tables(lh: Any, total: int, commits: int) -> dict[str, float]:
    rng = np.random.default_rng(7)
    per = total // commits
    batches = [reads(per, k * per, rng) for k in range(commits)]
    lh.ensure("plate_reads")
    t0 = time.perf_counter()
    for b in batches:
        lh.append("plate_reads", b)
    write_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    n = lh.read("plate_reads", columns=["read_id", "plate", "ts"]).num_rows
    read_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    con = lh.duckdb(["plate_reads"])
    hits = con.execute("select count(*) from plate_reads where plate like 'AB%'").fetchall()[0][0]
    query_s = time.perf_counter() - t0
    # the plate index: built once (shared on S3: upload + conditional PUT), then searched by a
    # second machine with an empty cache (fetch) and again (warm)
    from lakehouse import Lakehouse
    from pipelines.search import PlateIndex
    from pipelines.search import plate_match as pm
    from pipelines.search.filters import RowFilter

    t0 = time.perf_counter()
    PlateIndex(lh).update()
    index_s = time.perf_counter() - t0
    target = batches[0]["plate"][0].as_py()
    other = Lakehouse(lh.storage, home=Path(lh.home).parent / f"{Path(lh.home).name}-2")
    t0 = time.perf_counter()
    found = PlateIndex(other).search(pm.parse_pattern(target, 0), RowFilter(), 50)[1]
    cold_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    PlateIndex(other).search(pm.parse_pattern(target, 0), RowFilter(), 50)
    warm_s = time.perf_counter() - t0
    return {
        "rows": n,
        "write_s": write_s,
        "read_s": read_s,
        "query_s": query_s,
        "hits": hits,
        "index_s": index_s,
        "search_cold_s": cold_s,
        "search_warm_s": warm_s,
        "found": found,
        "write_rows_s": per * commits / write_s,
        "read_rows_s": n / read_s,
    }


def tables_section(rows: int, commits: int) -> tuple[list[str], dict[str, Any]]:
    from lakehouse import Lakehouse, StorageConfig
    from tests.scaleout.components import s3_server

    with tempfile.TemporaryDirectory() as tmp:
        local = measure_tables(Lakehouse(home=Path(tmp) / "home"), rows, commits)
    with s3_server(bucket="bench") as s3, tempfile.TemporaryDirectory() as tmp:
        remote = measure_tables(
            Lakehouse(
                StorageConfig(root=s3.uri("bench"), storage_options=s3.storage_options), home=Path(tmp) / "h"
            ),
            rows,
            commits,
        )
    assert local["rows"] == remote["rows"] == rows and local["hits"] == remote["hits"]
    assert local["found"] == remote["found"] > 0
    return [
        f"| tables: append {rows:,} plate reads in {commits} commits, rows/s | local {local['write_rows_s']:,.0f} "
        f"| S3 (moto) {remote['write_rows_s']:,.0f} | {local['write_rows_s'] / remote['write_rows_s']:.2f}x |",
        f"| tables: read back 3 columns, rows/s | local {local['read_rows_s']:,.0f} "
        f"| S3 (moto) {remote['read_rows_s']:,.0f} | {local['read_rows_s'] / remote['read_rows_s']:.2f}x |",
        f"| tables: one DuckDB count query, s | local {local['query_s']:.3f} "
        f"| S3 (moto) {remote['query_s']:.3f} | {remote['query_s'] / local['query_s']:.2f}x |",
        f"| plate index: build over the table, s | local {local['index_s']:.2f} "
        f"| shared on S3 (upload + conditional PUT) {remote['index_s']:.2f} | {remote['index_s'] / local['index_s']:.2f}x |",
        f"| plate index: exact search from a second home, empty cache, s | local {local['search_cold_s']:.3f} "
        f"| S3 (fetch into the cache) {remote['search_cold_s']:.3f} | {remote['search_cold_s'] / local['search_cold_s']:.2f}x |",
        f"| plate index: same search again, s | local {local['search_warm_s']:.3f} "
        f"| S3 (manifest GET + cached files) {remote['search_warm_s']:.3f} | {remote['search_warm_s'] / local['search_warm_s']:.2f}x |",
    ], {"local": local, "s3": remote}


# ------------------------------------------------------------------------------- Ray backfill
def _drive(city: Path, home: Path, env: dict[str, str], workers: int) -> dict[str, Any]:
    t0 = time.time()
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests" / "scaleout" / "ray_driver.py"),
            str(city),
            str(home),
            "v1",
            str(workers),
        ],
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=ROOT,
    )
    if r.returncode != 0:
        raise RuntimeError(f"ray driver failed: {r.stderr[-3000:]}")
    events = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    starts = [e for e in events if e["event"] == "start"]
    done = [e for e in events if e["event"] == "done"]
    if not done or not all(d["ok"] for d in done):
        raise RuntimeError(f"a clip failed: {done}")
    warm = done[0]["t"] - starts[0]["t"]
    backfill = sum(d["t"] - s["t"] for s, d in zip(starts[1:], done[1:], strict=True))
    return {
        "wall_s": time.time() - t0,
        "warm_s": warm,
        "backfill_s": backfill,
        "clips": len(done) - 1,
        "plate_reads": sum(d["plate_reads"] for d in done),
        "face_sightings": sum(d["face_sightings"] for d in done),
        "nodes": sorted({n for d in done for n in d["nodes"]}),
    }


def backfill_section(cameras: int, minutes: float) -> tuple[list[str], dict[str, Any]]:
    from pipelines.synth.city import generate_city
    from tests.scaleout.components import ray_cluster, ray_env

    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        generate_city(tmp / "city", cameras=cameras, minutes=minutes, seed=11, incidents=0, progress=False)
        base = {k: v for k, v in ray_env().items() if k != "RAY_ADDRESS"}
        one = _drive(tmp / "city", tmp / "one", {**base, "PESQUISA_RAY_CPUS": "2"}, workers=2)
        with ray_cluster(tmp, head_cpus=1) as cluster:
            cluster.add_node(num_cpus=1)
            two = _drive(
                tmp / "city", tmp / "two", {**cluster.env, "RAY_ADDRESS": cluster.address}, workers=2
            )
    same = (one["plate_reads"], one["face_sightings"]) == (two["plate_reads"], two["face_sightings"])
    if not same:
        raise RuntimeError(f"the cluster backfill wrote other rows than one node: {one} vs {two}")
    return [
        f"| Ray backfill: {two['clips']} clips, 2 model actors, s | one node (2 CPUs) {one['backfill_s']:.1f} "
        f"| two raylets (1+1 CPUs, {len(two['nodes'])} nodes used) {two['backfill_s']:.1f} "
        f"| {two['backfill_s'] / one['backfill_s']:.2f}x |",
        f"| Ray: first clip incl. actor start + model load, s | one node {one['warm_s']:.1f} "
        f"| two raylets {two['warm_s']:.1f} | {two['warm_s'] / one['warm_s']:.2f}x |",
    ], {"one_node": one, "two_raylets": two, "rows_equal": same}


# ------------------------------------------------------------------------------- Dask (reused)
def dask_section() -> tuple[list[str], dict[str, Any]]:
    src = HERE / "results" / "movement.md"
    text = src.read_text() if src.exists() else ""
    m = re.search(
        r"over one day of ([\d,]+) reads: local runner \(FnApiRunner\) ([\d.]+) s.*?Dask runner, (.*?), ([\d.]+) s"
        r".*?results equal: (\w+)",
        text,
        re.S,
    )
    if not m:
        return ["| Beam movement job | not measured (`python -m benchmarks.movement`) | | |"], {}
    n, local, dask, equal = m.group(1), float(m.group(2)), float(m.group(4)), m.group(5)
    how = re.sub(r"\s*\((.*?)\)", r", \1", m.group(3))
    return [
        f"| Beam daily movement job, {n} reads, s (from benchmarks.movement) | local runner {local:.1f} "
        f"| Dask runner ({how}) {dask:.1f} | {dask / local:.2f}x (results equal: {equal}) |"
    ], {"local_s": local, "dask_s": dask, "reads": n}


def main(argv: list[str] | None = None) -> int:
    from benchmarks.smoke import HELP, smoke_dir

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000, help="plate reads written per store")
    ap.add_argument("--commits", type=int, default=4)
    ap.add_argument("--cameras", type=int, default=3, help="cameras (clips) of the backfill city")
    ap.add_argument("--minutes", type=float, default=0.12, help="minutes of video per camera")
    ap.add_argument("--skip-ray", action="store_true", help="leave out the Ray backfill section")
    ap.add_argument("--smoke", action="store_true", help=HELP)
    ap.add_argument("--quick", action="store_true", help="the default sizes (what make bench runs)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    rows, commits = (20_000, 2) if args.smoke else (args.rows, args.commits)
    t_start = time.time()
    lines, raw = [], {}
    if not (args.smoke or args.skip_ray):  # the backfill loads the models: minutes, not seconds
        part, raw["ray"] = backfill_section(args.cameras, args.minutes)
        lines += part
    part, raw["tables"] = tables_section(rows, commits)
    lines += part
    part, raw["dask"] = dask_section()
    lines += part
    load = os.getloadavg()[0]
    cmd = "python -m benchmarks.scaleout" + (" --smoke" if args.smoke else "")
    text = "\n".join(
        [
            "## Scale-out overhead (scaleout)\n",
            f"`{cmd}` — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, one x86_64 machine with 2 cores "
            f"shared with other sessions (load average {load:.1f}), {time.time() - t_start:.0f} s in all.\n",
            "Each row is one run of each path side by side. **Everything runs on the same 2 cores**: the "
            "second raylet, the moto S3 server and the Dask workers add processes, RPC and HTTP, not "
            "hardware, so every ratio is the *overhead* of the scale-out path on one machine, not its "
            "scale (on real nodes and a real object store the second node adds cores).\n",
            "| what | embedded | scale-out | time ratio scale-out / embedded |",
            "|---|---:|---:|---:|",
            *lines,
            "",
            "Backfill: the first clip of each run starts the actor pool (models load in each actor) and is "
            "shown apart; the backfill row is the remaining clips. Rows written on the cluster equal "
            "those of one node. The two runs follow each other on a machine whose load moves with the "
            "other sessions, so a backfill ratio near 1 (either side) means no measurable overhead, not a "
            "speed-up. Tables: moto is a Python server; delta-rs commits with a conditional PUT "
            "on S3. The Dask row is copied from the movement benchmark's own side-by-side run.\n",
        ]
    )
    print(text)
    print(json.dumps(raw, default=str), file=sys.stderr)
    if args.smoke:
        (smoke_dir("scaleout") / "scaleout.md").write_text(text)
    else:
        (HERE / "results").mkdir(exist_ok=True)
        (HERE / "results" / "scaleout.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
