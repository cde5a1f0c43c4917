"""Red team of the governance rules (issue 12): the closing table, from a real run.

    python -m benchmarks.governance --smoke   # every probe, written nowhere (seconds)
    python -m benchmarks.governance           # the same, written to benchmarks/results/governance.md

Four attacks, each on real Delta tables in a temporary home, counted:

- **bad inputs**: every input that used to crash, through the CLI in-process (``--fuzzy nan``,
  negative limits, decompression-bomb images, NaN speeds, bad times, bad windows, bad holds and
  agreements): handled = exit code 1/2 with one ``error:`` line, no traceback, and no table other
  than the audit log changed (nothing lost, no partial commit).
- **cross-agency probes**: police911 reads through every read path (plate search by scan and by
  index, route, face search, canvass, convoy and stakeout (through the ``plate_presence`` index),
  crime-series leads, movement anomalies,
  camera counts, alerts, crime-map cameras, the camera registry, ingest status, a notebook's context
  from the environment, the CLI with and without a widening flag, and the stored movement outputs
  ``movement_counts|trips|flows|convoys`` of a real daily Beam run over every agency's reads) with
  no agreement, with a plates agreement, with one for every data type, and after both are revoked.
  A leak = one row, plate or camera of municipal's that the state does not allow; a miss = an
  allowed row the path did not show. For a stored output a leak is a row police911 is shown that
  differs from the same Beam run over only the reads it may see (a count, trip, flow or convoy
  computed with another agency's reads); withheld rows are not counted as misses (the stored
  outputs show only rows whose reads the reader may all see).
- **tamper attempts** on a chained audit log: edit, delete, insert, truncate the newest row, edit
  and re-chain, forge the signed anchor, overwrite the table, plus writes the table refuses
  (append-only) — detected = ``verify_chain`` reports it, or the write was refused.
- **retention checks**: a legacy home (change data feed on) with expired, fresh and held face
  sightings and plate reads, both search indexes and derived files; after ``maintain retention``
  every file under the home is scanned for each expired id, embedding and crop (bytes left), held
  rows must survive in the tables and in derived files, and after the holds are released the next
  run must erase them too.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import platform
import shutil
import struct
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "governance.md"
UTC = dt.UTC
T0 = dt.datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


# ----------------------------------------------------------------------------------- helpers
def _cli(home: Path, *argv: str) -> tuple[int, str, str]:
    from jobs.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(["--home", str(home), *argv])
        except SystemExit as exc:  # argparse
            rc = int(exc.code or 0)
    return rc, out.getvalue(), err.getvalue()


def _versions(home: Path) -> dict[str, int]:
    from lakehouse import TABLES, Lakehouse

    lh = Lakehouse(home=home)
    return {n: lh.version(n) for n in TABLES if n != "audit_log" and lh.exists(n)}


def png_bomb(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width`` x ``height`` with a few bytes of data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )
    return path


# ----------------------------------------------------------------------------------- 1. bad inputs
def bad_inputs(base: Path) -> dict[str, Any]:
    from lakehouse import Lakehouse
    from pipelines.governance.identity import map_os_user

    home = base / "bad-inputs"
    home.mkdir(parents=True)
    map_os_user(home, "tester", role="admin", agency=None)
    lh = Lakehouse(home=home)
    lh.append("cameras", [{"camera_id": "P1", "agency": "police911", "lat": -25.28, "lon": -57.63}])
    lh.append(
        "plate_reads",
        [
            {
                "read_id": "r1",
                "camera_id": "P1",
                "ts": T0,
                "plate": "ABC123",
                "agency": "police911",
                "model_version": "v1",
                "source_uri": "/v/P1.mp4",
                "offset_s": 0.0,
            }
        ],
    )
    bomb = png_bomb(base / "bomb.png", 20_000, 20_000)
    tall = png_bomb(base / "tall.png", 1, 200_000_000)
    garbage = base / "garbage.jpg"
    garbage.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg" * 10)
    empty = base / "empty.png"
    empty.write_bytes(b"")
    case = ["--case", "C-1", "--purpose", "red team"]
    tries: list[list[str]] = [
        ["plates", "search", "ABC123", "--fuzzy", "nan", *case],
        ["plates", "search", "ABC123", "--fuzzy", "inf", *case],
        ["plates", "search", "ABC123", "--fuzzy", "-1", *case],
        ["plates", "search", "ABC123", "--limit", "-5", *case],
        ["plates", "search", "", *case],
        ["plates", "search", "ABC123", "--from", "2024-13-45", *case],
        ["plates", "search", "ABC123", "--from", "2024-05-03", "--to", "2024-05-01", *case],
        ["plates", "search", "ABC123", "--near", "91,0,100", *case],
        ["plates", "search", "ABC123", "--bbox", "nan,0,1,1", *case],
        ["plates", "route", "ABC123", "--max-speed", "nan", *case],
        ["plates", "route", "ABC123", "--max-speed", "-10", *case],
        ["faces", "search", str(bomb), *case],
        ["faces", "search", str(tall), *case],
        ["faces", "search", str(garbage), *case],
        ["faces", "search", str(empty), *case],
        ["faces", "search", str(base / "missing.jpg"), *case],
        ["faces", "search", str(bomb), "--k", "-3", *case],
        ["alerts", "list", "--limit", "-1"],
        ["audit", "list", "--limit", "-1"],
        ["login", "--user", "x", "--hours", "inf"],
        ["login", "--user", "x", "--hours", "-1"],
        [
            "movement",
            "convoy",
            "ABC123",
            "--window",
            "-5",
            "--from",
            "2024-05-01",
            "--to",
            "2024-05-02",
            *case,
        ],
        [
            "movement",
            "convoy",
            "ABC123",
            "--window",
            "nan",
            "--from",
            "2024-05-01",
            "--to",
            "2024-05-02",
            *case,
        ],
        ["movement", "stakeout", "--at", "P1@garbage", *case],
        ["hold", "add", "--case", "C-1", "--camera", "P1"],
        ["hold", "add", "--case", "C-1", "--camera", "P1", "--from", "2024-05-02", "--to", "2024-05-01"],
        ["share", "add", "--from", "police911", "--to", "municipal", "--types", "nonsense"],
    ]
    rows: list[dict[str, Any]] = []
    for argv in tries:
        before = _versions(home)
        t0 = time.perf_counter()
        try:
            rc, _, err = _cli(home, *argv)
            crashed = "Traceback" in err
        except Exception as exc:  # noqa: BLE001 - a crash is what is counted
            rc, err, crashed = -1, f"{type(exc).__name__}: {exc}", True
        lines = [x for x in err.strip().splitlines() if x.strip()]
        ok = (
            not crashed
            and rc in (1, 2)
            and bool(lines)
            and (lines[-1].startswith("error:") or lines[0].startswith("usage:"))
            and _versions(home) == before
        )
        rows.append(
            {
                "input": " ".join(argv).replace(str(base), "$TMP"),
                "rc": rc,
                "handled": ok,
                "error": (lines[-1] if lines else "").replace(str(base), "$TMP"),
                "seconds": round(time.perf_counter() - t0, 3),
            }
        )
    # library-level image inputs (the app's upload path reads images the same way)
    from pipelines.faces.images import ImageReadError, load_image_rgb

    for p in (bomb, tall, garbage, empty):
        try:
            load_image_rgb(p)
            ok = False
        except ImageReadError:
            ok = True
        except Exception:  # noqa: BLE001
            ok = False
        rows.append(
            {"input": f"load_image_rgb({p.name})", "rc": None, "handled": ok, "error": "", "seconds": 0}
        )
    from pipelines.search.plate_match import PatternError, parse_pattern

    for fz in (float("nan"), float("inf"), -1, "x"):
        try:
            parse_pattern("ABC123", fz)  # type: ignore[arg-type]
            ok = False
        except PatternError:
            ok = True
        rows.append(
            {"input": f"parse_pattern(fuzzy={fz!r})", "rc": None, "handled": ok, "error": "", "seconds": 0}
        )
    return {"tried": len(rows), "handled": sum(r["handled"] for r in rows), "rows": rows}


# ----------------------------------------------------------------------------------- 2. cross-agency
CAMERAS = [
    {
        "camera_id": "P1",
        "agency": "police911",
        "name": "P1",
        "lat": -25.2800,
        "lon": -57.6300,
        "kind": "street",
    },
    {
        "camera_id": "M1",
        "agency": "municipal",
        "name": "M1",
        "lat": -25.2810,
        "lon": -57.6310,
        "kind": "portico",
    },
    {
        "camera_id": "M2",
        "agency": "municipal",
        "name": "M2",
        "lat": -25.2805,
        "lon": -57.6305,
        "kind": "street",
    },
]
#: read_id -> (camera, row agency, plate, seconds after T0)
READS = {
    "pol-1": ("P1", "police911", "TGT001", 0),
    "pol-2": ("P1", "police911", "POL002", 20),
    "pol-3": ("U-POL", "police911", "TGT001", 600),
    "pol-4": ("U-POL", "police911", "POL002", 620),
    "mun-1": ("M1", "municipal", "TGT001", 300),
    "mun-2": ("M1", "municipal", "MUN003", 320),
    "mun-3": ("M2", "municipal", "TGT001", 900),
    "mun-4": ("M2", "municipal", "MUN003", 920),
    "mun-5": ("U-MUN", "municipal", "TGT001", 1200),
    "mun-6": ("U-MUN", "municipal", "MUN004", 1220),
    "mun-7": ("P1", "municipal", "MUN005", 30),  # municipal's row at police's camera
}
POLICE_READS = {r for r, v in READS.items() if v[1] == "police911"}
ALL_CAMS = sorted({v[0] for v in READS.values()})
DAY = T0.date()
STORED = ("counts", "trips", "flows", "convoys")
#: anomaly thresholds low enough that every visible plate is a hit (circling at each camera, a
#: "night" visit at each camera, impossible hops between the close registered cameras)
ANOMALY_PROBE = {
    "min_passes": 1,
    "min_cameras": 1,
    "min_nights": 1,
    "night_start": 0,
    "night_end": 24,
    "min_distance_m": 50.0,
    "max_speed_kmh": 0.5,
}


def _movement_params() -> Any:
    from pipelines.movement import MovementParams

    return MovementParams(convoy_min_cameras=2)


def _day_run(lh: Any, scope: Any = None) -> Any:  # a MovementResult
    """A real daily movement run (Beam, in-process) over ``DAY``'s reads the scope may see (None:
    the scheduled job's system scope, every agency)."""
    from pipelines.movement import run_movement

    start = dt.datetime.combine(DAY, dt.time(), tzinfo=UTC)
    return run_movement(lh, start, start + dt.timedelta(days=1), params=_movement_params(), scope=scope)


