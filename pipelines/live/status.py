"""Live camera status: where ``pesquisa stream status`` and the app's Cameras page read it.

Stored as one small JSON file per camera under ``HOME/live/status/<camera_id>.json``, written
atomically (temporary file + ``os.replace``) by the ``stream run`` process every micro-batch. A
file rather than a Delta table: it changes every ~2 s per camera, and a table would collect a
commit per update; a reader never sees a half-written file. A status whose writer stopped
updating it (process killed) reads as ``offline``.

States: ``live`` (frames arriving), ``reconnecting`` (source lost or not yet opened, less than
``offline_after_s`` ago), ``offline`` (no frame for ``offline_after_s`` or more, the runner
stopped, or the camera has a ``stream_uri`` but no runner ever reported).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from lakehouse import Lakehouse
from lakehouse.config import resolve_home

STATUS_SUBDIR = ("live", "status")
#: a status not rewritten for this long belongs to a runner that is gone
STALE_AFTER_S = 15.0
FIELDS = ("camera_id", "state", "last_frame_ts", "fps_analysed", "lag_s", "error")


def status_dir(home: str | os.PathLike[str] | None) -> Path:
    return resolve_home(home).joinpath(*STATUS_SUBDIR)


def home_of(lh: Lakehouse) -> Path:
    """The home a Lakehouse belongs to: the parent of a local ``HOME/tables`` root, else
    ``$PESQUISA_HOME``."""
    if lh.storage.is_local:
        root = Path(lh.storage.root.removeprefix("file://"))
        if root.name == "tables":
            return root.parent
    return resolve_home(None)


def camera_state(
    worker_state: str,
    last_frame_ts: float | None,
    started_at: float,
    now: float,
    offline_after_s: float,
    last_arrival_ts: float | None = None,
) -> str:
    """``live`` while frames arrive; ``offline`` once the last frame was *sent* ``offline_after_s``
    ago or more and none arrives any more (a backlog being decoded is not an outage);
    ``reconnecting`` in between."""
    arrived = last_arrival_ts if last_arrival_ts is not None else last_frame_ts
    flowing = worker_state == "live" and arrived is not None and now - arrived < 3.0
    if worker_state == "stopped":
        return "offline"
    if flowing:
        return "live"
    age = now - (last_frame_ts if last_frame_ts is not None else started_at)
    return "offline" if age >= offline_after_s else "reconnecting"


def write_status(home: str | os.PathLike[str] | None, status: dict[str, Any]) -> Path:
    """Write one camera's status atomically."""
    d = status_dir(home)
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{_safe(status['camera_id'])}.json"
    payload = {**status, "updated_at": time.time()}
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".status-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh, default=str)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_status(lh: Lakehouse, home: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Every live camera's status: those a runner reports, plus registry cameras with a
    ``stream_uri`` and no report (offline). Dicts with :data:`FIELDS` (times as ISO UTC strings,
    ``lag_s``/``fps_analysed`` floats or None) plus ``uri`` (redacted), ``updated_at`` and counters."""
    d = status_dir(home if home is not None else home_of(lh))
    now = time.time()
    out: dict[str, dict[str, Any]] = {}
    if d.is_dir():
        for p in sorted(d.glob("*.json")):
            try:
                raw = json.loads(p.read_text())
            except (OSError, ValueError):
                continue
            updated = float(raw.get("updated_at") or 0.0)
            state = raw.get("state", "offline")
            error = raw.get("error")
            if (
                now - updated > max(STALE_AFTER_S, 3 * float(raw.get("commit_every_s") or 2.0))
                and state != "offline"
            ):
                state, error = "offline", "stream runner not running"
            out[raw["camera_id"]] = {
                **{k: raw.get(k) for k in raw if k not in ("state", "error")},
                "state": state,
                "error": error,
                "last_frame_ts": _iso(raw.get("last_frame_ts")),
                "updated_at": _iso(updated),
            }
    for cam in _registry_streams(lh):
        if cam not in out:
            out[cam] = {
                "camera_id": cam,
                "state": "offline",
                "last_frame_ts": None,
                "fps_analysed": None,
                "lag_s": None,
                "error": "not started (no stream runner has reported)",
                "updated_at": None,
            }
    return [out[k] for k in sorted(out)]


def _registry_streams(lh: Lakehouse) -> list[str]:
    if not lh.exists("cameras"):
        return []
    import polars as pl

    df = (
        lh.scan("cameras")
        .filter(pl.col("stream_uri").is_not_null() & (pl.col("stream_uri") != ""))
        .select("camera_id")
        .collect()
    )
    return df["camera_id"].to_list()


def _iso(epoch: Any) -> str | None:
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(float(epoch), dt.UTC).isoformat(timespec="milliseconds")


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
