"""One current model version per source, and the filter every reader applies.

A source (a recorded video, or a live segment) may have rows of several model versions in
``plate_reads`` and ``face_sightings`` (a backfill writes the new version beside the old). Exactly
one of them is *current*, recorded in the ``source_versions`` table:

- extraction (:func:`pipelines.extract.ingest_paths`) commits a source's rows to every table first,
  then switches the source to the new version in ONE ``source_versions`` commit
  (:func:`record_switch`): a re-process killed half way (plates committed, faces not) never
  switches, so the previous version stays what readers see;
- :func:`set_version` switches sources back (rollback) or forward, in one commit, audited;
- sources with no ``source_versions`` row (data written before this table existed) take their latest
  succeeded run in ``processing_runs`` as current.

Readers never join: :func:`version_filter` turns a :class:`~pipelines.governance.scope.VersionPolicy`
into a :class:`VersionFilter` listing the (model version, sources) pairs to HIDE (the non-current
versions of sources that have several), and applies it as DuckDB SQL, a pyarrow dataset
expression, a Polars expression or a numpy mask. With one version per source (the usual case) the
filter is empty and costs nothing. A pinned policy (``--model-version V``) keeps only rows of ``V``.

Order matters for consistency: read the version map (:func:`version_filter`) BEFORE the rows or
the index. Extraction commits rows before the switch, so rows of every version the map calls current
are already in the tables (and in an index brought up to date after reading the map).

Live segments are versioned per segment (``kind = live``): a camera-wide :func:`set_version` only
switches sources that have rows of the requested version, and a live segment is never re-processed,
so it is never hidden by a camera switch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from lakehouse import Lakehouse
from lakehouse.store import sql_literal

SOURCE_VERSIONS = "source_versions"
KINDS = ("recorded", "live")
#: above this many hidden sources, SQL readers anti-join a registered relation instead of a literal list
SQL_LITERAL_MAX = 200


def _policy_version(policy: Any) -> str | None:
    """``None`` / a VersionPolicy / a ReadScope / a version string -> the pinned version (None: current)."""
    if policy is None:
        return None
    if isinstance(policy, str):
        return policy.strip() or None
    if hasattr(policy, "versions"):  # a ReadScope
        policy = policy.versions
    return getattr(policy, "model_version", None)


# ------------------------------------------------------------------------------------------ map
def _runs(lh: Lakehouse) -> pa.Table:
    if not lh.exists("processing_runs"):
        return pa.table(
            {
                "video_id": pa.array([], pa.string()),
                "model_version": pa.array([], pa.string()),
                "status": pa.array([], pa.string()),
                "finished": pa.array([], pa.timestamp("us", tz="UTC")),
                "camera_id": pa.array([], pa.string()),
            }
        )
    return lh.read(
        "processing_runs", columns=["video_id", "model_version", "status", "finished", "camera_id"]
    )


def _recorded(lh: Lakehouse) -> list[dict[str, Any]]:
    if not lh.exists(SOURCE_VERSIONS):
        return []
    return lh.read(SOURCE_VERSIONS).to_pylist()


def current_versions(
    lh: Lakehouse, *, runs: pa.Table | None = None, recorded: list[dict[str, Any]] | None = None
) -> dict[str, str]:
    """``video_id -> current model version`` for every source that has one.

    From ``source_versions``; a source without a row there takes its latest succeeded run."""
    recorded = _recorded(lh) if recorded is None else recorded
    out = {r["video_id"]: r["model_version"] for r in recorded}
    runs = _runs(lh) if runs is None else runs
    best: dict[str, tuple[dt.datetime, str]] = {}
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    for r in runs.to_pylist():
        if r["video_id"] in out or r["status"] != "succeeded":
            continue
        key = (r["finished"] or epoch, r["model_version"])
        if r["video_id"] not in best or key > best[r["video_id"]]:
            best[r["video_id"]] = key
    out.update({vid: v for vid, (_, v) in best.items()})
    return out


def versions_of_sources(runs: pa.Table) -> dict[str, set[str]]:
    """``video_id -> every model version with a run`` (any status: a killed run may have committed
    one table)."""
    out: dict[str, set[str]] = {}
    vids = runs["video_id"].to_pylist()
    mvs = runs["model_version"].to_pylist()
    for vid, mv in zip(vids, mvs, strict=True):
        out.setdefault(vid, set()).add(mv)
    return out


# ------------------------------------------------------------------------------------------ filter
@dataclass(frozen=True)
class VersionFilter:
    """Rows a reader may see under a version policy.

    ``pinned``: only rows of this version. Otherwise ``hidden`` lists, per model version, the sources
    whose rows of that version are NOT current (empty: nothing to hide)."""

    pinned: str | None = None
    hidden: tuple[tuple[str, frozenset[str]], ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        return self.pinned is None and not self.hidden

    @property
    def hidden_pairs(self) -> set[tuple[str, str]]:
        return {(vid, mv) for mv, vids in self.hidden for vid in vids}

    def hidden_keys(self, sep: str = "\x1f") -> frozenset[str]:
        """``video_id + sep + model_version`` of every hidden pair (how indexes key their sources)."""
        cache = self.__dict__.setdefault("_keys", {})
        if sep not in cache:
            cache[sep] = frozenset(f"{vid}{sep}{mv}" for mv, vids in self.hidden for vid in vids)
        return cache[sep]

    def hidden_table(self) -> pa.Table:
        """The hidden (video_id, model_version) pairs as an Arrow table."""
        pairs = sorted(self.hidden_pairs)
        return pa.table(
            {
                "video_id": pa.array([p[0] for p in pairs], pa.string()),
                "model_version": pa.array([p[1] for p in pairs], pa.string()),
            }
        )

    def sql_on(self, con: Any, prefix: str = "", relation: str = "_hidden_versions") -> str:
        """Like :meth:`sql`, for a DuckDB connection: many hidden sources become an anti-join
        against ``relation`` (registered on ``con``), far cheaper than a long literal IN list."""
        if self.pinned is not None or sum(len(v) for _, v in self.hidden) <= SQL_LITERAL_MAX:
            return self.sql(prefix)
        con.register(relation, self.hidden_table())
        return (
            f"coalesce(({prefix}video_id, {prefix}model_version) NOT IN "
            f"(SELECT video_id, model_version FROM {relation}), TRUE)"
        )

    def allows(self, video_id: str | None, model_version: str | None) -> bool:
        if self.pinned is not None:
            return model_version == self.pinned
        return not any(model_version == mv and video_id in vids for mv, vids in self.hidden)

    def sql(self, prefix: str = "") -> str:
        """DuckDB / delta-rs condition (``TRUE`` when nothing is filtered)."""
        if self.pinned is not None:
            return f"{prefix}model_version = {sql_literal(self.pinned)}"
        if not self.hidden:
            return "TRUE"
        parts = []
        for mv, vids in self.hidden:
            ids = ", ".join(sql_literal(v) for v in sorted(vids))
            parts.append(f"NOT ({prefix}model_version = {sql_literal(mv)} AND {prefix}video_id IN ({ids}))")
        return "(" + " AND ".join(parts) + ")"

    def dataset_expr(self) -> Any:
        """A pyarrow dataset expression (None when nothing is filtered)."""
        import pyarrow.dataset as pds

        if self.pinned is not None:
            return pds.field("model_version") == self.pinned
        expr = None
        for mv, vids in self.hidden:
            e = ~((pds.field("model_version") == mv) & pds.field("video_id").isin(sorted(vids)))
            expr = e if expr is None else expr & e
        return expr

    def polars_expr(self) -> Any:
        """A Polars expression (None when nothing is filtered)."""
        import polars as pl

        if self.pinned is not None:
            return pl.col("model_version") == self.pinned
        expr = None
        for mv, vids in self.hidden:
            e = ~((pl.col("model_version") == mv) & pl.col("video_id").is_in(sorted(vids)))
            expr = e if expr is None else expr & e
        return expr

    def mask(self, video_ids: np.ndarray, model_versions: np.ndarray) -> np.ndarray:
        """Vectorised over parallel arrays (object or str)."""
        m = np.ones(len(video_ids), dtype=bool)
        if self.pinned is not None:
            return np.asarray(model_versions == self.pinned, dtype=bool)
        for mv, vids in self.hidden:
            sel = np.asarray(model_versions == mv, dtype=bool)
            if sel.any():
                m[sel] &= ~np.isin(video_ids[sel], list(vids))
        return m

    def filter_table(self, table: pa.Table) -> pa.Table:
        """Rows of an Arrow table (with ``video_id`` and ``model_version``) that pass."""
        if self.empty or table.num_rows == 0:
            return table
        vids = np.asarray(table["video_id"].to_pylist(), dtype=object)
        mvs = np.asarray(table["model_version"].to_pylist(), dtype=object)
        return table.filter(pa.array(self.mask(vids, mvs)))

    def key_codes(self, keys: Sequence[str], sep: str = "\x1f") -> np.ndarray:
        """Which of ``keys`` (``video_id + sep + model_version``, as an index stores them) pass."""
        out = np.ones(len(keys), dtype=bool)
        for i, k in enumerate(keys):
            vid, _, mv = k.partition(sep)
            out[i] = self.allows(vid, mv)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"pinned": self.pinned, "hidden": {mv: len(v) for mv, v in self.hidden}}


_FILTER_CACHE: dict[str, tuple[tuple[int, int], VersionFilter]] = {}


def _table_version(lh: Lakehouse, name: str) -> int:
    """A number that changes whenever the table gets a commit (-1 when it does not exist): on local
    storage the ``_delta_log`` folder's modification time (one ``stat``), else the Delta version."""
    if lh.storage.is_local:
        import os

        try:
            return os.stat(os.path.join(lh.uri(name), "_delta_log")).st_mtime_ns
        except OSError:
            return -1
    from deltalake import DeltaTable

    try:
        return int(DeltaTable(lh.uri(name), storage_options=lh.storage.storage_options or None).version())
    except Exception:  # not created yet
        return -1


