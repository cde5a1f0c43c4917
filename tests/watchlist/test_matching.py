"""The grouped plate matcher gives exactly the hits of matching each entry on its own with the search
library's matcher, and stays fast on a large hotlist."""

from __future__ import annotations

import time

import numpy as np
from watch_testkit import as_table

from pipelines.search import plate_match as pm
from pipelines.search.plate_postings import best_per_read, explode_reads
from pipelines.watchlist.entries import Entry
from pipelines.watchlist.matching import PlateMatcher

ALPHA = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789O8B5S2Z1I"


def _reference(entries: list[Entry], reads) -> set[tuple[str, int, float, float]]:
    """One entry at a time: parse its pattern, match every posting text, keep the best per read."""
    post = explode_reads(reads["plate"], reads["candidates"])
    texts = [k.decode() for k in post.key]
    out = set()
    for e in entries:
        p = pm.parse_pattern(e.value, e.fuzzy)
        d = pm.match_texts(p, texts)
        ok = np.isfinite(d)
        if not ok.any():
            continue
        score = pm.match_score(d[ok], p.fuzzy, post.best[ok], post.score[ok])
        rid, score, dist = best_per_read(post.rid[ok], score, d[ok])
        out |= {
            (e.entry_id, int(r), round(float(s), 4), round(float(x), 3))
            for r, s, x in zip(rid, score, dist, strict=True)
        }
    return out


def _plate(rng: np.random.Generator, n: int = 7) -> str:
    return "".join(rng.choice(list(ALPHA), n))


def _mutate(rng: np.random.Generator, text: str) -> str:
    """An OCR-like misread: a confusion, a random substitution, or a dropped character."""
    i = int(rng.integers(len(text)))
    kind = rng.integers(3)
    if kind == 0:
        swaps = {
            "0": "O",
            "O": "0",
            "8": "B",
            "B": "8",
            "5": "S",
            "S": "5",
            "1": "I",
            "I": "1",
            "2": "Z",
            "Z": "2",
        }
        return text[:i] + swaps.get(text[i], "8") + text[i + 1 :]
    if kind == 1:
        return text[:i] + str(rng.choice(list(ALPHA))) + text[i + 1 :]
    return text[:i] + text[i + 1 :]


def test_grouped_matcher_equals_matching_each_entry_alone():
    rng = np.random.default_rng(11)
    base = [_plate(rng) for _ in range(60)]
    entries = []
    for i, b in enumerate(base):
        fuzzy = [0.0, 0.4, 0.8, 1.0, 1.4][i % 5]
        value = b if i % 7 else b[:3] + "?" + b[4:-1] + "*"  # every 7th a wildcard pattern
        entries.append(Entry(entry_id=f"e{i}", kind="plate", value=value, agency="police911", fuzzy=fuzzy))
    rows = []
    for j in range(200):
        truth = base[int(rng.integers(len(base)))] if j % 3 else _plate(rng)
        best = _mutate(rng, truth) if j % 2 else truth
        cands = [{"text": best, "score": 0.6}, {"text": _mutate(rng, truth), "score": 0.3}]
        rows.append(
            {
                "read_id": f"r{j}",
                "camera_id": "MUN-1",
                "ts": None,
                "plate": best,
                "candidates": cands,
                "model_version": "t",
            }
        )
    import pyarrow as pa

    reads = pa.Table.from_pylist(rows)
    got = {(h.entry.entry_id, h.row, h.score, h.distance) for h in PlateMatcher(entries).hits(reads)}
    want = _reference(entries, reads)
    assert got == want
    assert len(want) > 100  # exact, OCR-tolerant and wildcard entries all hit


def test_a_large_hotlist_matches_a_micro_batch_quickly():
    import datetime as dt

    from watch_testkit import read_row

    rng = np.random.default_rng(5)
    plates = sorted({_plate(rng) for _ in range(50_000)})
    entries = [
        Entry(entry_id=f"h{i}", kind="plate", value=p, agency="police911", fuzzy=0.8 if i % 2 else 0.0)
        for i, p in enumerate(plates)
    ]
    t0 = time.perf_counter()
    matcher = PlateMatcher(entries)  # once per watchlist version
    build_s = time.perf_counter() - t0
    now = dt.datetime.now(dt.UTC)
    wanted = [plates[1], plates[2]]  # an OCR-tolerant entry and an exact one
    batch = as_table(
        [read_row(f"b{i}", _plate(rng), now) for i in range(30)]
        + [read_row("hit1", _mutate(rng, wanted[0]), now), read_row("hit2", wanted[1], now)]
    )
    t0 = time.perf_counter()
    hits = matcher.hits(batch, now)
    match_s = time.perf_counter() - t0
    assert {("h2", "hit2")} <= {(h.entry.entry_id, batch["read_id"][h.row].as_py()) for h in hits}
    assert match_s < 1.0, f"{match_s:.2f} s to match 32 reads against 50,000 entries"
    assert build_s < 20.0, build_s
