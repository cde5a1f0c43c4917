"""The demo job: synthetic city -> cameras, incidents -> ingest every clip -> face index.

Idempotent: the city is generated once under HOME/city; sources already processed with the current
model version are skipped by the extraction library; imports are upserts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakehouse import Lakehouse
from lakehouse.config import resolve_home


@dataclass
class DemoOptions:
    cameras: int = 6
    minutes: float = 0.5
    seed: int = 7
    incidents: int = 5000
    video: bool = True


def build_demo(home: str | Path, opts: DemoOptions, say: Callable[[str], None] = print) -> dict[str, Any]:
    from pipelines.cameras import import_camera_rows
    from pipelines.governance.signin import demo_home_check
    from pipelines.synth import generate_city, load_manifest

    home_path = resolve_home(home)
    demo_home_check(home_path)  # refuses a home with non-demo data (the demo password is published)
    lh = Lakehouse(home=home_path)
    lh.ensure_all()
    city_dir = home_path / "city"
    if (city_dir / "manifest.json").exists():
        say(f"[1/5] reusing synthetic city at {city_dir}")
        city = load_manifest(city_dir)
    else:
        say(f"[1/5] generating synthetic city ({opts.cameras} cameras, {opts.minutes} min each) at {city_dir}")
        city = generate_city(
            city_dir, cameras=opts.cameras, minutes=opts.minutes, seed=opts.seed, incidents=opts.incidents
        )
    summary: dict[str, Any] = {"home": str(home_path), "city": str(city_dir)}

    say("[2/5] loading cameras")
    summary["cameras"] = import_camera_rows(lh, city.cameras)

    say("[3/5] importing incidents")
    if city.incidents_csv:
        from pipelines.crime.importer import import_incidents

        import_incidents(lh, city.abspath(city.incidents_csv))
    summary["incidents"] = lh.count("incidents")

    failed: list[str] = []
    if opts.video:
        from pipelines.extract import ingest_paths

        say(f"[4/5] extracting plates and faces from {len(city.videos)} clips (Ray, CPU/GPU auto)")
        for i, v in enumerate(city.videos, 1):
            say(f"      clip {i}/{len(city.videos)}: {v.path} (camera {v.camera_id})")
            rep = ingest_paths(lh, [city.abspath(v.path)], camera_id=v.camera_id, start=v.start_ts, progress=True)
            failed += [f"{p}: {why}" for p, why in rep.failed]
        say("[5/5] building the face index")
        from pipelines.search import FaceIndex

        index = FaceIndex.for_home(home_path)
        index.update(lh)
        summary["indexed_faces"] = index.size
    summary["videos"] = lh.count("videos")
    summary["plate_reads"] = lh.count("plate_reads")
    summary["face_sightings"] = lh.count("face_sightings")
    summary["failed"] = failed
    return summary
