"""Convoy / associates of one plate: vehicles read at the same cameras as the target within ±Δt at
``min_cameras`` or more distinct cameras, ranked by significance against background traffic.

The investigator's query (one target, interactive): DuckDB joins the target's reads with every read
at the same camera within ±Δt over the scope's whole time range — a convoy that crosses midnight is
one convoy. The target's reads and the candidates' background counts come from the plate presence
index (:mod:`pipelines.movement.presence`, plate-clustered), the ±Δt pairs from ``plate_reads``
narrowed to the target's cameras, days and times; a target with more than ``max_target_reads``
reads in the window is searched over its most recent ones (the window's start moves; the result
says so), which bounds the cost for a bus or a taxi. Significance is the model of the Beam transform (:mod:`pipelines.movement.convoys`):
under independence, camera ``c`` shows a co-occurrence with probability
``1 - exp(-n_T,c · n_B,c · 2Δt / T)``, the number of such cameras is Poisson-binomial and a
candidate's ``p_value`` is the chance of seeing at least its observed count. A bus that passes
every camera all day meets the target often and scores a large p-value; a car that follows it a
tiny one. Names plates: needs a case; audited (``movement.convoy``).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

from lakehouse import Lakehouse
from lakehouse.store import sql_literal
from pipelines.governance.audit import audit, require_case, table_versions
from pipelines.governance.replay import READ_TABLES
from pipelines.governance.scope import ReadScope
from pipelines.movement import presence
from pipelines.movement.reads import TABLE, ScopedReads, arrow, connect, scoped_reads
from pipelines.movement.significance import background, poisson_binomial_sf_many
from pipelines.search.plate_match import normalize_plate

ACTION = "movement.convoy"
COLUMNS = [
    "rank",
    "plate",
    "n_cameras",
    "n_cooccurrences",
    "expected_cameras",
    "lift",
    "p_value",
    "score",
    "first_ts",
    "last_ts",
    "cameras",
]


@dataclass
class ConvoyResult:
    target: str
    rows: list[dict[str, Any]]
    target_reads: int
    seconds: float
    parameters: dict[str, Any] = field(default_factory=dict)
    narrowed_from: dt.datetime | None = None  # the window's start used (a capped heavy target)
    target_reads_in_window: int = 0  # the target's reads in the whole window asked for


#: the co-occurrence scan's ``ts`` filter: at most this many ranges (each row is tested against them)
MAX_TS_RANGES = 32
#: default cap on the target's reads (see :func:`convoy`)
MAX_TARGET_READS = 2000
#: candidates listed inline (DuckDB skips presence row groups by them); more: a semi-join
MAX_LITERAL_PLATES = 5000


def convoy_sql(
    where: str,
    target: str,
    window_s: float,
    min_cameras: int,
    target_reads: list[tuple[str, dt.datetime]] | None = None,
) -> str:
    """Co-occurring plates of ``target`` with their per-camera read counts (one query).

    Pairs are found by an equi-join on camera and ``window_s``-wide time bucket (the target's
    bucket and both neighbours; each pair meets exactly one of them), then the exact ±Δt test.
    With ``target_reads`` (camera, time) known, the ±Δt join only reads the target's cameras on the
    days around its reads (``date`` partitions pruned), and the background counts only its cameras.
    The plain one-query form (:func:`convoy` uses :func:`cooccurrence_sql` and the presence index)."""
    t = sql_literal(target)
    w = f"INTERVAL {float(window_s)} SECOND"
    # an equi-join on (camera, Δt-wide time bucket ± 1) instead of a range join on the camera alone:
    # a target read meets only the reads of its own minute, not every read of that camera
    b = float(window_s)
    # known target reads: their counts per camera come from the caller, not once per candidate
    target_counts = (
        ""
        if target_reads
        else "\n       (SELECT list(struct_pack(c := camera_id, n := n)) FROM tc) AS target_counts,"
    )
    near = at_cams = "TRUE"
    if target_reads:
        at_cams = _in_cams(target_reads)
        near = f"{at_cams} AND {_near_days(target_reads, window_s)}"
    return f"""
WITH r AS (SELECT plate, camera_id, ts FROM {TABLE} WHERE {where} AND {near} AND plate IS NOT NULL AND plate <> ''),
t AS (SELECT camera_id, ts FROM r WHERE plate = {t}),
te AS MATERIALIZED (SELECT t.camera_id, t.ts, CAST(floor(epoch(t.ts) / {b}) AS BIGINT) + o.d AS k
       FROM t CROSS JOIN (VALUES (-1), (0), (1)) o(d)),
