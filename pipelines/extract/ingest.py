"""``ingest_paths``: recorded videos and still images -> ``plate_reads`` / ``face_sightings`` rows,
with ``videos`` and ``processing_runs`` book-keeping. The CLI (``pesquisa ingest``), the demo, the
app and Dagster all call this function.

Per source (``video_id`` = SHA-256 of the file's bytes):

1. already ``succeeded`` in ``processing_runs`` with this model version -> skipped, nothing written;
2. ``processing_runs`` row upserted as ``running``;
3. decode + sample + motion gate + models (Ray actor pool) + tracking, entirely in memory;
4. only when the whole source went through: its rows replace that source's rows for this model
   version (``Lakehouse.replace`` with predicate ``video_id ... AND model_version = ...``: one
   commit per table, never delete-then-insert), then the source switches to this version in one
   ``source_versions`` commit (readers see only each source's current version: pipelines/versions.py),
   then ``videos`` and ``processing_runs`` (``succeeded``) are upserted. Rows of another model
   version are never touched.

A source that fails (bad file, model error, commit error) is recorded as ``failed`` with a one-line
reason, leaves its previous rows intact, and the others go on.

Time: ``ts = start + offset_s``. ``start`` is the ``start`` argument when given (for every source of
the call); else for videos the container's ``creation_time``, else the file's mtime minus the
video's duration (recorders close a file when the segment ends); for stills EXIF
``DateTimeOriginal``, else the file's mtime.

Stills are processed in chunks of :data:`STILLS_PER_COMMIT` (one commit per table per chunk) so a
folder of thousands of snapshots does not make thousands of commits.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lakehouse import Lakehouse
from lakehouse.ids import file_sha256, stable_id
from lakehouse.store import sql_literal
from lakehouse.timeutil import parse_instant
from pipelines.extract.actors import PoolConfig, PoolError, get_pool
from pipelines.extract.executors import Executor, RayExecutor
from pipelines.extract.passes import PlateFilter, SourceContext, face_row, plate_row
from pipelines.extract.runner import RunOptions, run_images, run_video
from pipelines.extract.version import EXTRACTION_MODEL_VERSION
from pipelines.versions import record_switch
from pipelines.video.decode import VideoReader
from pipelines.video.errors import DecodeError
from pipelines.video.sources import SourceFile, discover
from pipelines.video.stills import load_still

log = logging.getLogger(__name__)

#: frames per second sampled from a camera of each kind (plate porticos see faster passes)
SAMPLE_FPS_BY_KIND: dict[str, float] = {"street": 5.0, "portico": 10.0, "transit": 5.0}
DEFAULT_SAMPLE_FPS = 5.0
DEFAULT_AGENCY = "municipal"
STILLS_PER_COMMIT = 64


@dataclass
class CameraSettings:
    camera_id: str
    agency: str
    kind: str
    plate_format: str | None
    registered: bool
    sample_fps: float | None = None  # the registry's per-camera settings (lakehouse.settings.CameraSettings)
    gating: str | None = None


@dataclass
class IngestReport:
    """What one :func:`ingest_paths` call did. ``succeeded``/``skipped`` are paths; ``failed`` is
    ``(path, reason)``; counts are rows written and frames decoded."""

    succeeded: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    plate_reads: int = 0
    face_sightings: int = 0
    frames: int = 0  # frames decoded (stills count one)
    frames_processed: int = 0  # frames that went through the models
    video_seconds: float = 0.0  # seconds of video decoded
    seconds: float = 0.0  # wall time of the call
    model_version: str = ""
    camera_id: str = ""
    device: str = ""
    sources: list[dict[str, Any]] = field(default_factory=list)  # one summary per source

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def realtime_factor(self) -> float:
        """Seconds of video per wall second."""
        return self.video_seconds / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["failed"] = [{"path": p, "reason": r} for p, r in self.failed]
        d["ok"] = self.ok
        return d


@dataclass
class _Outcome:
    """One source's result before it is committed."""

    src: SourceFile
    video_id: str
    hashed: bool  # video_id is the content hash (False: hash of the path, file unreadable/empty)
    status: str = "running"
    error: str | None = None
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    finished: dt.datetime | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    fps: float = 0.0
    width: int = 0
    height: int = 0
    frames_decoded: int = 0
    frames_processed: int = 0
    pixels_share: float = 0.0  # share of the sampled frames' pixels the models looked at
    plate_rows: list[dict[str, Any]] = field(default_factory=list)
    face_rows: list[dict[str, Any]] = field(default_factory=list)
    t0: float = field(default_factory=time.perf_counter)

    def fail(self, reason: str) -> None:
        self.status = "failed"
        self.error = " ".join(str(reason).split()) or "failed"
        self.plate_rows, self.face_rows = [], []