def stored_key(name: str, r: dict[str, Any]) -> tuple[Any, ...]:
    """What a stored movement row says (no run ids, agencies or versions)."""
    if name == "counts":
        return (name, r["camera_id"], r["window_start"], r["window_end"], r["reads"], r["plates"])
    if name == "trips":
        return (name, r["plate"], r["start"], r["end"], tuple(r["cameras"] or ()), r["n_sightings"])
    if name == "flows":
        return (name, r["origin"], r["destination"], r["window_start"], r["trips"])
    return (
        name,
        r["plate_a"],
        r["plate_b"],
        r["n_cameras"],
        r["n_cooccurrences"],
        tuple(sorted(r["cameras"] or ())),
        r["reads_a"],
        r["reads_b"],
    )


def _city(lh: Any) -> np.ndarray:
    rng = np.random.default_rng(7)
    base = rng.normal(0, 0.1, 128).astype(np.float32)
    lh.append("cameras", CAMERAS)
    lh.append(
        "plate_reads",
        [
            {
                "read_id": rid,
                "camera_id": cam,
                "ts": T0 + dt.timedelta(seconds=s),
                "plate": plate,
                "confidence": 0.9,
                "candidates": [{"text": plate, "score": 0.9}],
                "source_uri": f"/v/{cam}.mp4",
                "video_id": f"v-{cam}",
                "offset_s": 1.0,
                "model_version": "v1",
                "agency": agency,
            }
            for rid, (cam, agency, plate, s) in READS.items()
        ],
    )
    lh.append(
        "face_sightings",
        [
            {
                "sighting_id": rid,
                "camera_id": cam,
                "ts": T0 + dt.timedelta(seconds=s),
                "embedding": (base + rng.normal(0, 0.01, 128).astype(np.float32)).tolist(),
                "searchable": True,
                "quality": 0.9,
                "source_uri": f"/v/{cam}.jpg",
                "offset_s": 0.0,
                "model_version": "v1",
                "agency": agency,
            }
            for rid, (cam, agency, _, s) in READS.items()
        ],
    )
    lh.append(
        "videos",
        [
            {
                "video_id": f"v-{c}",
                "camera_id": c,
                "agency": a,
                "uri": f"/v/{c}.mp4",
                "status": "processed",
                "start_ts": T0,
                "date": T0.date(),
            }
            for c, a in (
                ("P1", "police911"),
                ("M1", "municipal"),
                ("M2", "municipal"),
                ("U-MUN", "municipal"),
            )
        ],
    )
    lh.append(
        "processing_runs",
        [
            {"video_id": f"v-{c}", "model_version": "v1", "camera_id": c, "status": "succeeded"}
            for c in ("P1", "M1", "M2", "U-MUN")
        ],
    )
    lh.append(
        "incidents",
        [
            {"incident_id": "I1", "ts": T0, "lat": -25.2800, "lon": -57.6300, "type": "ROBBERY"},
            {
                "incident_id": "I2",
                "ts": T0 + dt.timedelta(seconds=600),
                "lat": -25.2810,
                "lon": -57.6310,
                "type": "ROBBERY",
            },
        ],
    )
    alert = {"kind": "plate", "value": "TGT001", "ts": T0, "covert": False}
    lh.append(
        "alerts",
        [
            {
                **alert,
                "alert_id": "al-m1",
                "camera_id": "M1",
                "agency": "municipal",
                "camera_agency": "municipal",
                "recipients": ["municipal"],
            },
            {
                **alert,
                "alert_id": "al-m2-covert",
                "camera_id": "M2",
                "agency": "municipal",
                "camera_agency": "municipal",
                "recipients": ["municipal"],
                "covert": True,
            },
            {
                **alert,
                "alert_id": "al-p1",
                "camera_id": "P1",
                "agency": "police911",
                "camera_agency": "police911",
                "recipients": ["police911"],
            },
        ],
    )
    return base


