"""Extraction domain: recorded video -> tables (asset, inbox sensor, checks, detector seam)."""

import dagster as dg

from dagster_project.defs.extraction.assets import extracted_video
from dagster_project.defs.extraction.checks import (
    camera_freshness,
    face_rate_latest_day,
    null_and_range_latest_day,
    plate_read_rate_latest_day,
    processing_failures_below_threshold,
    schema_conformance,
)
from dagster_project.defs.extraction.sensors import camera_groups_sensor, extract_job, inbox_sensor

defs = dg.Definitions(
    assets=[extracted_video],
    asset_checks=[
        processing_failures_below_threshold,
        schema_conformance,
        camera_freshness,
        plate_read_rate_latest_day,
        face_rate_latest_day,
        null_and_range_latest_day,
    ],
    jobs=[extract_job],
    sensors=[inbox_sensor, camera_groups_sensor],
)