# ------------------------------------------------------------------------------------ lookups
def camera_settings(lh: Lakehouse, camera_id: str, agency: str | None = None) -> CameraSettings:
    """The camera's agency, kind and per-camera settings (plate format, sample rate, gating) from the
    ``cameras`` table; for an unknown camera the given agency (default ``municipal``), kind
    ``street``, every plate format and the defaults."""
    import polars as pl

    rows: list[dict[str, Any]] = []
    if lh.exists("cameras"):  # polars: delta-rs files may hold string_view, which pyarrow filters reject
        lf = lh.scan("cameras").filter(pl.col("camera_id") == camera_id)
        names = set(lf.collect_schema().names())
        cols = [
            c for c in ("camera_id", "agency", "kind", "plate_format", "sample_fps", "gating") if c in names
        ]
        rows = lf.select(cols).collect().to_dicts()
    if rows:
        r = rows[0]
        if agency and r["agency"] and agency != r["agency"]:
            log.warning("camera %s belongs to %s; --agency %s ignored", camera_id, r["agency"], agency)
        return CameraSettings(
            camera_id,
            r["agency"] or agency or DEFAULT_AGENCY,
            (r["kind"] or "street").lower(),
            r.get("plate_format") or None,
            True,
            r.get("sample_fps") or None,
            r.get("gating") or None,
        )
    return CameraSettings(camera_id, agency or DEFAULT_AGENCY, "street", None, False)


def plate_formats(cam: CameraSettings) -> list[str] | None:
    """The camera's own plate format first, then the reader's other presets (``generic`` last):
    vehicles cross borders (an Argentine car in Asunción), so a camera's format is a preference,
    not a filter. An unregistered camera gets the reader's defaults."""
    if not cam.plate_format:
        return None
    from pipelines.plates import DEFAULT_FORMATS

    return [cam.plate_format] + [f for f in DEFAULT_FORMATS if f != cam.plate_format]


def _succeeded_ids(lh: Lakehouse, model_version: str, ids: Sequence[str]) -> set[str]:
    import polars as pl

    if not ids or not lh.exists("processing_runs"):
        return set()
    done = (
        lh.scan("processing_runs")
        .filter(
            (pl.col("model_version") == model_version)
            & (pl.col("status") == "succeeded")
            & pl.col("video_id").is_in(list(ids))
        )
        .select("video_id")
        .collect()
    )
    return set(done["video_id"].to_list())


def _video_id(src: SourceFile) -> tuple[str, bool]:
    try:
        if src.path.stat().st_size > 0:
            return file_sha256(src.path), True
    except OSError:
        pass
    return stable_id("path", src.uri), False


def _mtime(path: Path) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    except OSError:
        return dt.datetime.now(dt.UTC)


# ------------------------------------------------------------------------------------ commits
def _run_row(o: _Outcome, model_version: str, camera_id: str) -> dict[str, Any]:
    return {
        "video_id": o.video_id,
        "model_version": model_version,
        "source_uri": o.src.uri,
        "camera_id": camera_id,
        "started": o.started,
        "finished": o.finished,
        "status": o.status,
        "frames_decoded": o.frames_decoded,
        "frames_processed": o.frames_processed,
        "plate_reads": len(o.plate_rows) if o.status == "succeeded" else 0,
        "face_sightings": len(o.face_rows) if o.status == "succeeded" else 0,
        "duration_s": (o.finished - o.started).total_seconds() if o.finished else None,
        "error": o.error,
    }


def _video_row(o: _Outcome, cam: CameraSettings) -> dict[str, Any]:
    start = o.start or _mtime(o.src.path)
    return {
        "video_id": o.video_id,
        "camera_id": cam.camera_id,
        "agency": cam.agency,
        "uri": o.src.uri,
        "start_ts": start,
        "end_ts": o.end or start,
        "fps": o.fps,
        "width": o.width,
        "height": o.height,
        "frames": o.frames_decoded,
        "status": "processed" if o.status == "succeeded" else "failed",
    }


