"""The Dagster code location: assembles the domains and binds resources; no logic here.

``PESQUISA_ENV`` picks the resource set: ``local`` (default: this machine, subsampled extraction
when ``PESQUISA_SAMPLE_FPS`` is set) or ``prod`` (full-rate extraction, Ray cluster through
``RAY_ADDRESS``). Tables follow ``PESQUISA_HOME`` / ``PESQUISA_TABLES_URI`` in both.
Run: ``dagster dev -m dagster_project.definitions`` (see docs/OPERATIONS.md).
"""

from __future__ import annotations

import dagster as dg

from dagster_project.defs import crime, extraction, movement, operations, quality
from dagster_project.defs.extraction.detector import ExtractionClient
from dagster_project.defs.resources import DerivedParquetIOManager, LakehouseResource
from lakehouse.config import env_home
from lakehouse.settings import get_settings


def resources_for(env: str | None = None, home: str | None = None) -> dict[str, object]:
    home = home or env_home()
    settings = get_settings(home)
    env = (env or settings.orchestration.env).lower()
    if env not in {"local", "prod"}:
        raise ValueError(f"PESQUISA_ENV must be local or prod, got {env!r}")
    detector = ExtractionClient(
        sample_fps=settings.orchestration.sample_fps if env == "local" else None,
        workers=settings.compute.workers,
    )
    return {
        "lakehouse": LakehouseResource(home=home),
        "derived_io_manager": DerivedParquetIOManager(home=home),
        "detector": detector,
    }


defs = dg.Definitions.merge(
    extraction.defs,
    movement.defs,
    crime.defs,
    operations.defs,
    quality.defs,
    dg.Definitions(resources=resources_for()),
)
