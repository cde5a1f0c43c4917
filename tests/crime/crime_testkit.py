"""Shared constants and helpers for the crime tests (imported by name: conftest adds this folder to
sys.path, as tests/app does)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.crime.grid import latlng_to_cells
from pipelines.synth.incidents import SyntheticIncidents

#: ~12 x 11 km around central Asuncion
BBOX = (-57.66, -25.32, -57.54, -25.22)
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def with_h3(s: SyntheticIncidents) -> pl.DataFrame:
    """The generated incidents as an incidents-table frame (h3 at res 9 filled)."""
    df = pl.from_arrow(s.table)
    assert isinstance(df, pl.DataFrame)
    return df.with_columns(pl.Series("h3", latlng_to_cells(df["lat"].to_numpy(), df["lon"].to_numpy(), 9)))
