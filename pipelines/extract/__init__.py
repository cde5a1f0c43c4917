"""Plate and face extraction from recorded video and stills, on a Ray actor pool, into Delta tables.

Entry point: :func:`ingest_paths` (used by ``pesquisa ingest``, the demo, the app and Dagster).
Modules, one job each:

- :mod:`~pipelines.extract.version`    :data:`EXTRACTION_MODEL_VERSION`, the combined version string;
- :mod:`~pipelines.extract.motion`     motion gating (frame differencing on small grayscale);
- :mod:`~pipelines.extract.frames`     the models on a batch of frames or regions (plain results);
- :mod:`~pipelines.extract.actors`     the Ray actor pool holding the models;
- :mod:`~pipelines.extract.executors`  Ray pool or in-process execution behind one interface;
- :mod:`~pipelines.extract.runner`     decode -> gate -> batches (bounded in flight) -> tracks;
- :mod:`~pipelines.extract.tracking`   ByteTrack-style association (IoU + appearance);
- :mod:`~pipelines.extract.passes`     track -> row (plate vote, best face), ids;
- :mod:`~pipelines.extract.ingest`     sources, idempotency, commits, book-keeping.
"""

from pipelines.extract.ingest import SAMPLE_FPS_BY_KIND, IngestReport, camera_settings, ingest_paths
from pipelines.extract.version import EXTRACTION_MODEL_VERSION, PIPELINE_VERSION

__all__ = [
    "EXTRACTION_MODEL_VERSION",
    "PIPELINE_VERSION",
    "SAMPLE_FPS_BY_KIND",
    "IngestReport",
    "camera_settings",
    "ingest_paths",
]
