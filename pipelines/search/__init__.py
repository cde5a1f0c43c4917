"""Forensic search, one library for the CLI, the app and notebooks (DESIGN.md §7).

- :func:`search_plates` — exact / wildcard / OCR-confusion fuzzy plate search over every read's
  candidates, filtered by time, cameras, :class:`Area` and agency scope (:mod:`.plates`);
- :func:`plate_route` — a vehicle's sightings in order with travel times, speeds and impossible
  hops (:mod:`.route`);
- :func:`search_faces` / :func:`search_faces_by_embedding` — FAISS top-k over face sightings
  (:mod:`.faces`), with :class:`FaceIndex` kept under ``HOME/index/faces``;
- :class:`PlateIndex` — the plate text index under ``HOME/index/plates``.

Every search needs a :class:`SearchContext` with a case number and purpose and appends an
``audit_log`` row (:mod:`pipelines.governance`).
"""

from pipelines.governance.audit import MissingCaseError, MissingPurposeError
from pipelines.governance.context import SearchContext, context_from_env
from pipelines.search.area import Area, haversine_m
from pipelines.search.face_index import FaceIndex
from pipelines.search.faces import FaceSearchResult, run_face_search, search_faces, search_faces_by_embedding
from pipelines.search.filters import RowFilter, resolve_filter, to_utc
from pipelines.search.plate_index import PlateIndex
from pipelines.search.plate_match import PatternError, distance, normalize_plate, parse_pattern
from pipelines.search.plates import DEFAULT_LIMIT, PlateSearchResult, run_plate_search, search_plates
from pipelines.search.route import DEFAULT_MAX_SPEED_KMH, build_route, plate_route

__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_MAX_SPEED_KMH",
    "Area",
    "FaceIndex",
    "FaceSearchResult",
    "MissingCaseError",
    "MissingPurposeError",
    "PatternError",
    "PlateIndex",
    "PlateSearchResult",
    "RowFilter",
    "SearchContext",
    "build_route",
    "context_from_env",
    "distance",
    "haversine_m",
    "normalize_plate",
    "parse_pattern",
    "plate_route",
    "resolve_filter",
    "run_face_search",
    "run_plate_search",
    "search_faces",
    "search_faces_by_embedding",
    "search_plates",
    "to_utc",
]
