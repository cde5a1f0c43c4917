"""Loading the code location catches wiring errors (resource keys, jobs, selections) cheaply."""

from __future__ import annotations


def test_definitions_load() -> None:
    from dagster_project.definitions import defs

    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert {"extracted_video", "movement_trips", "od_flows", "convoys", "camera_counts",
            "crime_heatmap", "crime_hotspots"} <= keys
    jobs = {j.name for j in repo.get_all_jobs()}
    assert {"extract_video_job", "movement_job", "crime_map_job"} <= jobs
    assert {s.name for s in repo.sensor_defs} == {"inbox_sensor"}
    assert {s.name for s in repo.schedule_defs} == {"crime_map_daily", "movement_schedule"}
    checks = {k.name for k in repo.asset_graph.asset_check_keys}
    assert {"plate_reads_have_plate", "processing_failures_below_threshold"} <= checks
    extracted = repo.assets_defs_by_key[next(k for k in repo.asset_graph.get_all_asset_keys()
                                             if k.to_user_string() == "extracted_video")]
    assert extracted.backfill_policy is not None
    assert extracted.backfill_policy.max_partitions_per_run is None  # single run
