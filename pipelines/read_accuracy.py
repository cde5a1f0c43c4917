"""Self-measured plate-read accuracy per camera, without ground truth.

The same vehicle passes neighbouring cameras within a feasible travel time. For every pair of
neighbouring cameras ``(c, d)`` (within ``radius_m``), each read at ``c`` is linked to the read at
``d`` whose time difference is feasible (``distance / v_max - slack <= |dt| <= distance / v_min +
slack``) and whose text is most similar (at least ``min_similarity``: the same vehicle read with
errors, not another vehicle); links are one-to-one per camera pair. A read's *partners* are the reads
it is linked to.

The estimate is a latent-class model fitted by EM (Dawid-Skene's "one coin" per read):

- each read ``r`` is right with probability ``pi_r = sigmoid(f(confidence_r) + b_camera)``: ``f`` is
  one calibration of the reader's own confidence pooled over every camera, ``b_camera`` a per-camera
  offset (ridge-penalised towards 0, so a camera seen a few times leans on the pooled calibration and
  one whose reads the others contradict moves away from it, however confident its reader is);
- given the partners, a right read agrees with each partner that is right (``pi_s``) and disagrees
  with one that is wrong; a wrong read agrees with its first agreeing partner only by coincidence
  (``coincide``: errors rarely produce the same string), but with each further one at a far higher
  chance (``repeat_coincide``): misreads are systematic (the same plate's characters misread the
  same way at several cameras), so a read many partners agree with is likely, not certain, right. E-step: each linked read's posterior of being right; M-step:
  ``f`` and ``b`` by ridge logistic regression on those soft labels. No ground truth is used: the
  labels come only from cross-camera agreement.

A camera's accuracy is the mean, over ALL its reads, of their posterior (linked reads) or of
``pi_r`` (reads no neighbour saw): confident unlinked reads count as right, doubtful ones as wrong.
Without confidences (``None``) the model is the plain one-coin model per camera. Passes the reader
found no plate in are invisible to it (the truth counts them as wrong).

Also reported, for comparison: ``agreement_fit``, the earlier estimator (a least-squares fit of
``log agree_cd = log acc_c + log acc_d`` over camera pairs), which uses agreement counts only.

Rows are the current model version of each source (pipelines/versions.py). Reported per camera:
``accuracy`` (the estimate), ``agreement`` (share of its links whose texts agree), ``links``,
``reads``, ``link_share`` (reads that found a partner), ``agreement_fit`` and ``rank`` (1 = best).
"""

from __future__ import annotations

import datetime as dt
import math
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
    coincide: float = 0.02  # chance a wrong read's text equals a partner's (errors rarely coincide)
    #: once a wrong read's text equals one partner's, the error is systematic (the same characters
    #: misread the same way on the same plate): the chance that each further partner agrees too
    repeat_coincide: float = 0.5
    camera_ridge: float = 1.0  # L2 penalty on the per-camera offsets (logit scale)
    iterations: int = 30  # EM iterations (stops earlier when the posteriors settle)


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


def link_reads(
    ts_c: np.ndarray,
    txt_c: list[str],
    ts_d: np.ndarray,
    txt_d: list[str],
    lo_s: float,
    hi_s: float,
    min_similarity: float,
) -> list[tuple[int, int]]:
    """One-to-one links ``(i, j)`` between two cameras' reads (times in seconds, ``ts_d`` sorted):
    most similar text first, then the nearest time."""
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
    out: list[tuple[int, int]] = []
    for _, _, i, j in cand:
        if i in used_c or j in used_d:
            continue
        used_c.add(i)
        used_d.add(j)
        out.append((i, j))
    return out


def link_pair(
    ts_c: np.ndarray,
    txt_c: list[str],
    ts_d: np.ndarray,
    txt_d: list[str],
    lo_s: float,
    hi_s: float,
    min_similarity: float,
) -> tuple[int, int]:
    """(links, agreeing links) between two cameras' reads (:func:`link_reads`)."""
    links = link_reads(ts_c, txt_c, ts_d, txt_d, lo_s, hi_s, min_similarity)
    return len(links), sum(txt_c[i] == txt_d[j] for i, j in links)


