"""Canvass ("who passed here"): every vehicle read at some cameras or in an area during a time
window, with no plate pattern — distinct plates with first / last time, reads and cameras.

DuckDB over the ``plate_reads`` Delta dataset; the scope's time range prunes ``date`` partitions,
cameras / area / agency scope are pushed down. A canvass names plates, so it needs a case and is
audited (``plates.canvass``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lakehouse import Lakehouse
from pipelines.governance.audit import audit, require_case, table_versions
from pipelines.governance.replay import READ_TABLES
from pipelines.governance.scope import ReadScope
from pipelines.movement.reads import TABLE, arrow, connect, scoped_reads
from pipelines.search.area import Area

ACTION = "plates.canvass"
COLUMNS = ["plate", "first_ts", "last_ts", "reads", "n_cameras", "cameras", "max_confidence"]


@dataclass
class CanvassResult:
    rows: list[dict[str, Any]]  # one per distinct plate, most reads first
    total: int  # distinct plates before the limit
    reads: int  # reads in the window
    seconds: float
    parameters: dict[str, Any] = field(default_factory=dict)


def canvass_sql(where: str, limit: int | None) -> str:
    """The canvass query (also used by the benchmark)."""
    lim = f" LIMIT {int(limit)}" if limit else ""
    return (
        f"SELECT plate, min(ts) AS first_ts, max(ts) AS last_ts, count(*) AS reads, "
        f"count(DISTINCT camera_id) AS n_cameras, list(DISTINCT camera_id ORDER BY camera_id) AS cameras, "
        f"max(confidence) AS max_confidence, count(*) OVER () AS _total, sum(count(*)) OVER () AS _reads "
        f"FROM {TABLE} WHERE {where} AND plate IS NOT NULL AND plate <> '' "
        f"GROUP BY plate ORDER BY reads DESC, first_ts, plate{lim}"
    )


def canvass(
    lh: Lakehouse,
    scope: ReadScope,
    *,
    cameras: Iterable[str] | None = None,
    area: Area | None = None,
    limit: int | None = None,
) -> CanvassResult:
    """Distinct plates read at ``cameras`` / in ``area`` during ``scope.time`` (both ends required),
    within the reader's agency scope and version policy. Needs a case; audited."""
    require_case(scope.ctx, lh, ACTION)
    if cameras is None and area is None:
        raise ValueError("a canvass needs cameras or an area")
    if scope.time.start is None or scope.time.end is None:
        raise ValueError("a canvass needs a time window: --from and --to")
    t0 = time.perf_counter()
    versions = table_versions(lh, READ_TABLES["movement"])  # for `pesquisa audit replay`
    sr = scoped_reads(lh, scope, cameras=cameras, area=area)
    rows: list[dict[str, Any]] = []
    total = reads = 0
    if not sr.nothing:
        with connect(lh) as con:
            rows = arrow(con, canvass_sql(sr.where(), limit)).to_pylist()
        if rows:
            total, reads = int(rows[0]["_total"]), int(rows[0]["_reads"])
        for r in rows:
            r.pop("_total")
            r.pop("_reads")
    params = {
        **scope.time.as_dict(),
        "cameras": sorted(str(c) for c in cameras) if cameras is not None else None,
        "area": area.as_dict() if area is not None else None,
        "model_version": scope.versions.model_version,
        "limit": limit,
        "plates": total,
        "reads": reads,
    }
    audit(lh, scope.ctx, ACTION, params, len(rows), result_ids=[r["plate"] for r in rows], versions=versions)
    return CanvassResult(rows, total, reads, time.perf_counter() - t0, params)


__all__ = ["ACTION", "COLUMNS", "CanvassResult", "canvass", "canvass_sql"]
