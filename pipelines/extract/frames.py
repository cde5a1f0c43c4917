"""Run the models on frames: plate reading and face analysis, on whole frames or motion regions.

:class:`FrameProcessor` holds one :class:`~pipelines.plates.PlateReader` per plate-format list (they
share one OCR engine per process) and one :class:`~pipelines.faces.FaceAnalyzer`. It turns a batch
of :class:`FrameTask` into plain, picklable detections (dicts with the crop already JPEG-encoded),
so a Ray actor can return them cheaply and the driver never needs the frame again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

Box = tuple[float, float, float, float]

JPEG_QUALITY = 90
PLATE_CROP_MARGIN = 0.15  # of the plate box's size, on each side


@dataclass
class FrameTask:
    seq: int  # sampled-frame sequence number in the source
    image: np.ndarray  # RGB uint8
    regions: list[Box] | None = None  # None: the whole frame
    still: bool = False  # a still photo (not a video frame): the reader may try harder


@dataclass
class FrameResult:
    seq: int
    plates: list[dict[str, Any]] = field(default_factory=list)
    faces: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0  # model time spent on this frame's batch share


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


def _shift(b: tuple[float, ...], dx: float, dy: float) -> Box:
    return (float(b[0]) + dx, float(b[1]) + dy, float(b[2]) + dx, float(b[3]) + dy)


class FrameProcessor:
    """Plate reader + face analyzer for one process. ``plates``/``faces`` switch either off."""

    def __init__(self, device: str = "auto", *, plates: bool = True, faces: bool = True,
                 default_formats: list[str] | None = None, top_n: int = 5):
        self.device = device
        self.top_n = top_n
        self.default_formats = list(default_formats) if default_formats else None
        self._readers: dict[tuple[tuple[str, ...] | None, bool], Any] = {}
        self.face_analyzer = None
        self.plates_on = plates
        self.faces_on = faces
        if plates:
            self.reader(None, still=False)  # load the OCR engine now (one model load per process)
        if faces:
            from pipelines.faces import FaceAnalyzer

            self.face_analyzer = FaceAnalyzer(device=device)

    def reader(self, formats: list[str] | None, still: bool):  # noqa: ANN201 - PlateReader
        """The plate reader for a format list. Video frames skip the reader's high-resolution second
        pass (the next frames of the pass give it another chance); stills keep it."""
        from pipelines.plates import PlateReader

        key = (tuple(formats) if formats else None, still)
        if key not in self._readers:
            self._readers[key] = PlateReader(
                formats=list(formats) if formats else self.default_formats,
                device=self.device, top_n=self.top_n, second_pass=still,
            )
        return self._readers[key]

    @property
    def quality_floor(self) -> float:
        return float(self.face_analyzer.quality_floor) if self.face_analyzer is not None else 0.0

    def info(self) -> dict[str, Any]:
        from pipelines.device import torch_device

        return {"device": torch_device(self.device), "quality_floor": self.quality_floor}

    def process(self, tasks: list[FrameTask], formats: list[str] | None = None) -> list[FrameResult]:
        import time

        t0 = time.perf_counter()
        results = [FrameResult(t.seq) for t in tasks]
        # (task index, crop, dx, dy) for every region to look at
        pieces: list[tuple[int, np.ndarray, int, int]] = []
        for i, task in enumerate(tasks):
            if task.regions is None:
                pieces.append((i, task.image, 0, 0))
            else:
                for r in task.regions:
                    crop, dx, dy = _crop(task.image, r)
                    if crop.shape[0] >= 16 and crop.shape[1] >= 16:
                        pieces.append((i, np.ascontiguousarray(crop), dx, dy))
        if self.plates_on:
            for i, crop, dx, dy in pieces:
                reader = self.reader(formats, still=tasks[i].still)
                for r in reader.read(crop):
                    bbox = _shift(r.bbox, dx, dy)
                    results[i].plates.append(self._plate(tasks[i].image, r, bbox))
        if self.faces_on and self.face_analyzer is not None and pieces:
            found = self.face_analyzer.analyze_batch([p[1] for p in pieces])
            for (i, _crop_img, dx, dy), faces in zip(pieces, found, strict=True):
                for f in faces:
                    results[i].faces.append(self._face(f, _shift(f.bbox, dx, dy)))
        spent = (time.perf_counter() - t0) / max(len(tasks), 1)
        for r in results:
            r.seconds = spent
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
