"""How well a clip of real plate photos is read: the pipeline's rows against plain RapidOCR on the
same sampled frames (clips from :mod:`pipelines.synth.photo_clip`).

- the pipeline: a photo counts when a ``plate_reads`` row whose time (its best read's
  ``offset_s``) lies in the photo's time on screen reads its label exactly (the best read per pass);
- plain RapidOCR: the installed package run on every sampled frame (the same frames the pipeline
  samples: :class:`pipelines.video.VideoReader` at the same rate); a photo counts when any text line
  of any of its frames, normalized to A-Z0-9, equals its label. ``package``: the package exactly as
  it comes (its own default configuration: detector ``limit_type: min``, 736 px, i.e. ~1310 px on
  the longest side of a 720p frame, the angle classifier on, text score >= 0.5);
  ``engine960``: the project's PP-OCRv6 engine used plainly (detector at 960 px on the longest side,
  as :func:`pipelines.plates.evaluate.baseline_read`).

Both are also scored O/0-I/1-equal; ``rows``/``wrong`` count the pipeline's rows and those that
match no label of their photo (signage, partial text, misreads).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.plates.text import normalize, twin_equal
from pipelines.synth.photo_clip import PhotoClip

PLAIN_KINDS = ("package", "engine960")


@dataclass
class ClipScore:
    photos: int
    exact: set[str] = field(default_factory=set)  # files read exactly
    equal: set[str] = field(default_factory=set)  # files read O/0-I/1-equal
    rows: int = 0
    wrong: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "photos": self.photos,
            "exact": len(self.exact),
            "equal": len(self.equal),
            "rows": self.rows,
            "wrong": self.wrong,
        }


def score_rows(clip: PhotoClip, rows: Iterable[Mapping[str, Any]]) -> ClipScore:
    """The pipeline's ``plate_reads`` rows (``offset_s``, ``plate``) against the clip's photos."""
    sc = ClipScore(len(clip.shown))
    for r in rows:
        sc.rows += 1
        s = clip.at(float(r["offset_s"]))
        plate = str(r["plate"])
        if s is None or not twin_equal(plate, s.plate):
            sc.wrong += 1
            continue
        sc.equal.add(s.file)
        if plate == s.plate:
            sc.exact.add(s.file)
    return sc


def score_frames(clip: PhotoClip, frames: Iterable[tuple[float, list[str]]]) -> ClipScore:
    """Per sampled frame ``(t, texts)`` (plain RapidOCR's lines) against the clip's photos."""
    sc = ClipScore(len(clip.shown))
    for t, texts in frames:
        s = clip.at(t)
        if s is None:
            continue
        for text in texts:
            if twin_equal(text, s.plate):
                sc.equal.add(s.file)
            if text == s.plate:
                sc.exact.add(s.file)
    return sc


def plain_rapidocr(kind: str = "package", threads: int | None = 1) -> Any:
    """A plain RapidOCR callable ``bgr -> [text]``: ``package`` (the installed package's own
    configuration, model files pointed at explicitly so nothing is downloaded) or ``engine960``
    (the project's engine used plainly). ``threads``: ONNX Runtime intra-op threads (1 like the
    pipeline's actors; None: the package's default, every core)."""
    if kind not in PLAIN_KINDS:
        raise ValueError(f"plain RapidOCR kind must be one of {PLAIN_KINDS}, not {kind!r}")
    if kind == "engine960":
        from pipelines.plates.engine import load_engine

        ocr = load_engine("cpu", threads).ocr
        call = {"use_det": True, "use_cls": False, "use_rec": True}
    else:
        from rapidocr import RapidOCR

        from pipelines.plates.engine import DET_MODEL, REC_MODEL, model_dir

        models = model_dir()
        params: dict[str, Any] = {
            "Global.log_level": "error",
            "Global.model_root_dir": str(models),
            "Det.model_path": str(models / DET_MODEL),
            "Rec.model_path": str(models / REC_MODEL),
            "Cls.model_path": str(models / "ch_ppocr_mobile_v2.0_cls_mobile.onnx"),
        }
        if threads:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = int(threads)
            params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
        ocr = RapidOCR(params=params)
        call = {}

    def read(bgr: np.ndarray) -> list[str]:
        out = ocr(bgr, **call)
        return [normalize(t) for t in (getattr(out, "txts", None) or ())]

    return read


@dataclass
class PlainRun:
    kind: str
    frames: list[tuple[float, list[str]]]
    wall_s: float
    cpu_s: float


def plain_frames(
    path: str | Path, sample_fps: float, kind: str = "package", threads: int | None = 1
) -> PlainRun:
    """Plain RapidOCR on every frame the pipeline samples from ``path`` at ``sample_fps``."""
    from pipelines.video.decode import VideoReader

    read = plain_rapidocr(kind, threads)
    frames: list[tuple[float, list[str]]] = []
    t0, c0 = time.perf_counter(), time.process_time()
    with VideoReader(path, sample_fps=sample_fps) as reader:
        for f in reader:
            rgb = f.rgb()
            frames.append((f.offset_s, read(np.ascontiguousarray(rgb[:, :, ::-1]))))
            f.release()
    return PlainRun(kind, frames, time.perf_counter() - t0, time.process_time() - c0)
