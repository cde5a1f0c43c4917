"""Face search: probe photo -> best face (``FaceAnalyzer.probe``) -> 128-d embedding -> FAISS top-k
-> sightings, with the same time / camera / area / agency filters as plate searches, audited.

Hits (best first): ``sighting_id, score, distance, ts, date, camera_id, agency, source_uri,
offset_s, quality, video_id, model_version``; ``score = 1 / (1 + L2 distance)`` (see
:mod:`pipelines.search.face_index`). Every face is searchable whatever its quality (a blurred
30-px face of a person seen once may be the only evidence): ``quality`` is shown on each hit and
``min_quality`` filters (None: every face).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lakehouse import Lakehouse
from pipelines.governance.audit import audit, require_case
from pipelines.governance.context import SearchContext
from pipelines.search.area import Area
from pipelines.search.face_index import FaceIndex
from pipelines.search.filters import resolve_filter

log = logging.getLogger(__name__)

DEFAULT_K = 20
_ANALYZER: Any = None


def default_analyzer() -> Any:
    """One FaceAnalyzer per process (models load once)."""
    global _ANALYZER
    if _ANALYZER is None:
        from pipelines.faces import FaceAnalyzer

        _ANALYZER = FaceAnalyzer()
    return _ANALYZER


@dataclass
class FaceSearchResult:
    hits: list[dict[str, Any]]
    face_found: bool
    probe_quality: float | None
    probe_bbox: tuple[float, float, float, float] | None
    index: dict[str, Any]
    seconds: float
    parameters: dict[str, Any] = field(default_factory=dict)


def search_faces(
    lh: Lakehouse,
    image: np.ndarray | str | Path,
    ctx: SearchContext,
    *,
    k: int = DEFAULT_K,
    start: Any = None,
    end: Any = None,
    cameras: Iterable[str] | None = None,
    area: Area | None = None,
    analyzer: Any = None,
    index: FaceIndex | None = None,
    min_quality: float | None = None,
) -> list[dict[str, Any]]:
    """Sightings most similar to the face in ``image`` (RGB uint8 array or a path). No face in the
    probe -> [] (still audited, with ``face_found: false``)."""
    return run_face_search(
        lh, image, ctx, k=k, start=start, end=end, cameras=cameras, area=area, analyzer=analyzer, index=index,
        min_quality=min_quality,
    ).hits


def run_face_search(
    lh: Lakehouse,
    image: np.ndarray | str | Path,
    ctx: SearchContext,
    *,
    k: int = DEFAULT_K,
    start: Any = None,
    end: Any = None,
    cameras: Iterable[str] | None = None,
    area: Area | None = None,
    analyzer: Any = None,
    index: FaceIndex | None = None,
    min_quality: float | None = None,
) -> FaceSearchResult:
    require_case(ctx)
    t0 = time.perf_counter()
    probe_name = None
    if not isinstance(image, np.ndarray):
        from pipelines.faces import load_image_rgb

        probe_name = str(image)
        image = load_image_rgb(image)
    det = (analyzer or default_analyzer()).probe(image)
    if det is None:
        params = _params(k, start, end, cameras, area, probe_name, face_found=False)
        audit(lh, ctx, "faces.search", params, 0)
        return FaceSearchResult([], False, None, None, {}, time.perf_counter() - t0, params)
    res = _search_embedding(lh, det.embedding, ctx, k=k, start=start, end=end, cameras=cameras, area=area,
                            index=index, probe_name=probe_name, probe_quality=float(det.quality),
                            min_quality=min_quality)
    res.face_found = True
    res.probe_quality = float(det.quality)
    res.probe_bbox = tuple(float(x) for x in det.bbox)
    res.seconds = time.perf_counter() - t0
    return res


def search_faces_by_embedding(
    lh: Lakehouse,
    embedding: np.ndarray,
    ctx: SearchContext,
    *,
    k: int = DEFAULT_K,
    start: Any = None,
    end: Any = None,
    cameras: Iterable[str] | None = None,
    area: Area | None = None,
    index: FaceIndex | None = None,
    min_quality: float | None = None,
) -> list[dict[str, Any]]:
    """Search with a known 128-d descriptor (a gallery face, a watchlist entry); audited."""
    require_case(ctx)
    return _search_embedding(lh, embedding, ctx, k=k, start=start, end=end, cameras=cameras, area=area,
                             index=index, min_quality=min_quality).hits


def _search_embedding(lh, embedding, ctx, *, k, start, end, cameras, area, index, probe_name=None,
                      probe_quality=None, min_quality=None) -> FaceSearchResult:
    t0 = time.perf_counter()
    cameras = None if cameras is None else [str(c) for c in cameras]
    flt = resolve_filter(lh, ctx, start=start, end=end, cameras=cameras, area=area)
    index = index or FaceIndex(lh)
    state = index.update()
    hits = [] if flt.nothing else index.search(np.asarray(embedding, dtype=np.float32), int(k), flt,
                                                min_quality=min_quality)
    params = _params(k, flt.start, flt.end, cameras, area, probe_name, face_found=True)
    params["probe_quality"] = probe_quality
    params["min_quality"] = min_quality
    params["index_kind"] = state.get("kind") or index.status().get("kind")
    audit(lh, ctx, "faces.search", params, len(hits))
    return FaceSearchResult(hits, True, probe_quality, None, index.status(), time.perf_counter() - t0, params)


def _params(k, start, end, cameras, area, probe_name, *, face_found: bool) -> dict[str, Any]:
    return {
        "k": int(k),
        "from": start,
        "to": end,
        "cameras": cameras,
        "area": area.as_dict() if area is not None else None,
        "probe": probe_name,
        "face_found": face_found,
    }