def version_filter(lh: Lakehouse, policy: Any = None) -> VersionFilter:
    """The filter for ``policy`` (None or a VersionPolicy/ReadScope with no version = current;
    a string or a pinned policy = that version).

    Cached per lakehouse and per (processing_runs, source_versions) table version: a search pays
    two Delta log lookups unless a run or a switch committed since the last one."""
    pinned = _policy_version(policy)
    if pinned is not None:
        return VersionFilter(pinned=pinned)
    key = (_table_version(lh, "processing_runs"), _table_version(lh, SOURCE_VERSIONS))
    cached = _FILTER_CACHE.get(lh.storage.root)
    if cached is not None and cached[0] == key:
        return cached[1]
    vf = _compute_filter(lh) if key[0] >= 0 else VersionFilter()
    if len(_FILTER_CACHE) > 64:
        _FILTER_CACHE.clear()
    _FILTER_CACHE[lh.storage.root] = (key, vf)
    return vf


def _compute_filter(lh: Lakehouse) -> VersionFilter:
    """Only sources with runs of several versions can have rows to hide: find them with Arrow
    group-bys (no Python loop over every source), then compare with their current version."""
    import pyarrow.compute as pc

    runs = _runs(lh)
    if runs.num_rows == 0:
        return VersionFilter()
    runs = runs.select(["video_id", "model_version", "status", "finished"]).cast(
        pa.schema(
            [
                ("video_id", pa.string()),
                ("model_version", pa.string()),
                ("status", pa.string()),
                ("finished", pa.timestamp("us", tz="UTC")),
            ]
        )
    )
    pairs = runs.group_by(["video_id", "model_version"]).aggregate([])
    per_source = pairs.group_by("video_id").aggregate([("model_version", "count")])
    multi = per_source.filter(pc.greater(per_source["model_version_count"], 1))["video_id"]
    if len(multi) == 0:
        return VersionFilter()
    pairs = pairs.filter(pc.is_in(pairs["video_id"], value_set=multi.combine_chunks()))
    recorded = []
    if lh.exists(SOURCE_VERSIONS):
        import pyarrow.dataset as pds

        recorded = lh.read(
            SOURCE_VERSIONS,
            columns=["video_id", "model_version"],
            filter=pds.field("video_id").isin(multi.to_pylist()),
        ).to_pylist()
    sub = runs.filter(pc.is_in(runs["video_id"], value_set=multi.combine_chunks()))
    current = current_versions(lh, runs=sub, recorded=recorded)
    hidden: dict[str, set[str]] = {}
    for vid, mv in zip(pairs["video_id"].to_pylist(), pairs["model_version"].to_pylist(), strict=True):
        cur = current.get(vid)
        if cur is not None and mv != cur:
            hidden.setdefault(mv, set()).add(vid)
    return VersionFilter(hidden=tuple((mv, frozenset(v)) for mv, v in sorted(hidden.items())))