def _mark_running(lh: Lakehouse, outcomes: list[_Outcome], model_version: str, camera_id: str) -> None:
    lh.upsert("processing_runs", [_run_row(o, model_version, camera_id) for o in outcomes])


def _commit(lh: Lakehouse, outcomes: list[_Outcome], model_version: str, cam: CameraSettings) -> None:
    """Rows of the succeeded sources in one commit per table, then the book-keeping tables."""
    ok = [o for o in outcomes if o.status == "succeeded"]
    now = dt.datetime.now(dt.UTC)
    if ok:
        ids = ", ".join(sql_literal(o.video_id) for o in ok)
        predicate = f"video_id IN ({ids}) AND model_version = {sql_literal(model_version)}"
        try:
            lh.replace("plate_reads", [r for o in ok for r in o.plate_rows], predicate)
            lh.replace("face_sightings", [r for o in ok for r in o.face_rows], predicate)
            # every table committed: the sources switch to this version in ONE commit (readers
            # keep seeing the previous version until then; pipelines/versions.py)
            record_switch(
                lh,
                [
                    {
                        "video_id": o.video_id,
                        "camera_id": cam.camera_id,
                        "model_version": model_version,
                        "kind": "recorded",
                        "start_ts": o.start,
                    }
                    for o in ok
                ],
                by="ingest",
                reason="re-process completed for every table",
            )
        except Exception as exc:  # a failed commit leaves the previous rows (delta-rs commits atomically)
            log.exception("commit failed")
            for o in ok:
                o.fail(f"commit failed: {type(exc).__name__}: {exc}")
    for o in outcomes:
        o.finished = o.finished or now
    hashed = [o for o in outcomes if o.hashed]
    if hashed:
        lh.upsert("videos", [_video_row(o, cam) for o in hashed])
    lh.upsert("processing_runs", [_run_row(o, model_version, cam.camera_id) for o in outcomes])


# ------------------------------------------------------------------------------------ progress
class _Progress:
    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None

    def start(self, desc: str, total: int | None, unit: str = "frame") -> None:
        self.close()
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total or None,
                desc=desc[:40],
                unit=unit,
                file=sys.stderr,
                dynamic_ncols=True,
                leave=False,
                mininterval=0.5,
            )

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


