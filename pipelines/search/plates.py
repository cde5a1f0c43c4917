"""Plate search: exact, wildcard and OCR-confusion fuzzy, over every read's top-N candidates,
filtered by time, cameras, area and agency scope, ranked by match quality then time (newest first),
and audited.

Two strategies return the same hits:

- ``index`` — the plate index (:mod:`pipelines.search.plate_index`): the pattern is matched against
  the distinct texts once, postings are looked up by binary search; sub-second on 100M reads.
  Brought up to date with the table before each search (cheap when nothing changed).
- ``scan`` — DuckDB over the Delta dataset: ``date`` partition pruning for the time range, camera
  filters pushed down, a cheap SQL prefilter (equality / ``LIKE`` / length window + confusion-class
  pieces) on the best read and every candidate, exact scoring in numpy on the survivors.

``auto`` (default) uses the index when it exists or the table holds at least
``search.plate_index_min_rows`` reads (setting; 1,000,000), the scan otherwise.

One public call: :func:`search_plates` (a :class:`PlateQuery` plus the reader's
:class:`~pipelines.governance.scope.ReadScope`).

Every hit: ``read_id, plate, ts, camera_id, agency, source_uri, offset_s, confidence, candidates
[{text, score}], video_id, model_version, date, match_score (0..1), distance, matched_text``.
``match_score`` = (1 - distance / (fuzzy + 1)) x (1 for the best read, else 0.5 + 0.4 x the
candidate's OCR score).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from lakehouse import Lakehouse
from pipelines.governance.audit import audit, require_case
from pipelines.governance.scope import ReadScope
from pipelines.search import plate_match as pm
from pipelines.search.area import Area
from pipelines.search.delta_files import snapshot
from pipelines.search.filters import RowFilter, resolve_filter
from pipelines.search.plate_index import PAYLOAD_COLUMNS, TABLE, PlateIndex
from pipelines.search.plate_postings import best_per_read, explode_reads

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 100
STRATEGIES = ("auto", "index", "scan")


def index_min_rows(lh: Lakehouse) -> int:
    """Reads below which ``auto`` scans (setting ``search.plate_index_min_rows``)."""
    return int(lh.settings.search.plate_index_min_rows)


@dataclass(frozen=True)
class PlateQuery:
    """What a plate search looks for; the reader's :class:`ReadScope` says who reads and when.

    ``pattern`` a plate or a pattern (``?`` one character, ``*`` any run); ``fuzzy`` weighted edits
    allowed (OCR confusions cost less); ``cameras`` / ``area`` narrow to those cameras (None: any
    the reader may see); ``limit`` at most that many hits (None or 0: all); ``strategy`` one of
    :data:`STRATEGIES`."""

    pattern: str
    fuzzy: float = 0
    cameras: tuple[str, ...] | None = None
    area: Area | None = None
    limit: int | None = DEFAULT_LIMIT
    strategy: str = "auto"

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if self.cameras is not None:
            object.__setattr__(self, "cameras", tuple(str(c) for c in self.cameras))
        limit = None if self.limit is None or int(self.limit) <= 0 else int(self.limit)
        object.__setattr__(self, "limit", limit)


@dataclass
class PlateSearchResult:
    hits: list[dict[str, Any]]
    total: int  # matching reads before the limit
    strategy: str
    seconds: float
    pattern: str
    parameters: dict[str, Any] = field(default_factory=dict)


def search_plates(
    lh: Lakehouse, query: PlateQuery, scope: ReadScope, *, action: str = "plates.search"
) -> PlateSearchResult:
    """Ranked plate hits (see module doc) with the total match count, strategy used and timing.

    Needs a scope whose context has a case number and purpose; audited as ``action``."""
    require_case(scope.ctx, lh, action)
    t0 = time.perf_counter()
    p = pm.parse_pattern(query.pattern, query.fuzzy)
    cameras = None if query.cameras is None else list(query.cameras)
    versions = scope.begin(lh, action, "plates", plate=p.text, cameras=cameras, area=query.area)
    flt = resolve_filter(lh, scope, data_type="plates", cameras=cameras, area=query.area)
    hits, total, used = find_plates(lh, p, flt, limit=query.limit, strategy=query.strategy)
    seconds = time.perf_counter() - t0
    params = {
        "pattern": p.text,
        "fuzzy": p.fuzzy,
        "from": flt.start,
        "to": flt.end,
        "cameras": cameras,
        "area": query.area.as_dict() if query.area is not None else None,
        "limit": query.limit,
        "strategy": used,
        "matched": total,
    }
    audit(lh, scope, action, params, len(hits), result_ids=[h["read_id"] for h in hits], versions=versions)
    return PlateSearchResult(
        hits=hits, total=total, strategy=used, seconds=seconds, pattern=p.text, parameters=params
    )


def find_plates(
    lh: Lakehouse, p: pm.PlatePattern, flt: RowFilter, *, limit: int | None, strategy: str = "auto"
) -> tuple[list[dict[str, Any]], int, str]:
    """Unaudited core (callers audit): (hits, total matches, strategy used)."""
    if flt.nothing:
        return [], 0, "none"
    snap = snapshot(lh, TABLE)
    index = PlateIndex(lh)
    if strategy == "auto":
        strategy = "index" if (snap.total_rows >= index_min_rows(lh) or index.exists()) else "scan"
    if strategy == "index":
        try:
            index.update(snap=snap)
        except OSError as exc:  # read-only home: fall back to the scan
            log.warning("plate index unavailable (%s); scanning the table", exc)
            strategy = "scan"
        else:
            hits, total = index.search(p, flt, limit)
            return hits, total, "index"
    hits, total = scan_plates(lh, p, flt, limit)
    return hits, total, "scan"


def scan_plates(
    lh: Lakehouse, p: pm.PlatePattern, flt: RowFilter, limit: int | None
) -> tuple[list[dict[str, Any]], int]:
    """The DuckDB scan strategy (no index)."""
    con = lh.duckdb([TABLE])
    try:
        cand = pm.sql_prefilter(p, "c.text")
        best = pm.sql_prefilter(p, "plate")
        sql = (
            f"SELECT {', '.join(PAYLOAD_COLUMNS)} FROM {TABLE} WHERE {flt.sql(con)} "
            f"AND (coalesce({best}, FALSE) OR len(list_filter(candidates, lambda c: coalesce({cand}, FALSE))) > 0)"
        )
        res = con.sql(sql).arrow()
        table = res.read_all() if hasattr(res, "read_all") else res
    finally:
        con.close()
    table = _conform_ts(table)
    return rank_reads(table, p, limit)


def rank_reads(table: pa.Table, p: pm.PlatePattern, limit: int | None) -> tuple[list[dict[str, Any]], int]:
    """Score reads (rows with plate + candidates + ts), keep matches, rank, cut to ``limit``."""
    if table.num_rows == 0:
        return [], 0
    post = explode_reads(table["plate"], table["candidates"])
    if not len(post):
        return [], 0
    uniq, inv = np.unique(post.key, return_inverse=True)
    d_uniq = pm.match_texts(p, uniq)
    d = d_uniq[inv]
    ok = np.isfinite(d)
    rid, d, best, kscore, key = post.rid[ok], d[ok], post.best[ok], post.score[ok], post.key[ok]
    if not len(rid):
        return [], 0
    score = pm.match_score(d, p.fuzzy, best, kscore)
    rid, score, d, key = best_per_read(rid, score, d, key)
    ts = table["ts"].cast(pa.int64()).to_numpy(zero_copy_only=False)[rid]
    read_ids = np.asarray(table["read_id"].to_pylist(), dtype=object)[rid]
    order = np.lexsort((read_ids, -ts, -np.round(score, 6)))
    total = len(order)
    if limit:
        order = order[:limit]
    rows = table.take(pa.array(rid[order])).to_pylist()
    for row, o in zip(rows, order, strict=True):
        row["match_score"] = round(float(score[o]), 4)
        row["distance"] = round(float(d[o]), 3)
        row["matched_text"] = key[o].decode()
    return rows, total


def _conform_ts(table: pa.Table) -> pa.Table:
    i = table.schema.get_field_index("ts")
    if i >= 0 and table.schema.field(i).type != pa.timestamp("us", tz="UTC"):
        table = table.set_column(i, "ts", table["ts"].cast(pa.timestamp("us", tz="UTC")))
    return table
