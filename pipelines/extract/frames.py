"""Run the models on frames: plate reading and face analysis, on whole frames or motion regions.

:class:`FrameProcessor` holds one :class:`~pipelines.plates.PlateReader` per plate-format list (they
share one OCR engine per process) and one :class:`~pipelines.faces.FaceAnalyzer`; which models they
run is picked by model back-end key (:mod:`pipelines.models`, ``pesquisa models list``). It turns a batch
of :class:`FrameTask` into plain, picklable detections (dicts with the crop already JPEG-encoded),
so a Ray actor can return them cheaply and the driver never needs the frame again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Box = tuple[float, float, float, float]

JPEG_QUALITY = 90
PLATE_CROP_MARGIN = 0.15  # of the plate box's size, on each side
#: smallest face MTCNN looks for in video frames (a face under ~40 px scores under the quality floor
#: and its pass grows past 40 px when the person walks by); stills look for faces down to 20 px.
VIDEO_MIN_FACE_PX = 40
STILL_MIN_FACE_PX = 20
STILL_FACE_MAX_SIDE = 1600  # large photos are searched for faces on a copy this size (MTCNN cost)
#: longest side the plate *detector* sees on video frames and regions when a task names none
#: (recognition still reads the full-resolution crop). The recorded profile's value is the setting
#: ``extraction.plate_det_side``, the live profile's ``live.plate_det_side``; stills keep the
#: reader's own resolution and its second pass.
VIDEO_PLATE_DET_SIDE = 640


@dataclass
class FrameTask:
    seq: int  # sampled-frame sequence number in the source
    image: np.ndarray  # RGB uint8
    regions: list[Box] | None = None  # None: the whole frame
    still: bool = False  # a still photo (not a video frame): the models may try harder
    faces: bool = True  # run the face analyzer on this frame
    plates: bool = True  # run the plate reader on this frame
    masks: list[Box] | None = None  # areas hidden from the plate reader (burned-in overlays)
    plate_det_side: int | None = None  # the plate detector's longest side (None: VIDEO_PLATE_DET_SIDE)
    second_pass: bool = False  # video: the reader's high-resolution second pass when nothing is read


@dataclass
class FrameResult:
    seq: int
    plates: list[dict[str, Any]] = field(default_factory=list)
    faces: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0  # model time spent on this frame's batch share


#: burned-in overlays every CCTV recorder draws: a clock (10:31:01) or a date (2026-03-02, 02/03/2026).
#: A bare "4:32" is not enough (Czech plates read as "1T4:3213").
_OVERLAY = re.compile(
    r"(?<![0-9])(?:[01]?\d|2[0-3])\s*[:.]\s*[0-5]\d\s*[:.]\s*[0-5]\d(?![0-9])"
    r"|(?<![0-9])(?:19|20)\d\d\s*[-/.]\s*[01]?\d\s*[-/.]\s*[0-3]?\d"
    r"|(?<![0-9])[0-3]?\d\s*[-/.]\s*[01]?\d\s*[-/.]\s*(?:19|20)\d\d(?![0-9])"
)


def is_overlay_text(raw: str) -> bool:
    """True for recognised text that is a recorder's clock or date overlay, not a plate."""
    return bool(_OVERLAY.search(raw or ""))


def paint_masks(image: np.ndarray, masks: list[Box]) -> np.ndarray:
    """A copy of ``image`` with each mask box filled with its mean colour (no text left to find)."""
    out = image.copy()
    h, w = out.shape[:2]
    for b in masks:
        x1, y1 = max(0, int(b[0])), max(0, int(b[1]))
        x2, y2 = min(w, int(np.ceil(b[2]))), min(h, int(np.ceil(b[3])))
        if x2 > x1 and y2 > y1:
            out[y1:y2, x1:x2] = out[y1:y2, x1:x2].reshape(-1, out.shape[2]).mean(axis=0).astype(out.dtype)
    return out


