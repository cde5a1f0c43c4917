"""Penetration-style tests of every read path (issue 12.2): another agency's rows are refused without
a sharing agreement, shown with one (for that data type only), hidden again when it is revoked; an
agency's own rows are visible whether or not the camera is registered.

Data: police911 owns P1, municipal owns M1 and M2; each agency also has rows from a camera nobody
registered (U-POL, U-MUN), and municipal ingested one read at police's P1 (row agency municipal).
Every probe counts into ``PROBES``; a leak fails the test.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from pipelines.governance import SearchContext
from pipelines.governance.agreements import add_agreement, revoke_agreement
from pipelines.governance.scope import ReadScope

UTC = dt.UTC
T0 = dt.datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
CAMERAS = [
    {
        "camera_id": "P1",
        "agency": "police911",
        "name": "P1",
        "lat": -25.280,
        "lon": -57.630,
        "kind": "street",
    },
    {
        "camera_id": "M1",
        "agency": "municipal",
        "name": "M1",
        "lat": -25.281,
        "lon": -57.631,
        "kind": "portico",
    },
    {
        "camera_id": "M2",
        "agency": "municipal",
        "name": "M2",
        "lat": -25.290,
        "lon": -57.640,
        "kind": "street",
    },
]
#: read_id -> (camera, row agency)
ROWS = {
    "pol-p1": ("P1", "police911"),
    "pol-unreg": ("U-POL", "police911"),
    "mun-m1": ("M1", "municipal"),
    "mun-m2": ("M2", "municipal"),
    "mun-unreg": ("U-MUN", "municipal"),
    "mun-at-p1": ("P1", "municipal"),
}
POLICE_OWN = {"pol-p1", "pol-unreg"}
ADMIN = SearchContext(user="root", role="admin")
PROBES = {"probes": 0, "leaks": 0}


def ctx(agency: str) -> SearchContext:
    return SearchContext(
        user=f"inv-{agency}", role="investigator", agency=agency, case_number="X-1", purpose="pentest"
    )


def _read(rid: str, i: int) -> dict:
    cam, agency = ROWS[rid]
    return {
        "read_id": rid,
        "camera_id": cam,
        "ts": T0 + dt.timedelta(minutes=10 * i),
        "plate": "ABC123",
        "confidence": 0.9,
        "candidates": [{"text": "ABC123", "score": 0.9}],
        "source_uri": f"/v/{cam}.mp4",
        "offset_s": 1.0,
        "model_version": "v1",
        "agency": agency,
    }


def _sighting(rid: str, i: int, vec: np.ndarray) -> dict:
    cam, agency = ROWS[rid]
    return {
        "sighting_id": rid,
        "camera_id": cam,
        "ts": T0 + dt.timedelta(minutes=10 * i),
        "embedding": vec.tolist(),
        "searchable": True,
        "quality": 0.9,
        "source_uri": f"/v/{cam}.jpg",
        "offset_s": 0.0,
        "model_version": "v1",
        "agency": agency,
    }


@pytest.fixture
def city(lakehouse):
    rng = np.random.default_rng(7)
    base = rng.normal(0, 0.1, 128).astype(np.float32)
    lakehouse.append("cameras", CAMERAS)
    lakehouse.append("plate_reads", [_read(r, i) for i, r in enumerate(ROWS)])
    lakehouse.append(
        "face_sightings",
        [_sighting(r, i, base + rng.normal(0, 0.01, 128).astype(np.float32)) for i, r in enumerate(ROWS)],
    )
    lakehouse.append(
        "processing_runs",
        [
            {"video_id": f"v-{c}", "model_version": "v1", "camera_id": c, "status": "succeeded"}
            for c in ("P1", "M1", "M2")
        ],
    )
    lakehouse.append(
        "alerts",
        [
            {
                "alert_id": "al-m1",
                "ts": T0,
                "camera_id": "M1",
                "agency": "municipal",
                "camera_agency": "municipal",
                "recipients": ["municipal"],
                "covert": False,
                "kind": "plate",
                "value": "ABC123",
            },
            {
                "alert_id": "al-m2-covert",
                "ts": T0,
                "camera_id": "M2",
                "agency": "municipal",
                "camera_agency": "municipal",
                "recipients": ["municipal"],
                "covert": True,
                "kind": "plate",
                "value": "X",
            },
            {
                "alert_id": "al-p1",
                "ts": T0,
                "camera_id": "P1",
                "agency": "police911",
                "camera_agency": "police911",
                "recipients": ["police911"],
                "covert": False,
                "kind": "plate",
                "value": "ABC123",
            },
        ],
    )
    return lakehouse, base


# ------------------------------------------------------------------------------------ the read paths
def plate_search(lh, c):
    from pipelines.search.plates import PlateQuery, search_plates

    return {
        h["read_id"]
        for h in search_plates(lh, PlateQuery("ABC123", limit=0, strategy="scan"), ReadScope.of(c)).hits
    }


def plate_search_index(lh, c):
    from pipelines.search.plates import PlateQuery, search_plates

    return {
        h["read_id"]
        for h in search_plates(lh, PlateQuery("ABC123", limit=0, strategy="index"), ReadScope.of(c)).hits
    }


def route(lh, c):
    from pipelines.search.route import RouteQuery, plate_route

    return {s["read_id"] for s in plate_route(lh, RouteQuery("ABC123"), ReadScope.of(c))}


def face_search(lh, c, vec):
    from pipelines.search.faces import FaceQuery, search_faces

    return {h["sighting_id"] for h in search_faces(lh, FaceQuery(embedding=vec, k=50), ReadScope.of(c)).hits}


def canvass_reads(lh, c):
    from pipelines.movement.canvass import canvass

    scope = ReadScope.of(c, start=T0 - dt.timedelta(hours=1), end=T0 + dt.timedelta(hours=2))
    res = canvass(lh, scope, cameras=[cam for cam, _ in ROWS.values()])
    return int(res.reads)


def registry(lh, c):
    from pipelines.governance.scope import context_cameras

    return set(context_cameras(lh, c) or ())


def crime_map_cameras(lh, c):
    from pipelines.crime.coverage import load_cameras

    return set(load_cameras(lh, c)["camera_id"].to_list())


def ingest_status(lh, c):
    from pipelines.extract.ingest_status import ingest_status as status

    return set(status(lh, c).runs["camera_id"])


def alerts(lh, c):
    from pipelines.watchlist.feed import list_alerts

    return {a["alert_id"] for a in list_alerts(lh, c, limit=None)}


def check(seen: set, allowed: set, name: str) -> None:
    PROBES["probes"] += 1
    leaked = seen - allowed
    PROBES["leaks"] += bool(leaked)
    assert not leaked, f"{name} leaked {sorted(leaked)}"


# ------------------------------------------------------------------------------------ tests
def test_every_read_path_without_and_with_an_agreement(city):
    lh, vec = city
    police = ctx("police911")

    def probe(allowed_reads: set, allowed_cams: set, allowed_alerts: set, faces_allowed: set) -> None:
        for name, fn in (
            ("plate search", plate_search),
            ("plate search (index)", plate_search_index),
            ("route", route),
        ):
            seen = fn(lh, police)
            check(seen, allowed_reads, name)
            assert seen == allowed_reads, name
        seen = face_search(lh, police, vec)
        check(seen, faces_allowed, "face search")
        assert seen == faces_allowed
        check(registry(lh, police), allowed_cams, "camera registry")
        check(crime_map_cameras(lh, police), allowed_cams, "crime-map cameras")
        check(ingest_status(lh, police), allowed_cams, "ingest status")
        check(alerts(lh, police), allowed_alerts, "alerts")
        assert alerts(lh, police) == allowed_alerts

    # 1. no agreement: own rows only (the unregistered camera's included), never municipal's
    probe(POLICE_OWN, {"P1"}, {"al-p1"}, POLICE_OWN)
    assert canvass_reads(lh, police) == len(POLICE_OWN)
    # 2. municipal shares plates of M1 only: M1's municipal read appears, nothing else of theirs;
    #    faces are not shared by this agreement
    a = add_agreement(
        lh, ADMIN, from_agency="municipal", to_agency="police911", data_types=["plates"], cameras=["M1"]
    )
    probe(POLICE_OWN | {"mun-m1"}, {"P1", "M1"}, {"al-p1"}, POLICE_OWN)
    assert canvass_reads(lh, police) == len(POLICE_OWN) + 1
    # 3. municipal shares everything (all cameras, every type): their unregistered camera too; the
    #    covert alert stays hidden
    b = add_agreement(
        lh, ADMIN, from_agency="municipal", to_agency="police911", data_types=["plates", "faces", "alerts"]
    )
    everything = set(ROWS)
    probe(everything, {"P1", "M1", "M2"}, {"al-p1", "al-m1"}, everything)
    # 4. revoked: back to own rows
    revoke_agreement(lh, ADMIN, a["agreement_id"])
    revoke_agreement(lh, ADMIN, b["agreement_id"])
    probe(POLICE_OWN, {"P1"}, {"al-p1"}, POLICE_OWN)


def test_the_other_direction_and_nobody(city):
    lh, vec = city
    muni = ctx("municipal")
    mine = {"mun-m1", "mun-m2", "mun-unreg", "mun-at-p1"}  # its read at police's camera is its own
    for name, fn in (("plate search", plate_search), ("route", route)):
        seen = fn(lh, muni)
        check(seen, mine, name)
        assert seen == mine
    check(face_search(lh, muni, vec), mine, "face search")
    check(alerts(lh, muni), {"al-m1", "al-m2-covert"}, "alerts")
    nobody = SearchContext(user="x", role="investigator", agency=None, case_number="X-1", purpose="p")
    for name, fn in (("plate search", plate_search), ("route", route)):
        seen = fn(lh, nobody)
        check(seen, set(), f"{name} (no agency)")
    check(face_search(lh, nobody, vec), set(), "face search (no agency)")
    check(alerts(lh, nobody), set(), "alerts (no agency)")
    check(registry(lh, nobody), set(), "registry (no agency)")
    admin = SearchContext(user="root", role="admin", case_number="X-1", purpose="p")
    assert plate_search(lh, admin) == set(ROWS)  # only an administrator sees every agency


def test_probe_count_report():
    """Printed into the report table (probes / leaks) when run with -s."""
    print(f"cross-agency probes: {PROBES['probes']}, leaks: {PROBES['leaks']}")
    assert PROBES["leaks"] == 0