def _window_counts(ts_a: np.ndarray, ts_b: np.ndarray, lo_s: float, hi_s: float) -> np.ndarray:
    """For each time of ``ts_a``: how many of ``ts_b`` (sorted) lie at a feasible ``lo <= |dt| <= hi``."""
    up = np.searchsorted(ts_b, ts_a + hi_s, "right") - np.searchsorted(ts_b, ts_a + lo_s, "left")
    down = np.searchsorted(ts_b, ts_a - lo_s, "right") - np.searchsorted(ts_b, ts_a - hi_s, "left")
    if lo_s <= 0:  # dt = 0 is in both windows
        down -= np.searchsorted(ts_b, ts_a, "right") - np.searchsorted(ts_b, ts_a, "left")
    return np.asarray(up + down, dtype=float)


def _chance_tail(texts: list[str], cam: np.ndarray, samples: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """How similar the texts of two unrelated reads are: ``(s, P(similarity >= s))`` over random
    pairs of reads from different cameras (almost always different vehicles)."""
    n = len(texts)
    if n < 2:
        return np.array([0.0]), np.array([1.0])
    rng = np.random.default_rng(0)
    a, b = rng.integers(n, size=samples), rng.integers(n, size=samples)
    keep = cam[a] != cam[b]
    sims = np.sort([similarity(texts[i], texts[j]) for i, j in zip(a[keep], b[keep], strict=True)])
    grid = np.unique(np.concatenate([sims, [1.0]]))
    tail = (len(sims) - np.searchsorted(sims, grid - 1e-9, "left") + 1.0) / (len(sims) + 1.0)
    return grid, tail


def _pairwise_fit(pairs: list[tuple[int, int, int, int]], links: np.ndarray, agree: np.ndarray) -> np.ndarray:
    """The agreement-count estimator: weighted least squares on ``log agree_ij = x_i + x_j``."""
    n_cams = len(links)
    if not pairs:
        return np.full(n_cams, np.nan)
    A = np.zeros((len(pairs) + n_cams, n_cams))
    y = np.zeros(len(pairs) + n_cams)
    w = np.zeros(len(pairs) + n_cams)
    for r, (i, j, n, k) in enumerate(pairs):
        A[r, i] = A[r, j] = 1.0
        y[r] = np.log((k + 0.5) / (n + 1.0))
        w[r] = np.sqrt(n)
    for i in range(n_cams):  # a weak prior towards 'as good as it agrees' keeps isolated cameras defined
        r = len(pairs) + i
        A[r, i] = 1.0
        y[r] = np.log((agree[i] + 0.5) / (links[i] + 1.0))
        w[r] = 0.1
    sol, *_ = np.linalg.lstsq(A * w[:, None], y * w, rcond=None)
    return np.exp(np.minimum(sol, 0.0))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30.0, 30.0)))


def _features(conf: np.ndarray) -> np.ndarray:
    """Pooled calibration features of the reader's confidence: [1, logit, conf, missing]."""
    have = np.isfinite(conf)
    c = np.clip(np.where(have, conf, 0.5), 0.01, 0.99)
    cols = [np.ones_like(c)]
    if have.any():
        cols += [np.where(have, np.log(c / (1 - c)), 0.0), np.where(have, c, 0.0)]
        if not have.all():
            cols.append((~have).astype(float))
    return np.stack(cols, axis=1)


