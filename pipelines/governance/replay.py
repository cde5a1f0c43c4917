"""``pesquisa audit replay CASE``: re-run a case's logged searches as they were (issue 12.3).

Each logged search row — plate search, route, face search, and the movement tools (canvass,
convoy, stakeout, crime-series leads) — stores its parameters and the Delta versions of the tables
it read. Replay
opens those versions (Delta time travel, :class:`PinnedLakehouse`), re-runs the search with the same
parameters through the same library call, and reports what was seen: the count, whether the digest
of the returned ids matches the logged one, and how many of those rows have been erased since
(retention) — reported as erased, never shown. Replaying neither checks the case's current status
(a closed case is the usual thing to replay) nor writes search rows: one ``audit.replay`` row is
logged per replay. Plate searches and routes are replayed with the table scan, face searches with an
exact nearest-neighbour search over the pinned table from the probe photo kept with the case (the
indexes follow the current table only; an approximate index may have ranked a few hits differently).
A movement tool returns plates, not rows: its digest is over the plates, and "erased" counts the
plate reads behind them (the result plates' reads inside the tool's windows) gone since.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from lakehouse import Lakehouse
from pipelines.governance.audit import audit_admin, audit_rows, result_digest
from pipelines.governance.context import SearchContext

if TYPE_CHECKING:
    from deltalake import DeltaTable

    from pipelines.governance.scope import ReadScope
    from pipelines.search.area import Area

#: tables whose versions a search records (what it may read: rows, registry, sharing, versions)
READ_TABLES: dict[str, tuple[str, ...]] = {
    "plates": ("plate_reads", "cameras", "sharing_agreements", "source_versions", "processing_runs"),
    "faces": ("face_sightings", "cameras", "sharing_agreements", "source_versions", "processing_runs"),
    "movement": (
        "plate_reads",
        "cameras",
        "sharing_agreements",
        "source_versions",
        "processing_runs",
        "incidents",
    ),
}
MOVEMENT = ("plates.canvass", "movement.convoy", "movement.stakeout", "crime.leads")
REPLAYABLE = ("plates.search", "plates.route", "faces.search", *MOVEMENT)
#: audit-row action prefixes whose rows replay considers (other actions are listed, not re-run)
SEARCH_PREFIXES = ("plates", "faces", "movement", "crime")


class PinnedLakehouse(Lakehouse):
    """A read-only view of ``lh`` with some tables pinned to the versions a search read."""

    replaying = True

    def __init__(self, lh: Lakehouse, versions: dict[str, int]):
        super().__init__(lh.storage)
        if hasattr(lh, "home"):
            self.home = lh.home
        self.versions = dict(versions)

    def table(self, name: str, version: int | None = None) -> DeltaTable:
        return super().table(name, self.versions.get(name) if version is None else version)

    def version(self, name: str) -> int:
        return self.versions.get(name, super().version(name))

    def snapshot(self, name: str) -> DeltaTable:
        """Readers' shared newest-version table, here the pinned version (never the newest)."""
        return self.table(name)

    def _refuse(self, *a: Any, **k: Any) -> Any:
        raise PermissionError("replay is read-only")

    append = replace = upsert = write_stream = _refuse


def _loadable(lh: Lakehouse, name: str, version: int) -> bool:
    from deltalake.exceptions import DeltaError

    try:
        Lakehouse.table(lh, name, version)
    except (DeltaError, OSError):
        return False
    return True


def surviving_versions(
    lh: Lakehouse, versions: dict[str, int]
) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    """The versions to pin: each logged version that a retention purge erased (its commits and
    files are gone, by design) moves to the first version kept after the purge. Returns (versions,
    ``{table: (logged, kept)}`` for the moved ones)."""
    out: dict[str, int] = {}
    moved: dict[str, tuple[int, int]] = {}
    for name, v in versions.items():
        if not lh.exists(name) or _loadable(lh, name, v):
            out[name] = v
            continue
        lo, hi = v + 1, lh.version(name)
        while lo < hi:  # the loadable versions are those from the purge's checkpoint on
            mid = (lo + hi) // 2
            if _loadable(lh, name, mid):
                hi = mid
            else:
                lo = mid + 1
        out[name] = lo
        moved[name] = (v, lo)
    return out, moved