# ------------------------------------------------------------------------------------------ switch
def record_switch(
    lh: Lakehouse, sources: Iterable[dict[str, Any]], *, by: str, reason: str, now: dt.datetime | None = None
) -> int:
    """Make each source's ``model_version`` current, all in ONE commit.

    ``sources``: dicts with ``video_id``, ``model_version`` and optionally ``camera_id``, ``kind``
    (recorded | live), ``start_ts``. Call only after every table of the source has committed."""
    rows = list(sources)
    if not rows:
        return 0
    now = now or dt.datetime.now(dt.UTC)
    prev = current_versions(lh)
    out = []
    for r in rows:
        kind = r.get("kind") or "recorded"
        if kind not in KINDS:
            raise ValueError(f"unknown source kind {kind!r}; one of {', '.join(KINDS)}")
        if not r.get("video_id") or not r.get("model_version"):
            raise ValueError("a source switch needs video_id and model_version")
        out.append(
            {
                "video_id": r["video_id"],
                "camera_id": r.get("camera_id"),
                "kind": kind,
                "model_version": r["model_version"],
                "previous_version": prev.get(r["video_id"]),
                "start_ts": r.get("start_ts"),
                "switched_at": now,
                "switched_by": by,
                "reason": reason,
            }
        )
    return lh.upsert(SOURCE_VERSIONS, out)


