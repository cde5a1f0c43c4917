"""Crime domain: heat map and hot spots over the incidents table, refreshed daily."""

import dagster as dg

from dagster_project.defs.crime.assets import (
    crime_heatmap,
    crime_hotspots,
    crime_map_job,
    crime_map_schedule,
    incidents_table,
)

defs = dg.Definitions(
    assets=[incidents_table, crime_heatmap, crime_hotspots],
    jobs=[crime_map_job],
    schedules=[crime_map_schedule],
)
