"""Settings: one typed model, loaded once, with where each value came from.

Sources, later wins:

1. defaults (the field defaults below);
2. the settings file ``HOME/pesquisa.yaml`` (sections as below, unknown keys refused);
3. environment overrides: ``PESQUISA__<SECTION>__<FIELD>`` (e.g. ``PESQUISA__TIME__ZONE=America/Lima``),
   plus the documented short names in :data:`ENV_ALIASES` (``PESQUISA_TABLES_URI`` ...).

Nothing reads the environment at import time: call :func:`load_settings` (or :func:`get_settings`,
cached per home) when the value is needed. ``pesquisa config show`` prints the effective values
with their source; secrets are redacted.

This module lives in ``lakehouse/`` because it is the lowest layer: every layer may read it.
To add a setting: add a field (with a default, bounds and a description) to the section it belongs
to; to add a section: add a model and a field on :class:`Settings`. Per-camera settings live in the
camera registry (``cameras`` table), validated by :class:`CameraSettings`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

SETTINGS_FILE = "pesquisa.yaml"
ENV_PREFIX = "PESQUISA__"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


class StorageSettings(Section):
    tables_uri: str | None = Field(
        None, description="table root; default HOME/tables; s3://bucket/prefix for object storage"
    )
    storage_options: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="delta-rs / object_store options (endpoint, keys, region, AWS_ALLOW_HTTP)",
    )
    index_dir: str | None = Field(None, description="where search indexes live; default HOME/index")
    index_uri: str | None = Field(
        None,
        description="object-store location the search indexes are shared at (HOME/index, or index_dir, "
        "is then their local cache); default <tables_uri>/_index when the tables are on object "
        "storage; 'local' keeps them on this machine only",
    )
    index_commit_attempts: int = Field(
        5, ge=1, le=50, description="tries of a shared index update when another writer commits first"
    )


class TimeSettings(Section):
    zone: str = Field(
        "UTC", description="home time zone (IANA name): bare dates and local times are read in it"
    )

    @field_validator("zone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from lakehouse.timeutil import zone

        zone(v)
        return v


class ComputeSettings(Section):
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="model device; auto = CUDA when present"
    )
    ray_address: str | None = Field(
        None, description="Ray cluster address (ray://host:10001 or host:6379); None = local Ray"
    )
    ray_cpus: int | None = Field(None, ge=1, le=4096, description="CPUs for a local Ray; default all cores")
    workers: int | None = Field(
        None, ge=1, le=1024, description="extraction actors; default from the hardware"
    )
    actor_start_timeout_s: float = Field(
        300.0, gt=0, le=7200, description="seconds to wait for a model actor to load"
    )
    batch_timeout_s: float = Field(
        600.0, gt=0, le=86400, description="seconds before a frame batch is declared stuck"
    )


class ModelSettings(Section):
    """Which model back-end each task uses (``pesquisa models list`` shows the keys and defaults)."""

    plates: str = Field(
        "auto", min_length=1, description="plate reader back-end key; auto = the default for the device"
    )
    faces: str = Field(
        "auto", min_length=1, description="face back-end key; auto = the default for the device"
    )
    plate_second: str = Field(
        "auto",
        min_length=1,
        description="second plate recogniser back-end key (plates.second_recogniser decides whether it "
        "runs); auto = the default for the device",
    )
    options: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per back-end options, by key (each back-end validates its own)"
    )


class PlateSettings(Section):
    """The plate reader (pipelines/plates)."""

    second_recogniser: Literal["auto", "on", "off"] = Field(
        "auto",
        description="ask the project's own plate recogniser (pipelines/plates/second) where RapidOCR's read "
        "is weak and fuse both: on, off, or auto = the measured default (benchmarks/RESULTS.md)",
    )
    second_below: float = Field(
        0.5, gt=0, le=1, description="a read scoring below this is weak (small or night crops are too)"
    )


class SearchSettings(Section):
    plate_index_min_rows: int = Field(
        1_000_000, ge=0, description="reads below which plate search scans instead of the index"
    )
    plate_segment_reads: int = Field(4_000_000, ge=1000, description="reads per plate index segment")
    face_index_kind: Literal["hnsw", "ivf"] = Field(
        "hnsw", description="approximate FAISS index kind above the exact size"
    )
    face_index_exact_below: int = Field(
        100_000, ge=0, description="descriptors below which face search is exact"
    )
    face_ef_search: int = Field(64, ge=1, le=4096, description="HNSW efSearch")
    face_nprobe: int = Field(24, ge=1, le=65536, description="IVF nprobe")


class AppSettings(Section):
    users_file: str | None = Field(None, description="users file (bcrypt); default HOME/users.yaml")
    bcrypt_rounds: int = Field(12, ge=4, le=16, description="bcrypt cost for new passwords")
    map_style: str = Field(
        "light", description="base map style: a name (light, dark ...) or a style URL; none = no base map"
    )


class ExtractionSettings(Section):
    """The recorded-video profile (``pesquisa ingest``): chosen for accuracy first, measured on real
    plate photos played as an H.264 clip (docs/EXTRACTION.md, ``python -m benchmarks.video_accuracy``).
    A camera's registered ``sample_fps``/``gating`` and the call's arguments override these."""

    plate_det_side: int = Field(
        960,
        ge=160,
        le=1920,
        description="longest side the plate detector sees on a recorded video frame (recognition "
        "reads the full-resolution crop); 960 = RapidOCR's own detector size (was 640)",
    )
    gating: Literal["region", "frame", "off"] = Field(
        "frame",
        description="motion gating of recorded video: frame (whole frames that move), region (only "
        "the moving regions: faster, loses plates on slow zooms/pans) or off (every sampled frame)",
    )
    plate_second_pass: bool = Field(
        False,
        description="run the plate reader's high-resolution second pass (1280 px) on video frames "
        "where the first pass reads nothing plate-like (stills always get it)",
    )
    face_every: int = Field(2, ge=1, le=10, description="faces on every n-th analysed video frame")


class LiveSettings(Section):
    """The live profile (``pesquisa stream run``): chosen to keep >= 2 720p25 cameras on 2 CPU cores."""

    sample_fps: float = Field(3.0, gt=0, le=30, description="frames per second analysed per live camera")
    face_every: int = Field(3, ge=1, le=10, description="faces on every n-th analysed frame")
    plate_det_side: int = Field(
        480,
        ge=160,
        le=1280,
        description="longest side the plate detector sees on a live frame (recorded video: "
        "extraction.plate_det_side, 960)",
    )
    alarm_every_s: float = Field(
        0.25,
        ge=0.05,
        le=10,
        description="how often new live rows are matched against the watchlist (alarms do not wait "
        "for the micro-batch commit)",
    )
    max_decode_lag_s: float = Field(
        2.0,
        ge=0.5,
        le=60,
        description="a live reader this far behind drops packets up to the next keyframe "
        "(frame-drop policy: decode lag stays bounded)",
    )
    gating: Literal["region", "frame", "off"] = Field("region", description="motion gating of live frames")
    region_step_px: int = Field(
        64,
        ge=0,
        le=512,
        description="motion regions are grown to multiples of this many pixels, so the models see a few "
        "input sizes and the model pool's memory stays flat over a long stream (0: exact regions)",
    )
    max_inflight: int = Field(
        2,
        ge=1,
        le=16,
        description="frames per camera at the models at once; when full, "
        "a newer frame replaces the one waiting (frame-drop policy: lag stays flat)",
    )
    prioritise: bool = Field(
        False,
        description="when the model pool is behind, cameras with a pass under way (an open track "
        "short of a confident read) come first; the others send at most idle_fps frames "
        "(off: a starved-pool test showed no gain, benchmarks/RESULTS.md)",
    )
    behind_s: float = Field(
        1.0, gt=0, le=60, description="analysis lag from which the pool counts as behind (prioritise)"
    )
    idle_fps: float = Field(
        1.0, gt=0, le=30, description="frames per second a camera with no pass under way sends while behind"
    )
    commit_every_s: float = Field(
        2.0, gt=0.1, le=60, description="micro-batch interval: rows committed this often"
    )
    segment_s: float = Field(
        600.0, ge=10, le=86400, description="live segment (stream x time slice) length, seconds"
    )
    open_timeout_s: float = Field(10.0, gt=0, le=300, description="seconds to open a live source")
    read_timeout_s: float = Field(
        5.0, gt=0, le=300, description="seconds without data before a source is declared lost"
    )
    offline_after_s: float = Field(
        10.0, gt=0, le=3600, description="seconds without frames before a camera is shown offline"
    )
    backoff_max_s: float = Field(
        30.0, ge=1, le=3600, description="longest wait between reconnection attempts"
    )
    compact_every_s: float = Field(
        120.0,
        ge=0,
        le=86400,
        description="stream run compacts and checkpoints the day partitions it wrote this often "
        "(micro-batches leave a small file per commit; without it the driver's memory and every "
        "commit's cost grow with the files); 0 = never (leave it to `pesquisa maintain`)",
    )
    movement_every_s: float = Field(
        0.0,
        ge=0,
        le=3600,
        description="live traffic counts per camera and convoy candidates of watchlisted plates "
        "(pipelines/movement/live.py) are recomputed from the committed reads at most this often, "
        "in a background thread of stream run; 0 = off",
    )
    movement_count_window_s: float = Field(
        3600.0, gt=0, le=86400, description="live count window per camera, seconds"
    )


class GovernanceSettings(Section):
    require_registered_case: bool = Field(
        False, description="refuse searches whose case number is not in the cases table"
    )
    token_hours: float = Field(12.0, gt=0, le=24 * 31, description="lifetime of a `pesquisa login` token")
    session_idle_minutes: float = Field(
        30.0, gt=0, le=24 * 60, description="app: sign out after this long without activity"
    )
    session_max_hours: float = Field(
        12.0, gt=0, le=24 * 7, description="app: sign out this long after signing in"
    )
    signin_max_failures: int = Field(
        5, ge=1, le=1000, description="app: failed sign-ins (per user name or client) before a lockout"
    )
    signin_window_s: float = Field(
        900.0, gt=0, le=86400, description="app: failures older than this are forgotten"
    )
    signin_lockout_s: float = Field(
        30.0, gt=0, le=86400, description="app: first lockout; doubles with each further failure"
    )
    signin_lockout_max_s: float = Field(3600.0, gt=0, le=86400, description="app: longest lockout")


class WatchlistSettings(Section):
    suppression_window_s: float = Field(
        300.0, ge=0, le=86400, description="one alert per entry and camera within this many seconds (a pass)"
    )
    face_alarm_quality_min: float = Field(
        0.3, ge=0, le=1, description="face sightings under this quality never alarm (searchable or not)"
    )
    face_max_distance: float = Field(
        0.5, gt=0, le=2, description="default L2 distance for a face entry to hit"
    )
    historical_days: int = Field(
        90, ge=0, le=3650, description="days of past reads a new entry is matched against"
    )
    hygiene_days: int = Field(30, ge=1, le=365, description="days of reads the plate hygiene check looks at")
    hygiene_max_plates: int = Field(
        3, ge=1, le=100000, description="warn when a plate entry matches more distinct plates than this"
    )
    webhooks: dict[str, SecretStr] = Field(
        default_factory=dict, description="agency -> URL that receives each alert as an HTTP POST of JSON"
    )
    webhook_timeout_s: float = Field(5.0, gt=0, le=120, description="seconds per webhook attempt")
    webhook_retries: int = Field(4, ge=0, le=20, description="webhook retries after the first attempt")
    webhook_backoff_s: float = Field(0.5, ge=0, le=600, description="first retry delay (doubles each retry)")
    feed_refresh_s: float = Field(2.0, ge=0.5, le=600, description="how often the app's alert feed refreshes")


class RetentionSettings(Section):
    """How long each data type is kept (days; empty = forever). ``pesquisa maintain retention`` deletes
    older rows and purges every copy (change data, old versions, log statistics, indexes, derived)."""

    faces_days: int | None = Field(30, ge=0, le=36500, description="face sightings (crops, embeddings)")
    plates_days: int | None = Field(180, ge=0, le=36500, description="plate reads (crops)")
    alerts_days: int | None = Field(365, ge=0, le=36500, description="watchlist alerts (crops)")
    videos_days: int | None = Field(180, ge=0, le=36500, description="video segments the home manages")
    derived_days: int | None = Field(
        180, ge=0, le=36500, description="derived result files under HOME/derived"
    )


class ExportSettings(Section):
    """Evidence export packages (``pesquisa export``, issue 12.6)."""

    clip_margin_s: float = Field(
        3.0, gt=0, le=60, description="seconds of video kept before and after each exported sighting"
    )
    detect_every: int = Field(
        1,
        ge=1,
        le=25,
        description="masking: run the face and plate detectors on every n-th clip frame (1: every frame)",
    )
    mask_pad: float = Field(
        0.25, ge=0, le=2, description="masking: widen each blurred box by this share of its size per side"
    )
    crf: int = Field(18, ge=0, le=51, description="H.264 quality of exported clips (lower: better)")


class PathSettings(Section):
    shared_data: str | None = Field(
        None, description="the shared real data (default: ../shared/data next to the repository)"
    )
    cache_dir: str | None = Field(None, description="re-creatable caches (default ~/.cache/pesquisa)")


class OrchestrationSettings(Section):
    env: Literal["local", "prod"] = Field(
        "local", description="Dagster resource set: local (this machine) or prod (cluster)"
    )
    sample_fps: float | None = Field(
        None, gt=0, le=60, description="local Dagster extraction: frames per second (None: per camera)"
    )
    partitions_start: str = Field("2025-01-01", description="first day of the daily partitions (YYYY-MM-DD)")
    inbox_settle_s: float = Field(
        30.0, ge=0, le=86400, description="inbox files younger than this are left for the next tick"
    )
    max_failure_share: float = Field(
        0.05, ge=0, le=1, description="highest tolerated share of failed extraction runs"
    )

    @field_validator("partitions_start")
    @classmethod
    def _a_day(cls, v: str) -> str:
        from lakehouse.timeutil import parse_day

        parse_day(v)
        return v


class Settings(Section):
    """Every setting of a Pesquisa home."""

    storage: StorageSettings = Field(default_factory=lambda: StorageSettings())
    time: TimeSettings = Field(default_factory=lambda: TimeSettings())
    compute: ComputeSettings = Field(default_factory=lambda: ComputeSettings())
    models: ModelSettings = Field(default_factory=lambda: ModelSettings())
    plates: PlateSettings = Field(default_factory=lambda: PlateSettings())
    search: SearchSettings = Field(default_factory=lambda: SearchSettings())
    app: AppSettings = Field(default_factory=lambda: AppSettings())
    paths: PathSettings = Field(default_factory=lambda: PathSettings())
    orchestration: OrchestrationSettings = Field(default_factory=lambda: OrchestrationSettings())
    extraction: ExtractionSettings = Field(default_factory=lambda: ExtractionSettings())
    live: LiveSettings = Field(default_factory=lambda: LiveSettings())
    governance: GovernanceSettings = Field(default_factory=lambda: GovernanceSettings())
    watchlist: WatchlistSettings = Field(default_factory=lambda: WatchlistSettings())
    retention: RetentionSettings = Field(default_factory=lambda: RetentionSettings())
    export: ExportSettings = Field(default_factory=lambda: ExportSettings())


class CameraSettings(Section):
    """Per-camera settings, stored in the camera registry and validated on import."""

    sample_fps: float | None = Field(
        None, gt=0, le=60, description="analysis frames per second (None: the profile's)"
    )
    gating: Literal["region", "frame", "off"] | None = Field(
        None, description="motion gating: region, frame or off (None: region)"
    )
    plate_format: str | None = Field(None, description="plate country preset (a prior, not a filter)")
    stream_options: dict[str, str] = Field(
        default_factory=dict, description="PyAV/FFmpeg options for the live source"
    )


#: The home locator: says where the settings file is, so it is read before any settings can be.
HOME_ENV = "PESQUISA_HOME"
#: Per-process session values (not settings): who a shell session says it is and which case and
#: purpose its searches serve. They can only repeat or narrow the proven identity
#: (:func:`pipelines.governance.identity.narrow`); the case and purpose are checked by the search.
SESSION_ENV: dict[str, str] = {
    "user": "PESQUISA_USER",
    "role": "PESQUISA_ROLE",
    "agency": "PESQUISA_AGENCY",
    "case": "PESQUISA_CASE",
    "purpose": "PESQUISA_PURPOSE",
}


def env_home(environ: Mapping[str, str] | None = None) -> str | None:
    """``PESQUISA_HOME`` when set and not blank (:func:`lakehouse.config.resolve_home` uses it)."""
    env = os.environ if environ is None else environ
    value = env.get(HOME_ENV, "").strip()
    return value or None


def session_env(environ: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """The :data:`SESSION_ENV` values of this process (``user``, ``role``, ``agency``, ``case``,
    ``purpose``), stripped; None when unset or blank."""
    env = os.environ if environ is None else environ
    return {key: (env.get(name) or "").strip() or None for key, name in SESSION_ENV.items()}


#: Short environment names kept for compatibility -> (section, field).
ENV_ALIASES: dict[str, tuple[str, str]] = {
    "PESQUISA_TABLES_URI": ("storage", "tables_uri"),
    "PESQUISA_STORAGE_OPTIONS": ("storage", "storage_options"),
    "PESQUISA_INDEX_DIR": ("storage", "index_dir"),
    "PESQUISA_TZ": ("time", "zone"),
    "PESQUISA_DEVICE": ("compute", "device"),
    "RAY_ADDRESS": ("compute", "ray_address"),
    "PESQUISA_RAY_CPUS": ("compute", "ray_cpus"),
    "PESQUISA_WORKERS": ("compute", "workers"),
    "PESQUISA_ACTOR_START_TIMEOUT": ("compute", "actor_start_timeout_s"),
    "PESQUISA_BATCH_TIMEOUT": ("compute", "batch_timeout_s"),
    "PESQUISA_PLATE_INDEX_MIN_ROWS": ("search", "plate_index_min_rows"),
    "PESQUISA_PLATE_SEGMENT_READS": ("search", "plate_segment_reads"),
    "PESQUISA_FACE_INDEX_KIND": ("search", "face_index_kind"),
    "PESQUISA_FACE_INDEX_EXACT_BELOW": ("search", "face_index_exact_below"),
    "PESQUISA_FACE_EF_SEARCH": ("search", "face_ef_search"),
    "PESQUISA_FACE_NPROBE": ("search", "face_nprobe"),
    "PESQUISA_USERS_FILE": ("app", "users_file"),
    "PESQUISA_BCRYPT_ROUNDS": ("app", "bcrypt_rounds"),
    "PESQUISA_MAP_STYLE": ("app", "map_style"),
    "PESQUISA_SHARED_DATA": ("paths", "shared_data"),
    "PESQUISA_CACHE": ("paths", "cache_dir"),
    "PESQUISA_ENV": ("orchestration", "env"),
    "PESQUISA_SAMPLE_FPS": ("orchestration", "sample_fps"),
    "PESQUISA_PARTITIONS_START": ("orchestration", "partitions_start"),
    "PESQUISA_INBOX_SETTLE_S": ("orchestration", "inbox_settle_s"),
    "PESQUISA_MAX_FAILURE_SHARE": ("orchestration", "max_failure_share"),
}


class SettingsError(ValueError):
    """A setting that cannot be accepted (names the source and the field)."""


class LoadedSettings:
    """The effective :class:`Settings` plus the source of every value (``default`` / file / env name)."""

    def __init__(self, settings: Settings, sources: dict[str, str], home: Path):
        self.settings = settings
        self.sources = sources
        self.home = home

    def __getattr__(self, name: str) -> Any:
        return getattr(self.settings, name)

    def show(self) -> list[dict[str, Any]]:
        """Rows ``{key, value, source, description}`` with secrets redacted."""
        rows = []
        for sname, section in self.settings:
            for fname, finfo in type(section).model_fields.items():
                value = getattr(section, fname)
                rows.append(
                    {
                        "key": f"{sname}.{fname}",
                        "value": _redact(value),
                        "source": self.sources.get(f"{sname}.{fname}", "default"),
                        "description": finfo.description or "",
                    }
                )
        return rows


def _redact(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return "***" if value.get_secret_value() else ""
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    return value


def _coerce_env(section: str, field: str, raw: str) -> Any:
    if field in ("storage_options", "webhooks"):
        try:
            value = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError as exc:
            raise SettingsError(f"{section}.{field}: not valid JSON ({exc})") from exc
        if not isinstance(value, dict):
            raise SettingsError(f"{section}.{field}: must be a JSON object")
        return {str(k): str(v) for k, v in value.items()}
    return raw


def load_settings(
    home: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> LoadedSettings:
    """Defaults, then ``HOME/pesquisa.yaml``, then environment overrides; validated."""
    from lakehouse.config import resolve_home

    env = os.environ if environ is None else environ
    home_path = resolve_home(home, environ=env)
    data: dict[str, dict[str, Any]] = {}
    sources: dict[str, str] = {}
    path = home_path / SETTINGS_FILE
    if path.exists():
        import yaml

        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise SettingsError(f"{path}: not valid YAML ({exc})") from exc
        if not isinstance(loaded, dict):
            raise SettingsError(f"{path}: expected sections (storage:, time:, ...) at the top level")
        for sname, values in loaded.items():
            if not isinstance(values, dict):
                raise SettingsError(f"{path}: section {sname!r} must be a mapping")
            for fname, v in values.items():
                data.setdefault(str(sname), {})[str(fname)] = v
                sources[f"{sname}.{fname}"] = str(path)
    for name, (sname, fname) in ENV_ALIASES.items():
        raw = env.get(name)
        if raw is not None and raw != "":
            data.setdefault(sname, {})[fname] = _coerce_env(sname, fname, raw)
            sources[f"{sname}.{fname}"] = f"env {name}"
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        if len(parts) != 2:
            raise SettingsError(f"{name}: expected {ENV_PREFIX}<SECTION>__<FIELD>")
        sname, fname = parts
        data.setdefault(sname, {})[fname] = _coerce_env(sname, fname, raw)
        sources[f"{sname}.{fname}"] = f"env {name}"
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            problems.append(f"{key} ({sources.get(key, 'settings')}): {err['msg']}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None
    return LoadedSettings(settings, sources, home_path)


_CACHE: dict[tuple[str, tuple[int, int], tuple[tuple[str, str], ...]], LoadedSettings] = {}


def get_settings(home: str | os.PathLike[str] | None = None) -> LoadedSettings:
    """:func:`load_settings` cached per home, settings file (its modification time and size) and
    environment: an edit of ``pesquisa.yaml`` or of a ``PESQUISA*`` variable is seen on the next call."""
    from lakehouse.config import resolve_home

    env_key = tuple(
        sorted((k, v) for k, v in os.environ.items() if k.startswith("PESQUISA") or k == "RAY_ADDRESS")
    )
    home_path = resolve_home(home)
    try:
        st = (home_path / SETTINGS_FILE).stat()
        file_key = (st.st_mtime_ns, st.st_size)
    except OSError:
        file_key = (0, -1)
    key = (str(home_path), file_key, env_key)
    if key not in _CACHE:
        if len(_CACHE) > 256:  # many test homes in one process
            _CACHE.clear()
        _CACHE[key] = load_settings(home_path)
    return _CACHE[key]
