"""Face search: probe photo -> best face (``FaceAnalyzer.probe``) -> 128-d embedding -> FAISS top-k
-> sightings, with the same time / camera / area / agency filters as plate searches, audited.

Hits (best first): ``sighting_id, score, distance, ts, date, camera_id, agency, source_uri,
offset_s, quality, video_id, model_version``; ``score = 1 / (1 + L2 distance)`` (see
:mod:`pipelines.search.face_index`). Every face is searchable whatever its quality (a blurred
30-px face of a person seen once may be the only evidence): ``quality`` is shown on each hit and
``FaceQuery.min_quality`` filters (None: every face).

One public call: :func:`search_faces` (a :class:`FaceQuery` — probe photo or known descriptor — plus
the reader's :class:`~pipelines.governance.scope.ReadScope`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lakehouse import Lakehouse
from pipelines.governance.audit import audit, require_case
from pipelines.governance.scope import ReadScope
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


@dataclass(frozen=True, eq=False)
class FaceQuery:
    """What a face search looks for: a probe ``image`` (RGB uint8 array or a path; its best face is
    searched) or a known 128-d ``embedding`` (a gallery face, a watchlist entry) — exactly one —
    with ``k`` hits and the query's own ``cameras`` / ``area`` (None: any the reader may see)."""

    image: np.ndarray | str | Path | None = None
    embedding: np.ndarray | None = None
    k: int = DEFAULT_K
    cameras: tuple[str, ...] | None = None
    area: Area | None = None
    #: the probe photo file's bytes when ``image`` is an already decoded array (the app's upload):
    #: its SHA-256 goes into the audit row and the photo is kept with the case
    photo: bytes | None = None
    photo_suffix: str = ".jpg"
    #: only faces of at least this quality (0..1); None: every face, small and blurred ones too
    min_quality: float | None = None

    def __post_init__(self) -> None:
        if (self.image is None) == (self.embedding is None):
            raise ValueError("a face search needs exactly one of a probe image or an embedding")
        if int(self.k) < 1:
            raise ValueError("k must be at least 1")
        if self.min_quality is not None and not 0.0 <= float(self.min_quality) <= 1.0:
            raise ValueError("min_quality must be between 0 and 1")
        if self.cameras is not None:
            object.__setattr__(self, "cameras", tuple(str(c) for c in self.cameras))


@dataclass
class FaceSearchResult:
    hits: list[dict[str, Any]]
    face_found: bool
    probe_quality: float | None
    probe_bbox: tuple[float, ...] | None
    index: dict[str, Any]
    seconds: float
    parameters: dict[str, Any] = field(default_factory=dict)


def search_faces(
    lh: Lakehouse,
    query: FaceQuery,
    scope: ReadScope,
    *,
    analyzer: Any = None,
    index: FaceIndex | None = None,
) -> FaceSearchResult:
    """Sightings most similar to the query's face, best first. No face in the probe image -> no
    hits, ``face_found=False`` (still audited). Needs a case number and purpose; audited."""
    require_case(scope.ctx, lh, "faces.search")
    t0 = time.perf_counter()
    if query.embedding is not None:
        return _search_embedding(lh, query.embedding, query, scope, index=index)
    image = query.image
    probe_name = None
    assert image is not None  # FaceQuery holds an image or an embedding
    photo, suffix = query.photo, query.photo_suffix
    if not isinstance(image, np.ndarray):
        from pipelines.faces import load_image_rgb

        probe_name = str(image)
        image = load_image_rgb(image)  # a clear error for a missing, corrupt or oversized file
        photo, suffix = Path(probe_name).read_bytes(), Path(probe_name).suffix or ".jpg"
    probe_sha = keep_probe_photo(lh, scope, image, photo, suffix)
    versions = scope.begin(
        lh,
        "faces.search",
        "faces",
        probe_sha256=probe_sha,
        cameras=None if query.cameras is None else list(query.cameras),
        area=query.area,
    )
    det = (analyzer or default_analyzer()).probe(image)
    if det is None:
        params = _params(query, scope.time.start, scope.time.end, probe_name, face_found=False)
        audit(lh, scope, "faces.search", params, 0, result_ids=[], probe_sha256=probe_sha, versions=versions)
        return FaceSearchResult([], False, None, None, {}, time.perf_counter() - t0, params)
    res = _search_embedding(
        lh,
        det.embedding,
        query,
        scope,
        index=index,
        probe_name=probe_name,
        probe_quality=float(det.quality),
        probe_sha256=probe_sha,
        versions=versions,
    )
    res.probe_bbox = tuple(float(x) for x in det.bbox)
    res.seconds = time.perf_counter() - t0
    return res


def _search_embedding(
    lh: Lakehouse,
    embedding: np.ndarray,
    query: FaceQuery,
    scope: ReadScope,
    *,
    index: FaceIndex | None,
    probe_name: str | None = None,
    probe_quality: float | None = None,
    probe_sha256: str | None = None,
    versions: dict[str, int] | None = None,
) -> FaceSearchResult:
    t0 = time.perf_counter()
    cameras = None if query.cameras is None else list(query.cameras)
    if versions is None:
        versions = scope.begin(lh, "faces.search", "faces", cameras=cameras, area=query.area)
    flt = resolve_filter(lh, scope, data_type="faces", cameras=cameras, area=query.area)
    index = index or FaceIndex(lh)
    state = index.update()
    hits = (
        []
        if flt.nothing
        else index.search(
            np.asarray(embedding, dtype=np.float32), int(query.k), flt, min_quality=query.min_quality
        )
    )
    params = _params(query, flt.start, flt.end, probe_name, face_found=True)
    params["probe_quality"] = probe_quality
    params["index_kind"] = state.get("kind") or index.status().get("kind")
    audit(
        lh,
        scope,
        "faces.search",
        params,
        len(hits),
        result_ids=[h["sighting_id"] for h in hits],
        probe_sha256=probe_sha256,
        versions=versions,
    )
    return FaceSearchResult(hits, True, probe_quality, None, index.status(), time.perf_counter() - t0, params)


def keep_probe_photo(
    lh: Lakehouse, scope: ReadScope, image: np.ndarray, photo: bytes | None, suffix: str = ".jpg"
) -> str:
    """Keep the probe photo with the case (owner-only, under the home) and return its SHA-256, which
    the audit row carries instead of any biometric data. A probe given only as an array is kept as
    PNG."""
    from pipelines.governance.cases import keep_probe

    if photo is None:
        import io

        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG")
        photo, suffix = buf.getvalue(), ".png"
    return keep_probe(lh, scope.case_number, photo, suffix=suffix)


def _params(
    query: FaceQuery, start: Any, end: Any, probe_name: str | None, *, face_found: bool
) -> dict[str, Any]:
    return {
        "k": int(query.k),
        "from": start,
        "to": end,
        "cameras": None if query.cameras is None else list(query.cameras),
        "area": query.area.as_dict() if query.area is not None else None,
        "probe": probe_name,
        "face_found": face_found,
        "min_quality": query.min_quality,
    }