def is_replay(lh: Any) -> bool:
    return bool(getattr(lh, "replaying", False))


def _scope_for(row: dict[str, Any], params: dict[str, Any]) -> ReadScope:
    from pipelines.governance.scope import ReadScope

    ctx = SearchContext(
        user=row["user"],
        role=row["role"] or "investigator",
        agency=row.get("agency"),
        case_number=row["case_number"],
        purpose=row["purpose"] or "replay",
    )
    return ReadScope.of(
        ctx, start=params.get("from"), end=params.get("to"), model_version=params.get("model_version")
    )


def _area(params: dict[str, Any]) -> Area | str | None:  # also a stakeout window's dict
    """The logged area, ``None`` without one, or ``"polygon"`` when only a polygon's summary was logged."""
    a = params.get("area")
    if not a:
        return None
    from pipelines.search.area import Area

    if a.get("polygon") is not None and "polygons" in a["polygon"]:
        return "polygon"  # only its summary was logged
    return Area(
        bbox=tuple(a["bbox"]) if a.get("bbox") else None,
        near=tuple(a["near"]) if a.get("near") else None,
        h3_cells=tuple(a["h3"]) if a.get("h3") else None,
    )


def _rerun(
    pinned: PinnedLakehouse, row: dict[str, Any], params: dict[str, Any]
) -> tuple[list[str], str, list[str]]:
    """Re-run one logged search; returns (ids seen, id column, ids of the rows behind them)."""
    scope = _scope_for(row, params)
    params = {**params, "from": params.get("from"), "to": params.get("to")}
    area = _area(params)
    if isinstance(area, str):  # "polygon"
        raise LookupError("the search used a polygon whose full geometry was not logged")
    cams = tuple(params["cameras"]) if params.get("cameras") else None
    if row["action"] in MOVEMENT:
        plates, reads = _rerun_movement(pinned, row, params, scope, cams, area)
        return plates, "read_id", reads
    if row["action"] == "plates.search":
        from pipelines.search.plates import PlateQuery, search_plates

        q = PlateQuery(
            pattern=params["pattern"],
            fuzzy=params.get("fuzzy") or 0,
            cameras=cams,
            area=area,
            limit=params.get("limit"),
            strategy="scan",
        )
        ids = [h["read_id"] for h in search_plates(pinned, q, scope).hits]
        return ids, "read_id", ids
    if row["action"] == "faces.search":
        ids = _rerun_face(pinned, row, params, scope, cams, area)
        return ids, "sighting_id", ids
    from pipelines.search.route import RouteQuery, plate_route

    rq = RouteQuery(
        plate=params["plate"],
        fuzzy=params.get("fuzzy") or 0,
        cameras=cams,
        area=area,
        max_speed_kmh=params.get("max_speed_kmh") or 200.0,
        strategy="scan",
    )
    ids = [s["read_id"] for s in plate_route(pinned, rq, scope)]
    return ids, "read_id", ids


def _limit(params: dict[str, Any], row: dict[str, Any]) -> int | None:
    """The logged limit; rows logged before it was recorded: the count they returned."""
    if "limit" in params:
        return int(params["limit"]) if params["limit"] else None
    return int(row.get("result_count") or 0) or None


