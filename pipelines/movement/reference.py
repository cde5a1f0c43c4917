"""An independent reference for the Beam movement transforms: the same four results computed with
DuckDB and Polars over the same reads (for tests and benchmarks: the Beam results must equal these
on every runner).

Only the significance model (:func:`~pipelines.movement.convoys.background`,
:func:`~pipelines.movement.convoys.poisson_binomial_sf`) is shared; sessions, windows, OD pairs and
co-occurring pairs are computed here without Beam: Polars for sessions (gap >= ``gap_s`` starts a
new trip), DuckDB for counts (window starts), OD per departure bucket and the pair self-join.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from pipelines.movement.runner import MovementParams
from pipelines.movement.schemas import SCHEMAS
from pipelines.movement.significance import background, poisson_binomial_sf


def _sightings(reads: pa.Table, min_confidence: float) -> pl.DataFrame:
    df = pl.from_arrow(reads.select(["plate", "camera_id", "ts", "confidence"]))
    assert isinstance(df, pl.DataFrame)
    df = df.with_columns(
        pl.col("plate").str.strip_chars().str.to_uppercase(), pl.col("confidence").fill_null(1.0)
    )
    return df.filter(
        pl.col("plate").is_not_null()
        & (pl.col("plate") != "")
        & pl.col("camera_id").is_not_null()
        & pl.col("ts").is_not_null()
        & (pl.col("confidence") >= min_confidence)
    )


def reference_trips(s: pl.DataFrame, gap_s: float) -> pl.DataFrame:
    """plate, session start/end, n_sightings, first/last camera, camera sequence (repeats collapsed)."""
    s = s.sort(["plate", "ts", "camera_id"]).with_columns(
        ((pl.col("ts").diff().over("plate").dt.total_microseconds() / 1e6 >= gap_s).fill_null(True))
        .cum_sum()
        .over("plate")
        .alias("session")
    )
    collapsed = s.filter(
        pl.col("camera_id") != pl.col("camera_id").shift(1).over(["plate", "session"]).fill_null("")
    )
    seq = collapsed.group_by(["plate", "session"]).agg(
        pl.col("camera_id").alias("cameras"), pl.col("ts").alias("camera_ts")
    )
    agg = s.group_by(["plate", "session"]).agg(
        pl.col("ts").min().alias("start"),
        pl.col("ts").max().alias("end"),
        pl.len().alias("n_sightings"),
        pl.col("camera_id").n_unique().alias("n_cameras"),
    )
    return agg.join(seq, on=["plate", "session"]).with_columns(
        pl.col("cameras").list.first().alias("first_camera"),
        pl.col("cameras").list.last().alias("last_camera"),
    )


def reference_counts(reads: pa.Table, size_s: float, period_s: float | None) -> pa.Table:
    period = period_s or size_s
    k = round(size_s / period)
    con = duckdb.connect()
    con.register("r", reads)
    try:
        return con.sql(f"""
            WITH w AS (SELECT camera_id, plate, floor(epoch(ts) / {period}) * {period} - i * {period} AS s
                       FROM r, range({k}) t(i))
            SELECT camera_id, s AS window_start, count(*) AS reads, count(DISTINCT plate) AS plates
            FROM w GROUP BY ALL ORDER BY ALL""").to_arrow_table()
    finally:
        con.close()


def reference_flows(trips: pl.DataFrame, porticos: Iterable[str], bucket_s: float | None) -> list[tuple]:
    ports = set(porticos)
    out: dict[tuple, list] = {}
    for t in trips.iter_rows(named=True):
        steps = [(c, ts) for c, ts in zip(t["cameras"], t["camera_ts"], strict=True) if c in ports]
        if not steps:
            continue
        travel = (steps[-1][1] - steps[0][1]).total_seconds() if len(steps) > 1 else None
        b = math.floor(t["start"].timestamp() / bucket_s) * bucket_s if bucket_s else None
        out.setdefault((steps[0][0], steps[-1][0], b), []).append(travel)
    rows = []
    for (o, d, b), travels in out.items():
        known = [x for x in travels if x is not None]
        rows.append((o, d, b, len(travels), sum(known) / len(known) if known else None))
    return sorted(rows, key=lambda r: (r[0], r[1], r[2] or 0))


def reference_convoys(
    s: pl.DataFrame, delta_s: float, min_cameras: int, span_s: float, target: str | None = None
) -> list[dict[str, Any]]:
    con = duckdb.connect()
    con.register("s", s.to_arrow())
    cond = "a.plate < b.plate" if target is None else f"a.plate = '{target}' AND b.plate <> a.plate"
    try:
        pairs = (
            con.sql(f"""
            SELECT a.plate AS plate_a, b.plate AS plate_b, count(DISTINCT a.camera_id) AS n_cameras,
                   count(*) AS n_cooccurrences, list(DISTINCT a.camera_id ORDER BY a.camera_id) AS cameras
            FROM s a JOIN s b ON a.camera_id = b.camera_id AND {cond}
                 AND abs(epoch(a.ts) - epoch(b.ts)) <= {delta_s}
            GROUP BY ALL HAVING count(DISTINCT a.camera_id) >= {min_cameras}""")
            .to_arrow_table()
            .to_pylist()
        )
        counts: dict[str, dict[str, int]] = {}
        for r in (
            con.sql("SELECT plate, camera_id, count(*) AS n FROM s GROUP BY ALL").to_arrow_table().to_pylist()
        ):
            counts.setdefault(r["plate"], {})[r["camera_id"]] = r["n"]
    finally:
        con.close()
    for r in pairs:
        _, expected, probs = background(counts[r["plate_a"]], counts[r["plate_b"]], delta_s, span_s)
        r["p_value"] = poisson_binomial_sf(probs, r["n_cameras"])
        r["expected_cameras"] = expected
    return sorted(pairs, key=lambda r: (r["p_value"], r["plate_a"], r["plate_b"]))


def reference_movement(
    reads: pa.Table, porticos: Iterable[str], params: MovementParams, span_s: float
) -> dict[str, Any]:
    """{trips: DataFrame, counts: Table, flows: [(o, d, bucket, trips, mean)], convoys: [dict]}."""
    s = _sightings(reads, params.min_confidence)
    trips = reference_trips(s, params.gap_s)
    return {
        "trips": trips,
        "counts": reference_counts(s.to_arrow(), params.count_window_s, params.count_period_s),
        "flows": reference_flows(trips, porticos, params.flow_bucket_s),
        "convoys": reference_convoys(
            s, params.convoy_delta_s, params.convoy_min_cameras, span_s, params.convoy_target
        ),
    }


def _epoch(t: Any) -> float | None:
    return None if t is None else round(t.timestamp(), 6)


def normalize(tables: dict[str, pa.Table]) -> dict[str, set[tuple[Any, ...]]]:
    """A Beam run's tables as comparable sets (times as epoch seconds to the microsecond, p-values
    to 6 significant digits; flows keep their mean travel time as is: compare with
    :func:`differences`)."""
    return {
        "trips": {
            (
                r["plate"],
                _epoch(r["start"]),
                _epoch(r["end"]),
                r["n_sightings"],
                r["n_cameras"],
                r["first_camera"],
                r["last_camera"],
                tuple(r["cameras"]),
            )
            for r in tables["trips"].to_pylist()
        },
        "counts": {
            (r["camera_id"], _epoch(r["window_start"]), r["reads"], r["plates"])
            for r in tables["counts"].to_pylist()
        },
        "flows": {
            (
                r["origin"],
                r["destination"],
                _epoch(r["window_start"]),
                r["trips"],
                r["mean_travel_s"],
            )
            for r in tables["flows"].to_pylist()
        },
        "convoys": {
            (r["plate_a"], r["plate_b"], r["n_cameras"], r["n_cooccurrences"], f"{r['p_value']:.6g}")
            for r in tables["convoys"].to_pylist()
        },
    }


def reference_normalized(
    reads: pa.Table, porticos: Iterable[str], params: MovementParams, span_s: float
) -> dict[str, set[tuple[Any, ...]]]:
    """:func:`reference_movement` as :func:`normalize` shapes a Beam run's tables."""
    ref = reference_movement(reads, porticos, params, span_s)
    return {
        "trips": {
            (
                r["plate"],
                _epoch(r["start"]),
                _epoch(r["end"]),
                r["n_sightings"],
                r["n_cameras"],
                r["first_camera"],
                r["last_camera"],
                tuple(r["cameras"]),
            )
            for r in ref["trips"].iter_rows(named=True)
        },
        "counts": {
            (r["camera_id"], round(float(r["window_start"]), 6), r["reads"], r["plates"])
            for r in ref["counts"].to_pylist()
        },
        "flows": {(o, d, b, n, m) for o, d, b, n, m in ref["flows"]},
        "convoys": {
            (r["plate_a"], r["plate_b"], r["n_cameras"], r["n_cooccurrences"], f"{r['p_value']:.6g}")
            for r in ref["convoys"]
        },
    }