@dataclass
class SwitchPlan:
    """What :func:`set_version` did (or would do)."""

    model_version: str
    switched: list[dict[str, Any]] = field(default_factory=list)  # video_id, camera_id, from
    unchanged: int = 0  # already at the version
    missing: list[dict[str, Any]] = field(default_factory=list)  # selected sources without that version

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "switched": len(self.switched),
            "unchanged": self.unchanged,
            "without_version": len(self.missing),
        }


def _sources(lh: Lakehouse) -> dict[str, dict[str, Any]]:
    """video_id -> camera_id, start_ts, kind from videos, processing_runs and source_versions."""
    out: dict[str, dict[str, Any]] = {}
    if lh.exists("videos"):
        for r in lh.read("videos", columns=["video_id", "camera_id", "start_ts"]).to_pylist():
            out[r["video_id"]] = {"camera_id": r["camera_id"], "start_ts": r["start_ts"], "kind": "recorded"}
    for r in _recorded(lh):
        cur = out.setdefault(r["video_id"], {"camera_id": r["camera_id"], "start_ts": r["start_ts"]})
        cur["kind"] = r.get("kind") or "recorded"
        cur["camera_id"] = cur.get("camera_id") or r["camera_id"]
        cur["start_ts"] = cur.get("start_ts") or r["start_ts"]
    for r in _runs(lh).to_pylist():
        out.setdefault(r["video_id"], {"camera_id": r["camera_id"], "start_ts": None, "kind": "recorded"})
    return out


