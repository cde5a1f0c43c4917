"""A runner-portable result sink: every output of a pipeline, tagged by name, into Parquet files.

Beam's file sinks finalize through side inputs and a singleton step that the Dask runner (2.77)
never runs, and that runner computes only the graph of the pipeline's LAST transform. So the
outputs are tagged, flattened into one collection and written by one DoFn that writes a file per
(bundle, output) in ``finish_bundle`` — to a temporary name, renamed into place — on any runner.
The driver then reads ``<dir>/<name>-*.parquet``.
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq


class _WriteBundles(beam.DoFn):
    def __init__(self, directory: str, schemas: Mapping[str, pa.Schema]):
        self.directory = directory
        self.schemas = dict(schemas)
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def start_bundle(self) -> None:
        self.rows = defaultdict(list)

    def process(self, element: tuple[str, dict[str, Any]]):
        name, row = element
        self.rows[name].append(row)
        return []

    def finish_bundle(self) -> None:
        for name, rows in self.rows.items():
            if not rows:
                continue
            table = pa.Table.from_pylist(rows, schema=self.schemas[name])
            final = Path(self.directory) / f"{name}-{uuid.uuid4().hex}.parquet"
            tmp = final.with_name(f".{final.name}.tmp")
            pq.write_table(table, tmp)
            os.replace(tmp, final)
        self.rows = defaultdict(list)


class WriteTables(beam.PTransform):
    """``{name: PCollection of row dicts}`` -> Parquet files under ``directory`` (one terminal step)."""

    def __init__(self, directory: str | Path, schemas: Mapping[str, pa.Schema]):
        super().__init__()
        self.directory = str(directory)
        self.schemas = dict(schemas)

    def expand(self, outputs: Mapping[str, beam.PCollection]) -> beam.PCollection:
        tagged = [
            pc | f"Tag{name.title()}" >> beam.Map(lambda r, n=name: (n, r)) for name, pc in outputs.items()
        ]
        return (
            tuple(tagged)
            | "FlattenOutputs" >> beam.Flatten()
            | "WriteBundles" >> beam.ParDo(_WriteBundles(self.directory, self.schemas))
        )


__all__ = ["WriteTables"]
