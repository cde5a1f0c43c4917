"""Reads -> postings: one (read, text) pair per distinct text a read may be (its best read and every
top-N candidate), with whether that text is the best read and its OCR score.

Both search strategies score the same postings the same way, so the index and the scan agree
row for row. Texts are normalised with :func:`pipelines.plates.text.normalize_arrow` (the vectorised
plate normaliser), so a posting key is exactly what the search pattern parser makes of the text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.plates.text import normalize_arrow as normalize_array
from pipelines.search import plate_match as pm

#: texts longer than this are not plates (they are not indexed; the scan still sees them)
MAX_KEY_LEN = 16


@dataclass
class Postings:
    """Parallel arrays, sorted by (key, rid) and unique on (rid, key)."""

    rid: np.ndarray  # int64 row number in the reads it came from
    key: np.ndarray  # numpy S array
    best: np.ndarray  # bool: the key is the read's best read
    score: np.ndarray  # float32: highest candidate score of that text (NaN when unknown)

    def __len__(self) -> int:
        return len(self.rid)


def explode_reads(plate: pa.Array | pa.ChunkedArray, candidates: pa.Array | pa.ChunkedArray) -> Postings:
    """Postings of reads given their ``plate`` and ``candidates`` columns (row i = rid i)."""
    plate = _single(plate)
    candidates = _single(candidates)
    n = len(plate)
    best_text = pc.fill_null(normalize_array(plate), "")
    parents = pc.list_parent_indices(candidates).to_numpy(zero_copy_only=False).astype(np.int64)
    flat = pc.list_flatten(candidates)
    if len(flat):
        c_text = pc.fill_null(normalize_array(flat.field("text")), "")
        c_score = pc.fill_null(flat.field("score"), np.nan).to_numpy(zero_copy_only=False).astype(np.float32)
    else:
        c_text = pa.array([], pa.string())
        c_score = np.zeros(0, np.float32)
    text = pa.concat_arrays([best_text, c_text.cast(best_text.type)])
    length = pc.utf8_length(text)
    ok_arrow = pc.and_(pc.greater(length, 0), pc.less_equal(length, MAX_KEY_LEN))
    ok = ok_arrow.to_numpy(zero_copy_only=False)
    if not ok.any():
        return Postings(np.zeros(0, np.int64), np.zeros(0, "S1"), np.zeros(0, bool), np.zeros(0, np.float32))
    width = int(pc.max(pc.filter(length, ok_arrow)).as_py())
    keep = np.flatnonzero(ok)
    rid = np.concatenate([np.arange(n, dtype=np.int64), parents])[keep]
    score = np.concatenate([np.full(n, np.nan, dtype=np.float32), c_score])[keep]
    is_plate_row = keep < n
    key = to_bytes(pc.filter(text, ok_arrow), width)
    best_ok = ok[:n]
    best_key = to_bytes(pc.if_else(pa.array(best_ok), best_text, ""), width)  # "" never equals a key
    del text, flat, c_text
    is_best = is_plate_row | (key == best_key[rid])
    order = np.lexsort((rid, key))
    rid, key, is_best, score = rid[order], key[order], is_best[order], score[order]
    new = np.ones(len(rid), bool)
    new[1:] = (rid[1:] != rid[:-1]) | (key[1:] != key[:-1])
    starts = np.flatnonzero(new)
    score_f = np.where(np.isnan(score), -1.0, score).astype(np.float32)
    g_score = np.maximum.reduceat(score_f, starts)
    g_best = np.maximum.reduceat(is_best.astype(np.uint8), starts).astype(bool)
    g_score = np.where(g_score < 0, np.nan, g_score).astype(np.float32)
    return Postings(rid=rid[starts], key=key[starts], best=g_best, score=g_score)


def _single(a: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(a, pa.ChunkedArray):
        return a.combine_chunks() if a.num_chunks != 1 else a.chunk(0)
    return a


def to_bytes(text: pa.Array, width: int) -> np.ndarray:
    """Arrow string array (ASCII, every text at most ``width`` long) -> numpy ``S{width}`` array,
    without going through Python objects (pad with NUL, view the fixed-size binary buffer)."""
    width = max(1, width)
    text = _single(text)
    if len(text) == 0:
        return np.zeros(0, f"S{width}")
    padded = pc.utf8_rpad(pc.fill_null(text, ""), width=width, padding="\x00").cast(pa.binary(width))
    buf = padded.buffers()[1]
    return np.frombuffer(buf, dtype=f"S{width}", count=len(padded), offset=padded.offset * width).copy()


def score_postings(p: pm.PlatePattern, dist: np.ndarray, best: np.ndarray, score: np.ndarray) -> np.ndarray:
    """match_score of postings with known distances (see :func:`plate_match.match_score`)."""
    return pm.match_score(dist, p.fuzzy, best, score)


def best_per_read(rid: np.ndarray, score: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """Keep each read's highest-scoring posting: returns (rid, score, *others) unique on rid."""
    if len(rid) == 0:
        return (rid, score, *others)
    order = np.lexsort((-score, rid))
    rid_s = rid[order]
    first = np.ones(len(rid_s), bool)
    first[1:] = rid_s[1:] != rid_s[:-1]
    sel = order[first]
    return (rid[sel], score[sel], *(o[sel] for o in others))