def _paths(lh: Any, home: Path, vec: np.ndarray) -> dict[str, tuple[str, Callable[[Any], set[str]]]]:
    """Read path -> (what it returns: reads | plates | cameras | alerts | faces, probe(ctx))."""
    from pipelines.governance.scope import ReadScope

    def scope(c: Any, **kw: Any) -> Any:
        return ReadScope.of(c, start=T0 - dt.timedelta(hours=1), end=T0 + dt.timedelta(hours=2), **kw)

    def plate_search(strategy: str) -> Callable[[Any], set[str]]:
        def run(c: Any) -> set[str]:
            from pipelines.search.plates import PlateQuery, search_plates

            q = PlateQuery("*0*", limit=0, strategy=strategy)
            return {h["read_id"] for h in search_plates(lh, q, scope(c)).hits}

        return run

    def route(c: Any) -> set[str]:
        from pipelines.search.route import RouteQuery, plate_route

        return {s["read_id"] for s in plate_route(lh, RouteQuery("TGT001"), scope(c))} | {
            s["read_id"] for s in plate_route(lh, RouteQuery("MUN003"), scope(c))
        }

    def faces(c: Any) -> set[str]:
        from pipelines.search.faces import FaceQuery, search_faces

        return {h["sighting_id"] for h in search_faces(lh, FaceQuery(embedding=vec, k=50), scope(c)).hits}

    def canvass(c: Any) -> set[str]:
        from pipelines.movement.canvass import canvass as run

        return {r["plate"] for r in run(lh, scope(c), cameras=ALL_CAMS).rows}

    def convoy(c: Any) -> set[str]:
        from pipelines.movement.convoy import convoy as run

        return {r["plate"] for r in run(lh, scope(c), "TGT001", window_s=60, min_cameras=1).rows} | {"TGT001"}

    def stakeout(c: Any) -> set[str]:
        from pipelines.movement.stakeout import PlaceWindow
        from pipelines.movement.stakeout import stakeout as run

        w = PlaceWindow(T0 - dt.timedelta(minutes=1), T0 + dt.timedelta(hours=1), cameras=tuple(ALL_CAMS))
        return {r["plate"] for r in run(lh, scope(c), [w], min_windows=1).rows}

    def leads(c: Any) -> set[str]:
        from pipelines.movement.leads import crime_leads

        res = crime_leads(lh, ReadScope.of(c), incident_ids=["I1", "I2"], radius_m=500, min_incidents=1)
        return {r["plate"] for r in res.rows}

    def anomalies(c: Any) -> set[str]:
        from pipelines.movement.anomalies import AnomalyParams
        from pipelines.movement.anomalies import anomalies as run

        res = run(lh, scope(c), params=AnomalyParams(**ANOMALY_PROBE), tz="UTC")  # type: ignore[arg-type]
        return {r["plate"] for r in res.rows} | {
            f"{r['plate']}@{cam}" for r in res.rows for cam in r["cameras"]
        }

    def stored(name: str) -> Callable[[Any], set[str]]:
        def run(c: Any) -> set[str]:
            from pipelines.governance.scope import ReadScope
            from pipelines.movement.store import read_movement

            t = read_movement(lh, ReadScope.of(c, start=DAY, end=DAY), name)
            return {repr(stored_key(name, r)) for r in t.to_pylist()}

        return run

    def flows(c: Any) -> set[str]:
        from pipelines.movement.traffic import ring_flows

        res = ring_flows(lh, scope(c), include_plates=True)
        return {p["portico"] for p in res.per_portico if p["reads"]} | {s["plate"] for s in res.stayed_plates}

    def counts(c: Any) -> set[str]:
        from pipelines.movement.traffic import camera_counts

        return set(camera_counts(lh, scope(c))["camera_id"].to_pylist())

    def alerts(c: Any) -> set[str]:
        from pipelines.watchlist.feed import list_alerts

        return {a["alert_id"] for a in list_alerts(lh, c, limit=None)}

    def crime_map(c: Any) -> set[str]:
        from pipelines.crime.coverage import load_cameras

        return set(load_cameras(lh, c)["camera_id"].to_list())

    def registry(c: Any) -> set[str]:
        from pipelines.governance.scope import context_cameras

        return set(context_cameras(lh, c) or ())

    def ingest(c: Any) -> set[str]:
        from pipelines.extract.ingest_status import ingest_status

        st = ingest_status(lh, c)
        n = int(st.tables.set_index("table")["rows"].get("plate_reads", 0))
        # camera ids of the runs it shows, plus one pseudo-id per plate read it counts
        return set(st.runs["camera_id"]) | {f"#read{i}" for i in range(n)}

    def notebook(c: Any) -> set[str]:
        """A notebook builds its context from the environment: a forged agency/role is refused."""
        from pipelines.governance.context import context_from_env
        from pipelines.governance.identity import IdentityError

        for forged in ({"PESQUISA_AGENCY": "municipal"}, {"PESQUISA_ROLE": "admin"}):
            try:
                context_from_env(home=home, environ={**forged, "PESQUISA_HOME": str(home)})
            except IdentityError:
                continue
            return {"forged-context-accepted"}
        ctx = context_from_env(home=home, case_number="X-1", purpose="red team", environ={})
        return plate_search("scan")(ctx)

    def cli(c: Any) -> set[str]:
        rc, _, _ = _cli(
            home, "plates", "search", "*0*", "--agency", "municipal", "--case", "X-1", "--purpose", "p"
        )
        if rc == 0:
            return {"widening-flag-accepted"}
        rc, out, err = _cli(
            home, "--json", "plates", "search", "*0*", "--limit", "0", "--case", "X-1", "--purpose", "p"
        )
        if rc != 0:
            raise RuntimeError(err)
        return {json.loads(x)["read_id"] for x in out.splitlines() if x.strip().startswith("{")}

    return {
        "plate search (scan)": ("reads", plate_search("scan")),
        "plate search (index)": ("reads", plate_search("index")),
        "route": ("route", route),
        "face search": ("faces", faces),
        "canvass": ("plates", canvass),
        "convoy": ("plates", convoy),
        "stakeout": ("plates", stakeout),
        "crime-series leads": ("plates", leads),
        "movement anomalies (circling, night visits, clones)": ("anomalies", anomalies),
        "ring flows (porticos, vehicles inside)": ("flows", flows),
        "camera counts": ("cameras", counts),
        "alerts": ("alerts", alerts),
        "crime-map cameras": ("registry", crime_map),
        "camera registry": ("registry", registry),
        "ingest status": ("ingest", ingest),
        "notebook (identity from env)": ("reads", notebook),
        "CLI (flags only narrow)": ("reads", cli),
        **{f"stored movement_{n}": (f"stored:{n}", stored(n)) for n in STORED},
    }