rb AS (SELECT plate, camera_id, ts, CAST(floor(epoch(ts) / {b}) AS BIGINT) AS k FROM r WHERE plate <> {t}),
co AS (SELECT rb.plate, rb.camera_id, rb.ts FROM te JOIN rb ON rb.camera_id = te.camera_id AND rb.k = te.k
       WHERE rb.ts BETWEEN te.ts - {w} AND te.ts + {w}),
cand AS (SELECT plate, count(DISTINCT camera_id) AS n_cameras, count(*) AS n_cooccurrences,
         min(ts) AS first_ts, max(ts) AS last_ts, list(DISTINCT camera_id ORDER BY camera_id) AS cameras
         FROM co GROUP BY plate HAVING count(DISTINCT camera_id) >= {int(min_cameras)}),
tc AS (SELECT camera_id, count(*) AS n FROM t GROUP BY camera_id),
bc AS (SELECT a.plate, a.camera_id, count(*) AS n FROM {TABLE} a JOIN tc USING (camera_id)
       WHERE {where} AND {at_cams} AND a.plate IN (SELECT plate FROM cand) GROUP BY a.plate, a.camera_id)
SELECT cand.*,{target_counts}
       (SELECT list(struct_pack(c := bc.camera_id, n := bc.n)) FROM bc WHERE bc.plate = cand.plate) AS counts
