"""Table specifications: the only place a table schema is written (DESIGN.md §4).

Every timestamp is ``timestamp[us, UTC]``. Partitioned tables carry a ``date`` column (UTC day of
``ts``) that writers fill in when it is missing. Ids are deterministic hashes (see
:func:`lakehouse.ids.stable_id`) so re-running a job is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")
FLOATS = pa.list_(pa.float32())
CANDIDATES = pa.list_(pa.struct([("text", pa.string()), ("score", pa.float32())]))


@dataclass(frozen=True)
class TableSpec:
    name: str
    schema: pa.Schema
    key: tuple[str, ...]
    partition_by: tuple[str, ...]
    description: str
    time_column: str | None = None  # the column the ``date`` partition is derived from
    #: Delta table properties set at creation (and on existing tables by :meth:`Lakehouse.ensure`)
    properties: tuple[tuple[str, str], ...] = ()

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)


#: tables holding biometric or personal data (crops, embeddings): no change data feed, since a
#: delete would copy the deleted rows into ``_change_data/`` (DESIGN.md §13, issue 12.5)
NO_CDF: tuple[tuple[str, str], ...] = (("delta.enableChangeDataFeed", "false"),)


def _f(name: str, type_: pa.DataType, doc: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={"doc": doc})


CAMERAS = TableSpec(
    name="cameras",
    description="Camera registry of every agency in the network.",
    key=("camera_id",),
    partition_by=(),
    schema=pa.schema(
        [
            _f("camera_id", pa.string(), "stable camera identifier", nullable=False),
            _f("agency", pa.string(), "owning agency (e.g. municipal, police911)", nullable=False),
            _f("name", pa.string(), "human-readable name or address"),
            _f("lat", pa.float64(), "WGS84 latitude"),
            _f("lon", pa.float64(), "WGS84 longitude"),
            _f("h3", pa.string(), "H3 cell at resolution 9"),
            _f("kind", pa.string(), "street | portico | transit"),
            _f("heading", pa.float32(), "view direction in degrees from north"),
            _f("stream_uri", pa.string(), "live source URL, if any"),
            _f("plate_format", pa.string(), "default plate country preset for this camera"),
            _f("shared_with", pa.list_(pa.string()), "agencies this camera is shared with"),
            _f(
                "sample_fps",
                pa.float64(),
                "frames per second analysed at this camera (empty: its kind's rate)",
            ),
            _f("gating", pa.string(), "motion gating at this camera: region | frame | off (empty: region)"),
        ]
    ),
)

VIDEOS = TableSpec(
    name="videos",
    description="Recorded segments and still images known to the platform.",
    key=("video_id",),
    partition_by=("date",),
    time_column="start_ts",
    schema=pa.schema(
        [
            _f("video_id", pa.string(), "content hash of the source file", nullable=False),
            _f("camera_id", pa.string(), "camera that recorded it", nullable=False),
            _f("agency", pa.string(), "owning agency"),
            _f("uri", pa.string(), "absolute path or URL of the source"),
            _f("start_ts", TS, "UTC time of the first frame"),
            _f("end_ts", TS, "UTC time of the last frame"),
            _f("fps", pa.float64(), "frames per second (0 for stills)"),
            _f("width", pa.int32(), "frame width in pixels"),
            _f("height", pa.int32(), "frame height in pixels"),
            _f("frames", pa.int64(), "number of frames"),
            _f("status", pa.string(), "registered | processed | failed"),
            _f("date", pa.date32(), "UTC day of start_ts (partition)"),
        ]
    ),
)

PLATE_READS = TableSpec(
    name="plate_reads",
    properties=NO_CDF,
    description="One row per vehicle pass (a plate track) with its best read and candidates.",
    key=("read_id",),
    partition_by=("date",),
    time_column="ts",
    schema=pa.schema(
        [
            _f("read_id", pa.string(), "hash of video_id + track + model_version", nullable=False),
            _f("camera_id", pa.string(), "camera", nullable=False),
            _f("video_id", pa.string(), "source segment"),
            _f("source_uri", pa.string(), "absolute path or URL of the source"),
            _f("ts", TS, "UTC time of the best read", nullable=False),
            _f("offset_s", pa.float64(), "seconds from the start of the source"),
            _f("plate", pa.string(), "normalized best read (A-Z0-9)"),
            _f("plate_raw", pa.string(), "text as recognised, before normalization"),
            _f("plate_format", pa.string(), "country preset the read validates against, or generic"),
            _f("confidence", pa.float32(), "confidence of the best read, 0..1"),
            _f("candidates", CANDIDATES, "top-N alternative readings with scores"),
            _f("char_confidences", FLOATS, "per-character confidence of the best read"),
            _f("bbox", FLOATS, "x1, y1, x2, y2 of the plate in the best frame (pixels)"),
            _f("crop_jpeg", pa.binary(), "JPEG of the plate crop from the best frame"),
            _f("track_len", pa.int32(), "frames in the track"),
            _f("model_version", pa.string(), "extraction model version", nullable=False),
            _f("agency", pa.string(), "owning agency"),
            _f("date", pa.date32(), "UTC day of ts (partition)"),
        ]
    ),
)

FACE_SIGHTINGS = TableSpec(
    name="face_sightings",
    properties=NO_CDF,
    description="One row per person pass (a face track) with the best-quality crop and embedding.",
    key=("sighting_id",),
    partition_by=("date",),
    time_column="ts",
    schema=pa.schema(
        [
            _f("sighting_id", pa.string(), "hash of video_id + track + model_version", nullable=False),
            _f("camera_id", pa.string(), "camera", nullable=False),
            _f("video_id", pa.string(), "source segment"),
            _f("source_uri", pa.string(), "absolute path or URL of the source"),
            _f("ts", TS, "UTC time of the best frame", nullable=False),
            _f("offset_s", pa.float64(), "seconds from the start of the source"),
            _f("bbox", FLOATS, "x1, y1, x2, y2 of the face in the best frame (pixels)"),
            _f("det_score", pa.float32(), "detector probability"),
            _f("quality", pa.float32(), "quality score 0..1 (size, sharpness, pose)"),
            _f("searchable", pa.bool_(), "false when quality is under the floor"),
            _f("embedding", FLOATS, "128-d face descriptor (dlib ResNet)"),
            _f("crop_jpeg", pa.binary(), "JPEG of the face crop"),
            _f("track_len", pa.int32(), "frames in the track"),
            _f("model_version", pa.string(), "extraction model version", nullable=False),
            _f("agency", pa.string(), "owning agency"),
            _f("date", pa.date32(), "UTC day of ts (partition)"),
        ]
    ),
)

INCIDENTS = TableSpec(
    name="incidents",
    description="Reported incidents (crime reports, 911 calls) imported from open-data portals.",
    key=("incident_id",),
    partition_by=("date",),
    time_column="ts",
    schema=pa.schema(
        [
            _f("incident_id", pa.string(), "source id, or hash of the source row", nullable=False),
            _f("ts", TS, "UTC time of the incident (start of window when only a window is known)"),
            _f("ts_end", TS, "end of the time window, when only a window is known"),
            _f("lat", pa.float64(), "WGS84 latitude"),
            _f("lon", pa.float64(), "WGS84 longitude"),
            _f("h3", pa.string(), "H3 cell at resolution 9"),
            _f("type", pa.string(), "incident type (upper case)"),
            _f("description", pa.string(), "free text"),
            _f("source", pa.string(), "file or portal it came from"),
            _f("agency", pa.string(), "reporting agency"),
            _f("date", pa.date32(), "UTC day of ts (partition)"),
        ]
    ),
)

WATCHLIST = TableSpec(
    name="watchlist",
    properties=NO_CDF,
    description="Plates and faces supervisors watch for (pipelines/watchlist). Removing an entry keeps "
    "its row (active=false) so past alerts still name it.",
    key=("entry_id",),
    partition_by=(),
    schema=pa.schema(
        [
            _f(
                "entry_id",
                pa.string(),
                "hash of agency + kind + pattern (plates) or photos (faces)",
                nullable=False,
            ),
            _f("kind", pa.string(), "plate | face", nullable=False),
            _f(
                "value",
                pa.string(),
                "plate pattern, normalized (A-Z0-9, ? one character, * any run); "
                "for faces a label (the photo names)",
            ),
            _f("fuzzy", pa.float32(), "plate: OCR-confusion edit budget (0 = exact / wildcard only)"),
            _f("embedding", FLOATS, "face descriptor (the first enrolled photo; see embeddings)"),
            _f("embeddings", pa.list_(FLOATS), "face: every enrolled 128-d descriptor (one per photo)"),
            _f("max_distance", pa.float32(), "face: L2 distance at or under which a sighting hits"),
            _f("reason", pa.string(), "why it is watched"),
            _f("priority", pa.int32(), "1 (highest) .. 5"),
            _f("expires_at", TS, "when the entry stops alarming (null: never)"),
            _f("created_by", pa.string(), "user"),
            _f("created_at", TS, "creation time"),
            _f("agency", pa.string(), "owning agency"),
            _f("covert", pa.bool_(), "hits are seen only by the owning agency"),
            _f(
                "case_number",
                pa.string(),
                "case the entry belongs to (adding and changing are audited under it)",
            ),
            _f("purpose", pa.string(), "stated purpose when the entry was added"),
            _f("active", pa.bool_(), "false once removed"),
            _f("updated_at", TS, "last change (add, import, remove)"),
            _f("updated_by", pa.string(), "who made the last change"),
        ]
    ),
)

ALERTS = TableSpec(
    name="alerts",
    properties=NO_CDF,
    description="Watchlist hits: one per entry, camera and pass (a suppression window), routed to agencies.",
    key=("alert_id",),
    partition_by=("date",),
    time_column="ts",
    schema=pa.schema(
        [
            _f(
                "alert_id",
                pa.string(),
                "hash of entry + camera + the first read/sighting that hit",
                nullable=False,
            ),
            _f("entry_id", pa.string(), "watchlist entry"),
            _f("kind", pa.string(), "plate | face"),
            _f("value", pa.string(), "the entry's pattern or label"),
            _f("read_id", pa.string(), "plate read that hit"),
            _f("sighting_id", pa.string(), "face sighting that hit"),
            _f("ts", TS, "wall-clock time of the read / sighting that hit", nullable=False),
            _f("camera_id", pa.string(), "camera"),
            _f("score", pa.float32(), "match score 0..1 (plates: search match score; faces: 1 / (1 + L2))"),
            _f("distance", pa.float32(), "plates: weighted OCR edit distance; faces: L2 distance"),
            _f("matched_text", pa.string(), "plates: the read or candidate text that matched"),
            _f("agency", pa.string(), "agency of the entry (owner)"),
            _f("camera_agency", pa.string(), "agency of the camera"),
            _f(
                "recipients",
                pa.list_(pa.string()),
                "agencies the alert is routed to (owner; camera's unless covert)",
            ),
            _f("covert", pa.bool_(), "the entry is covert: only the owner sees the alert"),
            _f("priority", pa.int32(), "the entry's priority, 1 (highest) .. 5"),
            _f("reason", pa.string(), "the entry's reason"),
            _f("case_number", pa.string(), "the entry's case"),
            _f("crop_jpeg", pa.binary(), "JPEG crop of the plate / face that hit"),
            _f(
                "source_uri",
                pa.string(),
                "source of the read / sighting (stream URL without credentials, or file)",
            ),
            _f("raised_at", TS, "wall-clock time the alert was written"),
            _f("latency_s", pa.float64(), "raised_at - ts: seconds from the frame to the alert"),
            _f("acknowledged_by", pa.string(), "unused: acknowledgements are per agency (table alert_acks)"),
            _f("acknowledged_at", TS, "unused: see alert_acks"),
            _f("date", pa.date32(), "UTC day of ts (partition)"),
        ]
    ),
)

ALERT_ACKS = TableSpec(
    name="alert_acks",
    description="Acknowledgements of alerts, one per alert and agency (both agencies of a shared alert ack).",
    key=("alert_id", "agency"),
    partition_by=(),
    schema=pa.schema(
        [
            _f("alert_id", pa.string(), "alert", nullable=False),
            _f("agency", pa.string(), "acknowledging agency", nullable=False),
            _f("user", pa.string(), "who acknowledged"),
            _f("ts", TS, "when"),
            _f("note", pa.string(), "optional note"),
        ]
    ),
)

AUDIT_LOG = TableSpec(
    name="audit_log",
    description="Append-only, hash-chained log of every search, refusal, export and administration.",
    key=("audit_id",),
    partition_by=("date",),
    time_column="ts",
    properties=(("delta.appendOnly", "true"), ("delta.enableChangeDataFeed", "false")),
    schema=pa.schema(
        [
            _f("audit_id", pa.string(), "unique id", nullable=False),
            _f("ts", TS, "when", nullable=False),
            _f("user", pa.string(), "who"),
            _f("role", pa.string(), "investigator | analyst | supervisor | engineer | admin"),
            _f("agency", pa.string(), "user's agency"),
            _f("case_number", pa.string(), "case the action belongs to"),
            _f("purpose", pa.string(), "stated purpose"),
            _f("action", pa.string(), "e.g. plates.search, faces.search, export"),
            _f("parameters", pa.string(), "JSON of the parameters"),
            _f("result_count", pa.int64(), "rows returned"),
            _f("date", pa.date32(), "UTC day of ts (partition)"),
            _f("os_user", pa.string(), "OS account of the process that acted"),
            _f("outcome", pa.string(), "ok | refused"),
            _f("reason", pa.string(), "why it was refused"),
            _f("result_digest", pa.string(), "SHA-256 of the sorted returned ids (no biometric data)"),
            _f("probe_sha256", pa.string(), "SHA-256 of a face search's probe photo"),
            _f("table_versions", pa.string(), "JSON {table: Delta version} read (for audit replay)"),
            _f("seq", pa.int64(), "position in the hash chain (1, 2, ...)"),
            _f("delta_version", pa.int64(), "Delta version of the commit that added this row"),
            _f("prev_hash", pa.string(), "row_hash of the previous row in the chain"),
            _f("row_hash", pa.string(), "SHA-256 over prev_hash and this row's fields"),
        ]
    ),
)

CASES = TableSpec(
    name="cases",
    description="Cases (investigations) searches are made under, with their optional warrant scope.",
    key=("case_number",),
    partition_by=(),
    schema=pa.schema(
        [
            _f("case_number", pa.string(), "case number", nullable=False),
            _f("purpose", pa.string(), "why the case exists"),
            _f("agency", pa.string(), "agency that owns the case"),
            _f("opened_by", pa.string(), "user who opened it"),
            _f("opened_at", TS, "when"),
            _f("status", pa.string(), "open | closed"),
            _f("closed_by", pa.string(), "user who closed it"),
            _f("closed_at", TS, "when"),
            _f("area", pa.string(), "warrant area as JSON (bbox / near / h3 / polygon), null = any"),
            _f("time_from", TS, "warrant: earliest time searchable"),
            _f("time_to", TS, "warrant: latest time searchable (exclusive)"),
            _f("target_plates", pa.list_(pa.string()), "warrant: the only plates searchable (null = any)"),
            _f("target_faces", pa.list_(pa.string()), "warrant: SHA-256 of the only probe photos allowed"),
            _f("expires_at", TS, "warrant expiry: no search after it"),
        ]
    ),
)

SHARING_AGREEMENTS = TableSpec(
    name="sharing_agreements",
    description="Agency A shares data types of cameras (or all) with agency B from t1 to t2.",
    key=("agreement_id",),
    partition_by=(),
    schema=pa.schema(
        [
            _f("agreement_id", pa.string(), "stable id", nullable=False),
            _f("from_agency", pa.string(), "agency whose data is shared", nullable=False),
            _f("to_agency", pa.string(), "agency that may read it", nullable=False),
            _f("data_types", pa.list_(pa.string()), "plates | faces | video | alerts | incidents"),
            _f("cameras", pa.list_(pa.string()), "shared cameras; null = every camera of from_agency"),
            _f("valid_from", TS, "in force from (null: always)"),
            _f("valid_to", TS, "in force until, exclusive (null: open-ended)"),
            _f("created_by", pa.string(), "admin who created it"),
            _f("created_at", TS, "when"),
            _f("revoked_by", pa.string(), "admin who revoked it"),
            _f("revoked_at", TS, "when it was revoked (null: in force)"),
            _f("note", pa.string(), "reference to the written agreement"),
        ]
    ),
)

PROCESSING_RUNS = TableSpec(
    name="processing_runs",
    description="One row per (source, model version) extraction run; the latest attempt wins.",
    key=("video_id", "model_version"),
    partition_by=(),
    schema=pa.schema(
        [
            _f(
                "video_id",
                pa.string(),
                "content hash of the source (or of its path when unreadable)",
                nullable=False,
            ),
            _f("model_version", pa.string(), "extraction model version", nullable=False),
            _f("source_uri", pa.string(), "absolute path or URL"),
            _f("camera_id", pa.string(), "camera"),
            _f("started", TS, "start time"),
            _f("finished", TS, "end time"),
            _f("status", pa.string(), "running | succeeded | failed"),
            _f("frames_decoded", pa.int64(), "frames decoded"),
            _f("frames_processed", pa.int64(), "frames that went through the models"),
            _f("plate_reads", pa.int64(), "rows written to plate_reads"),
            _f("face_sightings", pa.int64(), "rows written to face_sightings"),
            _f("duration_s", pa.float64(), "wall seconds"),
            _f("error", pa.string(), "why it failed"),
        ]
    ),
)

SOURCE_VERSIONS = TableSpec(
    name="source_versions",
    description=(
        "The current model version of each source (a recorded video, or a live segment): readers "
        "show only that version's rows. Written in one commit once a re-process of the source has "
        "committed every table (plate_reads and face_sightings), or by a rollback."
    ),
    key=("video_id",),
    partition_by=(),
    schema=pa.schema(
        [
            _f("video_id", pa.string(), "source id (video content hash, or live segment id)", nullable=False),
            _f("camera_id", pa.string(), "camera of the source"),
            _f("kind", pa.string(), "recorded | live (live segments are never re-processed)"),
            _f("model_version", pa.string(), "current model version of the source", nullable=False),
            _f("previous_version", pa.string(), "version current before this switch"),
            _f("start_ts", TS, "UTC start of the source (for --from/--to selections)"),
            _f("switched_at", TS, "when this version became current"),
            _f("switched_by", pa.string(), "who or what switched it (ingest, backfill, user name)"),
            _f("reason", pa.string(), "why (re-process completed, rollback ...)"),
        ]
    ),
)

LINEAGE = TableSpec(
    name="lineage",
    description="What a model version changed against another, per source and in total (pesquisa lineage diff).",
    key=("lineage_id",),
    partition_by=(),
    schema=pa.schema(
        [
            _f("lineage_id", pa.string(), "hash of from/to version, selection and scope", nullable=False),
            _f("report_id", pa.string(), "one diff run (rows of one report share it)", nullable=False),
            _f("from_version", pa.string(), "old model version", nullable=False),
            _f("to_version", pa.string(), "new model version", nullable=False),
            _f("scope", pa.string(), "source | total"),
            _f("video_id", pa.string(), "source (null for the total row)"),
            _f("camera_id", pa.string(), "camera of the source (null for the total row)"),
            _f("passes_added", pa.int64(), "plate passes only the new version has"),
            _f("passes_dropped", pa.int64(), "plate passes only the old version has"),
            _f("passes_reread", pa.int64(), "passes both have whose plate text changed"),
            _f("passes_same", pa.int64(), "passes both read the same"),
            _f("faces_added", pa.int64(), "face sightings only the new version has"),
            _f("faces_dropped", pa.int64(), "face sightings only the old version has"),
            _f("details", pa.string(), "JSON: re-read texts (old -> new), watchlist and open-case changes"),
            _f("created_at", TS, "when the diff ran"),
            _f("created_by", pa.string(), "who ran it"),
        ]
    ),
)

# ---- movement results (pipelines/movement/store.py writes them, one day partition per run) -------
_MOVEMENT_COMMON = [
    _f("agency", pa.string(), "agency owning the (first) camera of the row"),
    _f("model_version", pa.string(), "model version(s) of the reads the run used ('+'-joined)"),
    _f("run_id", pa.string(), "movement run that wrote the row"),
    _f("date", pa.date32(), "UTC day the run computed (partition; a re-run replaces it)"),
]

MOVEMENT_TRIPS = TableSpec(
    name="movement_trips",
    description="Trips: sessions of one plate's reads (gap-separated), per day run.",
    key=("trip_id",),
    partition_by=("date",),
    time_column="start",
    schema=pa.schema(
        [
            _f("trip_id", pa.string(), "hash of plate + start", nullable=False),
            _f("plate", pa.string(), "plate"),
            _f("start", TS, "first read"),
            _f("end", TS, "last read"),
            _f("duration_s", pa.float64(), "end - start"),
            _f("first_camera", pa.string(), "first camera"),
            _f("last_camera", pa.string(), "last camera"),
            _f("n_sightings", pa.int64(), "reads in the trip"),
            _f("n_cameras", pa.int64(), "distinct cameras"),
            _f("cameras", pa.list_(pa.string()), "camera sequence (repeats collapsed)"),
            _f("camera_ts", pa.list_(TS), "time first seen at each step"),
            *_MOVEMENT_COMMON,
        ]
    ),
)

MOVEMENT_COUNTS = TableSpec(
    name="movement_counts",
    description="Reads and distinct plates per camera and time window (traffic counts), per day run.",
    key=("camera_id", "window_start", "window_end"),
    partition_by=("date",),
    time_column="window_start",
    schema=pa.schema(
        [
            _f("camera_id", pa.string(), "camera", nullable=False),
            _f("window_start", TS, "window start"),
            _f("window_end", TS, "window end (exclusive)"),
            _f("reads", pa.int64(), "reads"),
            _f("plates", pa.int64(), "distinct plates"),
            *_MOVEMENT_COMMON,
        ]
    ),
)

MOVEMENT_FLOWS = TableSpec(
    name="movement_flows",
    description="Origin-destination trips between ring porticos per departure window, per day run.",
    key=("origin", "destination", "window_start"),
    partition_by=("date",),
    time_column="window_start",
    schema=pa.schema(
        [
            _f("origin", pa.string(), "first portico of the trip", nullable=False),
            _f("destination", pa.string(), "last portico of the trip", nullable=False),
            _f("window_start", TS, "departure window start (null: the whole run)"),
            _f("window_end", TS, "departure window end"),
            _f("trips", pa.int64(), "trips"),
            _f("mean_travel_s", pa.float64(), "mean origin -> destination seconds"),
            *_MOVEMENT_COMMON,
        ]
    ),
)

MOVEMENT_CONVOYS = TableSpec(
    name="movement_convoys",
    description="Convoy candidates (pairs together at >= k cameras) ranked against background, per day run. "
    "Names plates: read it through a case.",
    key=("plate_a", "plate_b", "date"),
    partition_by=("date",),
    schema=pa.schema(
        [
            _f("rank", pa.int64(), "1 = most significant"),
            _f("plate_a", pa.string(), "plate (the target in a targeted run)", nullable=False),
            _f("plate_b", pa.string(), "plate", nullable=False),
            _f("n_cameras", pa.int64(), "distinct cameras together"),
            _f("n_cooccurrences", pa.int64(), "read pairs within ±Δt"),
            _f("cameras", pa.list_(pa.string()), "cameras together"),
            _f("reads_a", pa.int64(), "reads of plate_a"),
            _f("reads_b", pa.int64(), "reads of plate_b"),
            _f("expected_cooccurrences", pa.float64(), "expected under independence"),
            _f("expected_cameras", pa.float64(), "expected cameras under independence"),
            _f("lift", pa.float64(), "observed / expected cameras"),
            _f("p_value", pa.float64(), "chance of at least n_cameras by chance"),
            _f("score", pa.float64(), "-log10 p_value"),
            *_MOVEMENT_COMMON,
        ]
    ),
)

PLATE_PRESENCE = TableSpec(
    name="plate_presence",
    properties=NO_CDF,
    description="Plate x camera x UTC day -> the read times, sorted by plate in small row groups: the "
    "plate-clustered index the movement tools look targets and background counts up in "
    "(pipelines/movement/presence.py builds it from plate_reads; a day whose plate_reads files changed "
    "since is read from plate_reads instead). Names plates: read it through a case.",
    key=("plate", "camera_id", "date", "agency", "video_id", "model_version"),
    partition_by=("date", "source"),
    time_column="last_ts",
    schema=pa.schema(
        [
            _f("plate", pa.string(), "plate as stored in plate_reads", nullable=False),
            _f("camera_id", pa.string(), "camera", nullable=False),
            _f("agency", pa.string(), "agency of the reads"),
            _f("video_id", pa.string(), "source segment of the reads (version filter)"),
            _f("model_version", pa.string(), "extraction model version of the reads"),
            _f("reads", pa.int64(), "reads of the plate at the camera that day"),
            _f("first_ts", TS, "first read"),
            _f("last_ts", TS, "last read"),
            _f("ts", pa.list_(TS), "every read time, ascending"),
            _f("date", pa.date32(), "UTC day (partition)"),
            _f(
                "source",
                pa.string(),
                "fingerprint of the day's plate_reads data files it was built from (partition)",
            ),
        ]
    ),
)

HOLDS = TableSpec(
    name="holds",
    properties=NO_CDF,
    description="Legal holds: data they name is kept past retention until the hold is released (issue 12.5).",
    key=("hold_id",),
    partition_by=(),
    schema=pa.schema(
        [
            _f("hold_id", pa.string(), "unique id", nullable=False),
            _f("case_number", pa.string(), "case the hold belongs to", nullable=False),
            _f("reason", pa.string(), "why the data is held"),
            _f("read_ids", pa.list_(pa.string()), "plate reads held (and alerts they raised)"),
            _f("sighting_ids", pa.list_(pa.string()), "face sightings held (and alerts they raised)"),
            _f("camera_id", pa.string(), "camera whose data in [time_from, time_to] is held"),
            _f("time_from", TS, "start of the held time range (with camera_id)"),
            _f("time_to", TS, "end of the held time range (with camera_id)"),
            _f("created_by", pa.string(), "user"),
            _f("created_at", TS, "when the hold was placed"),
            _f("released_by", pa.string(), "user who released it"),
            _f("released_at", TS, "when it was released (null: active)"),
        ]
    ),
)

SIGNING_KEYS = TableSpec(
    name="signing_keys",
    properties=NO_CDF,
    description="Registered Ed25519 public keys that sign evidence packages, one or more per agency (issue 12.6).",
    key=("key_id",),
    partition_by=(),
    schema=pa.schema(
        [
            _f("key_id", pa.string(), "SHA-256 (hex) of the raw 32-byte public key", nullable=False),
            _f("agency", pa.string(), "agency whose exports it signs (null: an administrator for no agency)"),
            _f("purpose", pa.string(), "what it signs (export)"),
            _f("public_pem", pa.string(), "the public key, SubjectPublicKeyInfo PEM"),
            _f("created_at", TS, "when it was registered"),
            _f("created_by", pa.string(), "user whose action created it"),
        ]
    ),
)

TABLES: dict[str, TableSpec] = {
    s.name: s
    for s in (
        CAMERAS,
        VIDEOS,
        PLATE_READS,
        FACE_SIGHTINGS,
        INCIDENTS,
        WATCHLIST,
        ALERTS,
        ALERT_ACKS,
        AUDIT_LOG,
        PROCESSING_RUNS,
        CASES,
        SHARING_AGREEMENTS,
        SOURCE_VERSIONS,
        LINEAGE,
        MOVEMENT_TRIPS,
        MOVEMENT_COUNTS,
        MOVEMENT_FLOWS,
        MOVEMENT_CONVOYS,
        PLATE_PRESENCE,
        HOLDS,
        SIGNING_KEYS,
    )
}


def spec(name: str) -> TableSpec:
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; known: {', '.join(sorted(TABLES))}") from None