def _allowed(state: str) -> dict[str, set[str]]:
    """What police911 may see in each state."""
    everything = state in ("plates", "all")
    reads = set(READS) if everything else set(POLICE_READS)
    plates = {READS[r][2] for r in reads}
    cams = {READS[r][0] for r in reads}
    registry = {"P1", "M1", "M2"} if everything else {"P1"}
    faces = set(READS) if state == "all" else set(POLICE_READS)
    alerts = {"al-p1", "al-m1"} if state == "all" else {"al-p1"}
    ingest_cams = {"P1", "M1", "M2", "U-MUN"} if state == "all" else {"P1"}
    return {
        "reads": reads,
        "route": {r for r in reads if READS[r][2] in ("TGT001", "MUN003")},
        # M1 is the one portico: its name and the vehicles that entered there (and stayed)
        "flows": {x for r in reads if READS[r][0] == "M1" for x in ("M1", READS[r][2])},
        "plates": plates,
        "cameras": cams,
        "registry": registry,
        "faces": faces,
        "alerts": alerts,
        "ingest": ingest_cams | {f"#read{i}" for i in range(len(reads))},
        "anomalies": plates | {f"{READS[r][2]}@{READS[r][0]}" for r in reads},
    }


def _stored_truth(lh: Any, police: Any) -> dict[str, set[str]]:
    """What police911 may be shown of each stored output: the rows of the same daily run over only
    the reads it may see now (a stored row that says anything else is a leak)."""
    from pipelines.governance.scope import ReadScope

    res = _day_run(lh, ReadScope.of(police))
    return {f"stored:{n}": {repr(stored_key(n, r)) for r in res.tables[n].to_pylist()} for n in STORED}


def cross_agency(base: Path) -> dict[str, Any]:
    from lakehouse import Lakehouse
    from pipelines.governance.agreements import add_agreement, revoke_agreement
    from pipelines.governance.cases import open_case
    from pipelines.governance.context import SearchContext
    from pipelines.governance.identity import map_os_user

    home = base / "cross-agency"
    home.mkdir(parents=True)
    lh = Lakehouse(home=home)
    vec = _city(lh)
    map_os_user(home, "inv-police", role="investigator", agency="police911")
    police = SearchContext(
        user="inv-police", role="investigator", agency="police911", case_number="X-1", purpose="red team"
    )
    admin = SearchContext(user="root", role="admin")
    open_case(lh, police, "X-1", "red team")
    from pipelines.movement.presence import build_presence
    from pipelines.movement.store import store_movement

    build_presence(lh)  # the movement tools' plate index: convoy and stakeout read it (all agencies)
    system_run = _day_run(lh)  # the scheduled job: every agency's reads, stored for the day
    store_movement(lh, system_run, DAY)
    stored_rows = {n: system_run.tables[n].num_rows for n in STORED}
    paths = _paths(lh, home, vec)
    per_path: dict[str, dict[str, int]] = {n: {"probes": 0, "leaks": 0, "misses": 0} for n in paths}
    leaks: list[str] = []
    stored_shown: dict[str, dict[str, list[int]]] = {}

    def probe(state: str) -> None:
        allowed = {**_allowed(state), **_stored_truth(lh, police)}
        for name, (kind, fn) in paths.items():
            seen = fn(police)
            bad = seen - allowed[kind]
            if kind.startswith("stored:"):  # [rows shown, rows police may be shown, rows stored]
                n = kind.split(":")[1]
                stored_shown.setdefault(state, {})[n] = [len(seen), len(allowed[kind]), stored_rows[n]]
            per_path[name]["probes"] += 1
            per_path[name]["leaks"] += bool(bad)
            if bad:
                leaks.append(f"{state}: {name} leaked {sorted(bad)}")
            exact = kind in (
                "reads",
                "route",
                "faces",
                "alerts",
                "registry",
                "flows",
                "anomalies",
            ) or name in (
                "canvass",
                "stakeout",
            )
            per_path[name]["misses"] += bool(exact and allowed[kind] - seen)

    probe("none")
    a = add_agreement(lh, admin, from_agency="municipal", to_agency="police911", data_types=["plates"])
    probe("plates")
    b = add_agreement(
        lh,
        admin,
        from_agency="municipal",
        to_agency="police911",
        data_types=["plates", "faces", "alerts", "video"],
    )
    probe("all")
    revoke_agreement(lh, admin, a["agreement_id"])
    revoke_agreement(lh, admin, b["agreement_id"])
    probe("revoked")
    return {
        "paths": len(paths),
        "probes": sum(p["probes"] for p in per_path.values()),
        "leaks": sum(p["leaks"] for p in per_path.values()),
        "misses": sum(p["misses"] for p in per_path.values()),
        "per_path": per_path,
        "leak_details": leaks,
        "stored_rows": stored_rows,
        "stored_shown": stored_shown,
        **case_scope(lh, police),
    }


