"""``generate_city``: a seeded synthetic city — cameras of two agencies, H.264 clips with plates and
faces, an incidents CSV, and the ground truth of everything drawn (``manifest.json``).

Same arguments and seed -> the same manifest, byte for byte (the clips are encoded with one x264
thread, so they come out identical too on the same library versions).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import time
from pathlib import Path

import numpy as np

from pipelines.synth.geo import CityPreset, place_cameras, resolve_city
from pipelines.synth.manifest import CityManifest, save_manifest
from pipelines.synth.plates import L_ALL, L
from pipelines.synth.scene import make_geometry
from pipelines.synth.traffic import CameraPlan, plan_city

__all__ = ["DIFFICULTY", "generate_city"]

log = logging.getLogger(__name__)

#: per difficulty: plate character height at the closest point (street / portico cameras), camera
#: shutter time (motion blur), sensor noise sigma, share of cameras recorded at night, plate roll
#: (degrees) and keystone, x264 CRF and preset, letters used on plates
DIFFICULTY: dict[str, dict] = {
    "easy": {
        "street_char_px": 40,
        "portico_char_px": 46,
        "shutter_s": 1 / 1000,
        "noise": 2.0,
        "night_share": 0.0,
        "roll": 1.0,
        "keystone": 0.03,
        "crf": 21,
        "preset": "ultrafast",
        "letters": L,
    },
    "default": {
        "street_char_px": 30,
        "portico_char_px": 36,
        "shutter_s": 1 / 250,
        "noise": 3.0,
        "night_share": 0.34,
        "roll": 2.5,
        "keystone": 0.06,
        "crf": 23,
        "preset": "ultrafast",
        "letters": L,
    },
    "hard": {
        "street_char_px": 21,
        "portico_char_px": 26,
        "shutter_s": 1 / 100,
        "noise": 5.0,
        "night_share": 0.5,
        "roll": 4.0,
        "keystone": 0.10,
        "crf": 26,
        "preset": "ultrafast",
        "letters": L_ALL,
    },
}

AGENCIES = ("municipal", "police911")
DEFAULT_DATE = dt.date(2026, 3, 2)


def _roles(n: int) -> list[str]:
    n_portico = 0 if n < 2 else max(1, round(n * 0.3))
    return ["portico"] * n_portico + ["street"] * (n - n_portico)


def _night_set(kinds: list[str], share: float) -> set[int]:
    """Cameras recorded at night: taken from the end of each kind alternately, never the first
    portico nor the first street camera, so the day keeps a route and faces."""
    n_night = int(math.floor(len(kinds) * share))
    streets = [i for i, k in enumerate(kinds) if k == "street"][1:]
    porticos = [i for i, k in enumerate(kinds) if k == "portico"][1:]
    order: list[int] = []
    while streets or porticos:
        if streets:
            order.append(streets.pop())
        if porticos:
            order.append(porticos.pop())
    return set(order[:n_night])


def _camera_rows(preset: CityPreset, kinds: list[str], rng: np.random.Generator) -> list[dict]:
    n_portico = kinds.count("portico")
    sites = place_cameras(preset, len(kinds) - n_portico, n_portico, rng)
    main_fmt = max(preset.plate_mix, key=lambda k: preset.plate_mix[k])
    rows = []
    n_p = n_s = 0
    for i, site in enumerate(sites):
        if site.kind == "portico":
            agency = AGENCIES[n_p % 2]
            n_p += 1
        else:
            agency = AGENCIES[(n_s + 1) % 2]
            n_s += 1
        other = AGENCIES[1 - AGENCIES.index(agency)]
        shared = [other] if (agency == "municipal" or site.kind == "portico" or rng.random() < 0.5) else []
        tag = "MUN" if agency == "municipal" else "911"
        rows.append(
            {
                "camera_id": f"{preset.code}-{tag}-{i + 1:03d}",
                "agency": agency,
                "name": site.label,
                "lat": round(site.lat, 7),
                "lon": round(site.lon, 7),
                "h3": site.cell,
                "kind": site.kind,
                "heading": float(site.heading),
                "stream_uri": None,
                "plate_format": main_fmt,
                "shared_with": shared,
                "sample_fps": None,  # per-camera settings: the profile's defaults
                "gating": None,
            }
        )
    return rows


def generate_city(
    out_dir: str | Path,
    *,
    cameras: int = 6,
    minutes: float = 0.5,
    seed: int = 7,
    city: str = "asuncion",
    bbox: tuple[float, float, float, float] | str | None = None,
    difficulty: str = "default",
    fps: float = 25,
    width: int = 1280,
    height: int = 720,
    incidents: int = 2000,
    progress: bool = True,
    workers: int | None = None,
    date: dt.date | None = None,
) -> CityManifest:
    """Write a synthetic city under ``out_dir`` and return its manifest (also ``out_dir/manifest.json``).

    ``cameras`` clips of ``minutes`` each (``fps``, ``width`` x ``height``); ``city`` is a preset
    (asuncion, buenos_aires, lima) or a bbox string; ``bbox`` overrides the preset's box;
    ``incidents`` synthetic incident reports (0: none) over the 90 days before ``date``;
    ``workers`` processes render cameras in parallel (default: one per core when the city is big).
    """
    t0 = time.perf_counter()
    if cameras < 1:
        raise ValueError("cameras must be >= 1")
    if minutes <= 0:
        raise ValueError("minutes must be > 0")
    if difficulty not in DIFFICULTY:
        raise ValueError(f"difficulty must be one of {sorted(DIFFICULTY)}")
    if width < 320 or height < 240 or width % 2 or height % 2:
        raise ValueError("width and height must be even and at least 320x240")
    diff = DIFFICULTY[difficulty]
    preset = resolve_city(city, bbox)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 1])
    kinds = _roles(cameras)
    rows = _camera_rows(preset, kinds, rng)
    night = _night_set([r["kind"] for r in rows], diff["night_share"])
    day0 = date or DEFAULT_DATE
    local = dt.timezone(dt.timedelta(hours=preset.utc_offset_h))
    session_start = {
        "day": dt.datetime(
            day0.year, day0.month, day0.day, 10, int(rng.integers(0, 50)), tzinfo=local
        ).astimezone(dt.UTC),
        "night": dt.datetime(
            day0.year, day0.month, day0.day, 21, int(rng.integers(0, 50)), tzinfo=local
        ).astimezone(dt.UTC),
    }
    plans: list[CameraPlan] = []
    for i, row in enumerate(rows):
        char = diff["portico_char_px"] if row["kind"] == "portico" else diff["street_char_px"]
        g, layout = make_geometry(row["kind"], width, height, char)
        plans.append(
            CameraPlan(
                index=i,
                row=row,
                scene=row["kind"],
                lighting="night" if i in night else "day",
                start_ts=session_start["day"],
                geometry=g,
                layout=layout,
                utc_offset_h=preset.utc_offset_h,
            )
        )
    sessions = {"day": [i for i in range(len(rows)) if i not in night], "night": sorted(night)}

    bank = _face_bank()
    n_frames = max(1, int(round(minutes * 60 * fps)))
    duration = n_frames / fps
    cplan = plan_city(plans, sessions, session_start, duration, preset.plate_mix, diff, bank.identities, seed)
    notes = list(bank.notes)

    from pipelines.synth.render import RenderJob

    jobs = []
    for p in plans:
        stamp = p.start_ts.strftime("%Y%m%dT%H%M%SZ")
        rel = f"videos/{p.row['camera_id']}/{p.row['camera_id']}_{stamp}.mp4"
        jobs.append(
            RenderJob(
                plan=p,
                rel_path=rel,
                out_path=out / rel,
                fps=float(fps),
                n_frames=n_frames,
                difficulty=diff,
                heads=bank.heads,
                seed=seed,
            )
        )
    results = _render_all(jobs, progress, workers)

    plate_passes = [pp for r in results for pp in r.plate_passes]
    face_passes = [fp for r in results for fp in r.face_passes]
    by_vehicle: dict[str, list[dict]] = {}
    for r in results:
        for s in r.sightings:
            by_vehicle.setdefault(s["vehicle_id"], []).append(
                {k: v for k, v in s.items() if k != "vehicle_id"}
            )
    convoy_of = {vid: c["convoy_id"] for c in cplan.convoys for vid in c["vehicle_ids"]}
    for c in cplan.convoys:  # cameras where at least two members were actually seen
        seen: dict[str, int] = {}
        for vid in c["vehicle_ids"]:
            for cam in {s["camera_id"] for s in by_vehicle.get(vid, [])}:
                seen[cam] = seen.get(cam, 0) + 1
        c["cameras"] = sorted(cam for cam, k in seen.items() if k >= 2)
    vehicles = []
    for vid, spec in sorted(cplan.vehicles.items()):
        sights = sorted(by_vehicle.get(vid, []), key=lambda s: s["ts"])
        if not sights:
            continue
        vehicles.append({**spec.as_dict(), "convoy_id": convoy_of.get(vid), "sightings": sights})

    incidents_csv = incidents_truth = None
    if incidents > 0:
        incidents_csv, incidents_truth, note = _incidents(out, incidents, preset, day0, seed)
        if note:
            notes.append(note)
    manifest = CityManifest(
        root=out.resolve(),
        seed=seed,
        city=preset.name,
        bbox=tuple(preset.bbox),  # type: ignore[arg-type]
        cameras=rows,
        videos=[r.video for r in results],
        plate_passes=plate_passes,
        face_passes=face_passes,
        identities={k: v for k, v in sorted(bank.enrolment.items())},
        incidents_csv=incidents_csv,
        difficulty=difficulty,
        vehicles=vehicles,
        convoys=cplan.convoys,
        incidents_truth=incidents_truth,
        notes=notes,
    )
    save_manifest(manifest)
    log.info(
        "synthetic city %s: %d cameras, %d plate passes, %d face passes in %.1f s",
        out,
        len(rows),
        len(plate_passes),
        len(face_passes),
        time.perf_counter() - t0,
    )
    return manifest


_BANKS: dict[str, object] = {}


def _face_bank():
    """The face bank of the current shared-data location, loaded once per process."""
    from pipelines.shared_data import shared_data_dir
    from pipelines.synth.faces import load_face_bank

    key = str(shared_data_dir())
    if key not in _BANKS:
        _BANKS[key] = load_face_bank()
    return _BANKS[key]


def _render_all(jobs: list, progress: bool, workers: int | None) -> list:
    from tqdm import tqdm

    from pipelines.synth.render import render_camera

    total = sum(j.n_frames for j in jobs)
    if workers is None:
        workers = 1 if total < 4000 else min(len(jobs), os.cpu_count() or 1)
    workers = max(1, min(workers, len(jobs)))
    bar = tqdm(total=total, unit="frame", desc="synth city", disable=not progress, leave=False)
    try:
        if workers == 1:
            return [render_camera(j, on_frame=bar.update) for j in jobs]
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        results: list = [None] * len(jobs)
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as ex:
            futs = {ex.submit(render_camera, j): k for k, j in enumerate(jobs)}
            from concurrent.futures import as_completed

            for f in as_completed(futs):
                k = futs[f]
                results[k] = f.result()
                bar.update(jobs[k].n_frames)
        return results
    finally:
        bar.close()


def _incidents(
    out: Path, n: int, preset: CityPreset, day0: dt.date, seed: int
) -> tuple[str | None, str | None, str | None]:
    try:
        from pipelines.synth.incidents import generate_incidents, write_incidents_csv
    except ImportError as exc:
        msg = f"incidents skipped: pipelines.synth.incidents is not available ({exc})"
        log.warning(msg)
        return None, None, msg
    start = dt.datetime(day0.year, day0.month, day0.day, tzinfo=dt.UTC) - dt.timedelta(days=90)
    inc = generate_incidents(n, preset.bbox, seed=seed, start=start, days=90)
    write_incidents_csv(inc, out / "incidents.csv")
    truth = {"hotspot_centers": [list(c) for c in inc.hotspot_centers], **(inc.truth or {})}
    (out / "incidents_truth.json").write_text(json.dumps(truth, default=str, sort_keys=True) + "\n")
    return "incidents.csv", "incidents_truth.json", None
