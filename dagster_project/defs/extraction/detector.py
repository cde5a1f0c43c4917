"""The seam between assets and video extraction.

Assets talk to a :class:`DetectorClient`, never to Ray or the models directly. The real client,
:class:`ExtractionClient`, calls the extraction library (:func:`pipelines.batch.run_sources` ->
:func:`pipelines.extract.ingest_paths`, the call ``pesquisa ingest`` makes); its ``sample_fps``
gives a cheaper, subsampled variant for development machines. A new back-end (a remote GPU
service, say) is one more subclass bound under the same resource key.
"""

from collections.abc import Callable, Sequence
from typing import Any

import dagster as dg

from lakehouse import Lakehouse
from pipelines.batch import BatchReport, Source


class DetectorClient(dg.ConfigurableResource):
    """Extracts plate reads and face sightings from recorded sources into the tables."""

    def model_version(self) -> str:
        raise NotImplementedError

    def extract(
        self,
        lh: Lakehouse,
        sources: Sequence[Source],
        *,
        model_version: str | None = None,
        on_group: Callable[[int, int, list[Source], Any], None] | None = None,
        lineage: bool = True,
    ) -> BatchReport:
        raise NotImplementedError


class ExtractionClient(DetectorClient):
    """The extraction library in this process (Ray actor pool; ``RAY_ADDRESS`` for a cluster)."""

    sample_fps: float | None = None  # None: the library's per-camera-kind default
    workers: int | None = None  # Ray actors; None: from the detected hardware

    def model_version(self) -> str:
        from pipelines.batch import library_model_version

        return library_model_version()

    def extract(
        self,
        lh: Lakehouse,
        sources: Sequence[Source],
        *,
        model_version: str | None = None,
        on_group: Callable[[int, int, list[Source], Any], None] | None = None,
        lineage: bool = True,
    ) -> BatchReport:
        from pipelines.batch import reprocess

        return reprocess(
            lh,
            sources,
            model_version=model_version,
            on_group=on_group,
            lineage=lineage,
            sample_fps=self.sample_fps,
            workers=self.workers,
            progress=False,
        )
