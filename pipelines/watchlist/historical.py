"""Historical hotlist matching: a new entry run over the past reads and sightings, through the
search library (so it is scoped to the cameras the user may see and audited under the entry's case),
over the time range of the entry's :class:`ReadScope` (the last ``watchlist.historical_days``,
clipped to the case's warrant).

Plates: :func:`pipelines.search.plates.search_plates` (action ``watchlist.historical``). Faces:
:func:`pipelines.search.faces.search_faces` with each enrolled descriptor, keeping the
sightings within the entry's distance (best per sighting).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lakehouse import Lakehouse
from pipelines.governance.scope import ReadScope
from pipelines.watchlist.config import watchlist_settings

LIMIT = 200
FACE_K = 200


def historical_hits(
    lh: Lakehouse, scope: ReadScope, entry: dict[str, Any], *, limit: int = LIMIT
) -> list[dict[str, Any]]:
    """Past hits of ``entry`` (a watchlist row) in the scope's time range, best first; each hit
    carries ``entry_id``."""
    if entry["kind"] == "plate":
        from pipelines.search.plates import PlateQuery, search_plates

        query = PlateQuery(entry["value"], fuzzy=entry.get("fuzzy") or 0, limit=limit)
        res = search_plates(lh, query, scope, action="watchlist.historical")
        hits = [{k: v for k, v in h.items() if k != "crop_jpeg"} for h in res.hits]
    else:
        from pipelines.search.faces import FaceQuery, search_faces

        limit_d = entry.get("max_distance") or watchlist_settings(lh).face_max_distance
        best: dict[str, dict[str, Any]] = {}
        for emb in entry.get("embeddings") or []:
            for h in search_faces(
                lh, FaceQuery(embedding=np.asarray(emb, dtype=np.float32), k=FACE_K), scope
            ).hits:
                if h["distance"] <= limit_d and (
                    h["sighting_id"] not in best or h["distance"] < best[h["sighting_id"]]["distance"]
                ):
                    best[h["sighting_id"]] = h
        hits = sorted(best.values(), key=lambda h: h["distance"])[:limit]
    for h in hits:
        h["entry_id"] = entry["entry_id"]
    return hits
