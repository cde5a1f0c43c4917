"""From detections to passes: how plate and face tracks associate, and the one row each track
becomes in ``plate_reads`` / ``face_sightings``.

Plates: a track of two or more reads is read by fusing the recogniser's per-timestep probabilities
of its frames (:func:`pipelines.plates.fusion.fuse_frames`: CTC-aware, format-constrained, the
camera's format first); otherwise, or when fusion finds nothing, by a vote over its reads weighted
by score (the text with the largest summed score wins). Its candidates pool every read's
candidates (mean score over the track's reads) behind the chosen text; per-character confidences
come from the fusion (else the best read of the winning text); crop, box and time from the best
read of the chosen text (else the best read).

Faces: the row is the best-quality detection of the track (crop, box, quality, embedding).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from lakehouse.ids import stable_id
from pipelines.extract.tracking import Observation, Track, Tracker, TrackerConfig


@dataclass(frozen=True)
class SourceContext:
    """What every row of one source shares."""

    video_id: str
    camera_id: str
    agency: str
    source_uri: str
    start: dt.datetime  # UTC time of offset 0
    model_version: str
    plate_formats: tuple[str, ...] | None = None  # the camera's format first (None: reader defaults)


# ------------------------------------------------------------------------------------ text
def edit_distance(a: str, b: str) -> int:
    if a == b:
        return 0
    if not a or not b:
        return max(len(a), len(b))
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def text_similarity(a: str, b: str) -> float:
    """1 - normalised edit distance (0..1)."""
    if not a and not b:
        return 1.0
    return 1.0 - edit_distance(a, b) / max(len(a), len(b))


# ------------------------------------------------------------------------------------ plates
def _plate_on_add(track: Track, o: Observation) -> None:
    text = o.data["text"]
    votes: dict[str, float] = track.state.setdefault("votes", defaultdict(float))
    votes[text] += max(float(o.data["score"]), 1e-3)
    track.state["leader"] = max(votes.items(), key=lambda kv: kv[1])[0]
    # keep the crop of the best read of each text only: long tracks must not hold every crop
    best: dict[str, Observation] = track.state.setdefault("best_by_text", {})
    prev = best.get(text)
    if prev is None or float(o.data["score"]) > float(prev.data["score"]):
        if prev is not None:
            prev.data = {**prev.data, "crop_jpeg": None}
        best[text] = o
    else:
        o.data = {**o.data, "crop_jpeg": None}


#: two confident reads this different are two plates, however close their boxes (consecutive cars
#: at a toll gate, bumper to bumper; one plate's frames misread disagree far less, and less surely)
SURE_READ = 0.8
OTHER_PLATE_BELOW = 0.6


def _plate_similarity(track: Track, o: Observation) -> float:
    text = o.data["text"]
    leader = track.state.get("leader", "")
    best = track.state.get("best_by_text", {}).get(leader)
    if (
        best is not None
        and float(o.data["score"]) >= SURE_READ
        and float(best.data["score"]) >= SURE_READ
        and text_similarity(text, leader) < OTHER_PLATE_BELOW
    ):
        return 0.0  # under the tracker's floor: this detection starts its own track
    texts = {track.state.get("leader", ""), track.last.data["text"]}
    texts.update(t for t, _ in track.last.data["candidates"][:3])
    return max(text_similarity(text, t) for t in texts)


def plate_tracker(max_gap_s: float = 1.2) -> Tracker:
    return Tracker(
        _plate_similarity,
        TrackerConfig(
            max_gap_s=max_gap_s, max_gap_similar_s=3.0, sim_floor=0.3, sim_gate=0.6, strong_sim=0.8
        ),
        on_add=_plate_on_add,
    )


def plate_observation(seq: int, t: float, read: dict[str, Any]) -> Observation:
    return Observation(seq, t, tuple(read["bbox"]), float(read["score"]), read)


@dataclass
class PlateFilter:
    """Which plate tracks become rows: weak reads that never firm up are signs, reflections or
    partial text, not plates."""

    min_best_score: float = 0.5  # a track needs one read at least this good ...
    min_single_score: float = 0.7  # ... and a track of one read a better one

    def keep(self, track: Track) -> bool:
        best = max(float(o.data["score"]) for o in track.obs)
        return best >= (self.min_single_score if len(track) == 1 else self.min_best_score)


#: at most this many reads of a track (the best scoring) are fused
FUSE_MAX_READS = 12


def fuse_track(track: Track, formats: tuple[str, ...] | None) -> Any:
    """The fused read of a track's frames (:class:`pipelines.plates.fusion.FusedRead`), or None
    (fewer than two reads with probabilities, or nothing fits)."""
    reads = [o.data for o in track.obs if o.data.get("ctc") is not None]
    if len(reads) < 2:
        return None
    from pipelines.plates.fusion import fuse_frames
    from pipelines.plates.reader import DEFAULT_FORMATS

    reads = sorted(reads, key=lambda d: -float(d["score"]))[:FUSE_MAX_READS]
    # a camera with no registered format reads with the regional defaults: none of them is "its own"
    # format, exactly as the per-frame reader treats it (PlateReader.registered)
    return fuse_frames([d["ctc"] for d in reads], list(formats or DEFAULT_FORMATS), registered=bool(formats))


def plate_row(track: Track, ctx: SourceContext, top_n: int = 5) -> dict[str, Any]:
    votes: dict[str, float] = defaultdict(float)
    for o in track.obs:
        votes[o.data["text"]] += max(float(o.data["score"]), 1e-3)
    fused = fuse_track(track, ctx.plate_formats)
    text = fused.text if fused is not None else max(votes.items(), key=lambda kv: (kv[1], kv[0]))[0]
    same = [o for o in track.obs if o.data["text"] == text] or list(track.obs)
    best = max(same, key=lambda o: float(o.data["score"]))
    pooled: dict[str, float] = defaultdict(float)
    for o in track.obs:
        for cand, score in o.data["candidates"]:
            pooled[cand] += float(score)
    n = len(track.obs)
    pooled[text] = max(pooled[text], votes.get(text, 0.0), (fused.score * n) if fused is not None else 0.0)
    ranked = sorted(pooled.items(), key=lambda kv: (-kv[1], kv[0]))
    ranked = [(text, pooled[text])] + [(t, s) for t, s in ranked if t != text]
    candidates = [{"text": t, "score": float(min(1.0, s / n))} for t, s in ranked[:top_n]]
    r = best.data
    if fused is not None:
        r = {**r, "plate_format": fused.plate_format, "char_confidences": fused.char_confidences}
    return {
        "read_id": stable_id(ctx.video_id, "plate", track.tid, ctx.model_version),
        "camera_id": ctx.camera_id,
        "video_id": ctx.video_id,
        "source_uri": ctx.source_uri,
        "ts": ctx.start + dt.timedelta(seconds=best.t),
        "offset_s": float(best.t),
        "plate": text,
        "plate_raw": r["raw"],
        "plate_format": r["plate_format"],
        "confidence": candidates[0]["score"],
        "candidates": candidates,
        "char_confidences": [float(c) for c in r["char_confidences"]],
        "bbox": [float(v) for v in r["bbox"]],
        "crop_jpeg": r["crop_jpeg"],
        "track_len": n,
        "model_version": ctx.model_version,
        "agency": ctx.agency,
    }


# ------------------------------------------------------------------------------------ faces
#: embedding distance -> similarity: <= 0.35 is 1.0, >= 0.85 is 0.0 (same person is < ~0.5)
_FACE_NEAR, _FACE_FAR = 0.35, 0.85


def face_similarity_from_distance(d: float) -> float:
    return float(np.clip((_FACE_FAR - d) / (_FACE_FAR - _FACE_NEAR), 0.0, 1.0))


def _face_similarity(track: Track, o: Observation) -> float:
    e = o.data["embedding"]
    refs = [track.last.data["embedding"], track.state.get("best_embedding", track.last.data["embedding"])]
    d = min(float(np.linalg.norm(e - r)) for r in refs)
    return face_similarity_from_distance(d)


def _face_on_add(track: Track, o: Observation) -> None:
    if o.data["quality"] >= track.state.get("best_quality", -1.0):
        track.state["best_quality"] = o.data["quality"]
        track.state["best_embedding"] = o.data["embedding"]
    # keep only the best detection's crop: long tracks must not hold every crop in memory
    best = track.state.get("best_obs")
    if best is None or o.data["quality"] >= best.data["quality"]:
        if best is not None:
            best.data = {**best.data, "crop_jpeg": None}
        track.state["best_obs"] = o
    else:
        o.data = {**o.data, "crop_jpeg": None}


def face_tracker(max_gap_s: float = 1.2) -> Tracker:
    return Tracker(
        _face_similarity,
        TrackerConfig(
            max_gap_s=max_gap_s,
            max_gap_similar_s=3.0,
            sim_floor=0.2,
            sim_gate=0.5,
            strong_sim=0.75,
            high_score=0.95,
        ),
        on_add=_face_on_add,
    )


def face_observation(seq: int, t: float, face: dict[str, Any]) -> Observation:
    return Observation(seq, t, tuple(face["bbox"]), float(face["det_score"]), face)


def face_row(track: Track, ctx: SourceContext, quality_floor: float) -> dict[str, Any]:
    best = track.state.get("best_obs") or max(track.obs, key=lambda o: o.data["quality"])
    f = best.data
    return {
        "sighting_id": stable_id(ctx.video_id, "face", track.tid, ctx.model_version),
        "camera_id": ctx.camera_id,
        "video_id": ctx.video_id,
        "source_uri": ctx.source_uri,
        "ts": ctx.start + dt.timedelta(seconds=best.t),
        "offset_s": float(best.t),
        "bbox": [float(v) for v in f["bbox"]],
        "det_score": float(f["det_score"]),
        "quality": float(f["quality"]),
        "searchable": bool(f["quality"] >= quality_floor),
        "embedding": np.asarray(f["embedding"], dtype=np.float32).tolist(),
        "crop_jpeg": f["crop_jpeg"],
        "track_len": len(track.obs),
        "model_version": ctx.model_version,
        "agency": ctx.agency,
    }
