"""``incidents import``: layouts, explicit mappings, counted rejects, idempotent re-import, one-line
errors that commit nothing."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from crime_testkit import BBOX, START

from lakehouse import Lakehouse
from pipelines.crime.importer import IncidentImportError, import_incidents
from pipelines.synth.incidents import generate_incidents, write_incidents_csv


def test_chicago_sample_counts_rows_without_coordinates_and_reimport_adds_nothing(
    chicago_csv: Path, lakehouse: Lakehouse
) -> None:
    with open(chicago_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    no_coords = sum(1 for r in rows if not r["latitude"].strip() or not r["longitude"].strip())
    assert no_coords == 33  # the shared data README says so; checked independently here

    rep = import_incidents(lakehouse, chicago_csv)
    assert rep.layout == "chicago" and rep.tz == "America/Chicago"
    assert rep.rows_read == 5000
    assert rep.missing_coords == 33 and rep.missing_time == 0 and rep.skipped == 33
    assert rep.written == rep.added == 4967 and rep.updated == 0
    assert lakehouse.count("incidents") == 4967

    again = import_incidents(lakehouse, chicago_csv)
    assert again.added == 0 and again.written == 4967 and again.updated == 4967
    assert lakehouse.count("incidents") == 4967

    got = pl.from_arrow(lakehouse.read("incidents")).sort("incident_id")
    assert got["incident_id"].n_unique() == 4967
    first = next(r for r in rows if r["id"] == "14269400")
    row = got.filter(pl.col("incident_id") == "14269400").row(0, named=True)
    assert row["type"] == "BURGLARY" and row["description"] == "FORCIBLE ENTRY"
    assert row["lat"] == pytest.approx(float(first["latitude"])) and row["lon"] == pytest.approx(
        float(first["longitude"])
    )
    # 2026-07-18T00:00 Chicago time (CDT, UTC-5) is 05:00 UTC
    assert row["ts"] == dt.datetime(2026, 7, 18, 5, 0, tzinfo=dt.UTC)
    assert row["h3"] is not None and row["h3"].startswith("89")
    assert got["h3"].null_count() == 0


def test_synthetic_csv_round_trip(tmp_path: Path, lakehouse: Lakehouse) -> None:
    syn = generate_incidents(400, BBOX, seed=3, start=START)
    path = tmp_path / "incidents.csv"
    write_incidents_csv(syn.rows, path)
    rep = import_incidents(lakehouse, path)
    assert rep.layout == "pesquisa-synthetic" and rep.written == 400 and rep.skipped == 0
    got = pl.from_arrow(lakehouse.read("incidents")).sort("incident_id")
    want = pl.from_arrow(syn.table).sort("incident_id")
    assert got["incident_id"].to_list() == want["incident_id"].to_list()
    assert got["ts"].to_list() == want["ts"].to_list()
    assert got["ts_end"].to_list() == want["ts_end"].to_list()
    assert got["ts_end"].null_count() < 400  # some windows were generated
    assert (got["lat"] - want["lat"]).abs().max() < 1e-12
    assert got["type"].to_list() == want["type"].to_list()
    assert got["agency"].to_list() == want["agency"].to_list()


def test_geojson_with_missing_geometry_is_counted(tmp_path: Path, lakehouse: Lakehouse) -> None:
    syn = generate_incidents(
        30, BBOX, seed=4, start=START, hotspots=0, hotspot_share=0.0, near_repeat_share=0.0
    )
    feats = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
            "properties": {
                "incident_id": r["incident_id"],
                "occurred_on": r["ts"].isoformat(),
                "offense": r["type"],
            },
        }
        for r in syn.rows
    ]
    feats.append(
        {
            "type": "Feature",
            "geometry": None,
            "properties": {"incident_id": "nogeom", "occurred_on": "2026-01-02T10:00:00Z"},
        }
    )
    feats.append(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-57.6, -25.3]},
            "properties": {"incident_id": "notime", "occurred_on": ""},
        }
    )
    path = tmp_path / "incidents.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    rep = import_incidents(lakehouse, path)
    assert rep.file_format == "geojson"
    assert (rep.rows_read, rep.missing_coords, rep.missing_time, rep.written) == (32, 1, 1, 30)
    got = pl.from_arrow(lakehouse.read("incidents"))
    assert sorted(got["incident_id"].to_list()) == sorted(r["incident_id"] for r in syn.rows)


def test_explicit_mapping_timezone_and_spanish_layout(tmp_path: Path, lakehouse: Lakehouse) -> None:
    # explicit column names, naive local times in Asuncion (UTC-3 in 2026)
    p = tmp_path / "odd.csv"
    p.write_text(
        "nro,cuando,que,Y,X\n7,2026-03-01 22:30:00,Robo,-25.30,-57.63\n8,2026-03-02 01:00:00,Hurto,-25.31,-57.62\n"
    )
    rep = import_incidents(
        lakehouse,
        p,
        lat_col="Y",
        lon_col="X",
        time_col="cuando",
        type_col="que",
        id_col="nro",
        tz="America/Asuncion",
    )
    assert rep.layout == "explicit" and rep.written == 2
    got = {r["incident_id"]: r for r in lakehouse.read("incidents").to_pylist()}
    assert got["7"]["ts"] == dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.UTC)
    assert got["7"]["type"] == "ROBO"

    # recognised Spanish names, ';' separator, decimal commas, day-first dates, a date-only row
    q = tmp_path / "denuncias.csv"
    q.write_text(
        "id_hecho;fecha;delito;latitud;longitud\n"
        "a1;25/03/2026 14:05;Robo;-25,2901;-57,6110\n"
        "a2;26/03/2026;Hurto;-25,2950;-57,6000\n"
        "a3;27/03/2026 09:00;Hurto;;\n"
    )
    rep = import_incidents(lakehouse, q)
    assert rep.columns["lat"] == "latitud" and rep.columns["type"] == "delito"
    assert (rep.written, rep.missing_coords) == (2, 1)
    got = {r["incident_id"]: r for r in lakehouse.read("incidents").to_pylist()}
    assert got["a1"]["ts"] == dt.datetime(2026, 3, 25, 14, 5, tzinfo=dt.UTC)
    assert got["a1"]["lat"] == pytest.approx(-25.2901)
    assert got["a1"]["ts_end"] is None
    # a date without time becomes a one-day window for aoristic analysis
    assert got["a2"]["ts"] == dt.datetime(2026, 3, 26, tzinfo=dt.UTC)
    assert got["a2"]["ts_end"] == dt.datetime(2026, 3, 27, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("when,kind,place\n2026-01-01,THEFT,downtown\n", "latitude/longitude"),
        ("latitude,longitude,primary_type\n41.8,-87.6,THEFT\n", "date/time"),
        ("id,date,latitude,longitude\n1,2026-01-01,north,west\n2,2026-01-02,south,east\n", "not numeric"),
        ("id,date,latitude,longitude\n1,yesterday,41.8,-87.6\n2,today,41.9,-87.6\n", "recognisable dates"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "not a CSV"),
        ("id,date,latitude,longitude\n1,2026-01-01,41.8,-87.6,extra,more\n", "not a readable CSV"),
        ('{"type": "Feature"}', "GeoJSON"),
    ],
)
def test_malformed_files_fail_with_one_line_and_commit_nothing(
    tmp_path: Path, capsys, content: str | bytes, needle: str
) -> None:
    from jobs.cli import main

    home = tmp_path / "home"
    lh = Lakehouse(home=home)
    import_incidents(lh, _good_csv(tmp_path))  # something to protect
    version = lh.version("incidents")
    f = tmp_path / "bad.csv"
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(IncidentImportError, match=needle):
        import_incidents(lh, f)
    assert main(["--home", str(home), "incidents", "import", str(f)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0]
    assert lh.version("incidents") == version and lh.count("incidents") == 2


def _good_csv(tmp_path: Path) -> Path:
    p = tmp_path / "good.csv"
    p.write_text(
        "id,date,primary_type,latitude,longitude\n1,2026-01-01T10:00:00,THEFT,41.8,-87.6\n"
        "2,2026-01-01T11:00:00,THEFT,41.81,-87.61\n"
    )
    return p


def test_identical_rows_are_separate_reports_and_reimport_adds_nothing(
    tmp_path: Path, lakehouse: Lakehouse
) -> None:
    # Houston-style export: no id, no date column (``time`` holds the whole date), block addresses;
    # the same block, hour and offense twice is two burglaries, three times is three
    p = tmp_path / "houston.csv"
    p.write_text(
        "time,offense,lat,lon,address\n"
        "2026-02-01 13:00,Burglary,29.7601,-95.3701,1200-1299 MAIN ST\n"
        "2026-02-01 13:00,Burglary,29.7601,-95.3701,1200-1299 MAIN ST\n"
        "2026-02-01 13:00,Theft,29.7602,-95.3702,1300-1399 MAIN ST\n"
        "2026-02-01 13:00,Burglary,29.7601,-95.3701,1200-1299 MAIN ST\n"
        "2026-02-02 09:30,Assault,29.7500,-95.3600,800-899 TEXAS AVE\n"
        "2026-02-02 09:30,Assault,,,800-899 TEXAS AVE\n"
    )
    rep = import_incidents(lakehouse, p)
    assert rep.columns["time"] == "time" and rep.columns["type"] == "offense"
    assert (rep.rows_read, rep.missing_coords, rep.missing_time) == (6, 1, 0)
    assert rep.duplicate_rows == 2 and rep.duplicate_ids == 0
    assert "2 identical to an earlier row" in rep.summary()
    assert rep.written == rep.added == 5 and lakehouse.count("incidents") == 5
    got = pl.from_arrow(lakehouse.read("incidents"))
    burglaries = sorted(got.filter(pl.col("type") == "BURGLARY")["incident_id"].to_list())
    assert (
        len(burglaries) == 3
        and burglaries[0] + "~2" == burglaries[1]
        and burglaries[0] + "~3" == burglaries[2]
    )
    row = got.filter(pl.col("type") == "ASSAULT").row(0, named=True)
    assert row["ts"] == dt.datetime(2026, 2, 2, 9, 30, tzinfo=dt.UTC)

    again = import_incidents(lakehouse, p)
    assert again.added == 0 and again.updated == 5 and lakehouse.count("incidents") == 5


def test_reimport_into_a_home_that_merged_duplicates_adds_only_the_merged_rows(
    tmp_path: Path, lakehouse: Lakehouse
) -> None:
    p = tmp_path / "dups.csv"
    rows = [
        "2026-03-01T10:00:00,THEFT,41.80,-87.60",
        "2026-03-01T10:00:00,THEFT,41.80,-87.60",
        "2026-03-01T11:00:00,ROBBERY,41.81,-87.61",
    ]
    p.write_text("date,primary_type,latitude,longitude\n" + "\n".join(rows) + "\n")
    first = import_incidents(lakehouse, p, dry_run=True)
    assert first.duplicate_rows == 1 and first.written == 3
    # what an older version wrote for ``p``: one row per distinct value hash (the first occurrence's id)
    q = tmp_path / "dedup.csv"
    q.write_text("date,primary_type,latitude,longitude\n" + "\n".join(rows[1:]) + "\n")
    import_incidents(lakehouse, q, source="dups.csv")
    assert lakehouse.count("incidents") == 2
    rep = import_incidents(lakehouse, p)
    assert rep.added == 1 and rep.updated == 2 and lakehouse.count("incidents") == 3


def test_hour_of_day_column_is_joined_to_the_date(tmp_path: Path, lakehouse: Lakehouse) -> None:
    p = tmp_path / "nibrs.csv"
    p.write_text(
        "Incident,Occurrence Date,Occurrence Hour,NIBRS Description,Block Range,Street Name,"
        "MapLongitude,MapLatitude\n"
        "1,2026-01-05,13,Burglary,1200-1299,MAIN ST,-95.37,29.76\n"
        "2,2026-01-05,7,Theft,100-199,ELM ST,-95.38,29.77\n"
    )
    rep = import_incidents(lakehouse, p, tz="America/Chicago")
    assert rep.written == 2 and rep.columns["lat"] == "MapLatitude"
    got = {r["incident_id"]: r for r in lakehouse.read("incidents").to_pylist()}
    assert got["1"]["ts"] == dt.datetime(2026, 1, 5, 19, 0, tzinfo=dt.UTC)
    assert got["2"]["ts"] == dt.datetime(2026, 1, 5, 13, 0, tzinfo=dt.UTC)
    assert got["1"]["type"] == "BURGLARY"
