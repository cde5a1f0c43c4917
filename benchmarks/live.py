"""Live video on loopback: frame-to-alert / frame-to-row latency, cameras per 2 cores, CPU per camera,
and the recorded-file path's latency for comparison.

    python -m benchmarks.live            # full: latency (UDP, RTSP) + capacity sweep 1..3 cameras + recorded
    python -m benchmarks.live --smoke    # seconds: the source side only (join, decode CPU), no models
    python -m benchmarks.live --soak 600 # 10-minute soak: lag and RSS over time, their slopes
    python -m benchmarks.live --starved 150  # 2 cameras on 1 model actor: passes read, policy off/on

A synthetic-city street clip (1280x720, 25 fps) is pre-encoded camera-like (1-s keyframes) and
looped by ffmpeg on 127.0.0.1 (MPEG-TS over UDP; RTSP pushed to Pesquisa listening) (``pipelines.live.simulator``), which records when
each pass's first readable frame was sent. ``run_streams`` reads it with the live profile (settings
``live:``), the clip's plates (and faces) are on the watchlist, and the alarm suppression window is
set to 5 s so every loop's pass raises its own alert.

- **frame-to-alert**: emission of the first readable frame of a pass -> the alert row committed
  (readable by another process); **frame-to-row**: -> the first micro-batch commit holding a row of
  that pass. A pass read before the "readable" threshold (see the simulator) counts from that
  threshold, so early reads give small or negative values: they are kept, not clipped.
- **capacity**: N simulated cameras (the same clip, separate ports and streams) for ``--seconds``
  each on one shared model pool (one actor per core); a camera keeps up when its lag does not grow
  (slope of lag over the run's second half < 0.05 s/s) and its p95 lag stays under 3 s. CPU share per
  camera = CPU seconds of its decode-and-gate actor / wall seconds; the pool's CPU is shared.
- **recorded path**: the same clip as a closed 15-s segment file through ``ingest_paths``: a
  pass's row exists once the segment is closed and processed: (segment end - readable frame) +
  processing time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.smoke import HELP, smoke_dir

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "live.md"
SOAK_RESULTS = HERE / "results" / "live-soak.md"
STARVED_RESULTS = HERE / "results" / "live-starved.md"
#: fields of a raised alert the latency computation keeps
ALERT_KEYS = ("entry_id", "kind", "value", "ts", "camera_id", "committed_at", "read_id", "sighting_id")


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    k = min(len(v) - 1, max(0, round(q / 100 * (len(v) - 1))))
    return v[k]


def _fmt(v: float | None, unit: str = " s") -> str:
    return "-" if v is None else f"{v:.2f}{unit}"


def _city(work: Path):  # noqa: ANN202
    from pipelines.synth import load_manifest
    from pipelines.synth.city import generate_city

    d = work / "city"
    if (d / "manifest.json").exists():
        return load_manifest(d)
    return generate_city(d, cameras=1, minutes=0.25, seed=7, incidents=0, progress=False)


def _cpu(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except Exception:  # noqa: BLE001 - gone
            pass
    return total


def _home(work: Path, name: str, m: Any, cams: list[dict[str, Any]]):  # noqa: ANN202
    from lakehouse import Lakehouse

    home = work / name
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    (home / "pesquisa.yaml").write_text("watchlist:\n  suppression_window_s: 5\n")
    lh = Lakehouse(home=home)
    lh.upsert("cameras", cams)
    return home, lh


def _watch(lh: Any, m: Any, events: list, agency: str) -> None:
    from pipelines.governance.context import SearchContext
    from pipelines.watchlist.manage import add_face, add_plate

    ctx = SearchContext(
        user="bench", role="supervisor", agency=agency, case_number="BENCH-LIVE", purpose="benchmark"
    )
    for plate in sorted({e.value for e in events if e.kind == "plate"}):
        add_plate(lh, ctx, plate, reason="benchmark", priority=1, historical=False)
    for ident in sorted({e.value for e in events if e.kind == "face"}):
        photos = (m.identities.get(ident) or [])[:2]
        if photos:
            add_face(lh, ctx, photos, reason="benchmark", label=ident, historical=False)


def _stream(
    lh: Any,
    home: Path,
    cams: list[str],
    seconds: float,
    workers: int | None,
    sims: dict[str, Any],
    profile: Any = None,
) -> dict[str, Any]:
    """Run the cameras; returns per-batch records (rows, alerts, statuses, times)."""
    import ray

    from pipelines.live.run import run_streams

    batches: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    pids: dict[str, int] = {}

    def on_alerts(raised: list[dict[str, Any]]) -> None:
        alerts.extend({k: a.get(k) for k in ALERT_KEYS} for a in raised)

    def on_batch(res: Any, statuses: list[dict[str, Any]]) -> None:
        reads = (
            res.reads.select(["read_id", "camera_id", "plate", "ts"]).to_pylist()
            if res.reads is not None
            else []
        )
        sights = (
            res.sightings.select(["sighting_id", "camera_id", "ts"]).to_pylist()
            if res.sightings is not None
            else []
        )
        batches.append(
            {
                "t": time.time(),
                "committed_at": res.committed_at,
                "reads": reads,
                "sightings": sights,
                "status": [dict(s) for s in statuses],
            }
        )
        for s in statuses:
            if s.get("pid"):
                pids[s["camera_id"]] = int(s["pid"])

    from pipelines.extract.actors import PoolConfig, get_pool
    from pipelines.live.run import MODEL_RESTARTS

    pool = get_pool(PoolConfig(workers=workers, max_restarts=MODEL_RESTARTS))  # the pool run_streams uses
    pool_pids = [int(i["pid"]) for i in ray.get([a.info.remote() for a in pool.actors], timeout=120)]
    cpu0 = _cpu(pool_pids)
    t0 = time.time()
    rep = run_streams(
        lh,
        cams,
        home=str(home),
        duration_s=seconds,
        workers=workers,
        profile=profile,
        on_batch=on_batch,
        on_alerts=on_alerts,
    )
    return {
        "batches": batches,
        "alerts": alerts,
        "report": rep,
        "t0": t0,
        "pids": pids,
        "pool_cpu": _cpu(pool_pids) - cpu0,
        "pool_size": pool.size,
        "wall": time.time() - t0,
    }


def _latencies(run: dict[str, Any], sims: dict[str, Any]) -> dict[str, list[float]]:
    """frame-to-row and frame-to-alert latencies of every pass emitted while streaming."""
    out: dict[str, list[float]] = {"row_plate": [], "row_face": [], "alert_plate": [], "alert_face": []}
    batches = run["batches"]
    if not batches:
        return out
    start = batches[0]["t"] - 2.0
    end = batches[-1]["t"] - 3.0  # passes emitted at the very end had no chance to be committed
    for cam, sim in sims.items():
        for ev, _loop, t_emit in sim.emissions(start, end):
            lo, hi = t_emit - 3.0, t_emit + (ev.t_end_s - ev.t_s) + 3.0
            for b in batches:
                rows = b["reads"] if ev.kind == "plate" else b["sightings"]
                hit = [
                    r
                    for r in rows
                    if r["camera_id"] == cam
                    and lo <= r["ts"].timestamp() <= hi
                    and (ev.kind == "face" or r["plate"] == ev.value)
                ]
                if hit:
                    out[f"row_{ev.kind}"].append(b["committed_at"] - t_emit)
                    break
            al = [
                a
                for a in run["alerts"]
                if a["camera_id"] == cam
                and a["kind"] == ev.kind
                and lo <= a["ts"].timestamp() <= hi
                and a["value"] == ev.value
            ]
            if al:
                when = al[0]["committed_at"]
                when = when.timestamp() if hasattr(when, "timestamp") else float(when)
                out[f"alert_{ev.kind}"].append(when - t_emit)
    return out


def _recall(run: dict[str, Any], sims: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Per kind, (passes with a committed row, readable passes emitted while streaming): a pass
    counts when a row of its camera (for plates: with its text) falls within it, +- 3 s."""
    out = {"plate": [0, 0], "face": [0, 0]}
    batches = run["batches"]
    if not batches:
        return {k: (0, 0) for k in out}
    start, end = batches[0]["t"] + 10.0, batches[-1]["t"] - 5.0  # connected; committable
    for cam, sim in sims.items():
        for ev, _loop, t_emit in sim.emissions(start, end):
            lo, hi = t_emit - 3.0, t_emit + (ev.t_end_s - ev.t_s) + 3.0
            out[ev.kind][1] += 1
            for b in batches:
                rows = b["reads"] if ev.kind == "plate" else b["sightings"]
                if any(
                    r["camera_id"] == cam
                    and lo <= r["ts"].timestamp() <= hi
                    and (ev.kind == "face" or r["plate"] == ev.value)
                    for r in rows
                ):
                    out[ev.kind][0] += 1
                    break
    return {k: (v[0], v[1]) for k, v in out.items()}


