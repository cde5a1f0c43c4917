"""Driver for the Ray-cluster test: joins the cluster at ``RAY_ADDRESS`` (the project's own
setting, nothing else changes), ingests the city's clips with a model version, and prints one JSON
line per source (plus the nodes the extraction actors ran on)."""

import json
import sys
import time
from pathlib import Path

from lakehouse import Lakehouse
from pipelines.extract import ingest_paths
from pipelines.synth.manifest import load_manifest


def main() -> None:
    city_dir, home, version, workers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    city = load_manifest(Path(city_dir))
    lh = Lakehouse(home=home)
    lh.upsert("cameras", city.cameras)
    for v in city.videos:
        print(json.dumps({"event": "start", "video": v.path, "t": time.time()}), flush=True)
        rep = ingest_paths(
            lh,
            [city.abspath(v.path)],
            camera_id=v.camera_id,
            start=v.start_ts,
            progress=False,
            workers=workers,
            model_version=version,
        )
        t_done = time.time()
        nodes = []
        try:
            import ray

            from pipelines.extract.actors import _POOLS

            for pool in _POOLS.values():
                refs = [
                    a.__ray_call__.remote(lambda self: ray.get_runtime_context().get_node_id())
                    for a in pool.actors
                ]
                nodes = ray.get(refs, timeout=60)
        except Exception as exc:  # the pool may be gone after a node died
            nodes = [f"unavailable: {exc.__class__.__name__}"]
        print(
            json.dumps(
                {
                    "event": "done",
                    "video": v.path,
                    "t": t_done,
                    "ok": rep.ok,
                    "failed": rep.failed,
                    "plate_reads": rep.plate_reads,
                    "face_sightings": rep.face_sightings,
                    "nodes": nodes,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
