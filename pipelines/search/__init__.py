"""Forensic search, one library for the CLI, the app and notebooks (DESIGN.md §7).

- :func:`search_plates` (:class:`PlateQuery`) — exact / wildcard / OCR-confusion fuzzy plate search
  over every read's candidates, filtered by time, cameras, :class:`Area` and agency scope
  (:mod:`.plates`);
- :func:`plate_route` (:class:`RouteQuery`) — a vehicle's sightings in order with travel times,
  speeds and impossible hops (:mod:`.route`);
- :func:`search_faces` (:class:`FaceQuery`: a probe photo or a known descriptor) — FAISS top-k over
  face sightings (:mod:`.faces`), with :class:`FaceIndex` kept under ``HOME/index/faces``;
- :class:`PlateIndex` — the plate text index under ``HOME/index/plates``.

Every reader takes the typed query plus one :class:`ReadScope` (who reads — a
:class:`SearchContext` with a case number and purpose —, the time range, the version policy and the
warrant) and appends an ``audit_log`` row (:mod:`pipelines.governance`).
"""

from pipelines.governance.audit import MissingCaseError, MissingPurposeError
from pipelines.governance.context import SearchContext, context_from_env
from pipelines.governance.scope import ReadScope
from pipelines.search.area import Area, haversine_m
from pipelines.search.face_index import FaceIndex
from pipelines.search.faces import FaceQuery, FaceSearchResult, search_faces
from pipelines.search.filters import RowFilter, resolve_filter
from pipelines.search.plate_index import PlateIndex
from pipelines.search.plate_match import PatternError, distance, normalize_plate, parse_pattern
from pipelines.search.plates import DEFAULT_LIMIT, PlateQuery, PlateSearchResult, search_plates
from pipelines.search.route import DEFAULT_MAX_SPEED_KMH, RouteQuery, build_route, plate_route

__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_MAX_SPEED_KMH",
    "Area",
    "FaceIndex",
    "FaceQuery",
    "FaceSearchResult",
    "MissingCaseError",
    "MissingPurposeError",
    "PatternError",
    "PlateIndex",
    "PlateQuery",
    "PlateSearchResult",
    "ReadScope",
    "RouteQuery",
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
    "search_faces",
    "search_plates",
]