def starved(work: Path, seconds: float, rounds: int, out: Path) -> dict[str, Any]:
    """A starved pool: 2 cameras (the second started half a loop after the first, so their passes
    alternate) on ONE model actor, streamed for ``seconds`` with the prioritising frame policy off
    and on (``rounds`` times each, alternating); per policy the share of readable passes that got a
    committed row, analysed fps and lag."""
    from pipelines.live.profile import LiveProfile
    from pipelines.live.simulator import SimulatedCamera, prepare_clip, readable_events
    from pipelines.ray_runtime import ensure_ray

    m = _city(work)
    v = m.videos[0]
    clip = prepare_clip(m.abspath(v.path))
    events = readable_events(m, v.camera_id)
    ensure_ray()
    runs: list[dict[str, Any]] = []
    for r in range(rounds):
        for prioritise in (False, True) if r % 2 == 0 else (True, False):
            sims, cams = {}, []
            for i in range(2):
                if i:
                    time.sleep(v.frames / v.fps / 2)
                cid = f"{v.camera_id}-P{i + 1}"
                sims[cid] = SimulatedCamera(clip, fps=v.fps, frames=v.frames, events=events).start()
                cams.append(dict(m.camera(v.camera_id), camera_id=cid, stream_uri=sims[cid].url))
            # a fresh home per run: a reused path would meet the previous run's per-process caches
            home, lh = _home(work, f"home-starved-{r}-{int(prioritise)}", m, cams)
            load0 = os.getloadavg()[0]
            profile = LiveProfile.from_settings(str(home), prioritise=prioritise)
            run = _stream(lh, home, list(sims), seconds, 1, sims, profile=profile)
            for s in sims.values():
                s.stop()
            rec = _recall(run, sims)
            cap = _capacity(run, seconds)
            last = {st["camera_id"]: st for st in run["batches"][-1]["status"]} if run["batches"] else {}
            row = {
                "prioritise": prioritise,
                "load": load0,
                "recall": rec,
                "fps_analysed": sum(c["fps_analysed"] for c in cap),
                "lag_p50": _pct([c["lag_p50"] for c in cap if c["lag_p50"] is not None], 50),
                "deferred": sum(int(st.get("frames_deferred") or 0) for st in last.values()),
            }
            runs.append(row)
            print("starved:", json.dumps(row, default=str), flush=True)
    lines = [
        "### Starved pool: frame prioritisation",
        "",
        f"`python -m benchmarks.live --starved {seconds:g} --starved-rounds {rounds}` — written "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores shared. "
        "2 simulated 720p25 cameras (the same clip, the second started half a loop later) on ONE model "
        f"actor, {seconds:g} s per run.",
        "",
        "| policy | load (1 min) | plate passes read | face passes seen | analysed fps (both) | lag p50 | frames sent at idle_fps |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for x in runs:
        (pr, pn), (fr, fn) = x["recall"]["plate"], x["recall"]["face"]
        lines.append(
            f"| {'prioritise' if x['prioritise'] else 'newest replaces (before)'} | {x['load']:.1f} | "
            f"{pr}/{pn} | {fr}/{fn} | {x['fps_analysed']:.2f} | {_fmt(x['lag_p50'])} | {x['deferred']} |"
        )
    lines.append("")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    out.with_suffix(".json").write_text(json.dumps(runs, default=str, indent=1))
    print("\n".join(lines), flush=True)
    return {"runs": runs}


def _capacity(run: dict[str, Any], seconds: float) -> list[dict[str, Any]]:
    by_cam: dict[str, list[tuple[float, dict[str, Any]]]] = {}
    for b in run["batches"]:
        for s in b["status"]:
            by_cam.setdefault(s["camera_id"], []).append((b["t"], s))
    out = []
    for cam, series in sorted(by_cam.items()):
        lags = [(t, s["lag_s"]) for t, s in series if s.get("lag_s") is not None]
        half = (
            [(t, lag) for t, lag in lags if t >= lags[0][0] + (lags[-1][0] - lags[0][0]) / 2] if lags else []
        )
        slope = 0.0
        if len(half) >= 3:
            ts, ls = [t for t, _ in half], [lag for _, lag in half]
            mt, ml = statistics.fmean(ts), statistics.fmean(ls)
            den = sum((t - mt) ** 2 for t in ts) or 1.0
            slope = sum((t - mt) * (lag - ml) for t, lag in zip(ts, ls, strict=True)) / den
        last = series[-1][1]
        sent = max(1, int(last.get("frames_analysed", 0)) + int(last.get("frames_dropped", 0)))
        p95 = _pct([lag for _, lag in lags], 95)
        out.append(
            {
                "camera_id": cam,
                "lag_p50": _pct([lag for _, lag in lags], 50),
                "lag_p95": p95,
                "lag_slope": slope,
                "analysed": int(last.get("frames_analysed", 0)),
                "sampled": int(last.get("frames_sampled", 0)),
                "dropped": int(last.get("frames_dropped", 0)),
                "drop_share": int(last.get("frames_dropped", 0)) / sent,
                "fps_analysed": int(last.get("frames_analysed", 0)) / seconds,
                "keeps_up": bool(lags) and slope < 0.05 and (p95 or 99) < 3.0,
            }
        )
    return out


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (t, y) points (0 with fewer than 3)."""
    if len(points) < 3:
        return 0.0
    mt = statistics.fmean(t for t, _ in points)
    my = statistics.fmean(y for _, y in points)
    den = sum((t - mt) ** 2 for t, _ in points) or 1.0
    return sum((t - mt) * (y - my) for t, y in points) / den


def _rss_parts_mb(pids: list[int]) -> dict[str, float]:
    """Resident memory split as the kernel counts it (``/proc/PID/status``): ``anon`` (the process's
    own heap: what a leak grows), ``shmem`` (shared memory it touched: Ray's object store is a
    shared mapping, so a process that reads objects from it counts those pages too, up to the
    store's size) and ``file`` (mapped code and files)."""
    out = {"anon": 0.0, "shmem": 0.0, "file": 0.0}
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/status").read_text()
        except OSError:  # gone, or not Linux
            continue
        for line in text.splitlines():
            key, _, val = line.partition(":")
            part = {"RssAnon": "anon", "RssShmem": "shmem", "RssFile": "file"}.get(key)
            if part:
                out[part] += int(val.split()[0]) / 1024
    return out


def _rss_mb(pids: list[int]) -> float:
    import psutil

    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
        except Exception:  # noqa: BLE001 - gone (a restarted actor)
            pass
    return total / 2**20


def soak(work: Path, seconds: float, cameras: int, out: Path, trace: bool = False) -> dict[str, Any]:
    """``cameras`` simulated cameras streamed for ``seconds``; every micro-batch records each
    camera's lag and the resident memory of the driver, the camera actors and the model pool.
    Flat = the least-squares slopes of lag (s/s) and RSS (MB/min) after the first minute (models
    loading, first connection) are near zero.

    ``trace``: the driver also records Python's own allocations (``tracemalloc``), Arrow's pool and
    the live object count, and writes the allocation sites that grew most between minute 1 and the
    end (tells Python objects kept from native memory)."""
    import gc
    import tracemalloc

    import pyarrow as pa
    import ray

    from benchmarks.live_memory import heap_mb
    from pipelines.extract.actors import PoolConfig, get_pool
    from pipelines.live.run import MODEL_RESTARTS, run_streams
    from pipelines.live.simulator import SimulatedCamera, prepare_clip, readable_events
    from pipelines.ray_runtime import ensure_ray

    m = _city(work)
    v = m.videos[0]
    clip = prepare_clip(m.abspath(v.path))
    events = readable_events(m, v.camera_id)
    ensure_ray()
    load0 = os.getloadavg()
    sims, cams = {}, []
    for i in range(cameras):
        cid = f"{v.camera_id}-S{i + 1}"
        sims[cid] = SimulatedCamera(clip, fps=v.fps, frames=v.frames, events=events).start()
        cams.append(dict(m.camera(v.camera_id), camera_id=cid, stream_uri=sims[cid].url))
    home, lh = _home(work, "home-soak", m, cams)
    _watch(lh, m, events, cams[0]["agency"])
    pool = get_pool(PoolConfig(max_restarts=MODEL_RESTARTS))
    pool_pids = [int(i["pid"]) for i in ray.get([a.info.remote() for a in pool.actors], timeout=300)]
    samples: list[dict[str, Any]] = []
    alerts: list[int] = []  # counts only: an alert carries its crop's JPEG
    snaps: list[Any] = []
    if trace:
        tracemalloc.start(8)
    t0 = time.time()

    def on_batch(res: Any, statuses: list[dict[str, Any]]) -> None:
        cam_pids = [int(st["pid"]) for st in statuses if st.get("pid")]
        if trace:
            if not snaps and time.time() - t0 >= 60.0:
                snaps.append(tracemalloc.take_snapshot())
            samples_extra = {
                "py_traced_mb": tracemalloc.get_traced_memory()[0] / 2**20,
                "arrow_pool_mb": pa.total_allocated_bytes() / 2**20,
                "gc_objects": len(gc.get_objects()),
                **{f"glibc_{k}_mb": v for k, v in heap_mb().items()},
            }
        else:
            samples_extra = {}
        samples.append(
            {
                "t": time.time() - t0,
                "lag": {st["camera_id"]: st.get("lag_s") for st in statuses},
                "dropped": {st["camera_id"]: st.get("frames_dropped", 0) for st in statuses},
                "analysed": {st["camera_id"]: st.get("frames_analysed", 0) for st in statuses},
                "state": {st["camera_id"]: st.get("state") for st in statuses},
                "rss_driver_mb": _rss_mb([os.getpid()]),
                "rss_cameras_mb": _rss_mb(cam_pids),
                "rss_pool_mb": _rss_mb(pool_pids),
                **{f"{k}_driver_mb": v for k, v in _rss_parts_mb([os.getpid()]).items()},
                **{f"{k}_cameras_mb": v for k, v in _rss_parts_mb(cam_pids).items()},
                **{f"{k}_pool_mb": v for k, v in _rss_parts_mb(pool_pids).items()},
                "load": os.getloadavg()[0],
                **samples_extra,
            }
        )

    try:
        rep = run_streams(
            lh,
            list(sims),
            home=str(home),
            duration_s=seconds,
            on_batch=on_batch,
            on_alerts=lambda a: alerts.append(len(a)),
        )
    finally:
        for sim in sims.values():
            sim.stop()
    growth: list[str] = []
    if trace and snaps:
        diff = tracemalloc.take_snapshot().compare_to(snaps[0], "traceback")
        for st in sorted(diff, key=lambda d: d.size_diff, reverse=True)[:15]:
            growth.append(f"{st.size_diff / 2**20:+.2f} MB, {st.count_diff:+d} blocks:")
            growth += [f"    {f.filename}:{f.lineno}" for f in st.traceback[:6]]
        tracemalloc.stop()
    load1 = os.getloadavg()
    steady = [x for x in samples if x["t"] >= 60.0] or samples
    result: dict[str, Any] = {
        "seconds": seconds,
        "cameras": list(sims),
        "batches": rep.batches,
        "errors": rep.errors,
        "alerts": sum(alerts),
        "load_before": load0,
        "load_after": load1,
        "samples": samples,
        "lag_slope": {
            c: _slope([(x["t"], x["lag"][c]) for x in steady if x["lag"].get(c) is not None]) for c in sims
        },
        "rss_slope_mb_per_min": {
            k: 60.0 * _slope([(x["t"], x[k]) for x in steady])
            for k in ("rss_driver_mb", "rss_cameras_mb", "rss_pool_mb")
            + tuple(f"{part}_{who}_mb" for who in ("driver", "cameras", "pool") for part in ("anon", "shmem"))
        },
        "growth_since_minute_1": growth,
    }
    if trace:
        for k in ("py_traced_mb", "arrow_pool_mb", "gc_objects", "glibc_in_use_mb", "glibc_free_mb"):
            result["rss_slope_mb_per_min"][k] = 60.0 * _slope([(x["t"], x[k]) for x in steady])
    lines = [
        "### Soak",
        "",
        f"`python -m benchmarks.live --soak {seconds:g} --soak-cameras {cameras}` — written "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores shared; "
        f"load average {load0[0]:.1f}/{load0[1]:.1f}/{load0[2]:.1f} before, "
        f"{load1[0]:.1f}/{load1[1]:.1f}/{load1[2]:.1f} after. {len(sims)} simulated 720p25 camera(s) "
        f"(MPEG-TS over UDP), {rep.batches} micro-batches, {sum(alerts)} alerts, errors: {len(rep.errors)}.",
        "",
        "| what | first minute | last minute | slope after the first minute |",
        "|---|---:|---:|---:|",
    ]

    def span(key: Any, lo: float, hi: float) -> float | None:
        vals = [key(x) for x in samples if lo <= x["t"] < hi and key(x) is not None]
        return statistics.fmean(vals) if vals else None

    end = samples[-1]["t"] if samples else 0.0
    for c in sims:
        lag = lambda x, c=c: x["lag"].get(c)  # noqa: E731
        lines.append(
            f"| lag {c} (s, mean) | {_fmt(span(lag, 0, 60))} | {_fmt(span(lag, end - 60, end + 1))} | "
            f"{result['lag_slope'][c]:+.4f} s/s |"
        )
    for k, label in (
        ("rss_driver_mb", "RSS driver"),
        ("rss_cameras_mb", "RSS camera actors"),
        ("rss_pool_mb", "RSS model pool"),
        ("anon_driver_mb", "driver: private (RssAnon)"),
        ("shmem_driver_mb", "driver: shared, object store (RssShmem)"),
        ("anon_cameras_mb", "camera actors: private (RssAnon)"),
        ("shmem_cameras_mb", "camera actors: shared (RssShmem)"),
        ("anon_pool_mb", "model pool: private (RssAnon)"),
        ("shmem_pool_mb", "model pool: shared (RssShmem)"),
    ) + (
        (
            ("py_traced_mb", "driver: Python allocations (tracemalloc)"),
            ("arrow_pool_mb", "driver: Arrow memory pool"),
            ("gc_objects", "driver: live Python objects (count)"),
            ("glibc_in_use_mb", "driver: C heap in use (glibc)"),
            ("glibc_free_mb", "driver: C heap free, kept by glibc"),
        )
        if trace
        else ()
    ):
        key = lambda x, k=k: x[k]  # noqa: E731
        unit = "" if k == "gc_objects" else " MB"
        lines.append(
            f"| {label}{' (MB)' if unit else ''} | {_fmt(span(key, 0, 60), unit)} | "
            f"{_fmt(span(key, end - 60, end + 1), unit)} | {result['rss_slope_mb_per_min'][k]:+.2f}{unit}/min |"
        )
    last = samples[-1] if samples else {"dropped": {}, "analysed": {}}
    lines += [
        "",
        "Frames analysed / dropped by the drop policy over the run: "
        + ", ".join(f"{c} {last['analysed'].get(c, 0)} / {last['dropped'].get(c, 0)}" for c in sims)
        + ".",
        "",
    ]
    if growth:
        lines += [
            "Driver allocation sites that grew most after minute 1 (tracemalloc):",
            "",
            "```",
            *growth,
            "```",
            "",
        ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    out.with_suffix(".json").write_text(json.dumps(result, default=str, indent=1))
    print("\n".join(lines), flush=True)
    return result


def smoke(work: Path) -> str:
    """Seconds: the source side of one live camera, no models."""
    import psutil

    from pipelines.live.simulator import SimulatedCamera, prepare_clip
    from pipelines.live.source import LiveSource

    m = _city(work)
    v = m.videos[0]
    clip = prepare_clip(m.abspath(v.path))
    with SimulatedCamera(clip, fps=v.fps, frames=v.frames) as sim:
        t0 = time.time()
        src = LiveSource(sim.url, read_timeout_s=5)
        proc = psutil.Process()
        cpu0 = proc.cpu_times()
        first = None
        n = 0
        for _lf in src.frames():
            n += 1
            if first is None:
                first = time.time() - t0
            if time.time() - t0 > 5.0:
                break
        wall = time.time() - t0
        cpu1 = proc.cpu_times()
        src.close()
    cpu = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    return (
        f"smoke: joined udp stream in {first:.2f} s ({src.skipped_packets} packets skipped before a keyframe), "
        f"decoded {n} frames in {wall:.1f} s ({n / wall:.1f} fps), decode CPU {100 * cpu / wall:.0f} % of a core"
    )


def recorded(work: Path, m: Any, v: Any, clip: Path, events: list) -> list[float]:
    from lakehouse import Lakehouse
    from pipelines.extract import ingest_paths

    home = work / "home-recorded"
    shutil.rmtree(home, ignore_errors=True)
    lh = Lakehouse(home=home)
    lh.upsert("cameras", m.cameras)
    t = time.perf_counter()
    rep = ingest_paths(lh, [clip], camera_id=v.camera_id, start=v.start_ts, progress=False)
    wall = time.perf_counter() - t
    if rep.failed:
        raise SystemExit(f"recorded ingest failed: {rep.failed}")
    plates = set(lh.read("plate_reads", columns=["plate"])["plate"].to_pylist())
    return [(v.frames / v.fps - e.t_s) + wall for e in events if e.kind == "face" or e.value in plates]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help=HELP + "; live: the source side only, no models")
    ap.add_argument("--quick", action="store_true", help="shorter runs (60 s latency, 1-2 cameras x 45 s)")
    ap.add_argument("--seconds", type=float, help="streaming seconds per capacity step (default 90)")
    ap.add_argument(
        "--latency-seconds", type=float, help="streaming seconds of the latency run (default 120)"
    )
    ap.add_argument("--max-cameras", type=int, default=3)
    ap.add_argument("--protocols", default="udp,rtsp", help="latency runs (udp, rtsp)")
    ap.add_argument("--skip-recorded", action="store_true", help="no recorded-path comparison")
    ap.add_argument("--work", type=Path, help="where the clip and tables go (default: a temp dir)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument(
        "--soak",
        type=float,
        metavar="SECONDS",
        help="soak test: stream this long, recording lag and memory over time (no latency/capacity runs)",
    )
    ap.add_argument("--soak-cameras", type=int, default=1, help="cameras in the soak test (default 1)")
    ap.add_argument(
        "--trace",
        action="store_true",
        help="soak: also trace the driver's Python allocations (tracemalloc; slower) and print what grew",
    )
    ap.add_argument(
        "--starved",
        type=float,
        metavar="SECONDS",
        help="starved pool (2 cameras, 1 model actor): passes read with the prioritising policy off / on",
    )
    ap.add_argument("--starved-rounds", type=int, default=1, help="off/on pairs in the starved test")
    args = ap.parse_args(argv)
    from pipelines.memory import tune_native_allocators

    tune_native_allocators()  # as `pesquisa stream run` does, before delta-rs and Polars load
    if args.starved:
        work = args.work or Path(tempfile.gettempdir()) / "pesquisa-bench-live"
        work.mkdir(parents=True, exist_ok=True)
        out = args.out if args.out != RESULTS else STARVED_RESULTS
        starved(work, args.starved, args.starved_rounds, out)
        return 0
    if args.soak:
        work = args.work or Path(tempfile.gettempdir()) / "pesquisa-bench-live"
        work.mkdir(parents=True, exist_ok=True)
        out = args.out if args.out != RESULTS else SOAK_RESULTS
        res = soak(work, args.soak, args.soak_cameras, out, trace=args.trace)
        return 0 if not res["errors"] else 1
    if args.smoke:
        print(smoke(args.work or smoke_dir("live")), flush=True)
        return 0
    work = args.work or Path(tempfile.gettempdir()) / "pesquisa-bench-live"
    work.mkdir(parents=True, exist_ok=True)
    seconds = args.seconds or (45.0 if args.quick else 90.0)
    lat_seconds = args.latency_seconds or (60.0 if args.quick else 120.0)
    max_cams = min(args.max_cameras, 2) if args.quick else args.max_cameras

    from pipelines.extract import EXTRACTION_MODEL_VERSION
    from pipelines.live.profile import LiveProfile
    from pipelines.live.simulator import SimulatedCamera, prepare_clip, readable_events
    from pipelines.ray_runtime import ensure_ray

    load_before = os.getloadavg()
    m = _city(work)
    v = m.videos[0]
    clip = prepare_clip(m.abspath(v.path))
    events = readable_events(m, v.camera_id)
    profile = LiveProfile.from_settings(str(work))
    ensure_ray()
    cores = os.cpu_count() or 1
    print(
        f"clip {clip.name}: {v.frames / v.fps:.0f} s, {len(events)} readable passes; {cores} cores; "
        f"load {load_before[0]:.1f}",
        flush=True,
    )

    # ---- latency, one camera per protocol
    lat: dict[str, dict[str, list[float]]] = {}
    for protocol in args.protocols.split(","):
        sim = SimulatedCamera(clip, fps=v.fps, frames=v.frames, events=events, protocol=protocol).start()
        cam = dict(m.camera(v.camera_id), stream_uri=sim.url)
        home, lh = _home(work, f"home-latency-{protocol}", m, [cam])
        _watch(lh, m, events, cam["agency"])
        run = _stream(lh, home, [v.camera_id], lat_seconds, None, {v.camera_id: sim})
        sim.stop()
        lat[protocol] = _latencies(run, {v.camera_id: sim})
        print(
            f"latency {protocol}:",
            {k: (len(x), _fmt(_pct(x, 50)), _fmt(_pct(x, 95))) for k, x in lat[protocol].items()},
            flush=True,
        )

    # ---- capacity: 1..N cameras on one shared pool
    steps = []
    for n in range(1, max_cams + 1):
        sims, cams = {}, []
        for i in range(n):
            cid = f"{v.camera_id}-L{i + 1}"
            s = SimulatedCamera(clip, fps=v.fps, frames=v.frames, events=events).start()
            sims[cid] = s
            cams.append(dict(m.camera(v.camera_id), camera_id=cid, stream_uri=s.url))
        home, lh = _home(work, f"home-cap{n}", m, cams)
        load0 = os.getloadavg()[0]
        run = _stream(lh, home, list(sims), seconds, None, sims)
        for s in sims.values():
            s.stop()
        cap = _capacity(run, seconds)
        last = {st["camera_id"]: st for st in run["batches"][-1]["status"]} if run["batches"] else {}
        for c in cap:
            st = last.get(c["camera_id"], {})
            c["cpu_share"] = (st.get("cpu_s") or 0.0) / max(
                time.time() - float(st.get("started_at") or time.time()), 1e-3
            )
        steps.append(
            {
                "cameras": n,
                "load": load0,
                "cap": cap,
                "pool_cpu": run["pool_cpu"],
                "wall": run["wall"],
                "pool_size": run["pool_size"],
            }
        )
        print(
            f"{n} camera(s):",
            [
                (
                    c["camera_id"],
                    _fmt(c["lag_p95"]),
                    f"{c['lag_slope']:+.3f}",
                    f"{c['drop_share']:.0%}",
                    c["keeps_up"],
                )
                for c in cap
            ],
            flush=True,
        )

    # ---- recorded path
    from pipelines.extract.actors import shutdown_pools

    shutdown_pools()
    rec = [] if args.skip_recorded else recorded(work, m, v, clip, events)
    print("recorded:", _fmt(_pct(rec, 50)), _fmt(_pct(rec, 95)), flush=True)
    load_after = os.getloadavg()

    kept = [s["cameras"] for s in steps if all(c["keeps_up"] for c in s["cap"])]
    lines = [
        "## live",
        "",
        f"Machine: {platform.machine()}, {cores} CPU cores, shared with other jobs; load average (1/5/15 min) "
        f"{load_before[0]:.1f}/{load_before[1]:.1f}/{load_before[2]:.1f} before, "
        f"{load_after[0]:.1f}/{load_after[1]:.1f}/{load_after[2]:.1f} after. Written "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC. Model version `{EXTRACTION_MODEL_VERSION}`.",
        "",
        f"Clip: synthetic street camera, {v.frames / v.fps:.0f} s, {v.width}x{v.height}, {v.fps:g} fps, pre-encoded with "
        f"1-s keyframes and looped by ffmpeg (`-re -stream_loop -1 -c copy`) on 127.0.0.1 (capacity: MPEG-TS over UDP). Live "
        f"profile: {profile.sample_fps:g} fps sampled, gating `{profile.gating}`, faces every {profile.face_every} "
        f"frames, plate detector at {profile.plate_det_side} px, at most {profile.max_inflight} frames per camera "
        f"at the pool, commit every {profile.commit_every_s:g} s, alarm step every {profile.alarm_every_s:g} s. Model pool: one actor per core, shared by the cameras.",
        "",
        "### Latency (one camera; first readable frame sent -> committed, readable by another process)",
        "",
        "| path | passes | p50 | p95 |",
        "|---|---:|---:|---:|",
    ]
    for protocol, res in lat.items():
        name = "UDP (MPEG-TS)" if protocol == "udp" else "RTSP (TCP, Pesquisa listening)"
        for key, label in (
            ("alert_plate", "frame -> plate alert"),
            ("alert_face", "frame -> face alert"),
            ("row_plate", "frame -> plate row"),
            ("row_face", "frame -> face row"),
        ):
            if res[key] or key.endswith("plate"):
                lines.append(
                    f"| live {name}: {label} | {len(res[key])} | {_fmt(_pct(res[key], 50))} | "
                    f"{_fmt(_pct(res[key], 95))} |"
                )
    lines.append(
        f"| recorded file (15-s segment closed, then `ingest_paths`): frame -> row | {len(rec)} | "
        f"{_fmt(_pct(rec, 50))} | {_fmt(_pct(rec, 95))} |"
    )
    lines += [
        "",
        f"### Capacity ({seconds:.0f} s per step)",
        "",
        "| cameras | load (1 min) | camera | lag p50 | lag p95 | lag slope (s/s) | analysed fps | dropped | "
        "decode+gate CPU | model pool CPU per camera | keeps up |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for step in steps:
        pool_share = step["pool_cpu"] / max(step["wall"], 1e-3) / step["cameras"]
        for c in step["cap"]:
            lines.append(
                f"| {step['cameras']} | {step['load']:.1f} | {c['camera_id']} | {_fmt(c['lag_p50'])} | "
                f"{_fmt(c['lag_p95'])} | {c['lag_slope']:+.3f} | {c['fps_analysed']:.2f} | "
                f"{c['drop_share']:.0%} | {100 * c['cpu_share']:.0f} % of a core | "
                f"{100 * pool_share:.0f} % of a core | {'yes' if c['keeps_up'] else 'no'} |"
            )
    est = []
    for step in steps:
        frames = sum(c["analysed"] for c in step["cap"])
        sent = sum(c["analysed"] + c["dropped"] for c in step["cap"])
        if frames and step["wall"] > 0:
            per_frame = step["pool_cpu"] / frames
            demand = sent / step["wall"] / step["cameras"] * per_frame + statistics.fmean(
                c["cpu_share"] for c in step["cap"]
            )
            est.append(
                f"{step['cameras']} camera(s): {per_frame:.2f} CPU s per analysed frame, "
                f"{sent / step['wall'] / step['cameras']:.1f} frames/s per camera pass the gate -> {demand:.2f} "
                f"cores per camera -> **{cores / demand:.1f} cameras** on {cores} idle cores"
            )
    lines += [
        "",
        "If CPU-bound on idle cores (an estimate from the measured CPU costs, not a measurement): "
        + "; ".join(est)
        + ".",
    ]
    lines += [
        "",
        f"Cameras kept up with on {cores} cores: **{max(kept) if kept else 0}** (every camera's lag flat and "
        "p95 < 3 s). The frame-drop policy (newest frame replaces the waiting one) bounds lag whatever the load, so "
        "'keeping up' is read from lag and the share of sampled frames dropped.",
        "",
        f"Command: `python -m benchmarks.live` (`--seconds {seconds:g} --latency-seconds {lat_seconds:g}`).",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    (args.out.with_suffix(".json")).write_text(
        json.dumps({"latency": lat, "recorded": rec, "steps": steps}, default=str, indent=1)
    )
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