def case_scope(lh: Any, police: Any) -> dict[str, Any]:
    """Searches a case does not allow: refused, and each refusal logged."""
    import dataclasses

    from pipelines.governance.audit import audit_rows
    from pipelines.governance.cases import ScopeRefused, close_case, open_case
    from pipelines.governance.scope import ReadScope
    from pipelines.search.area import Area
    from pipelines.search.plates import PlateQuery, search_plates
    from pipelines.search.route import RouteQuery, plate_route

    open_case(
        lh,
        police,
        "W-1",
        "warrant",
        time_from=T0 - dt.timedelta(hours=1),
        time_to=T0 + dt.timedelta(hours=1),
        area=Area(near=(-25.2800, -57.6300, 50.0)),
        plates=["TGT001"],
    )
    w = dataclasses.replace(police, case_number="W-1")
    closed = dataclasses.replace(police, case_number="X-1")
    before = sum(r["outcome"] == "refused" for r in audit_rows(lh))
    attempts: list[tuple[str, Callable[[], Any]]] = [
        ("outside the warrant's time", lambda: search_plates(lh, PlateQuery("TGT001"), ReadScope.of(w))),
        (
            "outside the warrant's area",
            lambda: search_plates(
                lh,
                PlateQuery("TGT001", cameras=("M2",)),
                ReadScope.of(w, start=T0, end=T0 + dt.timedelta(minutes=30)),
            ),
        ),
        (
            "a plate the warrant does not name",
            lambda: plate_route(
                lh, RouteQuery("POL002"), ReadScope.of(w, start=T0, end=T0 + dt.timedelta(minutes=30))
            ),
        ),
        (
            "no case",
            lambda: search_plates(
                lh, PlateQuery("TGT001"), ReadScope.of(dataclasses.replace(police, case_number=""))
            ),
        ),
    ]
    close_case(lh, police, "X-1")
    attempts.append(("a closed case", lambda: search_plates(lh, PlateQuery("TGT001"), ReadScope.of(closed))))
    refused = 0
    for _, fn in attempts:
        try:
            fn()
        except (ScopeRefused, PermissionError):
            refused += 1
    logged = sum(r["outcome"] == "refused" for r in audit_rows(lh)) - before
    return {"case_attempts": len(attempts), "case_refused": refused, "case_refusals_logged": logged}