def _fit_logistic(
    X: np.ndarray, cam: np.ndarray, n_cams: int, y: np.ndarray, ridge: float
) -> tuple[np.ndarray, np.ndarray]:
    """Ridge logistic regression with soft labels ``y``: ``logit p = X @ beta + b[cam]`` (Newton steps;
    the camera block of the Hessian is diagonal, eliminated by its Schur complement)."""
    k = X.shape[1]
    beta, b = np.zeros(k), np.zeros(n_cams)
    pen = np.full(k, 1e-2)
    for _ in range(50):
        mu = _sigmoid(X @ beta + b[cam])
        r, w = y - mu, np.maximum(mu * (1 - mu), 1e-9)
        gg = X.T @ r - pen * beta
        gb = np.bincount(cam, r, n_cams) - ridge * b
        hgg = (X * w[:, None]).T @ X + np.diag(pen)
        hgb = np.stack([np.bincount(cam, w * X[:, m], n_cams) for m in range(k)])  # k x C
        d = np.bincount(cam, w, n_cams) + ridge
        s = hgg - (hgb / d) @ hgb.T
        dbeta = np.linalg.solve(s, gg - hgb @ (gb / d))
        db = (gb - hgb.T @ dbeta) / d
        beta, b = beta + dbeta, b + db
        if max(np.abs(dbeta).max(), np.abs(db).max() if n_cams else 0.0) < 1e-6:
            break
    return beta, b


def _em(
    X: np.ndarray,
    cam: np.ndarray,
    n_cams: int,
    edges: np.ndarray,
    same: np.ndarray,
    chance: np.ndarray,
    params: AccuracyParams,
) -> tuple[np.ndarray, np.ndarray]:
    """(prior ``pi_r`` of every read, posterior of every read: the prior where it has no partner).

    ``chance[e]``: probability that link ``e`` joins two different vehicles whose texts happen to
    be similar (then it says nothing about either read)."""
    n = len(cam)
    linked = np.zeros(n, bool)
    if len(edges):
        linked[edges[:, 0]] = True
    pi = np.full(n, 0.8)
    post = pi.copy()
    log_co = math.log(params.coincide)
    log_rep = math.log(max(params.repeat_coincide, params.coincide))
    agreeing = np.zeros(n, bool)
    if len(edges):
        agreeing[edges[same, 0]] = True
    for _ in range(params.iterations):
        if len(edges):
            src, dst = edges[:, 0], edges[:, 1]
            partner = np.clip(pi[dst], 1e-4, 1 - 1e-4)
            real = 1.0 - chance
            right = np.where(same, np.log(real * partner + 1e-12), np.log(chance + real * (1 - partner)))
            # a wrong read agrees with its first agreeing partner by coincidence (``coincide``) and
            # with each further one because the error is systematic (``repeat_coincide``): errors are
            # not independent across cameras, so many agreeing partners do not make a read certain
            wrong = np.where(same, np.log(real + 1e-12) + log_rep, 0.0)
            p = np.clip(pi, 1e-4, 1 - 1e-4)
            ll = np.log(p) - np.log1p(-p) + np.bincount(src, right - wrong, n)
            ll -= np.where(agreeing, log_co - log_rep, 0.0)
            new = np.where(linked, _sigmoid(ll), pi)
        else:
            new = pi.copy()
        done = float(np.abs(new - post).max()) < 1e-4
        post = new
        if not linked.any():
            break
        beta, b = _fit_logistic(X[linked], cam[linked], n_cams, post[linked], params.camera_ridge)
        pi = _sigmoid(X @ beta + b[cam])
        if done:
            break
    post = np.where(linked, post, pi)
    return pi, post


