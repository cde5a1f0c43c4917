"""Object storage vs local disk: the same table writes and reads through :class:`Lakehouse`, on the
local filesystem and on a real S3 server (moto) on loopback, side by side in one run.

    python -m benchmarks.scaleout            # 1M plate reads in 10 commits
    python -m benchmarks.scaleout --smoke    # seconds

On one machine moto is an in-process Python server: the ratio measures the overhead of the object
store protocol (HTTP, conditional PUT commits), not the scale of a real object store.
Writes benchmarks/results/scaleout.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

HERE = Path(__file__).resolve().parent
T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


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


def measure(lh, total: int, commits: int) -> dict:
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
    return {
        "rows": n,
        "write_s": write_s,
        "read_s": read_s,
        "query_s": query_s,
        "hits": hits,
        "write_rows_s": total / write_s,
        "read_rows_s": n / read_s,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--commits", type=int, default=10)
    ap.add_argument("--smoke", action="store_true", help="seconds-long sizes")
    ap.add_argument("--quick", action="store_true", help="the default sizes (what make bench runs)")
    args = ap.parse_args(argv)
    rows, commits = (20_000, 4) if args.smoke else (args.rows, args.commits)
    sys.path.insert(0, str(HERE.parent))
    from lakehouse import Lakehouse, StorageConfig
    from tests.scaleout.components import s3_server

    with tempfile.TemporaryDirectory() as tmp:
        local = measure(Lakehouse(home=Path(tmp) / "home"), rows, commits)
    with s3_server(bucket="bench") as s3:
        remote = measure(
            Lakehouse(StorageConfig(root=s3.uri("bench"), storage_options=s3.storage_options)), rows, commits
        )
    assert local["rows"] == remote["rows"] == rows and local["hits"] == remote["hits"]
    load = os.getloadavg()[0]
    lines = [
        "## Object storage vs local disk (scaleout)\n",
        f"{rows:,} plate reads appended in {commits} commits, then read back (3 columns) and one DuckDB "
        f"query, through `Lakehouse` on the local filesystem and on moto S3 on loopback. "
        f"Load average (1 min) {load:.1f}. moto is a Python server on the same 2 cores: the ratio is the "
        "protocol overhead, not object-store scale.\n",
        "| | local | S3 (moto) | local / S3 |",
        "|---|---:|---:|---:|",
        f"| append, rows/s | {local['write_rows_s']:,.0f} | {remote['write_rows_s']:,.0f} | {local['write_rows_s'] / remote['write_rows_s']:.1f}x |",
        f"| read back, rows/s | {local['read_rows_s']:,.0f} | {remote['read_rows_s']:,.0f} | {local['read_rows_s'] / remote['read_rows_s']:.1f}x |",
        f"| DuckDB count query, s | {local['query_s']:.3f} | {remote['query_s']:.3f} | {remote['query_s'] / local['query_s']:.1f}x |",
        "",
        f"Command: `python -m benchmarks.scaleout{' --smoke' if args.smoke else ''}`.\n",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.smoke:
        (HERE / "results").mkdir(exist_ok=True)
        (HERE / "results" / "scaleout.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
