"""Crime-map analytics over the ``incidents`` table (DESIGN.md §7): import from open-data portals,
H3 counts, kernel density, Getis-Ord Gi* hot spots, hour x weekday tables (aoristic), near-repeat
(Knox) and camera coverage of hot spots. Every analytic returns a Polars table and takes a
Lakehouse (or an in-memory incidents table) plus the same filters: ``types``, ``start``, ``end``.
"""

from pipelines.crime.coverage import CoverageResult, camera_coverage
from pipelines.crime.data import load_incidents, time_range
from pipelines.crime.density import kernel_density
from pipelines.crime.heatmap import h3_counts
from pipelines.crime.hotspots import gi_star, gi_star_from_counts, hot_cells
from pipelines.crime.importer import ImportReport, IncidentImportError, import_incidents
from pipelines.crime.near_repeat import KnoxResult, knox
from pipelines.crime.temporal import hour_weekday, pivot

__all__ = [
    "CoverageResult",
    "ImportReport",
    "IncidentImportError",
    "KnoxResult",
    "camera_coverage",
    "gi_star",
    "gi_star_from_counts",
    "h3_counts",
    "hot_cells",
    "hour_weekday",
    "import_incidents",
    "kernel_density",
    "knox",
    "load_incidents",
    "pivot",
    "time_range",
]
