"""The fast query paths of the movement tools give exactly what the plain computation gives.

Stakeout reads the baseline as explicit time-of-day slices in one scan; convoy joins on camera and
time bucket; both read the Delta files with DuckDB's Parquet reader; convoy p-values are computed
in one numpy pass. Each is checked here against a straightforward reference over the scenario's
reads (Python), or the slow form it replaced.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from pipelines.governance.scope import ReadScope
from pipelines.movement.convoy import convoy
from pipelines.movement.reads import connect
from pipelines.movement.significance import poisson_binomial_sf, poisson_binomial_sf_many
from pipelines.movement.stakeout import PlaceWindow, rank_presence

DAY = 86400.0


def _plated(rows):
    return [r for r in rows if r.get("plate")]


def test_stakeout_baseline_equals_reference(city, ctx) -> None:
    lh, scn = city
    plate, wins = scn.truth.stakeouts[0]
    windows = [PlaceWindow(w.start, w.end, cameras=w.cameras) for w in wins]
    slack, days = 3600.0, 14
    rows, _ = rank_presence(lh, ReadScope.of(ctx), windows, min_windows=2, baseline_days=days, slack_s=slack)
    assert rows and rows[0]["plate"] == plate
    lo = min(w.start for w in windows) - dt.timedelta(days=days)
    hi = max(w.end for w in windows) + dt.timedelta(days=days)
    reads = _plated(scn.rows)
    hit: dict[str, set[int]] = defaultdict(set)
    for i, w in enumerate(windows):
        for r in reads:
            if r["camera_id"] in w.cameras and w.start <= r["ts"] < w.end:
                hit[r["plate"]].add(i)
    expect_plates = {p for p, ws in hit.items() if len(ws) >= 2}
    assert {r["plate"] for r in rows} == expect_plates
    for row in rows:
        seen = []
        for w in windows:
            origin = w.start.timestamp() - slack
            span = (w.end - w.start).total_seconds() + 2 * slack
            ks = set()
            for r in reads:
                if r["plate"] == row["plate"] and r["camera_id"] in w.cameras and lo <= r["ts"] < hi:
                    k, x = divmod(r["ts"].timestamp() - origin, DAY)
                    if x < span and k != 0:
                        ks.add(k)
            seen.append(len(ks))
        assert row["baseline_days_seen"] == seen, row["plate"]
        assert row["windows"] == sorted(hit[row["plate"]])


def test_convoy_equals_plain_range_join(city, ctx) -> None:
    lh, scn = city
    target, partner, a, b = scn.truth.convoys[0]
    start, end = a - dt.timedelta(days=2), b + dt.timedelta(days=2)
    res = convoy(lh, ReadScope.of(ctx, start=start, end=end), target, window_s=60, min_cameras=2, limit=None)
    reads = [r for r in _plated(scn.rows) if start <= r["ts"] < end]
    mine = [r for r in reads if r["plate"] == target]
    cams: dict[str, set[str]] = defaultdict(set)
    pairs: dict[str, int] = defaultdict(int)
    for t in mine:
        for r in reads:
            if (
                r["plate"] != target
                and r["camera_id"] == t["camera_id"]
                and abs((r["ts"] - t["ts"]).total_seconds()) <= 60
            ):
                cams[r["plate"]].add(r["camera_id"])
                pairs[r["plate"]] += 1
    expect = {p: (len(c), pairs[p]) for p, c in cams.items() if len(c) >= 2}
    assert {r["plate"]: (r["n_cameras"], r["n_cooccurrences"]) for r in res.rows} == expect
    assert res.rows[0]["plate"] == partner


def test_many_p_values_bit_identical_to_scalar() -> None:
    rng = random.Random(5)
    probs = [[rng.random() ** rng.choice([1, 4, 12]) for _ in range(rng.randint(0, 40))] for _ in range(300)]
    ks = [rng.randint(-1, len(p) + 1) for p in probs]
    assert poisson_binomial_sf_many(probs, ks, chunk=64) == [
        poisson_binomial_sf(p, k) for p, k in zip(probs, ks, strict=True)
    ]
    assert poisson_binomial_sf_many([], []) == []


def test_native_reader_sees_what_the_dataset_sees(city) -> None:
    lh, _ = city
    sql = "SELECT count(*), count(DISTINCT plate), min(ts), max(ts), min(date), max(date) FROM plate_reads"
    with connect(lh) as con:
        native = con.sql(sql).fetchall()
        assert (
            "read_parquet"
            in con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'plate_reads'").fetchone()[0]
        )
    dataset = lh.duckdb(["plate_reads"])
    dataset.execute("SET TimeZone = 'UTC'")
    assert native == dataset.sql(sql).fetchall()
    dataset.close()
