"""Movement-pattern analysis over plate reads (DESIGN.md §2, §7).

Investigator tools, one library call each (DuckDB over the scoped ``plate_reads``; every call takes
a :class:`~pipelines.governance.scope.ReadScope`, needs a case when it names plates, and is audited):
:func:`~pipelines.movement.canvass.canvass`, :func:`~pipelines.movement.convoy.convoy`,
:func:`~pipelines.movement.stakeout.stakeout`, :func:`~pipelines.movement.leads.crime_leads`,
:func:`~pipelines.movement.anomalies.anomalies`, :func:`~pipelines.movement.traffic.ring_flows`,
:func:`~pipelines.movement.traffic.camera_counts`.

Beam composite transforms for batch and stream (no I/O, runner-portable: windows carried in keys):
:class:`ParseSightings`, :class:`Trips`, :class:`CameraCounts`, :class:`ODFlows`, :class:`Convoys`.
:func:`run_movement` is the bounded run (local runner or Dask); :mod:`pipelines.movement.store`
writes its results as the Delta tables ``movement_trips|counts|flows|convoys``.

Beam is imported lazily: the investigator tools do not pay for it.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "CameraCounts": "pipelines.movement.counts",
    "Convoys": "pipelines.movement.convoys",
    "ODFlows": "pipelines.movement.flows",
    "MovementParams": "pipelines.movement.runner",
    "MovementResult": "pipelines.movement.runner",
    "pipeline_options": "pipelines.movement.runner",
    "run_movement": "pipelines.movement.runner",
    "ParseSightings": "pipelines.movement.sightings",
    "Sighting": "pipelines.movement.sightings",
    "Trips": "pipelines.movement.trips",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pipelines.movement' has no attribute {name!r}")


__all__ = sorted(_LAZY)
