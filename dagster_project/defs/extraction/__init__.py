"""Extraction domain: recorded video -> tables (asset, inbox sensor, checks, detector seam)."""

import dagster as dg

from dagster_project.defs.extraction.assets import extracted_video
from dagster_project.defs.extraction.checks import processing_failures_below_threshold
from dagster_project.defs.extraction.sensors import extract_job, inbox_sensor

defs = dg.Definitions(
    assets=[extracted_video],
    asset_checks=[processing_failures_below_threshold],
    jobs=[extract_job],
    sensors=[inbox_sensor],
)
