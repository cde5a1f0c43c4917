"""Small real Delta tables for search tests: a camera registry of two agencies and plate reads."""

from __future__ import annotations

import datetime as dt

import pytest

T0 = dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.UTC)

CAMERAS = [
    # municipal camera shared with the police
    {
        "camera_id": "m1",
        "agency": "municipal",
        "name": "Av. Mariscal Lopez",
        "lat": -25.2800,
        "lon": -57.6300,
        "shared_with": ["police911"],
    },
    {
        "camera_id": "m2",
        "agency": "municipal",
        "name": "Av. Espana",
        "lat": -25.2900,
        "lon": -57.6400,
        "shared_with": [],
    },
    {
        "camera_id": "p1",
        "agency": "police911",
        "name": "Comisaria 3",
        "lat": -25.3000,
        "lon": -57.6000,
        "shared_with": [],
    },
    {
        "camera_id": "far",
        "agency": "municipal",
        "name": "Ruta 2 km 40",
        "lat": -25.5000,
        "lon": -57.2000,
        "shared_with": ["police911"],
    },
]


def read(
    rid: str,
    plate: str,
    minutes: float,
    cam: str,
    cands: list[tuple[str, float]] | None = None,
    agency: str | None = None,
    conf: float = 0.9,
) -> dict:
    cands = cands if cands is not None else [(plate, conf)]
    agency = agency or next((c["agency"] for c in CAMERAS if c["camera_id"] == cam), None)
    return {
        "read_id": rid,
        "camera_id": cam,
        "ts": T0 + dt.timedelta(minutes=minutes),
        "plate": plate,
        "confidence": conf,
        "candidates": [{"text": t, "score": s} for t, s in cands],
        "source_uri": f"/videos/{cam}.mp4",
        "offset_s": float(minutes * 60 % 600),
        "model_version": "test-v1",
        "agency": agency,
    }


READS = [
    read("r1", "ABC1Z3", 10, "m1", [("ABC1Z3", 0.6), ("ABC123", 0.3)]),  # true plate only a candidate
    read("r2", "ABC123", 20, "m2"),
    read("r3", "ABC123", 60 * 24 + 5, "p1"),  # next day
    read("r4", "A8C123", 30, "far"),  # one OCR confusion
    read("r5", "XYZ987", 40, "m1"),
    read("r6", "ABC123", 50, "cam-unregistered", agency="police911"),
    read("r7", "ABD123", 60 * 48, "m2"),  # two days later, one arbitrary edit
]


@pytest.fixture
def city(lakehouse):
    lakehouse.append("cameras", CAMERAS)
    lakehouse.append("plate_reads", READS)
    return lakehouse


@pytest.fixture
def ctx():
    from pipelines.governance import SearchContext

    return SearchContext(user="ana", role="admin", agency=None, case_number="C-2024-17", purpose="robbery")


# The library's one public call per reader takes a typed query plus a ReadScope; these helpers keep
# the tests short (time as keyword arguments, the query's fields as the rest).
def scope_of(ctx, start=None, end=None, tz=None):
    from pipelines.governance.scope import ReadScope

    return ReadScope.of(ctx, start=start, end=end, tz=tz)


def plate_result(lh, pattern, ctx, *, start=None, end=None, **query):
    from pipelines.search import PlateQuery, search_plates

    return search_plates(lh, PlateQuery(pattern, **query), scope_of(ctx, start, end))


def plate_hits(lh, pattern, ctx, **kw):
    return plate_result(lh, pattern, ctx, **kw).hits


def face_hits(lh, probe, ctx, *, start=None, end=None, analyzer=None, index=None, **query):
    """``probe`` a photo (path or RGB array) or, when 1-d, a known descriptor."""
    import numpy as np

    from pipelines.search import FaceQuery, search_faces

    if isinstance(probe, np.ndarray) and probe.ndim == 1:
        q = FaceQuery(embedding=probe, **query)
    else:
        q = FaceQuery(image=probe, **query)
    return search_faces(lh, q, scope_of(ctx, start, end), analyzer=analyzer, index=index).hits


def route_of(lh, plate, ctx, *, start=None, end=None, **query):
    from pipelines.search import RouteQuery, plate_route

    return plate_route(lh, RouteQuery(plate, **query), scope_of(ctx, start, end))
