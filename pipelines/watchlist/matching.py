"""Match plate reads and face sightings against watchlist entries.

Plates use the search library's own matcher (:mod:`pipelines.search.plate_match` over the postings
of :mod:`pipelines.search.plate_postings`): every read's best text AND every candidate is tried, a
hit scores like a search hit (``match_score``). Faces: the L2 distance to the nearest enrolled
descriptor of the entry, at most the entry's ``max_distance``; sightings under the alarm quality
floor never hit, whether they are searchable or not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pipelines.search import plate_match as pm
from pipelines.search.plate_postings import best_per_read, explode_reads
from pipelines.watchlist.entries import Entry


@dataclass(frozen=True)
class Hit:
    entry: Entry
    row: int  # row number in the reads / sightings table
    score: float
    distance: float
    matched_text: str | None = None


def plate_hits(entries: list[Entry], reads: pa.Table) -> list[Hit]:
    """Every (entry, read) pair that matches, with the best-scoring text of the read."""
    plates = [e for e in entries if e.kind == "plate"]
    if not plates or reads is None or reads.num_rows == 0:
        return []
    if "candidates" not in reads.column_names:
        reads = reads.append_column("candidates", pa.nulls(reads.num_rows, pa.list_(
            pa.struct([("text", pa.string()), ("score", pa.float32())]))))
    post = explode_reads(reads["plate"], reads["candidates"])
    if not len(post):
        return []
    uniq, inv = np.unique(post.key, return_inverse=True)
    out: list[Hit] = []
    for e in plates:
        p = pm.parse_pattern(e.value, e.fuzzy)
        d = pm.match_texts(p, uniq)[inv]
        ok = np.isfinite(d)
        if not ok.any():
            continue
        rid, dist, best, cscore, key = post.rid[ok], d[ok], post.best[ok], post.score[ok], post.key[ok]
        score = pm.match_score(dist, p.fuzzy, best, cscore)
        rid, score, dist, key = best_per_read(rid, score, dist, key)
        for r, s, dd, k in zip(rid, score, dist, key, strict=True):
            out.append(Hit(e, int(r), round(float(s), 4), round(float(dd), 3), k.decode()))
    return out


def face_hits(entries: list[Entry], sightings: pa.Table, quality_min: float, default_max_distance: float) -> list[Hit]:
    """Every (entry, sighting) pair within the entry's distance, for sightings of alarm quality."""
    faces = [e for e in entries if e.kind == "face" and e.embeddings is not None and len(e.embeddings)]
    if not faces or sightings is None or sightings.num_rows == 0:
        return []
    emb_col = sightings["embedding"].to_pylist()
    quality = sightings["quality"].to_pylist() if "quality" in sightings.column_names else [None] * len(emb_col)
    rows = [i for i, (v, q) in enumerate(zip(emb_col, quality, strict=True))
            if v and len(v) == 128 and q is not None and q >= quality_min]
    if not rows:
        return []
    mat = np.asarray([emb_col[i] for i in rows], dtype=np.float32)
    out: list[Hit] = []
    for e in faces:
        limit = e.max_distance if e.max_distance is not None else default_max_distance
        d = np.linalg.norm(mat[:, None, :] - e.embeddings[None, :, :], axis=2).min(axis=1)
        for j in np.flatnonzero(d <= limit):
            dist = float(d[j])
            out.append(Hit(e, rows[int(j)], round(1.0 / (1.0 + dist), 4), round(dist, 4)))
    return out