def set_version(
    lh: Lakehouse,
    model_version: str,
    *,
    cameras: Sequence[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    video_ids: Sequence[str] | None = None,
    by: str,
    reason: str = "set by operator",
    dry_run: bool = False,
    ctx: Any = None,
) -> SwitchPlan:
    """Switch the selected recorded sources to ``model_version`` (rollback or roll forward), in one
    commit. Selected: the sources of ``cameras`` (all when None) whose start is in
    ``[start, end)``, or exactly ``video_ids``. Only sources that have a SUCCEEDED run of the version
    switch; live segments are never switched by a camera selection. With ``ctx`` (a SearchContext
    with a case/purpose) the switch is audited."""
    version = (model_version or "").strip()
    if ctx is not None:  # the library refuses (and logs) a role that may not operate ingestion
        from pipelines.governance.audit import require_allowed

        require_allowed(lh, ctx, "ingest", "versions.set", {"model_version": version})
    if not version:
        raise ValueError("model version must not be empty")
    runs = _runs(lh)
    have = {
        r["video_id"]
        for r in runs.to_pylist()
        if r["model_version"] == version and r["status"] == "succeeded"
    }
    current = current_versions(lh, runs=runs)
    plan = SwitchPlan(model_version=version)
    wanted_cams = set(cameras) if cameras else None
    wanted_ids = set(video_ids) if video_ids else None
    todo = []
    for vid, info in sorted(_sources(lh).items()):
        if wanted_ids is not None:
            if vid not in wanted_ids:
                continue
        else:
            if info.get("kind") == "live":
                continue
            if wanted_cams is not None and info.get("camera_id") not in wanted_cams:
                continue
            ts = info.get("start_ts")
            if start is not None or end is not None:
                if ts is None or (start is not None and ts < start) or (end is not None and ts >= end):
                    continue
        if vid not in have:
            if vid in current:
                plan.missing.append(
                    {"video_id": vid, "camera_id": info.get("camera_id"), "current": current.get(vid)}
                )
            continue
        if current.get(vid) == version:
            plan.unchanged += 1
            continue
        plan.switched.append({"video_id": vid, "camera_id": info.get("camera_id"), "from": current.get(vid)})
        todo.append(
            {
                "video_id": vid,
                "camera_id": info.get("camera_id"),
                "model_version": version,
                "kind": info.get("kind") or "recorded",
                "start_ts": info.get("start_ts"),
            }
        )
    if not dry_run and todo:
        record_switch(lh, todo, by=by, reason=reason)
    if ctx is not None and not dry_run:
        from pipelines.governance.audit import audit

        audit(
            lh,
            ctx,
            "versions.set",
            {
                "model_version": version,
                "cameras": sorted(cameras) if cameras else None,
                "from": start,
                "to": end,
                "video_ids": sorted(video_ids) if video_ids else None,
                "reason": reason,
                "switched": [s["video_id"] for s in plan.switched],
            },
            len(plan.switched),
        )
    return plan


def version_summary(lh: Lakehouse, cameras: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Per camera and model version: sources with a succeeded run, and how many are current."""
    runs = _runs(lh)
    current = current_versions(lh, runs=runs)
    wanted = set(cameras) if cameras else None
    agg: dict[tuple[str, str], dict[str, Any]] = {}
    for r in runs.to_pylist():
        if r["status"] != "succeeded" or (wanted is not None and r["camera_id"] not in wanted):
            continue
        a = agg.setdefault(
            (r["camera_id"] or "", r["model_version"]),
            {
                "camera_id": r["camera_id"],
                "model_version": r["model_version"],
                "sources": 0,
                "current": 0,
                "last_run": None,
            },
        )
        a["sources"] += 1
        a["current"] += int(current.get(r["video_id"]) == r["model_version"])
        if r["finished"] and (a["last_run"] is None or r["finished"] > a["last_run"]):
            a["last_run"] = r["finished"]
    return [agg[k] for k in sorted(agg)]


def switch_history(lh: Lakehouse, cameras: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The ``source_versions`` rows (one per source: its latest switch), newest first."""
    rows = _recorded(lh)
    if cameras:
        rows = [r for r in rows if r["camera_id"] in set(cameras)]
    return sorted(
        rows, key=lambda r: r["switched_at"] or dt.datetime.min.replace(tzinfo=dt.UTC), reverse=True
    )