def estimate_accuracy(
    reads: pa.Table | list[dict[str, Any]],
    cameras: list[dict[str, Any]],
    params: AccuracyParams = AccuracyParams(),
) -> list[dict[str, Any]]:
    """Per-camera accuracy estimates from ``reads`` (camera_id, ts, plate, optional confidence) and
    camera positions (camera_id, lat, lon)."""
    rows = reads.to_pylist() if isinstance(reads, pa.Table) else list(reads)
    pos = {
        c["camera_id"]: (c["lat"], c["lon"])
        for c in cameras
        if c.get("lat") is not None and c.get("lon") is not None
    }
    by_cam: dict[str, list[tuple[float, str, float]]] = {}
    for r in rows:
        if r.get("plate") and r["camera_id"] in pos and r.get("ts") is not None:
            conf = r.get("confidence")
            by_cam.setdefault(r["camera_id"], []).append(
                (r["ts"].timestamp(), r["plate"], float(conf) if conf is not None else math.nan)
            )
    cams = sorted(by_cam)
    data: dict[str, tuple[np.ndarray, list[str]]] = {}
    offset: dict[str, int] = {}
    conf_all: list[float] = []
    cam_all: list[int] = []
    texts: list[str] = []
    for k, c in enumerate(cams):
        items = sorted(by_cam[c])
        data[c] = (np.array([t for t, _, _ in items]), [p for _, p, _ in items])
        offset[c] = len(texts)
        texts += data[c][1]
        conf_all += [x for _, _, x in items]
        cam_all += [k] * len(items)
    idx = {c: i for i, c in enumerate(cams)}
    pairs: list[tuple[int, int, int, int]] = []  # (i, j, links, agree)
    edges: list[tuple[int, int]] = []  # (read, partner) both ways, global read indices
    crowd: list[float] = []  # per edge: reads of the partner's camera in the read's feasible window
    for a in range(len(cams)):
        for b in range(a + 1, len(cams)):
            c, d = cams[a], cams[b]
            dist = _haversine_m(*pos[c], *pos[d])
            if dist > params.radius_m:
                continue
            lo = max(0.0, dist / (params.v_max_kmh / 3.6) - params.slack_s)
            hi = dist / (params.v_min_kmh / 3.6) + params.slack_s
            found = link_reads(data[c][0], data[c][1], data[d][0], data[d][1], lo, hi, params.min_similarity)
            if found:
                k = sum(data[c][1][i] == data[d][1][j] for i, j in found)
                pairs.append((idx[c], idx[d], len(found), k))
                n_c = _window_counts(data[c][0], data[d][0], lo, hi)
                n_d = _window_counts(data[d][0], data[c][0], lo, hi)
                for i, j in found:
                    edges += [(offset[c] + i, offset[d] + j), (offset[d] + j, offset[c] + i)]
                    crowd += [float(n_c[i]), float(n_d[j])]
    links = np.zeros(len(cams))
    agree = np.zeros(len(cams))
    for i, j, n, k in pairs:
        links[[i, j]] += n
        agree[[i, j]] += k
    old = _pairwise_fit(pairs, links, agree)
    cam_arr = np.asarray(cam_all, dtype=np.int64)
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    same = np.array([texts[i] == texts[j] for i, j in e], dtype=bool)
    grid, tail = _chance_tail(texts, cam_arr)
    sims = np.array([similarity(texts[i], texts[j]) for i, j in e[::2]]).repeat(2)
    p_tail = tail[np.clip(np.searchsorted(grid, sims - 1e-9, "left"), 0, len(grid) - 1)]
    chance = np.minimum(1.0, np.asarray(crowd) * p_tail) if len(e) else np.zeros(0)
    X = _features(np.asarray(conf_all, dtype=float))
    _, post = _em(X, cam_arr, len(cams), e, same, chance, params)
    n_reads = np.maximum(np.bincount(cam_arr, None, len(cams)), 1)
    acc = np.bincount(cam_arr, post, len(cams)) / n_reads
    has_partner = np.zeros(len(texts), bool)
    has_partner[e[:, 0]] = True
    share = np.bincount(cam_arr, has_partner, len(cams)) / n_reads
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
                "link_share": float(share[i]),
                "accuracy": float(acc[i]) if ok and np.isfinite(acc[i]) else None,
                "agreement_fit": float(old[i]) if ok and np.isfinite(old[i]) else None,
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
    reads = lh.read("plate_reads", columns=["camera_id", "ts", "plate", "confidence"], filter=expr)
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