FROM cand
"""


def _in_cams(target_reads: list[tuple[str, dt.datetime]]) -> str:
    return "camera_id IN (" + ", ".join(sql_literal(c) for c in sorted({c for c, _ in target_reads})) + ")"


def _near_days(target_reads: list[tuple[str, dt.datetime]], window_s: float) -> str:
    """``date`` partitions within ±Δt of a target read."""
    days = sorted(
        {
            d
            for _, ts in target_reads
            for d in (
                (ts - dt.timedelta(seconds=window_s)).date(),
                (ts + dt.timedelta(seconds=window_s)).date(),
            )
        }
    )
    return "date IN (" + ", ".join(f"DATE '{d.isoformat()}'" for d in days) + ")"


def _near_times(target_reads: list[tuple[str, dt.datetime]], window_s: float) -> str:
    """``ts`` within ±Δt of a target read, as at most ``MAX_TS_RANGES`` ranges (row groups outside
    them are skipped; the join tests ±Δt exactly): overlapping intervals merged, then the smallest
    gaps closed until few enough remain."""
    w = dt.timedelta(seconds=window_s)
    merged: list[list[dt.datetime]] = []
    for ts in sorted(ts for _, ts in target_reads):
        if merged and ts - w <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], ts + w)
        else:
            merged.append([ts - w, ts + w])
    if len(merged) > MAX_TS_RANGES:
        gaps = sorted(range(1, len(merged)), key=lambda i: (merged[i][0] - merged[i - 1][1], i))
        close = set(gaps[: len(merged) - MAX_TS_RANGES])
        joined: list[list[dt.datetime]] = []
        for i, r in enumerate(merged):
            if i in close:
                joined[-1][1] = r[1]
            else:
                joined.append(list(r))
        merged = joined
    return (
        "("
        + " OR ".join(
            f"ts BETWEEN TIMESTAMPTZ '{a.isoformat()}' AND TIMESTAMPTZ '{b.isoformat()}'" for a, b in merged
        )
        + ")"
    )


def cooccurrence_sql(where: str, target: str, window_s: float, min_cameras: int, targets: str) -> str:
    """Candidates of ``target`` (>= ``min_cameras`` distinct cameras within ±Δt), its reads given as
    the relation ``targets`` (camera_id, ts): an equi-join on camera and ``window_s``-wide time
    bucket (the target's bucket and both neighbours; each pair meets exactly one of them), then the
    exact ±Δt test, over ``plate_reads`` narrowed by ``where`` (camera, days and times near the
    target's reads)."""
    t = sql_literal(target)
    w = f"INTERVAL {float(window_s)} SECOND"
    b = float(window_s)
    return f"""
WITH te AS MATERIALIZED (SELECT t.camera_id, t.ts, CAST(floor(epoch(t.ts) / {b}) AS BIGINT) + o.d AS k
       FROM {targets} t CROSS JOIN (VALUES (-1), (0), (1)) o(d)),
rb AS (SELECT plate, camera_id, ts, CAST(floor(epoch(ts) / {b}) AS BIGINT) AS k FROM {TABLE}
       WHERE {where} AND plate IS NOT NULL AND plate <> '' AND plate <> {t}),
co AS (SELECT rb.plate, rb.camera_id, rb.ts FROM te JOIN rb ON rb.camera_id = te.camera_id AND rb.k = te.k
       WHERE rb.ts BETWEEN te.ts - {w} AND te.ts + {w})
SELECT plate, count(DISTINCT camera_id) AS n_cameras, count(*) AS n_cooccurrences,
       min(ts) AS first_ts, max(ts) AS last_ts, list(DISTINCT camera_id ORDER BY camera_id) AS cameras
FROM co GROUP BY plate HAVING count(DISTINCT camera_id) >= {int(min_cameras)}
"""


def score_candidates(
    rows: list[dict[str, Any]],
    window_s: float,
    span_s: float,
    target_counts: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """Add expected cameras, lift, p-value and score; rank (smallest p-value first).
    ``target_counts`` (the target's reads per camera) or each row's ``target_counts`` column."""

    def by_camera(xs: list[dict[str, Any]] | None) -> dict[str, int]:
        # sorted: the sums below do not depend on the order the scan delivered the rows in
        return {x["c"]: int(x["n"]) for x in sorted(xs or [], key=lambda x: x["c"])}

    fixed = dict(sorted(target_counts.items())) if target_counts is not None else None
    out, probs_all = [], []
    for r in rows:
        counts_t = fixed if fixed is not None else by_camera(r.pop("target_counts"))
        counts_b = by_camera(r.pop("counts"))
        events, expected, probs = background(counts_t, counts_b, window_s, span_s)
        probs_all.append(probs)
        out.append(
            dict(
                r,
                reads=sum(counts_b.values()),
                expected_cooccurrences=events,
                expected_cameras=expected,
                lift=r["n_cameras"] / expected if expected > 0 else math.inf,
            )
        )
    p_values = poisson_binomial_sf_many(probs_all, [int(r["n_cameras"]) for r in out])
    for r, p in zip(out, p_values, strict=True):
        r["p_value"] = p
        r["score"] = -math.log10(max(p, 1e-300))
    out.sort(key=lambda r: (r["p_value"], -r["n_cameras"], -r["lift"], r["plate"]))
    for i, r in enumerate(out, 1):
        r["rank"] = i
    return out


def convoy(
    lh: Lakehouse,
    scope: ReadScope,
    plate: str,
    *,
    window_s: float = 60.0,
    min_cameras: int = 3,
    limit: int | None = 50,
    max_target_reads: int | None = MAX_TARGET_READS,
) -> ConvoyResult:
    """Vehicles travelling with ``plate`` during ``scope.time`` (both ends required), ranked by
    p-value against background traffic. Needs a case; audited.

    Bounded cost: a target with more than ``max_target_reads`` reads in the window (a bus, a taxi,
    a plate that is everywhere) is searched over its most recent ``max_target_reads`` reads: the
    window's start moves to the time of the N-th most recent read and the result is exactly the
    convoy search of that narrowed window (``narrowed_from`` says where it starts; ``None`` or 0:
    no cap). Target reads and the candidates' background counts come from the plate presence
    index (:mod:`pipelines.movement.presence`), the ±Δt pairs from the reads near the target's."""
    require_case(scope.ctx, lh, ACTION)
    target = normalize_plate(plate)
    if not target:
        raise ValueError(f"not a plate: {plate!r}")
    if window_s <= 0 or min_cameras < 1:
        raise ValueError("need --window > 0 and --min-cameras >= 1")
    if max_target_reads is not None and max_target_reads < 0:
        raise ValueError("--max-target-reads must be >= 0 (0 = no cap)")
    if scope.time.start is None or scope.time.end is None:
        raise ValueError("a convoy search needs a time window: --from and --to")
    t0 = time.perf_counter()
    versions = table_versions(lh, READ_TABLES["movement"])  # for `pesquisa audit replay`
    sr = scoped_reads(lh, scope)
    rows: list[dict[str, Any]] = []
    n_target = n_total = 0
    narrowed: dt.datetime | None = None
    if not sr.nothing:
        start, end = scope.time.start, scope.time.end
        with connect(lh) as con:
            presence.register(con, lh)
            treads, n_total, narrowed = _target_reads(con, sr, target, start, end, max_target_reads)
            if narrowed is not None:
                start = narrowed
                sr = ScopedReads(replace(sr.flt, start=narrowed), sr.version_sql, sr.cams)
            n_target = len(treads)
            if n_target:
                rows = _candidates(con, sr, target, treads, window_s, min_cameras, start, end)
    total = len(rows)
    rows = rows[:limit] if limit else rows
    params = {
        **scope.time.as_dict(),
        "plate": target,
        "window_s": window_s,
        "min_cameras": min_cameras,
        "model_version": scope.versions.model_version,
        "limit": limit,
        "candidates": total,
        "target_reads": n_target,
        "target_reads_in_window": n_total,
        "max_target_reads": max_target_reads,
        "narrowed_from": narrowed.isoformat() if narrowed else None,
    }
    audit(lh, scope.ctx, ACTION, params, len(rows), result_ids=[r["plate"] for r in rows], versions=versions)
    return ConvoyResult(target, rows, n_target, time.perf_counter() - t0, params, narrowed, n_total)


def _target_reads(
    con: Any,
    sr: ScopedReads,
    target: str,
    start: dt.datetime,
    end: dt.datetime,
    cap: int | None,
) -> tuple[list[dict[str, Any]], int, dt.datetime | None]:
    """The target's reads (camera_id, ts) in the window from the presence index, its read count in
    the whole window, and the narrowed start when more than ``cap`` (the N-th most recent read's
    time; every read from then on is kept). Counted and cut in SQL: a bus's 180,000 reads never
    reach Python."""
    where = f"plate = {sql_literal(target)} AND {presence.rows_where(sr.flt)} AND {sr.version_sql}"
    cut = f"(SELECT ts FROM t ORDER BY ts DESC LIMIT 1 OFFSET {int(cap) - 1})" if cap else "NULL"
    table = arrow(
        con,
        f"""WITH t AS MATERIALIZED (
              SELECT camera_id, unnest({presence.times(start, end)}) AS ts FROM {presence.VIEW} WHERE {where}),
            c AS (SELECT count(*) AS n, CASE WHEN count(*) > {int(cap or 0)} THEN {cut} END AS cut FROM t)
            SELECT t.camera_id, t.ts, c.n, c.cut FROM t, c
            WHERE {"TRUE" if not cap else "c.cut IS NULL OR t.ts >= c.cut"}""",
    )
    if table.num_rows == 0:
        return [], 0, None
    n_total = int(table["n"][0].as_py())
    narrowed = table["cut"][0].as_py() if cap else None
    return table.select(["camera_id", "ts"]).to_pylist(), n_total, narrowed


def _candidates(
    con: Any,
    sr: ScopedReads,
    target: str,
    treads: list[dict[str, Any]],
    window_s: float,
    min_cameras: int,
    start: dt.datetime,
    end: dt.datetime,
) -> list[dict[str, Any]]:
    """Scored candidates of ``target`` given its reads (camera_id, ts) in ``[start, end)``."""
    import pyarrow as pa

    pairs = [(r["camera_id"], r["ts"]) for r in treads]
    con.register("_convoy_targets", pa.Table.from_pylist(treads))
    near = f"{_in_cams(pairs)} AND {_near_days(pairs, window_s)} AND {_near_times(pairs, window_s)}"
    cand = arrow(
        con, cooccurrence_sql(f"{sr.where()} AND {near}", target, window_s, min_cameras, "_convoy_targets")
    ).to_pylist()
    con.unregister("_convoy_targets")
    if not cand:
        return []
    counts_t: dict[str, int] = {}
    for c, _ in pairs:
        counts_t[c] = counts_t.get(c, 0) + 1
    plates = sorted({r["plate"] for r in cand})
    con.register("_convoy_cand", pa.table({"plate": plates}))
    in_cand = (
        "plate IN (" + ", ".join(sql_literal(p) for p in plates) + ")"
        if len(plates) <= MAX_LITERAL_PLATES
        else "plate IN (SELECT plate FROM _convoy_cand)"
    )
    where = f"{in_cand} AND {_in_cams(pairs)} AND {presence.rows_where(sr.flt)} AND {sr.version_sql}"
    bc = arrow(
        con,
        f"""SELECT plate, camera_id, n FROM (
              SELECT plate, camera_id, sum(n)::BIGINT AS n FROM ({presence.counts_sql(where, start, end)})
              GROUP BY plate, camera_id) WHERE n > 0""",
    ).to_pylist()
    con.unregister("_convoy_cand")
    by_plate: dict[str, list[dict[str, Any]]] = {}
    for r in bc:
        by_plate.setdefault(r["plate"], []).append({"c": r["camera_id"], "n": r["n"]})
    for r in cand:
        r["counts"] = by_plate.get(r["plate"], [])
    span_s = (end - start).total_seconds()
    return score_candidates(cand, window_s, span_s, counts_t)


__all__ = [
    "ACTION",
    "COLUMNS",
    "MAX_TARGET_READS",
    "ConvoyResult",
    "convoy",
    "convoy_sql",
    "cooccurrence_sql",
    "score_candidates",
]
