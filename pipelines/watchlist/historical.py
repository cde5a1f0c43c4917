"""Historical hotlist matching: a new entry run over the past reads and sightings, through the
search library (so it is scoped to the cameras the user may see and audited under the entry's case).

Plates: :func:`pipelines.search.plates.run_plate_search` (action ``watchlist.historical``). Faces:
:func:`pipelines.search.faces.search_faces_by_embedding` for each enrolled descriptor, keeping the
sightings within the entry's distance (best per sighting).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from lakehouse import Lakehouse
from pipelines.governance.context import SearchContext
from pipelines.watchlist.config import watchlist_settings

LIMIT = 200
FACE_K = 200


def historical_hits(lh: Lakehouse, ctx: SearchContext, entry: dict[str, Any], *, now: dt.datetime | None = None,
                    days: int | None = None, limit: int = LIMIT) -> list[dict[str, Any]]:
    """Past hits of ``entry`` (a watchlist row) over the last ``days`` (default
    ``watchlist.historical_days``), best first; each hit carries ``entry_id``."""
    cfg = watchlist_settings(lh)
    now = now or dt.datetime.now(dt.UTC)
    days = cfg.historical_days if days is None else days
    if days <= 0:
        return []
    start = now - dt.timedelta(days=days)
    if entry["kind"] == "plate":
        from pipelines.search.plates import run_plate_search

        res = run_plate_search(lh, entry["value"], ctx, fuzzy=entry.get("fuzzy") or 0, start=start, end=now,
                               limit=limit, action="watchlist.historical")
        hits = [{k: v for k, v in h.items() if k != "crop_jpeg"} for h in res.hits]
    else:
        from pipelines.search.faces import search_faces_by_embedding

        limit_d = entry.get("max_distance") or cfg.face_max_distance
        best: dict[str, dict[str, Any]] = {}
        for emb in entry.get("embeddings") or []:
            for h in search_faces_by_embedding(lh, emb, ctx, k=FACE_K, start=start, end=now):
                if h["distance"] <= limit_d and (h["sighting_id"] not in best
                                                 or h["distance"] < best[h["sighting_id"]]["distance"]):
                    best[h["sighting_id"]] = h
        hits = sorted(best.values(), key=lambda h: h["distance"])[:limit]
    for h in hits:
        h["entry_id"] = entry["entry_id"]
    return hits