# ------------------------------------------------------------------------------------ entry point
def ingest_paths(
    lh: Lakehouse,
    paths: Sequence[str | Path],
    *,
    camera_id: str,
    agency: str | None = None,
    start: dt.datetime | None = None,
    sample_fps: float | None = None,
    progress: bool = True,
    workers: int | None = None,
    model_version: str | None = None,
    gating: str | None = None,
    device: str = "auto",
    executor: Executor | None = None,
) -> IngestReport:
    """Extract plate reads and face sightings from videos and stills under ``paths``.

    ``camera_id``'s agency, kind and plate format come from the ``cameras`` table when it is
    registered (else ``agency``, default municipal; kind street; all plate formats). ``sample_fps``
    overrides the camera's registered rate, else the per-kind rate (:data:`SAMPLE_FPS_BY_KIND`). ``workers`` Ray actors (default: one
    per CPU, or two per GPU; ``PESQUISA_WORKERS`` when unset). ``model_version`` writes rows under another version than
    :data:`EXTRACTION_MODEL_VERSION` (backfills). ``gating`` is the motion gate: ``region``
    (detect in moving regions), ``frame`` (whole frames that move) or ``off``; default the camera's
    registered gating, else the setting ``extraction.gating``. The plate detector's size, its
    second pass and how often faces are analysed come from the ``extraction`` settings (the
    recorded-video profile, docs/EXTRACTION.md).
    ``executor`` runs the models somewhere else than the Ray pool (e.g. in-process).
    """
    t0 = time.perf_counter()
    if not camera_id:
        raise ValueError("camera_id is required")
    version = model_version or EXTRACTION_MODEL_VERSION
    if start is not None:
        start = parse_instant(start, tz=lh.settings.time.zone)
    cam = camera_settings(lh, camera_id, agency)
    fps = float(sample_fps or cam.sample_fps or SAMPLE_FPS_BY_KIND.get(cam.kind, DEFAULT_SAMPLE_FPS))
    if fps <= 0:
        raise ValueError("sample_fps must be > 0")
    rec = lh.settings.extraction  # the recorded-video profile
    opts = RunOptions(
        sample_fps=fps,
        gating=gating or cam.gating or rec.gating,
        formats=plate_formats(cam),
        plate_det_side=rec.plate_det_side,
        plate_second_pass=rec.plate_second_pass,
        face_every=rec.face_every,
    )
    report = IngestReport(model_version=version, camera_id=camera_id)

    sources, problems = discover(paths)
    outcomes: list[_Outcome] = []
    for path, reason in problems:
        o = _Outcome(SourceFile(Path(path), "unknown"), stable_id("path", path), False)
        o.fail(reason)
        outcomes.append(o)
    todo: list[_Outcome] = []
    seen: dict[str, str] = {}
    for src in sources:
        vid, hashed = _video_id(src)
        if hashed and vid in seen:
            report.skipped.append(src.uri)
            report.sources.append(
                {
                    "path": src.uri,
                    "video_id": vid,
                    "status": "skipped",
                    "reason": f"same content as {seen[vid]}",
                }
            )
            continue
        seen[vid] = src.uri
        todo.append(_Outcome(src, vid, hashed))
    done_ids = _succeeded_ids(lh, version, [o.video_id for o in todo if o.hashed])
    for o in list(todo):
        if o.hashed and o.video_id in done_ids:
            todo.remove(o)
            report.skipped.append(o.src.uri)
            report.sources.append(
                {
                    "path": o.src.uri,
                    "video_id": o.video_id,
                    "status": "skipped",
                    "reason": f"already processed with model version {version}",
                }
            )
    if outcomes:  # paths that are no source at all: recorded as failed
        _commit(lh, outcomes, version, cam)

    bar = _Progress(progress)
    try:
        if todo and executor is None:
            workers = workers or lh.settings.compute.workers
            try:
                executor = RayExecutor(
                    get_pool(PoolConfig.for_settings(lh.settings, workers=workers, device=device))
                )
            except PoolError as exc:  # no models, no extraction: every source is recorded as failed
                for o in todo:
                    o.fail(f"extraction failed: {exc}")
                    o.start = start or _mtime(o.src.path)
                _commit(lh, todo, version, cam)
                outcomes.extend(todo)
                todo = []
        if todo and executor is not None:  # (no executor: every source already recorded as failed)
            report.device = executor.device
            videos = [o for o in todo if o.src.kind == "video"]
            stills = [o for o in todo if o.src.kind == "image"]
            for o in videos:
                _ingest_video(lh, o, cam, version, start, opts, executor, bar)
                outcomes.append(o)
            for i in range(0, len(stills), STILLS_PER_COMMIT):
                chunk = stills[i : i + STILLS_PER_COMMIT]
                _ingest_stills(lh, chunk, cam, version, start, opts, executor, bar)
                outcomes.extend(chunk)
    finally:
        bar.close()

    for o in outcomes:
        if o.status == "succeeded":
            report.succeeded.append(o.src.uri)
            report.plate_reads += len(o.plate_rows)
            report.face_sightings += len(o.face_rows)
        else:
            report.failed.append((o.src.uri, o.error or "failed"))
            log.info("failed: %s: %s", o.src.uri, o.error)
        report.frames += o.frames_decoded
        report.frames_processed += o.frames_processed
        if o.src.kind == "video" and o.end and o.start:
            report.video_seconds += (o.end - o.start).total_seconds()
        report.sources.append(
            {
                "path": o.src.uri,
                "video_id": o.video_id,
                "status": o.status,
                "reason": o.error,
                "plate_reads": len(o.plate_rows),
                "face_sightings": len(o.face_rows),
                "frames_decoded": o.frames_decoded,
                "frames_processed": o.frames_processed,
                "pixels_share": round(o.pixels_share, 3),
            }
        )
    report.seconds = time.perf_counter() - t0
    return report