def _rerun_movement(
    pinned: PinnedLakehouse,
    row: dict[str, Any],
    params: dict[str, Any],
    scope: ReadScope,
    cams: tuple[str, ...] | None,
    area: Any,
) -> tuple[list[str], list[str]]:
    """Re-run a movement tool through its library call on the pinned tables: (plates, read ids of
    the result plates inside the tool's windows)."""
    import datetime as _dt

    from lakehouse.timeutil import TimeRange, parse_instant

    action = row["action"]
    limit = _limit(params, row)
    windows: list[tuple[ReadScope, Any, Any]]  # (scope with the window's time, cameras, area)
    if action == "plates.canvass":
        from pipelines.movement.canvass import canvass

        res_rows = canvass(pinned, scope, cameras=cams, area=area, limit=limit).rows
        windows = [(scope, list(cams) if cams else None, area)]
        extra: list[str] = []
    elif action == "movement.convoy":
        from pipelines.movement.convoy import convoy

        res_rows = convoy(
            pinned,
            scope,
            params["plate"],
            window_s=float(params["window_s"]),
            min_cameras=int(params["min_cameras"]),
            limit=limit,
            max_target_reads=params.get("max_target_reads"),  # absent (older rows): no cap
        ).rows
        windows = [(scope, None, None)]
        extra = [params["plate"]]
    elif action == "movement.stakeout":
        from pipelines.movement.stakeout import PlaceWindow, stakeout

        pws = []
        for w in params["windows"]:
            w_area = _area(w)
            if isinstance(w_area, str):
                raise LookupError("a stakeout window used a polygon whose full geometry was not logged")
            start, end = parse_instant(w["from"]), parse_instant(w["to"])
            assert start is not None and end is not None
            pws.append(
                PlaceWindow(
                    start,
                    end,
                    cameras=tuple(w["cameras"]) if w.get("cameras") is not None else None,
                    area=w_area,
                    label=w.get("label") or "",
                )
            )
        res = stakeout(
            pinned,
            scope,
            pws,
            min_windows=int(params["min_windows"]),
            baseline_days=int(params.get("baseline_days") or 14),
            limit=limit,
        )
        res_rows = res.rows
        windows = [(scope.replace(time=TimeRange(w.start, w.end)), w.cameras, w.area) for w in pws]
        extra = []
    else:  # crime.leads
        from pipelines.movement.leads import crime_leads

        radius, window_s = float(params["radius_m"]), float(params["window_s"])
        lres = crime_leads(
            pinned,
            scope,
            incident_ids=params.get("incident_ids"),
            incident_type=params.get("type"),
            radius_m=radius,
            window_s=window_s,
            min_incidents=int(params["min_incidents"]),
            baseline_days=int(params.get("baseline_days") or 14),
            limit=limit,
        )
        res_rows = lres.rows
        pad = _dt.timedelta(seconds=window_s)
        windows = [
            (scope.replace(time=TimeRange(i["ts"] - pad, (i["ts_end"] or i["ts"]) + pad)), i["cameras"], None)
            for i in lres.incidents
        ]
        extra = []
    plates = [r["plate"] for r in res_rows]
    return plates, _reads_behind(pinned, windows, plates + extra)


def _reads_behind(
    pinned: PinnedLakehouse, windows: list[tuple[Any, Any, Any]], plates: list[str]
) -> list[str]:
    """Read ids of ``plates`` inside the windows (each scoped like the tool read it), pinned."""
    from lakehouse.store import sql_literal
    from pipelines.movement.reads import TABLE, arrow, connect, scoped_reads

    if not plates:
        return []
    in_plates = ", ".join(sql_literal(p) for p in sorted(set(plates)))
    out: set[str] = set()
    with connect(pinned) as con:
        for w_scope, w_cams, w_area in windows:
            sr = scoped_reads(pinned, w_scope, cameras=w_cams, area=w_area)
            if sr.nothing:
                continue
            q = f"SELECT read_id FROM {TABLE} WHERE {sr.where()} AND plate IN ({in_plates})"
            out.update(arrow(con, q).column("read_id").to_pylist())
    return sorted(out)


def _rerun_face(
    pinned: PinnedLakehouse,
    row: dict[str, Any],
    params: dict[str, Any],
    scope: Any,
    cams: tuple[str, ...] | None,
    area: Any,
) -> list[str]:
    import numpy as np
    import pyarrow.dataset as pds

    from pipelines.faces import load_image_rgb
    from pipelines.governance.cases import probes_dir
    from pipelines.search.faces import default_analyzer
    from pipelines.search.filters import resolve_filter

    sha = row.get("probe_sha256")
    if not sha:
        raise LookupError("an embedding search (no probe photo)")
    photos = list(probes_dir(pinned, row["case_number"]).glob(f"{sha}.*"))
    if not photos:
        raise LookupError(f"the probe photo {sha[:12]}… is no longer kept with the case")
    if not params.get("face_found", True):
        return []
    det = default_analyzer().probe(load_image_rgb(photos[0]))
    if det is None:
        return []
    flt = resolve_filter(pinned, scope, data_type="faces", cameras=list(cams) if cams else None, area=area)
    expr = pds.field("searchable") == True  # noqa: E712 (an Arrow expression)
    if flt.dataset_expr() is not None:
        expr = expr & flt.dataset_expr()
    t = pinned.read("face_sightings", columns=["sighting_id", "embedding"], filter=expr)
    if t.num_rows == 0:
        return []
    emb = np.asarray(t.column("embedding").to_pylist(), dtype=np.float32)
    d = np.linalg.norm(emb - np.asarray(det.embedding, dtype=np.float32)[None, :], axis=1)
    order = np.argsort(d, kind="stable")[: int(params.get("k") or 20)]
    ids = t.column("sighting_id").to_pylist()
    return [ids[i] for i in order]


