"""Loading the code location catches wiring errors (resource keys, jobs, selections) cheaply."""

from __future__ import annotations


def test_definitions_load() -> None:
    from dagster_project.definitions import defs

    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert {
        "extracted_video",
        "movement_trips",
        "od_flows",
        "convoys",
        "camera_counts",
        "crime_heatmap",
        "crime_hotspots",
        "lineage_report",
        "camera_read_accuracy",
    } <= keys
    jobs = {j.name for j in repo.get_all_jobs()}
    assert {
        "extract_video_job",
        "movement_job",
        "crime_map_job",
        "maintenance_job",
        "retention_job",
        "index_refresh_job",
        "read_accuracy_job",
    } <= jobs
    assert {s.name for s in repo.sensor_defs} == {"inbox_sensor", "camera_groups_sensor"}
    schedules = {s.name: s for s in repo.schedule_defs}
    assert set(schedules) == {
        "crime_map_daily",
        "movement_schedule",
        "maintenance_nightly",
        "retention_nightly",
        "index_refresh",
        "read_accuracy_daily",
    }
    import dagster as dg

    assert all(s.default_status == dg.DefaultScheduleStatus.STOPPED for s in schedules.values())
    checks = {k.name for k in repo.asset_graph.asset_check_keys}
    assert {
        "plate_reads_have_plate",
        "processing_failures_below_threshold",
        "schema_conformance",
        "camera_freshness",
        "plate_read_rate_vs_baseline",
        "face_rate_vs_baseline",
        "null_and_range",
        "plate_read_rate_latest_day",
    } <= checks
    extracted = repo.assets_defs_by_key[
        next(k for k in repo.asset_graph.get_all_asset_keys() if k.to_user_string() == "extracted_video")
    ]
    assert extracted.backfill_policy is not None
    assert extracted.backfill_policy.max_partitions_per_run is None  # single run
    # day x camera GROUP partitions: groups are dynamic partitions from the camera registry
    pdef = extracted.partitions_def
    assert isinstance(pdef, dg.MultiPartitionsDefinition)
    assert {d.name for d in pdef.partitions_defs} == {"date", "camera_group"}
