"""Self-measured plate-read accuracy per camera, without ground truth.

The same vehicle passes neighbouring cameras within a feasible travel time. For every pair of
neighbouring cameras ``(c, d)`` (within ``radius_m``), each read at ``c`` is linked to the read at
``d`` whose time difference is feasible (``distance / v_max - slack <= |dt| <= distance / v_min +
slack``) and whose text is most similar (at least ``min_similarity``: the same vehicle read with
errors, not another vehicle); links are one-to-one. Two readers agree on a linked pass when the texts
are identical, which happens (errors rarely coincide) with probability ``acc_c * acc_d``. Fitting
``log agree_cd = log acc_c + log acc_d`` over all pairs (weighted by their links) gives each camera's
accuracy: a dirty lens or a badly aimed camera shows up as the camera the others disagree with.

Rows are the current model version of each source (pipelines/versions.py). Reported per camera:
``accuracy`` (the fitted estimate), ``agreement`` (share of its links whose texts agree), ``links``,
``reads``, ``link_share`` (reads that found a partner), and ``rank`` (1 = best).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pds

from lakehouse import Lakehouse


@dataclass(frozen=True)
class AccuracyParams:
    radius_m: float = 3000.0  # cameras closer than this are neighbours
    v_min_kmh: float = 5.0  # slowest plausible travel between neighbours
    v_max_kmh: float = 130.0  # fastest
    slack_s: float = 20.0  # clock skew and where in the view the read happened
    min_similarity: float = 0.4  # 1 - edit distance / length: below, two reads are not one vehicle
    min_links: int = 3  # a camera with fewer links gets no estimate


def similarity(a: str, b: str) -> float:
    """1 - Levenshtein distance / longer length (1.0 = identical)."""
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        prev = cur
    return 1.0 - prev[-1] / max(len(a), len(b))


def _haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6_371_000.0
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return float(2 * r * np.arcsin(np.sqrt(h)))


def link_pair(
    ts_c: np.ndarray,
    txt_c: list[str],
    ts_d: np.ndarray,
    txt_d: list[str],
    lo_s: float,
    hi_s: float,
    min_similarity: float,
) -> tuple[int, int]:
    """(links, agreeing links) between two cameras' reads (times in seconds, ``ts_d`` sorted)."""
    cand = []
    for i, (t, a) in enumerate(zip(ts_c, txt_c, strict=True)):
        for sign in (1, -1):
            lo, hi = (t + lo_s, t + hi_s) if sign > 0 else (t - hi_s, t - lo_s)
            j0, j1 = np.searchsorted(ts_d, lo, "left"), np.searchsorted(ts_d, hi, "right")
            for j in range(j0, j1):
                s = similarity(a, txt_d[j])
                if s >= min_similarity:
                    cand.append((-s, abs(ts_d[j] - t), i, j))
    cand.sort()
    used_c: set[int] = set()
    used_d: set[int] = set()
    links = agree = 0
    for neg_s, _, i, j in cand:
        if i in used_c or j in used_d:
            continue
        used_c.add(i)
        used_d.add(j)
        links += 1
        agree += int(neg_s == -1.0)
    return links, agree


