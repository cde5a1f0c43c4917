"""Movement domain: Beam pipelines over plate reads, per day."""

import dagster as dg

from dagster_project.defs.movement.assets import movement, movement_job, movement_schedule

defs = dg.Definitions(assets=[movement], jobs=[movement_job], schedules=[movement_schedule])
