"""Hotlist hygiene: warnings before a plate entry goes live.

- **Collision**: the new pattern and an existing active entry (that the user may see) describe the
  same plate under OCR equivalence (``ABC1234`` vs ``A8C1234``: 8/B are one confusion class), or one
  matches the other within two strong confusions.
- **Too broad**: under OCR equivalence the entry matches more distinct plates seen in the last
  ``watchlist.hygiene_days`` than ``watchlist.hygiene_max_plates`` (a wildcard that alarms all day).
- **Look-alikes**: other plates really seen lately read like the entry (``A8C1234`` seen as well as
  ``ABC1234``): expect false alarms, or the true plate may be the other one.

Matching is the search library's (:mod:`pipelines.search.plate_match`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from lakehouse import Lakehouse
from pipelines.search import plate_match as pm
from pipelines.watchlist.entries import read_entries, visible_to

#: edit budget that stands for "the same plate under OCR equivalence": two strong confusions
OCR_EQUIVALENCE = 2 * pm.STRONG_COST
SHOWN = 5


def collisions(
    lh: Lakehouse, pattern: pm.PlatePattern, *, agency: str | None, exclude: str | None = None
) -> list[dict[str, Any]]:
    """Active plate entries visible to ``agency`` that are OCR-equivalent to ``pattern``: the same
    text up to confusion classes, or one within the other's budget (at least two strong confusions).
    Literal entries are compared all at once (the distance between plain texts is symmetric)."""
    rows = []
    for r in read_entries(lh):
        if r["kind"] != "plate" or r["entry_id"] == exclude or not visible_to(r, agency):
            continue
        try:
            rows.append((r, pm.parse_pattern(r["value"], r.get("fuzzy") or 0)))
        except pm.PatternError:
            continue
    if not rows:
        return []
    own = max(pattern.fuzzy, OCR_EQUIVALENCE)
    canon = pm.canonical(pattern.text)
    hit = [pm.canonical(o.text) == canon for _, o in rows]
    literal = [i for i, (_, o) in enumerate(rows) if not o.has_wildcards]
    if literal:
        budgets = np.asarray([max(rows[i][1].fuzzy, OCR_EQUIVALENCE) for i in literal], dtype=np.float32)
        if pattern.has_wildcards:  # the new pattern must reach the entry's text within its own budget
            d = pm.match_texts(pm.parse_pattern(pattern.text, own), [rows[i][1].text for i in literal])
            ok = np.isfinite(d)
        else:  # either text within the other's budget
            d = pm.match_texts(
                pm.parse_pattern(pattern.text, max(own, float(budgets.max()))),
                [rows[i][1].text for i in literal],
            )
            ok = (d <= own + pm.EPS) | (d <= budgets + pm.EPS)
        for i, good in zip(literal, ok, strict=True):
            hit[i] = hit[i] or bool(good)
    if not pattern.has_wildcards:
        for i, (_, o) in enumerate(rows):
            if o.has_wildcards and not hit[i]:
                p = pm.parse_pattern(o.text, max(o.fuzzy, OCR_EQUIVALENCE))
                hit[i] = bool(np.isfinite(pm.match_texts(p, [pattern.text])[0]))
    return [r for (r, _), h in zip(rows, hit, strict=True) if h]


def seen_plates(lh: Lakehouse, since: dt.datetime) -> dict[str, int]:
    """Distinct best-read plates since ``since`` with their read counts."""
    con = lh.duckdb(["plate_reads"])
    try:
        rows = con.execute(
            "SELECT plate, count(*) FROM plate_reads WHERE date >= ? AND ts >= ? AND plate IS NOT NULL "
            "AND plate <> '' GROUP BY plate",
            [since.date(), since],
        ).fetchall()
    finally:
        con.close()
    return {str(p): int(n) for p, n in rows}


def plate_warnings(
    lh: Lakehouse,
    pattern: pm.PlatePattern,
    *,
    agency: str | None,
    exclude: str | None = None,
    days: int = 30,
    max_plates: int = 3,
    now: dt.datetime | None = None,
) -> list[str]:
    """Human warnings for a plate entry (empty: nothing to say)."""
    now = now or dt.datetime.now(dt.UTC)
    warnings = []
    for r in collisions(lh, pattern, agency=agency, exclude=exclude):
        warnings.append(
            f"collides with entry {r['entry_id']} ({r['value']}, {r.get('agency') or 'no agency'}, "
            f"case {r.get('case_number') or '-'}) under OCR equivalence"
        )
    seen = seen_plates(lh, now - dt.timedelta(days=days))
    if seen:
        texts = sorted(seen)
        broad = pm.parse_pattern(pattern.text, max(pattern.fuzzy, OCR_EQUIVALENCE))
        ok = np.isfinite(pm.match_texts(broad, texts))
        matched = [t for t, m in zip(texts, ok, strict=True) if m]
        if len(matched) > max_plates:
            shown = ", ".join(sorted(matched, key=lambda t: -seen[t])[:SHOWN])
            warnings.append(
                f"matches {len(matched)} distinct plates seen in the last {days} days under OCR equivalence "
                f"(e.g. {shown}): it will alarm often"
            )
        elif not pattern.has_wildcards:
            twins = [t for t in matched if t != pattern.text]
            if twins:
                listed = ", ".join(f"{t} ({seen[t]} reads)" for t in twins[:SHOWN])
                warnings.append(
                    f"other plates seen in the last {days} days read like {pattern.text} under OCR "
                    f"equivalence: {listed}; check which one is meant"
                )
    return warnings