# ----------------------------------------------------------------------------------- 3. tamper
def tamper(base: Path) -> dict[str, Any]:
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    from lakehouse import Lakehouse
    from pipelines.governance import SearchContext, audit
    from pipelines.governance.audit_chain import anchors_dir, row_hash, verify_chain

    seed = base / "tamper-seed"
    lh0 = Lakehouse(home=seed)
    for i in range(5):
        ctx = SearchContext(
            user="ana", role="investigator", agency="police911", case_number=f"C-{i}", purpose="p"
        )
        audit(lh0, ctx, "plates.search", {"pattern": f"ABC{i}"}, i, result_ids=[f"r{i}"])
    assert verify_chain(lh0).ok

    def fresh(name: str) -> Lakehouse:
        home = base / f"tamper-{name}"
        shutil.copytree(seed, home)
        return Lakehouse(home=home)

    def open_up(lh: Lakehouse) -> DeltaTable:
        lh.table("audit_log").alter.set_table_properties({"delta.appendOnly": "false"})
        return DeltaTable(lh.uri("audit_log"))

    def rows(lh: Lakehouse) -> list[dict[str, Any]]:
        return sorted(lh.read("audit_log").to_pylist(), key=lambda r: r["seq"])

    def rechain(rs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        prev = "0" * 64
        for r in rs:
            r["prev_hash"] = prev
            r["row_hash"] = row_hash(r)
            prev = r["row_hash"]
        return rs

    def overwrite(lh: Lakehouse, rs: list[dict[str, Any]]) -> None:
        schema = lh.read("audit_log").schema
        write_deltalake(
            open_up(lh), pa.Table.from_pylist(rs, schema=schema), mode="overwrite", partition_by=["date"]
        )

    def edit(lh: Lakehouse) -> None:
        open_up(lh).update(predicate="seq = 3", updates={"result_count": "0"})

    def delete(lh: Lakehouse) -> None:
        open_up(lh).delete("seq = 2")

    def truncate(lh: Lakehouse) -> None:
        open_up(lh).delete("seq = 5")

    def insert(lh: Lakehouse) -> None:
        r = rows(lh)[3]
        forged = {**r, "audit_id": "f" * 32, "parameters": '{"pattern": "XYZ999"}'}
        forged["row_hash"] = row_hash(forged)
        write_deltalake(
            lh.uri("audit_log"),
            pa.Table.from_pylist([forged], schema=lh.read("audit_log").schema),
            mode="append",
            partition_by=["date"],
        )

    def edit_rechain(lh: Lakehouse) -> None:
        rs = rows(lh)
        rs[1]["parameters"] = '{"pattern": "innocent"}'
        overwrite(lh, rechain(rs))

    def drop_and_rechain(lh: Lakehouse) -> None:
        rs = rows(lh)
        del rs[2]
        for i, r in enumerate(rs, 1):
            r["seq"] = i
        overwrite(lh, rechain(rs))

    def wipe(lh: Lakehouse) -> None:
        overwrite(lh, [])

    def forge_anchor(lh: Lakehouse) -> None:
        edit_rechain(lh)
        f = next(anchors_dir(lh).glob("*.json"))
        a = json.loads(f.read_text())
        a["row_hash"] = rows(lh)[-1]["row_hash"]
        f.write_text(json.dumps(a))

    def delete_anchor_and_edit(lh: Lakehouse) -> None:
        edit_rechain(lh)
        for f in anchors_dir(lh).glob("*.json"):
            f.unlink()

    def rebuild(lh: Lakehouse) -> None:
        """Edit a row, then rebuild the table AND its Delta log from scratch, one commit per row,
        re-chained, with consistent Delta versions: only the signed anchors can tell."""
        rs = rows(lh)
        rs[1]["parameters"] = '{"pattern": "innocent"}'
        schema = lh.read("audit_log").schema
        shutil.rmtree(Path(lh.uri("audit_log").removeprefix("file://")))
        lh.ensure("audit_log")
        prev = "0" * 64
        for r in rs:
            r["prev_hash"], r["delta_version"] = prev, lh.version("audit_log") + 1
            r["row_hash"] = row_hash(r)
            prev = r["row_hash"]
            write_deltalake(
                lh.uri("audit_log"),
                pa.Table.from_pylist([r], schema=schema),
                mode="append",
                partition_by=["date"],
            )

    def rebuild_truncated(lh: Lakehouse) -> None:
        """Drop the newest row by rebuilding the table and its log without it."""
        rs = rows(lh)[:-1]
        schema = lh.read("audit_log").schema
        shutil.rmtree(Path(lh.uri("audit_log").removeprefix("file://")))
        lh.ensure("audit_log")
        for r in rs:
            r["delta_version"] = lh.version("audit_log") + 1
            r["row_hash"] = row_hash(r)
            write_deltalake(
                lh.uri("audit_log"),
                pa.Table.from_pylist([r], schema=schema),
                mode="append",
                partition_by=["date"],
            )

    def rebuild_drop_anchors(lh: Lakehouse) -> None:
        rebuild(lh)
        for f in anchors_dir(lh).glob("*.json"):
            f.unlink()

    attacks: dict[str, Callable[[Lakehouse], None]] = {
        "edit, then rebuild table and Delta log re-chained": rebuild,
        "edit, rebuild table and log, delete the anchors": rebuild_drop_anchors,
        "rebuild table and log without the newest row": rebuild_truncated,
        "edit a row": edit,
        "delete a row": delete,
        "delete the newest row": truncate,
        "insert a forged row": insert,
        "edit and re-chain the table": edit_rechain,
        "delete a row and re-chain": drop_and_rechain,
        "overwrite the table with nothing": wipe,
        "edit, re-chain and forge the anchor": forge_anchor,
        "edit, re-chain and delete the anchors": delete_anchor_and_edit,
    }
    results: dict[str, dict[str, Any]] = {}
    for name, attack in attacks.items():
        lh = fresh(name.replace(" ", "-").replace(",", ""))
        attack(lh)
        # and covers its tracks: the table is append-only again, as before
        DeltaTable(lh.uri("audit_log")).alter.set_table_properties({"delta.appendOnly": "true"})
        rep = verify_chain(lh)
        results[name] = {"detected": not rep.ok, "how": (rep.problems or ["NOT DETECTED"])[0][:120]}
    # writes the table itself refuses (append-only), without opening it up first
    lh = fresh("refused-writes")
    for name, fn in (
        ("delete through delta-rs", lambda: lh.table("audit_log").delete("seq = 1")),
        (
            "update through delta-rs",
            lambda: lh.table("audit_log").update(predicate="seq = 1", updates={"result_count": "9"}),
        ),
    ):
        try:
            fn()
            refused, how = False, "accepted"
        except Exception as exc:  # noqa: BLE001 - the refusal is what is counted
            refused, how = True, f"refused: {str(exc).splitlines()[0][:100]}"
        results[name] = {"detected": refused and verify_chain(lh).ok, "how": how}
    # maintenance never touches the audit log
    from lakehouse import maintenance

    before = {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in Path(lh.uri("audit_log")).rglob("*")
        if p.is_file()
    }
    maintenance.compact(lh)
    maintenance.vacuum(lh, retention_hours=0)
    maintenance.retention(lh, {"audit_log": 0})
    after = {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in Path(lh.uri("audit_log")).rglob("*")
        if p.is_file()
    }
    results["maintenance (compact, vacuum 0 h, retention 0 days)"] = {
        "detected": before == after and verify_chain(lh).ok,
        "how": "audit log files unchanged",
    }
    return {
        "attempts": len(results),
        "detected": sum(r["detected"] for r in results.values()),
        "per_attempt": results,
    }


# ----------------------------------------------------------------------------------- 4. retention
NOW = dt.datetime(2026, 6, 1, 12, tzinfo=UTC)


def _rid(kind: str, i: int) -> str:  # random characters: no compressor hides one behind a back-reference
    return hashlib.sha256(f"{kind}-{i}".encode()).hexdigest()[:24]


def _vec(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(128).astype(np.float32)


def _crop(seed: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + np.random.default_rng(1000 + seed).bytes(1500)


def _sighting(sid: str, ts: dt.datetime, seed: int, cam: str = "cam-1") -> dict[str, Any]:
    return {
        "sighting_id": sid,
        "camera_id": cam,
        "video_id": "v1",
        "source_uri": "/x.mp4",
        "ts": ts,
        "offset_s": 0.0,
        "bbox": [0.0, 0.0, 10.0, 10.0],
        "det_score": 0.99,
        "quality": 0.9,
        "searchable": True,
        "embedding": _vec(seed).tolist(),
        "crop_jpeg": _crop(seed),
        "track_len": 5,
        "model_version": "m1",
        "agency": "municipal",
    }


def _read(rid: str, ts: dt.datetime, seed: int, cam: str = "cam-1") -> dict[str, Any]:
    return {
        "read_id": rid,
        "camera_id": cam,
        "video_id": "v1",
        "source_uri": "/x.mp4",
        "ts": ts,
        "offset_s": 1.0,
        "plate": f"ABC{100 + seed}",
        "plate_raw": f"ABC{100 + seed}",
        "confidence": 0.9,
        "crop_jpeg": _crop(500 + seed),
        "track_len": 3,
        "model_version": "m1",
        "agency": "municipal",
    }


def _scan(root: Path, patterns: dict[str, bytes], skip: tuple[str, ...] = ()) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for p in root.rglob("*"):
        if not p.is_file():
            continue
        rel = str(p.relative_to(root))
        if rel.startswith(skip):
            continue
        data = p.read_bytes()
        for label, pat in patterns.items():
            if pat in data:
                found.setdefault(label, []).append(rel)
    return found


def retention(base: Path) -> dict[str, Any]:
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    from lakehouse import Lakehouse, maintenance
    from lakehouse.specs import spec
    from pipelines.governance.context import SearchContext
    from pipelines.governance.holds import add_hold, release_hold
    from pipelines.movement.derived import write_derived
    from pipelines.search.face_index import FaceIndex
    from pipelines.search.plate_index import PlateIndex

    home = base / "retention"
    lh = Lakehouse(home=home)
    # a legacy home: biometric tables created with the change data feed on, one row deleted already
    for name in ("face_sightings", "plate_reads"):
        s = spec(name)
        DeltaTable.create(
            lh.uri(name),
            schema=s.schema,
            partition_by=list(s.partition_by),
            configuration={"delta.enableChangeDataFeed": "true"},
        )
    expired_ts, fresh_ts, old_plate_ts = (
        NOW - dt.timedelta(days=60),
        NOW - dt.timedelta(days=2),
        NOW - dt.timedelta(days=400),
    )
    legacy = _sighting(_rid("legacy", 0), expired_ts, 50) | {"date": expired_ts.date()}
    write_deltalake(
        lh.uri("face_sightings"),
        pa.Table.from_pylist([legacy], schema=spec("face_sightings").schema),
        mode="append",
    )
    DeltaTable(lh.uri("face_sightings")).delete(f"sighting_id = '{legacy['sighting_id']}'")

    expired_s = [_rid("expired-s", i) for i in range(6)]
    fresh_s = [f"FRESH-SIGHTING-{i:04d}" for i in range(3)]
    held_s = _rid("held-s", 0)
    expired_r = [_rid("expired-r", i) for i in range(4)]
    held_r, cam_held_r = _rid("held-r", 0), _rid("cam-held-r", 0)
    lh.append("face_sightings", [_sighting(s, expired_ts, i) for i, s in enumerate(expired_s)])
    lh.append(
        "face_sightings",
        [_sighting(s, fresh_ts, 20 + i) for i, s in enumerate(fresh_s)] + [_sighting(held_s, expired_ts, 30)],
    )
    lh.append(
        "plate_reads",
        [_read(r, old_plate_ts, i) for i, r in enumerate(expired_r)]
        + [
            _read(held_r, old_plate_ts, 40),
            _read(cam_held_r, old_plate_ts, 41, cam="cam-held"),
            _read("FRESH-READ-0001", fresh_ts, 42),
        ],
    )
    FaceIndex(lh).build()
    PlateIndex(lh).update()
    day = old_plate_ts.date().isoformat()
    write_derived(
        home,
        "daily_sightings",
        pa.table(
            {
                "read_id": [*expired_r, held_r, cam_held_r],
                "camera_id": ["cam-1"] * (len(expired_r) + 1) + ["cam-held"],
                "ts": pa.array([old_plate_ts] * (len(expired_r) + 2), pa.timestamp("us", tz="UTC")),
            }
        ),
        day,
    )
    write_derived(
        home, "faces_by_day", pa.table({"sighting_id": [*expired_s, held_s]}), expired_ts.date().isoformat()
    )
    sup = SearchContext(user="sup", role="supervisor", agency="municipal")
    h1 = add_hold(lh, sup, "H-1", sighting_ids=[held_s], read_ids=[held_r])
    h2 = add_hold(
        lh,
        sup,
        "H-1",
        camera_id="cam-held",
        time_from=old_plate_ts - dt.timedelta(hours=1),
        time_to=old_plate_ts,
    )

    patterns: dict[str, bytes] = {}
    for i, sid in enumerate(expired_s):
        patterns[f"id {sid}"] = sid[4:].encode()
        patterns[f"embedding {sid}"] = _vec(i).tobytes()[:64]
        patterns[f"crop {sid}"] = _crop(i)[100:400]
    patterns["id legacy"] = legacy["sighting_id"][4:].encode()
    patterns["embedding legacy"] = _vec(50).tobytes()[:64]
    patterns["crop legacy"] = _crop(50)[100:400]
    for i, r in enumerate(expired_r):
        patterns[f"id {r}"] = r[4:].encode()
        patterns[f"crop {r}"] = _crop(500 + i)[100:400]
    held = {
        "held sighting id": held_s[4:].encode(),
        "held sighting embedding": _vec(30).tobytes()[:64],
        "held sighting crop": _crop(30)[100:400],
        "held read id": held_r[4:].encode(),
        "held read crop": _crop(540)[100:400],
        "camera-held read id": cam_held_r[4:].encode(),
    }
    before = _scan(home, {**patterns, **held})
    control = set(patterns) | set(held) <= set(before)  # the scan sees every pattern beforehand
    maintenance.retention(lh, {"derived": 30}, now=NOW)
    left = _scan(home, patterns)
    files = [p for p in home.rglob("*") if p.is_file()]
    bytes_scanned = sum(p.stat().st_size for p in files)
    bytes_left = sum(len(patterns[k]) * len(v) for k, v in left.items())
    survived = _scan(home, held)
    held_tables = {
        "held sighting in its table": bool(
            lh.read("face_sightings", filter=None)
            .filter(pa.compute.equal(lh.read("face_sightings")["sighting_id"], held_s))
            .num_rows
        ),
        "held read in its table": held_r
        in lh.read("plate_reads", columns=["read_id"])["read_id"].to_pylist(),
        "camera-held read in its table": cam_held_r
        in lh.read("plate_reads", columns=["read_id"])["read_id"].to_pylist(),
        "held read in derived": any(p.startswith("derived/") for p in survived.get("held read id", [])),
        "camera-held read in derived": any(
            p.startswith("derived/") for p in survived.get("camera-held read id", [])
        ),
        "held sighting in derived": any(
            p.startswith("derived/") for p in survived.get("held sighting id", [])
        ),
        "held sighting in the face index": any(
            p.startswith("index/") for p in survived.get("held sighting embedding", [])
        ),
        "fresh rows searchable": bool(FaceIndex(lh).search(_vec(21), k=1)),
    }
    release_hold(lh, sup, h1["hold_id"])
    release_hold(lh, sup, h2["hold_id"])
    maintenance.retention(lh, {"derived": 30}, now=NOW)
    # after release only the hold's own record and the audit log may name the ids (never data)
    released_left = _scan(home, held, skip=("tables/holds/", "tables/audit_log/"))
    released_bytes = sum(len(held[k]) * len(v) for k, v in released_left.items())
    checks = len(patterns) + len(held_tables) + len(held)
    return {
        "checks": checks,
        "expired_patterns": len(patterns),
        "files_scanned": len(files),
        "bytes_scanned": bytes_scanned,
        "bytes_left": bytes_left + released_bytes,
        "left": left,
        "released_left": released_left,
        "held_survived": held_tables,
        "control": control,
    }


# ----------------------------------------------------------------------------------- report
def run(base: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, fn in (
        ("bad_inputs", bad_inputs),
        ("cross_agency", cross_agency),
        ("tamper", tamper),
        ("retention", retention),
    ):
        t0 = time.perf_counter()
        out[name] = fn(base)
        out[name]["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def table(s: dict[str, Any]) -> str:
    b, c, t, r = s["bad_inputs"], s["cross_agency"], s["tamper"], s["retention"]
    held_ok = sum(r["held_survived"].values())
    return "\n".join(
        [
            "| attack | tried | outcome |",
            "|---|---:|---|",
            f"| bad inputs | {b['tried']} | {b['handled']} handled (clear one-line error, nothing changed) |",
            f"| cross-agency probes ({c['paths']} read paths x 4 agreement states) | {c['probes']} | "
            f"{c['leaks']} leaks, {c['misses']} misses |",
            f"| out-of-case searches (warrant time/area/plate, no case, closed case) | {c['case_attempts']} | "
            f"{c['case_refused']} refused, {c['case_refusals_logged']} refusals logged |",
            f"| audit tamper attempts | {t['attempts']} | {t['detected']} detected or refused |",
            f"| retention checks ({r['expired_patterns']} expired ids/embeddings/crops, holds) | {r['checks']} | "
            f"{r['bytes_left']} bytes left in {r['files_scanned']} files ({r['bytes_scanned']:,} bytes scanned); "
            f"held data survived {held_ok}/{len(r['held_survived'])} |",
        ]
    )


def markdown(s: dict[str, Any]) -> str:
    c, t = s["cross_agency"], s["tamper"]
    lines = [
        "## Governance red team (governance)",
        "",
        "`python -m benchmarks.governance` (tests: `tests/governance/test_redteam.py`), "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()} "
        f"({os.cpu_count()} cores, shared), {sum(v['seconds'] for v in s.values()):.0f} s in all. "
        "Real Delta tables in a temporary home; "
        "what each row tries is in the module docstring.",
        "",
        table(s),
        "",
        "Cross-agency probes per read path (police911 reading; municipal's rows must appear only "
        "under an agreement in force for that data type):",
        "",
        "| read path | probes | leaks | misses |",
        "|---|---:|---:|---:|",
        *(f"| {n} | {p['probes']} | {p['leaks']} | {p['misses']} |" for n, p in c["per_path"].items()),
        "",
        "Stored movement outputs (a daily Beam run over every agency's reads, then read by police911): "
        "rows shown / rows police911 may be shown (the same run over only the reads it may see) / rows "
        "stored. A row is shown only when every read behind it is visible to the reader (counts and "
        "trips per camera and day, flows and convoys per day); the rest is withheld, never leaked "
        "(municipal's read at police911's own camera P1 withholds P1's counts and the trips through "
        "it without an agreement):",
        "",
        "| agreement state | " + " | ".join(f"movement_{n}" for n in STORED) + " |",
        "|---|" + "---:|" * len(STORED),
        *(
            f"| {state} | " + " | ".join("/".join(str(x) for x in v.get(n, [])) for n in STORED) + " |"
            for state, v in c.get("stored_shown", {}).items()
        ),
        "",
        "Bad inputs (exit code and the one-line error; library calls raise their own error type):",
        "",
        "| input | rc | handled | error |",
        "|---|---:|---|---|",
        *(
            f"| `{r['input']}` | {'' if r['rc'] is None else r['rc']} | {'yes' if r['handled'] else '**NO**'} | "
            f"{r['error'].replace('|', '/')[:110]} |"
            for r in s["bad_inputs"]["rows"]
        ),
        "",
        "Tamper attempts (each on a copy of a 5-row chained log; the attacker turns `delta.appendOnly` off, "
        "tampers, and turns it back on):",
        "",
        "| attempt | detected | how |",
        "|---|---|---|",
        *(
            f"| {n} | {'yes' if v['detected'] else '**NO**'} | {v['how']} |"
            for n, v in t["per_attempt"].items()
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="run every probe; write no results")
    ap.add_argument("--quick", action="store_true", help="the same as the full run (it takes seconds)")
    ap.add_argument("--json", metavar="FILE", help="also write the summary as JSON")
    args = ap.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="pq-redteam-"))
    try:
        s = run(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(table(s))
    if args.json:
        Path(args.json).write_text(json.dumps(s, indent=2, default=str))
    if not args.smoke:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(markdown(s))
        print("wrote", RESULTS)
    ok = (
        s["bad_inputs"]["handled"] == s["bad_inputs"]["tried"]
        and s["cross_agency"]["leaks"] == 0
        and s["tamper"]["detected"] == s["tamper"]["attempts"]
        and s["retention"]["bytes_left"] == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
