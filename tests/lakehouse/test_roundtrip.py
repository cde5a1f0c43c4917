"""Every table round-trips through Delta with its spec's schema; writes are idempotent."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from lakehouse import TABLES, Lakehouse
from lakehouse.conform import SchemaMismatchError
from lakehouse.ids import stable_id

NOW = dt.datetime(2026, 11, 3, 14, 30, 15, 123456, tzinfo=dt.UTC)


def sample_value(field: pa.Field, i: int):
    t = field.type
    if pa.types.is_string(t):
        return f"{field.name}-{i}"
    if pa.types.is_timestamp(t):
        return NOW + dt.timedelta(hours=i)
    if pa.types.is_date(t):
        return None  # derived by the writer from the time column
    if pa.types.is_floating(t):
        return 0.5 + i
    if pa.types.is_integer(t):
        return i
    if pa.types.is_boolean(t):
        return i % 2 == 0
    if pa.types.is_binary(t):
        return bytes([i, 255, 0])
    if pa.types.is_list(t) and pa.types.is_struct(t.value_type):
        return [{"text": f"ABC12{i}", "score": 0.75}]
    if pa.types.is_list(t) and pa.types.is_list(t.value_type):  # e.g. several face descriptors
        return [[0.25 * i, 1.0], [2.0, 3.0]]
    if pa.types.is_list(t) and pa.types.is_timestamp(t.value_type):  # e.g. a trip's camera times
        return [NOW + dt.timedelta(hours=i), NOW + dt.timedelta(hours=i, minutes=5)]
    if pa.types.is_list(t) and pa.types.is_floating(t.value_type):
        return [0.25 * i, 1.0, 2.0]
    if pa.types.is_list(t):
        return ["police911"]
    raise AssertionError(f"no sample for {t}")


def sample_rows(name: str, n: int = 3) -> list[dict]:
    spec = TABLES[name]
    rows = []
    for i in range(n):
        row = {f.name: sample_value(f, i) for f in spec.schema if f.name != "date"}
        rows.append(row)
    return rows


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_table_round_trips(lakehouse: Lakehouse, name: str) -> None:
    rows = sample_rows(name)
    assert lakehouse.append(name, rows) == len(rows)
    got = lakehouse.read(name)
    assert got.schema.names == TABLES[name].schema.names
    key = TABLES[name].key[0]
    by_key = {r[key]: r for r in got.to_pylist()}
    for row in rows:
        stored = by_key[row[key]]
        for col, value in row.items():
            if isinstance(value, float):
                assert stored[col] == pytest.approx(value)
            elif isinstance(value, list) and value and isinstance(value[0], float):
                assert stored[col] == pytest.approx(value)
            else:
                assert stored[col] == value, (name, col)
    if "date" in TABLES[name].schema.names and TABLES[name].time_column:
        for r in got.to_pylist():
            assert r["date"] == r[TABLES[name].time_column].date()


def test_timestamps_are_utc_microseconds(lakehouse: Lakehouse) -> None:
    lakehouse.append("audit_log", sample_rows("audit_log", 1))
    assert lakehouse.read("audit_log").schema.field("ts").type == pa.timestamp("us", tz="UTC")


def test_replace_same_source_twice_leaves_identical_rows(lakehouse: Lakehouse) -> None:
    def rows_for(video: str, version: str) -> list[dict]:
        return [
            {
                "read_id": stable_id(video, track, version),
                "camera_id": "cam-1",
                "video_id": video,
                "ts": NOW + dt.timedelta(seconds=track),
                "plate": f"AB{track:03d}CD",
                "model_version": version,
            }
            for track in range(4)
        ]

    pred = "video_id = 'v1' AND model_version = 'm1'"
    lakehouse.replace("plate_reads", rows_for("v1", "m1"), pred)
    lakehouse.append("plate_reads", rows_for("v2", "m1"))
    first = lakehouse.read("plate_reads").sort_by("read_id")
    lakehouse.replace("plate_reads", rows_for("v1", "m1"), pred)
    second = lakehouse.read("plate_reads").sort_by("read_id")
    assert first.equals(second)
    # a new model version for v1 leaves the old version's rows alone
    lakehouse.replace("plate_reads", rows_for("v1", "m2"), "video_id = 'v1' AND model_version = 'm2'")
    assert lakehouse.count("plate_reads") == 12


def test_replace_is_a_single_commit(lakehouse: Lakehouse) -> None:
    lakehouse.append(
        "plate_reads", [{"read_id": "a", "camera_id": "c", "video_id": "v", "ts": NOW, "model_version": "m"}]
    )
    before = lakehouse.version("plate_reads")
    lakehouse.replace(
        "plate_reads",
        [{"read_id": "b", "camera_id": "c", "video_id": "v", "ts": NOW, "model_version": "m"}],
        "video_id = 'v' AND model_version = 'm'",
    )
    assert lakehouse.version("plate_reads") == before + 1
    assert [r["read_id"] for r in lakehouse.read("plate_reads").to_pylist()] == ["b"]


def test_upsert_merges_on_key(lakehouse: Lakehouse) -> None:
    lakehouse.upsert("cameras", [{"camera_id": "c1", "agency": "municipal", "lat": 1.0}])
    lakehouse.upsert(
        "cameras",
        [{"camera_id": "c1", "agency": "municipal", "lat": 2.0}, {"camera_id": "c2", "agency": "police911"}],
    )
    rows = {r["camera_id"]: r for r in lakehouse.read("cameras").to_pylist()}
    assert rows["c1"]["lat"] == 2.0 and set(rows) == {"c1", "c2"}


def test_wrong_schema_is_rejected_with_a_clear_message(lakehouse: Lakehouse) -> None:
    with pytest.raises(SchemaMismatchError, match="unknown columns.*bogus"):
        lakehouse.append("cameras", [{"camera_id": "c1", "agency": "x", "bogus": 1}])
    with pytest.raises(SchemaMismatchError, match="camera_id"):
        lakehouse.append("cameras", pa.table({"camera_id": pa.array([None], pa.string()), "agency": ["x"]}))
    with pytest.raises(SchemaMismatchError, match="lat"):
        lakehouse.append("cameras", pa.table({"camera_id": ["c"], "agency": ["x"], "lat": ["north"]}))
    assert lakehouse.count("cameras") == 0


def test_duckdb_and_polars_see_all_tables(lakehouse: Lakehouse) -> None:
    lakehouse.append("plate_reads", sample_rows("plate_reads", 5))
    con = lakehouse.duckdb()
    assert con.execute("select count(*) from plate_reads").fetchall()[0][0] == 5
    for name in TABLES:
        con.sql(f"select * from {name} limit 1").fetchall()
    assert lakehouse.scan("plate_reads").collect().height == 5


def test_filtered_read_after_merge_updates(lakehouse: Lakehouse) -> None:
    """A MERGE that updates rows rewrites them with string_view columns; filtered reads still work."""
    import pyarrow.dataset as pds

    rows = sample_rows("watchlist", 2)
    lakehouse.upsert("watchlist", rows)
    lakehouse.upsert("watchlist", [dict(r, reason="changed") for r in rows])
    got = lakehouse.read(
        "watchlist", columns=["entry_id", "reason"], filter=pds.field("entry_id") == rows[0]["entry_id"]
    )
    assert got.to_pylist() == [{"entry_id": rows[0]["entry_id"], "reason": "changed"}]
