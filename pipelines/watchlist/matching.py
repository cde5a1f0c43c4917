"""Match plate reads and face sightings against watchlist entries.

Plates use the search library's own matcher (:mod:`pipelines.search.plate_match` over the postings
of :mod:`pipelines.search.plate_postings`): every read's best text AND every candidate is tried, a
hit scores like a search hit (``match_score``). Faces: the L2 distance to the nearest enrolled
descriptor of the entry, at most the entry's ``max_distance``; sightings under the alarm quality
floor never hit, whether they are searchable or not.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
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


class PlateMatcher:
    """The plate entries of one watchlist version, grouped so that a batch is matched against a
    large hotlist at once: exact texts by dictionary lookup; literal OCR-tolerant entries all
    together (the weighted distance between two plain texts is symmetric, so each of the batch's
    few texts is matched, vectorized, against every entry text with the library's prefilters);
    wildcard patterns one by one."""

    def __init__(self, entries: list[Entry]):
        self.entries = [e for e in entries if e.kind == "plate"]
        self.patterns: dict[int, pm.PlatePattern] = {}
        self.exact: dict[str, list[int]] = defaultdict(list)
        self.wild: list[int] = []
        lit: list[int] = []
        for i, e in enumerate(self.entries):
            try:
                p = pm.parse_pattern(e.value, e.fuzzy)
            except pm.PatternError:
                continue
            self.patterns[i] = p
            if p.has_wildcards:
                self.wild.append(i)
            elif p.is_exact:
                self.exact[p.text].append(i)
            else:
                lit.append(i)
        self.lit = np.asarray(lit, dtype=np.int64)
        self.lit_fuzzy = np.asarray([self.patterns[i].fuzzy for i in lit], dtype=np.float32)
        self.max_fuzzy = float(self.lit_fuzzy.max()) if len(lit) else 0.0
        if len(lit):
            self.lit_mat, self.lit_lens = pm.encode([self.patterns[i].text for i in lit])
            self.lit_raw, self.lit_canon = pm.signatures(self.lit_mat)

    def distances(self, texts: list[str]) -> dict[int, dict[int, float]]:
        """entry index -> {text index: weighted distance} for every pair within the entry's budget."""
        out: dict[int, dict[int, float]] = defaultdict(dict)
        for j, t in enumerate(texts):
            for i in self.exact.get(t, ()):
                out[i][j] = 0.0
        if len(self.lit):
            for j, t in enumerate(texts):
                p = pm.parse_pattern(t, self.max_fuzzy)
                keep = np.flatnonzero(pm.prefilter_mask(p, self.lit_raw, self.lit_canon, self.lit_lens))
                if not len(keep):
                    continue
                d = pm.verify(p, self.lit_mat[keep], self.lit_lens[keep])
                ok = d <= self.lit_fuzzy[keep] + pm.EPS
                for k, dd in zip(keep[ok], d[ok], strict=True):
                    out[int(self.lit[k])][j] = float(dd)
        for i in self.wild:
            d = pm.match_texts(self.patterns[i], texts)
            for jj in np.flatnonzero(np.isfinite(d)):
                out[i][int(jj)] = float(d[jj])
        return out

    def hits(self, reads: pa.Table, now: dt.datetime | None = None) -> list[Hit]:
        """Every (entry, read) pair that matches (entries alive at ``now``; all when None), with the
        best-scoring text of the read, scored like a search hit."""
        if not self.entries or reads is None or reads.num_rows == 0:
            return []
        if "candidates" not in reads.column_names:
            reads = reads.append_column(
                "candidates",
                pa.nulls(
                    reads.num_rows, pa.list_(pa.struct([("text", pa.string()), ("score", pa.float32())]))
                ),
            )
        post = explode_reads(reads["plate"], reads["candidates"])
        if not len(post):
            return []
        uniq, inv = np.unique(post.key, return_inverse=True)
        out: list[Hit] = []
        for i, by_text in self.distances([k.decode() for k in uniq]).items():
            e = self.entries[i]
            if now is not None and not e.alive(now):
                continue
            d_uniq = np.full(len(uniq), np.inf, dtype=np.float32)
            d_uniq[list(by_text)] = list(by_text.values())
            d = d_uniq[inv]
            ok = np.isfinite(d)
            rid, dist, best, cscore, key = post.rid[ok], d[ok], post.best[ok], post.score[ok], post.key[ok]
            score = pm.match_score(dist, self.patterns[i].fuzzy, best, cscore)
            rid, score, dist, key = best_per_read(rid, score, dist, key)
            for r, s_, dd, k in zip(rid, score, dist, key, strict=True):
                out.append(Hit(e, int(r), round(float(s_), 4), round(float(dd), 3), k.decode()))
        return out


def plate_hits(entries: list[Entry], reads: pa.Table) -> list[Hit]:
    """Every (entry, read) pair that matches, with the best-scoring text of the read."""
    return PlateMatcher(entries).hits(reads)


def face_hits(
    entries: list[Entry], sightings: pa.Table, quality_min: float, default_max_distance: float
) -> list[Hit]:
    """Every (entry, sighting) pair within the entry's distance, for sightings of alarm quality."""
    faces = [e for e in entries if e.kind == "face" and e.embeddings is not None and len(e.embeddings)]
    if not faces or sightings is None or sightings.num_rows == 0:
        return []
    emb_col = sightings["embedding"].to_pylist()
    quality = (
        sightings["quality"].to_pylist() if "quality" in sightings.column_names else [None] * len(emb_col)
    )
    rows = [
        i
        for i, (v, q) in enumerate(zip(emb_col, quality, strict=True))
        if v and len(v) == 128 and q is not None and q >= quality_min
    ]
    if not rows:
        return []
    mat = np.asarray([emb_col[i] for i in rows], dtype=np.float32)
    out: list[Hit] = []
    for e in faces:
        limit = e.max_distance if e.max_distance is not None else default_max_distance
        enrolled = np.asarray(e.embeddings, dtype=np.float32)
        d = np.linalg.norm(mat[:, None, :] - enrolled[None, :, :], axis=2).min(axis=1)
        for j in np.flatnonzero(d <= limit):
            dist = float(d[j])
            out.append(Hit(e, rows[int(j)], round(1.0 / (1.0 + dist), 4), round(dist, 4)))
    return out
