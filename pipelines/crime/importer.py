"""Import incident reports from open-data portal exports (CSV or GeoJSON) into ``incidents``.

Column layouts are recognised by name (Socrata/Chicago ``id, date, primary_type, latitude,
longitude``; Pesquisa's synthetic CSV; common English/Spanish names such as ``lat``, ``latitud``,
``fecha``, ``delito``), or given explicitly (``lat_col`` ... ``tz``). Rules:

- rows whose coordinates are empty, unparseable, out of range or exactly (0, 0) are counted as
  ``missing_coords``; rows whose time cannot be parsed as ``missing_time``; neither is written,
  nothing is invented;
- ``incident_id`` is the source id (prefixed with ``id_prefix`` when given) or, without an id
  column, a hash of the row's values plus its occurrence number among identical rows: two identical
  rows (the same block and hour, two burglaries) are two reports. The first occurrence keeps the
  plain hash id (``h-<hash>``), later ones get ``h-<hash>~2``, ``~3`` ... in file order, so
  re-importing a file adds nothing and re-importing into a home filled by an older version adds
  only the rows it used to merge (MERGE on ``incident_id``, one commit; ``mode="replace"``
  instead replaces every row of the same source); the summary states the identical rows it saw;
- a file without a date column whose ``time`` column holds full dates (Houston-style exports:
  ``time, offense, lat, lon, address``) uses it as the date; an hour-of-day column
  (``occurrence_hour`` = ``13``) joined to a date column is read as ``13:00``;
- times with an offset are converted to UTC; naive times are local to ``tz`` (default: the portal's zone for a layout
  that names its city, e.g. America/Chicago for Chicago's, else UTC);
  date-only values become a one-day window ``ts .. ts_end`` (aoristic analysis spreads them);
- a file that cannot be read, lacks required columns or whose columns hold the wrong type raises
  :class:`ImportError_` with one readable line, before anything is written.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from lakehouse import Lakehouse
from lakehouse.ids import stable_id
from lakehouse.store import sql_literal
from pipelines.crime.grid import STORED_RES, latlng_to_cells


class IncidentImportError(ValueError):
    """The file cannot be imported; the message is one line for the user."""


ROLES = ("lat", "lon", "time", "time_end", "type", "id", "description", "agency")

#: time zone of naive times for layouts that identify one city's portal (used when no tz is given)
LAYOUT_TZ = {"chicago": "America/Chicago"}

#: recognised column names per role, in order of preference (compared after normalisation:
#: lower case, non-alphanumerics -> "_")
ALIASES: dict[str, list[str]] = {
    "lat": ["latitude", "lat", "latitud", "lat_wgs84", "y_lat", "point_y", "lat_y"],
    "lon": ["longitude", "lon", "lng", "long", "longitud", "lon_wgs84", "x_lon", "point_x", "long_x"],
    "time": [
        "date",
        "ts",
        "datetime",
        "date_time",
        "timestamp",
        "occurred",
        "occurred_on",
        "occurred_at",
        "occurred_date",
        "date_occurred",
        "date_occ",
        "incident_datetime",
        "incident_date",
        "offense_date",
        "crime_date",
        "report_date",
        "reported_date",
        "date_reported",
        "cmplnt_fr_dt",
        "from_date",
        "fecha",
        "fecha_hora",
        "fecha_hecho",
        "fecha_ocurrencia",
        "fecha_del_hecho",
        "fecha_denuncia",
    ],
    "time_end": [
        "date_end",
        "ts_end",
        "end_date",
        "date_to",
        "to_date",
        "occurred_to",
        "cmplnt_to_dt",
        "fecha_fin",
        "fecha_hasta",
    ],
    "type": [
        "primary_type",
        "type",
        "incident_type",
        "offense",
        "offense_type",
        "offense_category",
        "crime_type",
        "category",
        "incident_category",
        "ofns_desc",
        "crm_cd_desc",
        "crime",
        "tipo",
        "tipo_delito",
        "delito",
        "tipo_hecho",
        "categoria",
    ],
    "id": [
        "id",
        "incident_id",
        "incident_number",
        "incident_no",
        "objectid",
        "cmplnt_num",
        "dr_no",
        "event_id",
        "case_id",
        "id_caso",
        "id_hecho",
        "numero",
    ],
    "description": [
        "description",
        "descript",
        "incident_description",
        "pd_desc",
        "details",
        "descripcion",
        "detalle",
    ],
    "agency": ["agency", "agencia", "organismo"],
}
# Houston's NIBRS export names (occurrence date + hour, map coordinates, incident number)
ALIASES["lat"] += ["maplatitude", "map_latitude"]
ALIASES["lon"] += ["maplongitude", "map_longitude"]
ALIASES["time"] += ["occurrence_date", "rms_occurrence_date"]
ALIASES["type"] += ["nibrs_description", "offense_description"]
ALIASES["id"] += ["incident", "incident_num", "incident_nbr"]
TIME_OF_DAY_COLUMNS = [
    "time",
    "hora",
    "hour_time",
    "time_occ",
    "cmplnt_fr_tm",
    "occurred_time",
    "hora_hecho",
    "occurrence_hour",
    "rms_occurrence_hour",
    "hour",
]
POINT_COLUMNS = ["location", "geom", "the_geom", "geometry", "point", "coordinates", "geo_point"]

LAYOUTS: dict[str, set[str]] = {
    "chicago": {
        "id",
        "case_number",
        "date",
        "primary_type",
        "iucr",
        "fbi_code",
        "beat",
        "latitude",
        "longitude",
    },
    "pesquisa-synthetic": {"id", "date", "date_end", "primary_type", "latitude", "longitude", "agency"},
    "socrata": {"id", "case_number", "date", "primary_type", "latitude", "longitude"},
}

# time formats, grouped by how they order the date parts; the family that parses most wins
AWARE_FORMATS = ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%d %H:%M%z"]
NAIVE_FAMILIES: dict[str, list[str]] = {
    "ymd": [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
        "%Y-%m-%d",
        "%Y/%m/%d",
    ],
    "dmy": [
        "%d/%m/%Y %H:%M:%S",
        "%d/%m/%Y %H:%M",
        "%d/%m/%Y %I:%M:%S %p",
        "%d/%m/%Y %I:%M %p",
        "%d-%m-%Y %H:%M:%S",
        "%d-%m-%Y %H:%M",
        "%d/%m/%Y",
        "%d-%m-%Y",
    ],
    "mdy": ["%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y"],
}
DATE_ONLY = {"%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%d-%m-%Y", "%m/%d/%Y"}


@dataclass
class ImportReport:
    path: str
    source: str
    file_format: str
    layout: str
    columns: dict[str, str | None]
    tz: str
    time_format: str
    rows_read: int = 0
    missing_coords: int = 0
    missing_time: int = 0
    skipped: int = 0
    duplicate_ids: int = 0
    duplicate_rows: int = 0
    written: int = 0
    added: int = 0
    updated: int = 0
    replaced: int = 0
    mode: str = "merge"
    table_version: int | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"{self.source}: {self.rows_read} rows read ({self.layout} layout); "
            f"{self.missing_coords} without usable coordinates, {self.missing_time} without usable time "
            f"-> {self.skipped} skipped; "
            + (
                f"{self.duplicate_rows} identical to an earlier row (kept as separate reports); "
                if self.duplicate_rows
                else ""
            )
            + (f"{self.duplicate_ids} repeated source ids (last kept); " if self.duplicate_ids else "")
            + f"{self.written} written ({self.added} new, {self.updated} updated"
            + (f", {self.replaced} replaced" if self.mode == "replace" else "")
            + ")"
        )


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


# ------------------------------------------------------------------------------------ reading
def read_table(path: Path) -> tuple[pl.DataFrame, str, str]:
    """The file as an all-string DataFrame, its format (csv/geojson) and, for CSV, the delimiter."""
    if not path.is_file():
        raise IncidentImportError(f"{path}: no such file")
    raw = path.read_bytes()
    if not raw.strip():
        raise IncidentImportError(f"{path.name}: the file is empty")
    if b"\x00" in raw[:65536]:
        raise IncidentImportError(f"{path.name}: not a CSV or GeoJSON file (binary content)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    head = text.lstrip()[:1]
    if path.suffix.lower() in (".geojson", ".json") or head in ("{", "["):
        return _read_geojson(text, path), "geojson", ""
    return _read_csv(text, path)


def _read_csv(text: str, path: Path) -> tuple[pl.DataFrame, str, str]:
    sample = text[:65536]
    try:
        delim = csv.Sniffer().sniff(sample.split("\n", 1)[0] + "\n", delimiters=",;\t|").delimiter
    except csv.Error:
        delim = ","
    try:
        df = pl.read_csv(io.StringIO(text), separator=delim, infer_schema=False, truncate_ragged_lines=False)
    except Exception as exc:  # polars raises several error types for malformed input
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise IncidentImportError(f"{path.name}: not a readable CSV ({first})") from exc
    if df.width < 2:
        raise IncidentImportError(
            f"{path.name}: not a CSV with incident columns (found one column {df.columns[0]!r})"
            if df.width
            else f"{path.name}: no columns"
        )
    return df, "csv", delim


def _read_geojson(text: str, path: Path) -> pl.DataFrame:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IncidentImportError(f"{path.name}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features") or []
    elif isinstance(doc, list) and all(isinstance(f, dict) and f.get("type") == "Feature" for f in doc):
        features = doc
    else:
        raise IncidentImportError(f"{path.name}: JSON but not a GeoJSON FeatureCollection")
    rows: list[dict[str, str | None]] = []
    for f in features:
        props = f.get("properties") or {}
        row = {
            str(k): (None if v is None else (json.dumps(v) if isinstance(v, dict | list) else str(v)))
            for k, v in props.items()
        }
        geom = f.get("geometry") or {}
        lon = lat = None
        if geom.get("type") == "Point":
            c = geom.get("coordinates") or []
            if len(c) >= 2:
                lon, lat = c[0], c[1]
        row["__geom_lon"] = None if lon is None else str(lon)
        row["__geom_lat"] = None if lat is None else str(lat)
        rows.append(row)
    if not rows:
        raise IncidentImportError(f"{path.name}: the FeatureCollection has no features")
    cols = sorted({k for r in rows for k in r})
    return pl.DataFrame({c: [r.get(c) for r in rows] for c in cols}, schema={c: pl.String for c in cols})


# ------------------------------------------------------------------------------------ mapping
def detect_columns(columns: list[str], explicit: dict[str, str | None]) -> tuple[dict[str, str | None], str]:
    """Map each role to a column: explicit choices first (must exist), else recognised names."""
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(_norm(c), c)
    mapping: dict[str, str | None] = {}
    for role in ROLES:
        given = explicit.get(role)
        if given:
            parts = given.split("+") if role == "time" else [given]
            missing = [p for p in parts if p not in columns and _norm(p) not in by_norm]
            if missing:
                raise IncidentImportError(
                    f"column {missing[0]!r} (--{role.replace('_', '-')}-col) is not in the file; columns: "
                    + ", ".join(columns[:40])
                )
            mapping[role] = "+".join(p if p in columns else by_norm[_norm(p)] for p in parts)
            continue
        mapping[role] = next((by_norm[a] for a in ALIASES[role] if a in by_norm), None)
    if "__geom_lat" in columns and not explicit.get("lat"):
        mapping["lat"], mapping["lon"] = "__geom_lat", "__geom_lon"
    norm_set = set(by_norm)
    layout = next((name for name, cols in LAYOUTS.items() if cols <= norm_set), "generic")
    if any(explicit.get(r) for r in ROLES):
        layout = "explicit" if layout == "generic" else f"{layout}+explicit"
    return mapping, layout


def _point_column(df: pl.DataFrame) -> str | None:
    by_norm = {_norm(c): c for c in df.columns}
    return next((by_norm[a] for a in POINT_COLUMNS if a in by_norm), None)


_NUM = r"(-?\d+(?:\.\d+)?)"


def _coords_from_point(series: pl.Series) -> tuple[pl.Series, pl.Series]:
    """lat, lon from WKT ``POINT (lon lat)`` or Socrata ``{'latitude': .., 'longitude': ..}`` text."""
    s = series.fill_null("")
    wkt = s.str.extract_groups(rf"(?i)POINT\s*\(\s*{_NUM}\s+{_NUM}\s*\)")
    lon = wkt.struct.field("1")
    lat = wkt.struct.field("2")
    lat2 = s.str.extract(rf"latitude['\"]?\s*[:=]\s*['\"]?{_NUM}", 1)
    lon2 = s.str.extract(rf"longitude['\"]?\s*[:=]\s*['\"]?{_NUM}", 1)
    return lat.fill_null(lat2), lon.fill_null(lon2)


# ------------------------------------------------------------------------------------ parsing
def _to_float(s: pl.Series, decimal_comma: bool) -> pl.Series:
    t = s.str.strip_chars()
    if decimal_comma:
        t = t.str.replace(",", ".", literal=True)
    return t.cast(pl.Float64, strict=False)


def _check_numeric(name: str, raw: pl.Series, parsed: pl.Series, file: str) -> None:
    present = raw.str.strip_chars().fill_null("") != ""
    n_present = int(present.sum())
    bad = int((present & parsed.is_null()).sum())
    if n_present and bad > 0.5 * n_present:
        example = raw.filter(present & parsed.is_null()).head(1).to_list()[0]
        raise IncidentImportError(
            f"{file}: column {name!r} is not numeric ({bad} of {n_present} values, e.g. {example!r}); "
            "choose the coordinate columns with --lat-col/--lon-col"
        )


def parse_times(raw: pl.Series, tz: str, time_format: str | None = None) -> tuple[pl.Series, pl.Series, str]:
    """(UTC datetimes, date-only flags, description of the format used) for a column of strings."""
    s = raw.str.strip_chars().str.replace(r"Z$", "+00:00")
    s = s.set(s == "", None) if s.len() else s
    n_present = int(s.is_not_null().sum())
    utc = pl.Datetime("us", "UTC")
    if n_present == 0:
        return pl.Series(raw.name, [None] * len(raw), dtype=utc), pl.Series([False] * len(raw)), "none"

    def localize(naive: pl.Series) -> pl.Series:
        return naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null").dt.convert_time_zone(
            "UTC"
        )

    if time_format:
        parsed = s.str.to_datetime(time_format, strict=False, time_unit="us")
        if parsed.dtype == pl.Datetime("us"):
            parsed = localize(parsed)
        else:
            parsed = parsed.dt.convert_time_zone("UTC")
        return parsed, pl.Series([time_format in DATE_ONLY] * len(raw)), time_format

    # epoch numbers (seconds or milliseconds)
    nums = s.cast(pl.Float64, strict=False)
    if (
        int(nums.is_not_null().sum()) == n_present
        and s.str.contains(r"^\d{9,13}(\.\d+)?$").fill_null(True).all()
    ):
        unit_ms = float(nums.drop_nulls().median()) > 1e11
        us = (nums * (1_000 if unit_ms else 1_000_000)).cast(pl.Int64)
        return us.cast(utc), pl.Series([False] * len(raw)), "epoch-ms" if unit_ms else "epoch-s"

    aware = pl.Series([None] * len(s), dtype=utc)
    for fmt in AWARE_FORMATS:
        got = s.str.to_datetime(fmt, strict=False, time_unit="us")
        if got.dtype != utc:
            got = (
                got.dt.convert_time_zone("UTC")
                if isinstance(got.dtype, pl.Datetime) and got.dtype.time_zone
                else None
            )
        if got is not None:
            aware = aware.fill_null(got)
    best: tuple[int, str, pl.Series, pl.Series] | None = None
    for family, fmts in NAIVE_FAMILIES.items():
        naive = pl.Series([None] * len(s), dtype=pl.Datetime("us"))
        date_only = pl.Series([False] * len(s))
        for fmt in fmts:
            got = s.str.to_datetime(fmt, strict=False, time_unit="us")
            if got.dtype != pl.Datetime("us"):
                continue
            new = naive.is_null() & got.is_not_null()
            if fmt in DATE_ONLY:
                date_only = date_only | new
            naive = naive.fill_null(got)
        score = int((naive.is_not_null() & aware.is_null()).sum())
        if best is None or score > best[0]:
            best = (score, family, naive, date_only)
    assert best is not None
    score, family, naive, date_only = best
    out = aware.fill_null(localize(naive)) if score else aware
    used = []
    if int(aware.is_not_null().sum()):
        used.append("ISO 8601 with offset")
    if score:
        used.append(
            {"ymd": "YYYY-MM-DD", "dmy": "DD/MM/YYYY", "mdy": "MM/DD/YYYY"}[family] + f" local ({tz})"
        )
    date_only = date_only & aware.is_null()
    return out.rename(raw.name), date_only, " + ".join(used) or "unrecognised"


# ------------------------------------------------------------------------------------ import
def import_incidents(
    lh: Lakehouse,
    path: str | Path,
    *,
    lat_col: str | None = None,
    lon_col: str | None = None,
    time_col: str | None = None,
    end_col: str | None = None,
    type_col: str | None = None,
    id_col: str | None = None,
    desc_col: str | None = None,
    tz: str | None = None,
    time_format: str | None = None,
    agency: str | None = None,
    id_prefix: str | None = None,
    source: str | None = None,
    mode: str = "merge",
    dry_run: bool = False,
) -> ImportReport:
    """Read, validate, map and write one file; see the module docstring for the rules."""
    if mode not in ("merge", "replace"):
        raise ValueError("mode must be 'merge' or 'replace'")
    if tz is not None:
        _check_tz(tz)
    path = Path(path)
    df, file_format, delim = read_table(path)
    explicit = {
        "lat": lat_col,
        "lon": lon_col,
        "time": time_col,
        "time_end": end_col,
        "type": type_col,
        "id": id_col,
        "description": desc_col,
    }
    mapping, layout = detect_columns(df.columns, explicit)
    notes: list[str] = []
    if tz is None:
        tz = LAYOUT_TZ.get(layout.split("+")[0], "UTC")
        if tz != "UTC":
            notes.append(f"times without offset read as {tz} ({layout} portal); override with --tz")
    name = path.name
    source = source or name

    # coordinates
    if mapping["lat"] and mapping["lon"]:
        raw_lat, raw_lon = df[mapping["lat"]], df[mapping["lon"]]
    elif (pc := _point_column(df)) is not None:
        raw_lat, raw_lon = _coords_from_point(df[pc])
        mapping["lat"] = mapping["lon"] = pc
    else:
        raise IncidentImportError(
            f"{name}: cannot find latitude/longitude columns (columns: {', '.join(df.columns[:40])}); "
            "name them with --lat-col and --lon-col"
        )
    if not mapping["time"]:
        mapping["time"] = _full_date_time_of_day_column(df)
        if mapping["time"]:
            notes.append(f"dates read from {mapping['time']!r} (no separate date column)")
    if not mapping["time"]:
        raise IncidentImportError(
            f"{name}: cannot find a date/time column (columns: {', '.join(df.columns[:40])}); name it with --time-col"
        )
    decimal_comma = delim == ";"
    lat = _to_float(raw_lat, decimal_comma)
    lon = _to_float(raw_lon, decimal_comma)
    _check_numeric(mapping["lat"] or "lat", raw_lat, lat, name)
    _check_numeric(mapping["lon"] or "lon", raw_lon, lon, name)
    coords_ok = (
        lat.is_not_null()
        & lon.is_not_null()
        & lat.is_finite()
        & lon.is_finite()
        & (lat.abs() <= 90)
        & (lon.abs() <= 180)
        & ~((lat == 0) & (lon == 0))
    ).fill_null(False)

    # time (optionally DATE+TIME columns; a separate time-of-day column is joined automatically)
    tcols = mapping["time"].split("+")
    if len(tcols) == 1:
        tod = next((c for c in df.columns if _norm(c) in TIME_OF_DAY_COLUMNS and c != tcols[0]), None)
        if (
            tod is not None
            and df[tcols[0]].str.contains(r"^\s*\d{1,4}[-/]\d{1,2}[-/]\d{1,4}\s*$").fill_null(False).mean()
            > 0.5
        ):
            tcols.append(tod)
            mapping["time"] = "+".join(tcols)
            notes.append(f"date and time of day joined from {tcols[0]!r} and {tod!r}")
    raw_time = (
        df[tcols[0]]
        if len(tcols) == 1
        else df.select(
            pl.concat_str(
                [_as_time_of_day(pl.col(c)) if i else pl.col(c).fill_null("") for i, c in enumerate(tcols)],
                separator=" ",
            ).alias("t")
        )["t"]
    )
    ts, date_only, used_format = parse_times(raw_time, tz, time_format)
    present = raw_time.str.strip_chars().fill_null("") != ""
    n_present = int(present.sum())
    n_unparsed = int((present & ts.is_null()).sum())
    if n_present and n_unparsed > 0.5 * n_present:
        example = raw_time.filter(present & ts.is_null()).head(1).to_list()[0]
        raise IncidentImportError(
            f"{name}: column {mapping['time']!r} does not hold recognisable dates ({n_unparsed} of {n_present}, "
            f"e.g. {example!r}); pass --time-format (strftime) or choose another --time-col"
        )
    if mapping["time_end"]:
        ts_end, _, _ = parse_times(df[mapping["time_end"]], tz, time_format)
    else:
        ts_end = pl.Series([None] * df.height, dtype=pl.Datetime("us", "UTC"))
    # a date without a time of day is a one-day window
    day = pl.Series([86_400_000_000] * df.height, dtype=pl.Int64).cast(pl.Duration("us"))
    ts_end = ts_end.zip_with(~(date_only & ts_end.is_null()), ts + day)
    bad_window = ts_end.is_not_null() & ts.is_not_null() & (ts_end < ts)
    if int(bad_window.sum()):
        notes.append(f"{int(bad_window.sum())} end times before the start were dropped (kept the start)")
        ts_end = ts_end.zip_with(~bad_window, pl.Series([None] * df.height, dtype=ts_end.dtype))
    time_ok = ts.is_not_null()

    keep = coords_ok & time_ok
    report = ImportReport(
        path=str(path.resolve()),
        source=source,
        file_format=file_format,
        layout=layout,
        columns=mapping,
        tz=tz,
        time_format=used_format,
        rows_read=df.height,
        missing_coords=int((~coords_ok).sum()),
        missing_time=int((~time_ok).sum()),
        skipped=int((~keep).sum()),
        mode=mode,
        notes=notes,
    )

    # ids
    if mapping["id"]:
        ids = df[mapping["id"]].str.strip_chars()
        ids = ids.set(ids == "", None) if ids.len() else ids
    else:
        ids = pl.Series([None] * df.height, dtype=pl.String)
    if ids.null_count():
        hashed, report.duplicate_rows = _row_hash_ids(df, ids.is_null() & keep)
        ids = ids.fill_null(hashed)
    if id_prefix or agency:
        ids = (id_prefix or agency or "") + ":" + ids

    types = df[mapping["type"]].str.strip_chars().str.to_uppercase() if mapping["type"] else None
    desc = df[mapping["description"]].str.strip_chars() if mapping["description"] else None
    if agency is not None:
        agencies = pl.Series([agency] * df.height, dtype=pl.String)
    elif mapping["agency"]:
        agencies = df[mapping["agency"]].str.strip_chars()
    else:
        agencies = pl.Series([None] * df.height, dtype=pl.String)

    out = pl.DataFrame(
        {
            "incident_id": ids,
            "ts": ts,
            "ts_end": ts_end,
            "lat": lat,
            "lon": lon,
            "type": types if types is not None else pl.Series([None] * df.height, dtype=pl.String),
            "description": desc if desc is not None else pl.Series([None] * df.height, dtype=pl.String),
            "source": pl.Series([source] * df.height, dtype=pl.String),
            "agency": agencies,
        }
    ).filter(keep)
    for c in ("type", "description", "agency"):
        out = out.with_columns(pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c))
    before = out.height
    out = out.unique(subset=["incident_id"], keep="last", maintain_order=True)
    report.duplicate_ids = before - out.height
    out = out.with_columns(
        pl.Series(
            "h3", latlng_to_cells(out["lat"].to_numpy(), out["lon"].to_numpy(), STORED_RES), dtype=pl.String
        )
    )
    report.written = out.height
    if dry_run:
        return report
    table = out.to_arrow()
    _write(lh, table, report, source, mode)
    return report


def _row_hash_ids(df: pl.DataFrame, counted: pl.Series) -> tuple[pl.Series, int]:
    """Ids from the row's values plus its occurrence number among identical rows (file order).

    The first occurrence keeps ``h-<hash>`` (the id earlier versions gave every copy), the k-th
    identical row gets ``h-<hash>~k``. Returns the ids and how many ``counted`` rows repeated an
    earlier one."""
    row_hash = df.select(
        pl.concat_str([pl.col(c).fill_null("") for c in sorted(df.columns)], separator="\x1f").alias("r")
    )["r"]
    seen: dict[str, int] = {}
    out: list[str] = []
    repeats = 0
    for r, use in zip(row_hash.to_list(), counted.to_list(), strict=True):
        base = f"h-{stable_id('incident-row', r, length=20)}"
        n = seen.get(base, 0) + 1
        seen[base] = n
        out.append(base if n == 1 else f"{base}~{n}")
        repeats += int(n > 1 and bool(use))
    return pl.Series(out, dtype=pl.String), repeats


def _full_date_time_of_day_column(df: pl.DataFrame) -> str | None:
    """A ``time``-like column that holds whole dates (used when no date column exists)."""
    for c in df.columns:
        if _norm(c) not in TIME_OF_DAY_COLUMNS:
            continue
        vals = df[c].str.strip_chars().drop_nulls()
        if vals.len() and float(vals.str.contains(r"\d{1,4}[-/]\d{1,2}[-/]\d{1,4}").mean()) > 0.5:
            return c
    return None


def _as_time_of_day(col: pl.Expr) -> pl.Expr:
    """A time-of-day column as text; a bare hour (``13``, ``7``) becomes ``13:00``."""
    t = col.fill_null("").str.strip_chars()
    return pl.when(t.str.contains(r"^\d{1,2}$")).then(t.str.zfill(2) + ":00").otherwise(t)


def _write(lh: Lakehouse, table: pa.Table, report: ImportReport, source: str, mode: str) -> None:
    lh.ensure("incidents")
    before = lh.count("incidents")
    if mode == "replace":
        pred = f"source = {sql_literal(source)}"
        import pyarrow.compute as pc

        report.replaced = lh.dataset("incidents").count_rows(filter=pc.field("source") == source)
        lh.replace("incidents", table, pred)
    elif table.num_rows:
        if before == 0:
            lh.append("incidents", table)
        else:
            lh.upsert("incidents", table, keys=("incident_id",))
    after = lh.count("incidents")
    report.added = max(0, after - before)
    report.updated = report.written - report.added
    report.table_version = lh.version("incidents")


def _check_tz(tz: str) -> None:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise IncidentImportError(
            f"unknown time zone {tz!r} (use an IANA name such as America/Chicago)"
        ) from exc


def expected_columns() -> dict[str, list[str]]:
    """Recognised column names per role (for help texts and docs)."""
    return {k: list(v) for k, v in ALIASES.items()}


__all__ = [
    "ImportReport",
    "IncidentImportError",
    "detect_columns",
    "import_incidents",
    "parse_times",
    "read_table",
]
