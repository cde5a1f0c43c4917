"""Movement analytics over plate reads with Apache Beam (DESIGN.md §2, §7).

Composite transforms (no I/O, durations as parameters, bad records counted as metrics):
:class:`ParseSightings`, :class:`Trips` (session windows per plate), :class:`CameraCounts`
(fixed/sliding windows per camera), :class:`ODFlows` (first -> last ring portico per trip),
:class:`Convoys` (co-occurrence within ±Δt at >= k cameras, ranked against background).
:func:`run_movement` is the bounded run from Delta; :mod:`pipelines.movement.derived` stores the
results as Parquet under ``HOME/derived``.
"""

from pipelines.movement.convoys import Convoys
from pipelines.movement.counts import CameraCounts
from pipelines.movement.flows import ODFlows
from pipelines.movement.runner import MovementParams, MovementResult, pipeline_options, run_movement
from pipelines.movement.sightings import ParseSightings, Sighting
from pipelines.movement.trips import Trips

__all__ = [
    "CameraCounts",
    "Convoys",
    "MovementParams",
    "MovementResult",
    "ODFlows",
    "ParseSightings",
    "Sighting",
    "Trips",
    "pipeline_options",
    "run_movement",
]