def encode_jpeg(rgb: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


def _crop(image: np.ndarray, box: Box, margin: float = 0.0) -> tuple[np.ndarray, int, int]:
    h, w = image.shape[:2]
    mx, my = margin * (box[2] - box[0]), margin * (box[3] - box[1])
    x1, y1 = max(0, int(box[0] - mx)), max(0, int(box[1] - my))
    x2, y2 = min(w, int(np.ceil(box[2] + mx))), min(h, int(np.ceil(box[3] + my)))
    return image[y1:y2, x1:x2], x1, y1


def _fit(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """``image`` scaled down to ``max_side`` (and the scale), or itself when it is small enough."""
    side = max(image.shape[:2])
    if side <= max_side:
        return image, 1.0
    import cv2

    k = max_side / side
    size = (max(1, round(image.shape[1] * k)), max(1, round(image.shape[0] * k)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), k


def _dedupe(dets: list[dict[str, Any]], score: str) -> list[dict[str, Any]]:
    """Drop detections that mostly overlap a better one (the same object seen in two regions)."""
    from pipelines.extract.tracking import iou

    kept: list[dict[str, Any]] = []
    for d in sorted(dets, key=lambda d: -d[score]):
        if all(iou(d["bbox"], k["bbox"]) < 0.5 for k in kept):
            kept.append(d)
    return kept


def _shift(b: tuple[float, ...], dx: float, dy: float) -> Box:
    return (float(b[0]) + dx, float(b[1]) + dy, float(b[2]) + dx, float(b[3]) + dy)


class _DetectAt:
    """The shared OCR engine, detecting at a fixed longest side (same weights, no second load)."""

    def __init__(self, engine: Any, side: int):
        self._engine = engine
        self.det_limit_side = side

    def detect(self, bgr: np.ndarray, limit_side: int | None = None) -> Any:
        return self._engine.detect(bgr, limit_side=limit_side or self.det_limit_side)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


class FrameProcessor:
    """Plate reader + face analyzer for one process. ``plates``/``faces`` switch either off;
    ``plate_backend``/``face_backend`` are model back-end keys (None: the ``models`` settings,
    whose default ``auto`` picks the device's default back-end) and ``backend_options`` their
    ``models.options`` section (None: this process's settings; a Ray actor gets the driver's)."""

    def __init__(
        self,
        device: str = "auto",
        *,
        plates: bool = True,
        faces: bool = True,
        default_formats: list[str] | None = None,
        top_n: int = 5,
        threads: int | None = None,
        plate_backend: str | None = None,
        face_backend: str | None = None,
        backend_options: Mapping[str, Mapping[str, Any]] | None = None,
    ):
        from pipelines import models

        self.device = device
        self.backend_options = backend_options
        # resolved now: an unknown key or a back-end this machine cannot run fails here, loudly
        self.plate_model = models.plate_backend(plate_backend, device, backend_options) if plates else None
        self.face_model = models.face_backend(face_backend, device, backend_options) if faces else None
        self.threads = threads  # ONNX Runtime intra-op threads (None: its default, every core)
        self.top_n = top_n
        self.default_formats = list(default_formats) if default_formats else None
        self._readers: dict[tuple[tuple[str, ...] | None, bool, bool], Any] = {}
        self._analyzers: dict[bool, Any] = {}
        self.plates_on = plates
        self.faces_on = faces
        # load the models now (one load per process; readers and analyzers share the weights)
        if plates:
            self.reader(None, still=False)
        self.face_analyzer = self.analyzer(still=False) if faces else None

    def reader(self, formats: list[str] | None, still: bool, second_pass: bool = False):  # noqa: ANN201
        """The plate reader (a PlateReader) for a format list. Video frames skip the reader's
        high-resolution second pass unless ``second_pass`` (the next frames of the pass give it
        another chance); stills always keep it."""
        from pipelines.plates import PlateReader

        key = (tuple(formats) if formats else None, still, still or second_pass)
        if key not in self._readers:
            engine = self._ocr_engine()  # one OCR model load, shared by every reader
            self._readers[key] = PlateReader(
                formats=list(formats) if formats else self.default_formats,
                device=self.device,
                top_n=self.top_n,
                second_pass=still or second_pass,
                engine=engine if still else _DetectAt(engine, VIDEO_PLATE_DET_SIDE),
            )
        return self._readers[key]

    def analyzer(self, still: bool):  # noqa: ANN201 - FaceAnalyzer
        """The face analyzer for video frames (faces from :data:`VIDEO_MIN_FACE_PX`) or stills."""
        from pipelines.faces import FaceAnalyzer

        if still not in self._analyzers:
            key = self.face_model.key if self.face_model is not None else None
            self._analyzers[still] = FaceAnalyzer(
                device=self.device,
                min_face_px=STILL_MIN_FACE_PX if still else VIDEO_MIN_FACE_PX,
                embed_backend=key,
                embed_options=self.backend_options,
            )
        return self._analyzers[still]

    def _ocr_engine(self) -> Any:
        """The plate back-end's OCR engine (one per process and configuration)."""
        from pipelines import models

        model = self.plate_model or models.plate_backend(None, self.device, self.backend_options)
        return model.engine(self.threads)

    def find_overlays(self, image: np.ndarray) -> list[Box]:
        """Boxes of burned-in recorder overlays (text lines holding a clock or a date) in a frame.

        Recorders stamp every frame with a clock (often with the camera name and date): text the
        plate reader would otherwise detect and recognise on every frame, and motion that changes
        every second. The caller masks these boxes for the rest of the source."""
        from pipelines.plates.layout import crop_quad

        engine = self._ocr_engine()
        bgr = np.ascontiguousarray(image[:, :, ::-1])
        quads, _ = engine.detect(bgr)
        if not len(quads):
            return []
        texts = engine.recognize([crop_quad(bgr, q) for q in quads])
        boxes: list[Box] = []
        h, w = image.shape[:2]
        for q, t in zip(quads, texts, strict=True):
            if not is_overlay_text(t.text):
                continue
            x1, y1 = float(q[:, 0].min()), float(q[:, 1].min())
            x2, y2 = float(q[:, 0].max()), float(q[:, 1].max())
            pad = 0.3 * (y2 - y1)
            boxes.append(
                (max(0.0, x1 - pad), max(0.0, y1 - pad), min(float(w), x2 + pad), min(float(h), y2 + pad))
            )
        return boxes

    @property
    def quality_floor(self) -> float:
        return float(self.face_analyzer.quality_floor) if self.face_analyzer is not None else 0.0

    def info(self) -> dict[str, Any]:
        from pipelines.device import torch_device

        return {
            "device": torch_device(self.device),
            "quality_floor": self.quality_floor,
            "plate_backend": self.plate_model.key if self.plate_model is not None else None,
            "face_backend": self.face_model.key if self.face_model is not None else None,
            "backend_settings": {
                m.key: m.settings.model_dump() for m in (self.plate_model, self.face_model) if m is not None
            },
            "face_batch_size": self.face_analyzer.batch_size if self.face_analyzer is not None else None,
        }

    def process(self, tasks: list[FrameTask], formats: list[str] | None = None) -> list[FrameResult]:
        import time

        t0 = time.perf_counter()
        results = [FrameResult(t.seq) for t in tasks]
        # (task index, crop, dx, dy) for every region to look at
        pieces: list[tuple[int, np.ndarray, int, int]] = []
        plate_pieces: list[tuple[int, np.ndarray, int, int]] = []
        for i, task in enumerate(tasks):
            masked = paint_masks(task.image, task.masks) if task.masks and self.plates_on else task.image
            if task.regions is None:
                pieces.append((i, task.image, 0, 0))
                plate_pieces.append((i, masked, 0, 0))
            else:
                for r in task.regions:
                    crop, dx, dy = _crop(task.image, r)
                    if crop.shape[0] >= 16 and crop.shape[1] >= 16:
                        pieces.append((i, np.ascontiguousarray(crop), dx, dy))
                        plate_pieces.append((i, np.ascontiguousarray(_crop(masked, r)[0]), dx, dy))
        if self.plates_on:
            for i, crop, dx, dy in plate_pieces:
                if not tasks[i].plates:
                    continue
                reader = self.reader(formats, still=tasks[i].still, second_pass=tasks[i].second_pass)
                if isinstance(reader.engine, _DetectAt):
                    # a region is detected at the scale the whole frame would be
                    full = max(tasks[i].image.shape[:2])
                    side = tasks[i].plate_det_side or VIDEO_PLATE_DET_SIDE
                    reader.engine.det_limit_side = max(
                        160, min(side, round(max(crop.shape[:2]) * side / full))
                    )
                for r in reader.read(crop):
                    if is_overlay_text(r.raw):
                        continue
                    bbox = _shift(r.bbox, dx, dy)
                    results[i].plates.append(self._plate(tasks[i].image, r, bbox))
        if self.faces_on:
            for still in (False, True):
                todo = [p for p in pieces if tasks[p[0]].faces and tasks[p[0]].still == still]
                if not todo:
                    continue
                scaled = [_fit(p[1], STILL_FACE_MAX_SIDE) if still else (p[1], 1.0) for p in todo]
                found = self.analyzer(still).analyze_batch([im for im, _ in scaled])
                for (i, _img, dx, dy), (_, k), faces in zip(todo, scaled, found, strict=True):
                    for f in faces:
                        box = tuple(v / k for v in f.bbox)
                        results[i].faces.append(self._face(f, _shift(box, dx, dy)))
        for res, task in zip(results, tasks, strict=True):
            if task.regions is not None and len(task.regions) > 1:  # overlapping regions: one copy each
                res.plates = _dedupe(res.plates, "score")
                res.faces = _dedupe(res.faces, "det_score")
        spent = (time.perf_counter() - t0) / max(len(tasks), 1)
        for res in results:
            res.seconds = spent
        return results

    @staticmethod
    def _plate(image: np.ndarray, read: Any, bbox: Box) -> dict[str, Any]:
        crop, _, _ = _crop(image, bbox, PLATE_CROP_MARGIN)
        return {
            "text": read.text,
            "raw": read.raw,
            "score": float(read.score),
            "bbox": bbox,
            "candidates": [(str(t), float(s)) for t, s in read.candidates],
            "char_confidences": [float(c) for c in read.char_confidences],
            "plate_format": read.plate_format,
            "ctc": getattr(read, "ctc", None),  # per-timestep probabilities: fused over the track
            "crop_jpeg": encode_jpeg(crop) if crop.size else b"",
        }

    @staticmethod
    def _face(face: Any, bbox: Box) -> dict[str, Any]:
        return {
            "bbox": bbox,
            "det_score": float(face.det_score),
            "quality": float(face.quality),
            "embedding": np.asarray(face.embedding, dtype=np.float32),
            "crop_jpeg": encode_jpeg(face.crop),
        }
