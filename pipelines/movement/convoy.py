"""Convoy / associates of one plate: vehicles read at the same cameras as the target within ±Δt at
``min_cameras`` or more distinct cameras, ranked by significance against background traffic.

The investigator's query (one target, interactive): DuckDB joins the target's reads with every read
at the same camera within ±Δt over the scope's whole time range — a convoy that crosses midnight is
one convoy. Significance is the model of the Beam transform (:mod:`pipelines.movement.convoys`):
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
from dataclasses import dataclass, field
from typing import Any

from lakehouse import Lakehouse
from lakehouse.store import sql_literal
from pipelines.governance.audit import audit, require_case, table_versions
from pipelines.governance.replay import READ_TABLES
from pipelines.governance.scope import ReadScope
from pipelines.movement.reads import TABLE, arrow, connect, scoped_reads
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
    days around its reads (``date`` partitions pruned), and the background counts only its cameras."""
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
        cams = ", ".join(sql_literal(c) for c in sorted({c for c, _ in target_reads}))
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
        at_cams = f"camera_id IN ({cams})"
        day_list = ", ".join(f"DATE '{d.isoformat()}'" for d in days)
        near = f"{at_cams} AND date IN ({day_list})"
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
) -> ConvoyResult:
    """Vehicles travelling with ``plate`` during ``scope.time`` (both ends required), ranked by
    p-value against background traffic. Needs a case; audited."""
    require_case(scope.ctx, lh, ACTION)
    target = normalize_plate(plate)
    if not target:
        raise ValueError(f"not a plate: {plate!r}")
    if window_s <= 0 or min_cameras < 1:
        raise ValueError("need --window > 0 and --min-cameras >= 1")
    if scope.time.start is None or scope.time.end is None:
        raise ValueError("a convoy search needs a time window: --from and --to")
    t0 = time.perf_counter()
    versions = table_versions(lh, READ_TABLES["movement"])  # for `pesquisa audit replay`
    sr = scoped_reads(lh, scope)
    rows: list[dict[str, Any]] = []
    n_target = 0
    if not sr.nothing:
        span_s = (scope.time.end - scope.time.start).total_seconds()
        with connect(lh) as con:
            treads = arrow(
                con, f"SELECT camera_id, ts FROM {TABLE} WHERE {sr.where()} AND plate = {sql_literal(target)}"
            ).to_pylist()
            n_target = len(treads)
            if n_target:
                sql = convoy_sql(
                    sr.where(), target, window_s, min_cameras, [(r["camera_id"], r["ts"]) for r in treads]
                )
                counts: dict[str, int] = {}
                for r in treads:
                    counts[r["camera_id"]] = counts.get(r["camera_id"], 0) + 1
                rows = score_candidates(arrow(con, sql).to_pylist(), window_s, span_s, counts)
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
    }
    audit(lh, scope.ctx, ACTION, params, len(rows), result_ids=[r["plate"] for r in rows], versions=versions)
    return ConvoyResult(target, rows, n_target, time.perf_counter() - t0, params)


__all__ = ["ACTION", "COLUMNS", "ConvoyResult", "convoy", "convoy_sql", "score_candidates"]