def _still_there(lh: Lakehouse, table: str, col: str, ids: list[str]) -> set[str]:
    import pyarrow.dataset as pds

    if not ids or not lh.exists(table):
        return set()
    got = lh.read(table, columns=[col], filter=pds.field(col).isin(ids)).column(col).to_pylist()
    return set(got)


def replay_case(lh: Lakehouse, ctx: SearchContext, case_number: str) -> list[dict[str, Any]]:
    """Replay every logged search of ``case_number`` (oldest first); one result dict per search."""
    from pipelines.governance.identity import require_permission

    require_permission(ctx.role, "audit", user=ctx.user)
    rows = [
        r
        for r in audit_rows(lh, case_number=case_number.strip())
        if r.get("outcome") in (None, "ok")
        and "." in (r.get("action") or "")
        and r["action"].split(".")[0] in SEARCH_PREFIXES
    ]
    if not ctx.sees_all_agencies:
        rows = [r for r in rows if r.get("agency") == ctx.agency]
    if not rows and not audit_rows(lh, case_number=case_number.strip()):
        raise LookupError(f"no audit rows for case {case_number}")
    rows.sort(key=lambda r: (r.get("seq") or 0, r["ts"]))
    out = []
    for r in rows:
        params = json.loads(r["parameters"] or "{}")
        rec: dict[str, Any] = {
            "seq": r.get("seq"),
            "ts": r["ts"],
            "action": r["action"],
            "user": r["user"],
            "logged_count": r["result_count"],
            "replayed_count": None,
            "erased": 0,
            "status": "not replayed",
            "note": None,
        }
        versions = json.loads(r["table_versions"]) if r.get("table_versions") else None
        if r["action"] not in REPLAYABLE:
            rec["note"] = f"{r['action']} is not replayable"
        elif versions is None:
            rec["note"] = "logged before table versions were recorded"
        else:
            from deltalake.exceptions import DeltaError

            pinned, moved = surviving_versions(lh, versions)
            try:
                ids, col, behind = _rerun(PinnedLakehouse(lh, pinned), r, params)
            except (LookupError, ValueError, OSError, DeltaError) as exc:
                rec["note"] = str(exc)
            else:
                table = "face_sightings" if r["action"] == "faces.search" else "plate_reads"
                rec["replayed_count"] = len(ids)
                erased = set(behind) - _still_there(lh, table, col, behind)
                rec["erased"] = len(erased)
                same = r.get("result_digest") is None or result_digest(ids) == r["result_digest"]
                same = same and len(ids) == r["result_count"]
                rec["status"] = "reproduced" if same else "differs"
                if moved:
                    # what it saw then is gone with the purge (by design): re-run on the first version
                    # kept after it. Rows it returned that are missing there were erased by retention;
                    # rows added since may stand in for them, so the count is a lower bound.
                    lost = 0 if same else max(0, int(r["result_count"]) - len(ids))
                    rec["erased"] += lost
                    if not same:
                        rec["status"] = "partly erased" if lost else "differs (versions purged)"
                    rec["note"] = (
                        "versions read were purged by retention; re-run on the first version kept ("
                        + ", ".join(f"{t} v{a} -> v{b}" for t, (a, b) in sorted(moved.items()))
                        + "); erased is a lower bound"
                    )
        out.append(rec)
    audit_admin(
        lh,
        dataclasses.replace(ctx, case_number=case_number, purpose="audit replay"),
        "audit.replay",
        {
            "case_number": case_number,
            "searches": len(out),
            "reproduced": sum(1 for x in out if x["status"] == "reproduced"),
            "at": dt.datetime.now(dt.UTC),
        },
    )
    return out