def estimate_accuracy(
    reads: pa.Table | list[dict[str, Any]],
    cameras: list[dict[str, Any]],
    params: AccuracyParams = AccuracyParams(),
) -> list[dict[str, Any]]:
    """Per-camera accuracy estimates from ``reads`` (camera_id, ts, plate) and camera positions."""
    rows = reads.to_pylist() if isinstance(reads, pa.Table) else list(reads)
    pos = {
        c["camera_id"]: (c["lat"], c["lon"])
        for c in cameras
        if c.get("lat") is not None and c.get("lon") is not None
    }
    by_cam: dict[str, list[tuple[float, str]]] = {}
    for r in rows:
        if r.get("plate") and r["camera_id"] in pos and r.get("ts") is not None:
            by_cam.setdefault(r["camera_id"], []).append((r["ts"].timestamp(), r["plate"]))
    cams = sorted(by_cam)
    data = {}
    for c in cams:
        items = sorted(by_cam[c])
        data[c] = (np.array([t for t, _ in items]), [p for _, p in items])
    idx = {c: i for i, c in enumerate(cams)}
    pairs: list[tuple[int, int, int, int]] = []  # (i, j, links, agree)
    for a in range(len(cams)):
        for b in range(a + 1, len(cams)):
            c, d = cams[a], cams[b]
            dist = _haversine_m(*pos[c], *pos[d])
            if dist > params.radius_m:
                continue
            lo = max(0.0, dist / (params.v_max_kmh / 3.6) - params.slack_s)
            hi = dist / (params.v_min_kmh / 3.6) + params.slack_s
            n, k = link_pair(data[c][0], data[c][1], data[d][0], data[d][1], lo, hi, params.min_similarity)
            if n:
                pairs.append((idx[c], idx[d], n, k))
    links = np.zeros(len(cams))
    agree = np.zeros(len(cams))
    for i, j, n, k in pairs:
        links[[i, j]] += n
        agree[[i, j]] += k
    # weighted least squares on logs: log(agree_ij) = x_i + x_j
    x = np.full(len(cams), np.nan)
    if pairs:
        A = np.zeros((len(pairs) + len(cams), len(cams)))
        y = np.zeros(len(pairs) + len(cams))
        w = np.zeros(len(pairs) + len(cams))
        for r, (i, j, n, k) in enumerate(pairs):
            A[r, i] = A[r, j] = 1.0
            y[r] = np.log((k + 0.5) / (n + 1.0))
            w[r] = np.sqrt(n)
        for i in range(
            len(cams)
        ):  # a weak prior towards 'as good as it agrees' keeps isolated cameras defined
            r = len(pairs) + i
            A[r, i] = 1.0
            y[r] = np.log((agree[i] + 0.5) / (links[i] + 1.0))
            w[r] = 0.1
        sol, *_ = np.linalg.lstsq(A * w[:, None], y * w, rcond=None)
        x = np.minimum(sol, 0.0)
    out: list[dict[str, Any]] = []
    for c in cams:
        i = idx[c]
        ok = links[i] >= params.min_links
        out.append(
            {
                "camera_id": c,
                "reads": len(data[c][1]),
                "links": int(links[i]),
                "agreeing": int(agree[i]),
                "agreement": float(agree[i] / links[i]) if links[i] else None,
                "link_share": min(1.0, float(links[i] / len(data[c][1]))) if data[c][1] else 0.0,
                "accuracy": float(np.exp(x[i])) if ok and np.isfinite(x[i]) else None,
            }
        )
    ranked = sorted((r for r in out if r["accuracy"] is not None), key=lambda r: -r["accuracy"])
    for k, r in enumerate(ranked, 1):
        r["rank"] = k
    for r in out:
        r.setdefault("rank", None)
    return out


def camera_read_accuracy(
    lh: Lakehouse,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    cameras: Sequence[str] | None = None,
    params: AccuracyParams = AccuracyParams(),
) -> list[dict[str, Any]]:
    """:func:`estimate_accuracy` over the tables: current-version plate reads in ``[start, end)``."""
    from pipelines.versions import version_filter

    expr = None
    ts = pa.timestamp("us", tz="UTC")
    if start is not None:
        expr = (pds.field("date") >= pa.scalar(start.date(), pa.date32())) & (
            pds.field("ts") >= pa.scalar(start, ts)
        )
    if end is not None:
        last = (end - dt.timedelta(microseconds=1)).date()
        e = (pds.field("date") <= pa.scalar(last, pa.date32())) & (pds.field("ts") < pa.scalar(end, ts))
        expr = e if expr is None else expr & e
    vf = version_filter(lh).dataset_expr()
    if vf is not None:
        expr = vf if expr is None else expr & vf
    reads = lh.read("plate_reads", columns=["camera_id", "ts", "plate"], filter=expr)
    cams = lh.read("cameras", columns=["camera_id", "lat", "lon"]).to_pylist() if lh.exists("cameras") else []
    out = estimate_accuracy(reads, cams, params)
    if cameras:
        out = [r for r in out if r["camera_id"] in set(cameras)]
    return out


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman rank correlation (average ranks for ties)."""
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


ASSET = "camera_read_accuracy"


def latest_estimates(home: Any) -> tuple[str | None, list[dict[str, Any]]]:
    """The newest ``camera_read_accuracy`` results (written by the Dagster asset under
    ``HOME/derived``): (day, rows sorted worst first); (None, []) when it never ran."""
    import pyarrow.parquet as pq

    from pipelines.movement.derived import derived_dir

    files = sorted((derived_dir(home) / ASSET).glob("*.parquet"))
    if not files:
        return None, []
    rows = pq.read_table(files[-1]).to_pylist()
    rows.sort(key=lambda r: (r["accuracy"] is None, r["accuracy"] if r["accuracy"] is not None else 0.0))
    return files[-1].stem, rows
