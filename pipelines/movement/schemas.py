"""Arrow schemas of the Beam movement results as the pipeline emits them (staging files).

The stored tables are ``movement_trips|counts|flows|convoys`` in :mod:`lakehouse.specs` (these
columns plus agency, model_version, run_id and the day partition, added by
:func:`pipelines.movement.store.store_movement`).
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")

TRIPS = pa.schema(
    [
        ("trip_id", pa.string()),
        ("plate", pa.string()),
        ("start", TS),
        ("end", TS),
        ("duration_s", pa.float64()),
        ("first_camera", pa.string()),
        ("last_camera", pa.string()),
        ("n_sightings", pa.int64()),
        ("n_cameras", pa.int64()),
        ("cameras", pa.list_(pa.string())),
        ("camera_ts", pa.list_(TS)),
    ]
)

COUNTS = pa.schema(
    [
        ("camera_id", pa.string()),
        ("window_start", TS),
        ("window_end", TS),
        ("reads", pa.int64()),
        ("plates", pa.int64()),
    ]
)

FLOWS = pa.schema(
    [
        ("origin", pa.string()),
        ("destination", pa.string()),
        ("window_start", TS),
        ("window_end", TS),
        ("trips", pa.int64()),
        ("mean_travel_s", pa.float64()),
    ]
)

CONVOYS = pa.schema(
    [
        ("rank", pa.int64()),
        ("plate_a", pa.string()),
        ("plate_b", pa.string()),
        ("n_cameras", pa.int64()),
        ("n_cooccurrences", pa.int64()),
        ("cameras", pa.list_(pa.string())),
        ("reads_a", pa.int64()),
        ("reads_b", pa.int64()),
        ("expected_cooccurrences", pa.float64()),
        ("expected_cameras", pa.float64()),
        ("lift", pa.float64()),
        ("p_value", pa.float64()),
        ("score", pa.float64()),
    ]
)

SCHEMAS: dict[str, pa.Schema] = {"trips": TRIPS, "counts": COUNTS, "flows": FLOWS, "convoys": CONVOYS}
