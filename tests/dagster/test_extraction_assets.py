"""Real path, no stand-ins: a tiny synthetic city's videos in the inbox -> ``extracted_video`` on a
real day x camera-group partition (ExtractionClient -> pipelines.extract.ingest_paths) ->
``pesquisa backfill`` with a new model version (switches every source, ends with a lineage report)
-> the Beam movement assets over the reads the models produced, each pass counted once."""

from __future__ import annotations

import datetime as dt
import json
import os

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pytest


def _need_extraction() -> None:
    """Both are this project's own modules: an import error is a failure, never a skip."""
    from pipelines.extract import EXTRACTION_MODEL_VERSION, ingest_paths  # noqa: F401
    from pipelines.synth.city import generate_city  # noqa: F401


def _reads(lh, version: str) -> pa.Table:
    t = lh.read("plate_reads", columns=["plate", "model_version", "camera_id", "source_uri"])
    return t.filter(pc.equal(t["model_version"].cast(pa.string()), version))


@pytest.mark.slow
def test_inbox_to_tables_backfill_and_movement(tmp_path, ray_session, capsys) -> None:
    _need_extraction()
    from dagster_project.defs.extraction.assets import extracted_video
    from dagster_project.defs.extraction.detector import ExtractionClient
    from dagster_project.defs.movement.assets import movement
    from dagster_project.defs.resources import DerivedParquetIOManager, LakehouseResource
    from jobs.cli import main
    from lakehouse import Lakehouse
    from pipelines.extract import EXTRACTION_MODEL_VERSION
    from pipelines.synth.city import generate_city

    city = generate_city(
        tmp_path / "city",
        cameras=2,
        minutes=0.1,
        incidents=0,
        progress=False,
        difficulty="easy",
        fps=10,
        width=640,
        height=360,
    )
    home = tmp_path / "home"
    lh = Lakehouse(home=home)
    lh.upsert("cameras", city.cameras)
    videos = city.videos[:1]  # one clip keeps the test short (its camera reads 3 plates at 2 fps)
    day = videos[0].start_ts.date()
    for v in videos:
        dst = home / "inbox" / v.camera_id / v.start_ts.date().isoformat() / os.path.basename(v.path)
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(city.abspath(v.path), dst)

    resources = {
        "lakehouse": LakehouseResource(home=str(home)),
        "derived_io_manager": DerivedParquetIOManager(home=str(home)),
        "detector": ExtractionClient(sample_fps=2.0, workers=1),
    }
    from dagster_project.defs.partitions import partition_key, sync_camera_groups
    from pipelines.batch import group_of_camera

    group = group_of_camera(lh)[videos[0].camera_id]
    with dg.instance_for_test() as instance:
        assert group in sync_camera_groups(instance, lh)
        result = dg.materialize(
            [extracted_video],
            partition_key=partition_key(day.isoformat(), group),
            resources=resources,
            instance=instance,
        )
    assert result.success
    (mat,) = result.get_asset_materialization_events()
    meta = {k: v.value for k, v in mat.materialization.metadata.items()}
    assert meta["sources"] == len(videos) and meta["succeeded"] == len(videos)
    assert meta["failed"] == 0 and meta["camera_groups"] == group
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["plate_reads_have_plate"].passed and checks["null_and_range"].passed

    v1 = _reads(lh, EXTRACTION_MODEL_VERSION)
    assert v1.num_rows == meta["plate_reads"] > 0
    truth = {p.plate for p in city.plate_passes if p.camera_id == videos[0].camera_id}
    found = set(v1["plate"].cast(pa.string()).to_pylist())
    assert len(found & truth) >= 1, (found, truth)
    starts = {v.camera_id: v.start_ts for v in videos}
    ts = lh.read("plate_reads", columns=["camera_id", "ts"]).to_pylist()
    assert all(
        starts[r["camera_id"]] <= r["ts"] <= starts[r["camera_id"]] + dt.timedelta(minutes=1) for r in ts
    )

    # backfill the day with a new version string: same library call, new rows beside the old ones;
    # every source switches to the new version once both tables committed
    v2_name = EXTRACTION_MODEL_VERSION + "+bf"
    argv = [
        "--home",
        str(home),
        "--json",
        "backfill",
        "--model-version",
        v2_name,
        "--from",
        day.isoformat(),
        "--to",
        day.isoformat(),
        "--sample-fps",
        "2",
        "--workers",
        "1",
    ]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["succeeded"] == len(videos) and summary["model_version"] == v2_name
    (lin,) = summary["lineage"]  # the backfill ended with a lineage report
    assert lin["from_version"] == EXTRACTION_MODEL_VERSION and lin["sources"] == len(videos)
    assert lin["passes_added"] == lin["passes_dropped"] == lin["passes_reread"] == 0  # same models
    v2 = _reads(lh, v2_name)
    assert v2.num_rows == v1.num_rows
    assert _reads(lh, EXTRACTION_MODEL_VERSION).num_rows == v1.num_rows  # old version untouched
    from pipelines.versions import current_versions

    assert set(current_versions(lh).values()) == {v2_name}
    assert main(argv) == 0  # again: everything already at v2, nothing re-processed
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again["skipped"] == len(videos) and again["succeeded"] == 0
    assert _reads(lh, v2_name).num_rows == v2.num_rows

    # movement over the day's real reads: both versions are stored, each pass is counted ONCE (current v2)
    result = dg.materialize(
        [movement],
        partition_key=day.isoformat(),
        resources=resources,
        run_config={"ops": {"movement": {"config": {"flow_bucket_s": None}}}},
    )
    assert result.success
    counts = lh.read("movement_counts")
    assert pc.sum(counts["reads"]).as_py() == v2.num_rows
    assert set(counts["model_version"].to_pylist()) == {v2_name}