#: mean travel times of two runs agree within this (seconds): the same trips summed in another
#: order differ in the last bits, and a fixed rounding still splits values on either side of a step
MEAN_TRAVEL_TOLERANCE_S = 1e-3


def differences(
    got: dict[str, set[tuple[Any, ...]]], want: dict[str, set[tuple[Any, ...]]]
) -> dict[str, tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Per table of two normalized runs (:func:`normalize`, :func:`reference_normalized`): the rows
    only in ``got`` and only in ``want``; empty when they are equal. Every field must match exactly,
    except a flow's mean travel time (its last field), within :data:`MEAN_TRAVEL_TOLERANCE_S`."""
    out: dict[str, tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]] = {}
    for name in sorted(set(got) | set(want)):
        a, b = got.get(name, set()), want.get(name, set())
        only_a, only_b = a - b, b - a
        if name == "flows" and only_a and only_b:
            means = {r[:-1]: r[-1] for r in only_b}
            close = {
                r
                for r in only_a
                if r[:-1] in means
                and (r[-1] is None) == (means[r[:-1]] is None)
                and (r[-1] is None or abs(r[-1] - means[r[:-1]]) <= MEAN_TRAVEL_TOLERANCE_S)
            }
            matched = {r[:-1] for r in close}
            only_a -= close
            only_b = {r for r in only_b if r[:-1] not in matched}
        if only_a or only_b:
            out[name] = (sorted(only_a, key=repr), sorted(only_b, key=repr))
    return out


__all__ = [
    "MEAN_TRAVEL_TOLERANCE_S",
    "SCHEMAS",
    "differences",
    "normalize",
    "reference_normalized",
    "reference_convoys",
    "reference_counts",
    "reference_flows",
    "reference_movement",
    "reference_trips",
]