def _rows(
    o: _Outcome,
    cam: CameraSettings,
    version: str,
    plate_tracks: list,
    face_tracks: list,
    quality_floor: float,
    plate_filter: PlateFilter,
) -> None:
    assert o.start is not None
    formats = plate_formats(cam)
    ctx = SourceContext(
        o.video_id,
        cam.camera_id,
        cam.agency,
        o.src.uri,
        o.start,
        version,
        tuple(formats) if formats else None,
    )
    o.plate_rows = [plate_row(t, ctx) for t in plate_tracks if plate_filter.keep(t)]
    o.face_rows = [face_row(t, ctx, quality_floor) for t in face_tracks]


def _ingest_video(
    lh: Lakehouse,
    o: _Outcome,
    cam: CameraSettings,
    version: str,
    start: dt.datetime | None,
    opts: RunOptions,
    executor: Executor,
    bar: _Progress,
) -> None:
    reader: VideoReader | None = None
    try:
        _mark_running(lh, [o], version, cam.camera_id)
        reader = VideoReader(o.src.path, sample_fps=opts.sample_fps)
        info = reader.info
        o.fps, o.width, o.height = info.fps, info.width, info.height
        bar.start(o.src.path.name, info.declared_frames or None)
        run = run_video(o.src.uri, executor, opts, on_frames=bar.update, reader=reader)
        duration = (run.frames_decoded / info.fps) if info.fps else 0.0
        if start is not None:
            o.start = start
        elif info.creation_time is not None:
            o.start = info.creation_time
        else:
            o.start = _mtime(o.src.path) - dt.timedelta(seconds=duration)
        o.end = o.start + dt.timedelta(seconds=duration)
        o.frames_decoded, o.frames_processed = run.frames_decoded, run.frames_processed
        o.pixels_share = run.pixels_share
        _rows(o, cam, version, run.plate_tracks, run.face_tracks, executor.quality_floor, PlateFilter())
        o.status = "succeeded"
    except DecodeError as exc:
        o.fail(str(exc))
    except PoolError as exc:
        o.fail(f"extraction failed: {exc}")
    except Exception as exc:  # a model or tracking bug must not stop the other sources
        log.exception("extraction of %s failed", o.src.uri)
        o.fail(f"extraction failed: {type(exc).__name__}: {exc}")
    finally:
        if reader is not None:
            o.frames_decoded = max(o.frames_decoded, reader.decoded)
            reader.close()
        if o.start is None:
            o.start = start or _mtime(o.src.path)
    _commit(lh, [o], version, cam)


def _ingest_stills(
    lh: Lakehouse,
    chunk: list[_Outcome],
    cam: CameraSettings,
    version: str,
    start: dt.datetime | None,
    opts: RunOptions,
    executor: Executor,
    bar: _Progress,
) -> None:
    _mark_running(lh, chunk, version, cam.camera_id)
    bar.start(f"{len(chunk)} stills", len(chunk), unit="image")

    def images() -> Iterator[tuple[int, Any]]:
        for i, o in enumerate(chunk):
            try:
                still = load_still(o.src.path)
            except DecodeError as exc:
                o.fail(str(exc))
                bar.update(1)
                continue
            o.start = start or still.taken or _mtime(o.src.path)
            o.end = o.start
            o.width, o.height = still.width, still.height
            o.frames_decoded = 1
            yield i, still.image

    try:
        results = run_images(images(), executor, opts, on_done=bar.update)
    except Exception as exc:
        log.exception("extraction of %d stills failed", len(chunk))
        for o in chunk:
            if o.status != "failed":
                o.fail(f"extraction failed: {exc}")
        results = {}
    from pipelines.extract.passes import face_observation, plate_observation
    from pipelines.extract.tracking import Track

    for i, o in enumerate(chunk):
        if o.status == "failed":
            continue
        r = results.get(i)
        if r is None:
            o.fail("extraction failed: no result for this image")
            continue
        o.frames_processed = 1
        plates = [Track(k, [plate_observation(0, 0.0, p)]) for k, p in enumerate(r.plates)]
        faces = [Track(k, [face_observation(0, 0.0, f)]) for k, f in enumerate(r.faces)]
        # a still is one frame: every read is its own pass; keep the reader's own score threshold
        _rows(
            o,
            cam,
            version,
            plates,
            faces,
            executor.quality_floor,
            PlateFilter(min_best_score=0.0, min_single_score=0.0),
        )
        o.status = "succeeded"
    for o in chunk:
        if o.start is None:
            o.start = start or _mtime(o.src.path)
    _commit(lh, chunk, version, cam)
