"""Bring incoming Arrow data to a table's schema: fill ``date``, add missing nullable columns,
cast, and reject what cannot fit with a readable error."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.specs import TableSpec


class SchemaMismatchError(ValueError):
    """Incoming data does not fit the table's schema."""


def to_arrow(
    data: pa.Table | pa.RecordBatch | Sequence[Mapping[str, Any]] | Any, spec: TableSpec
) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if hasattr(data, "to_arrow"):  # polars.DataFrame
        return data.to_arrow()
    if isinstance(data, list | tuple):
        if not data:
            return spec.schema.empty_table()
        return pa.Table.from_pylist(list(data), schema=_loose_schema(spec, data))
    raise TypeError(f"cannot write {type(data).__name__} to {spec.name}")


def _loose_schema(spec: TableSpec, rows: Sequence[Mapping[str, Any]]) -> pa.Schema:
    present = set().union(*(r.keys() for r in rows))
    unknown = present - set(spec.columns)
    if unknown:
        raise SchemaMismatchError(f"{spec.name}: unknown columns {sorted(unknown)}")
    return pa.schema([f.with_nullable(True) for f in spec.schema if f.name in present])


def conform(table: pa.Table, spec: TableSpec) -> pa.Table:
    """Return ``table`` with exactly the spec's columns, types and order."""
    unknown = set(table.column_names) - set(spec.columns)
    if unknown:
        raise SchemaMismatchError(
            f"{spec.name}: unknown columns {sorted(unknown)} (known: {', '.join(spec.columns)})"
        )
    if "date" in spec.columns and "date" not in table.column_names and spec.time_column:
        if spec.time_column in table.column_names:
            ts = table[spec.time_column].cast(pa.timestamp("us", tz="UTC"))
            table = table.append_column("date", pc.cast(ts, pa.date32()))
    arrays = []
    for field in spec.schema:
        if field.name in table.column_names:
            col = table[field.name]
            if not col.type.equals(field.type):
                try:
                    col = col.cast(field.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                    raise SchemaMismatchError(
                        f"{spec.name}.{field.name}: cannot store {col.type} as {field.type}: {exc}"
                    ) from exc
            if not field.nullable and col.null_count:
                raise SchemaMismatchError(
                    f"{spec.name}.{field.name}: {col.null_count} null value(s) in a required column"
                )
        else:
            if not field.nullable:
                raise SchemaMismatchError(f"{spec.name}: required column {field.name!r} is missing")
            col = pa.nulls(table.num_rows, field.type)
        arrays.append(col)
    return pa.Table.from_arrays(arrays, schema=spec.schema)
