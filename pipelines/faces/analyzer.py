"""Face detection, alignment, quality and 128-d embedding for frames and stills.

MTCNN (facenet-pytorch weights, torch; batched across same-size frames) finds faces and five
landmarks. dlib's 5-point shape predictor, run on a dlib-style square box derived from the MTCNN box,
gives the alignment that dlib's ResNet was trained with; ``dlib.get_face_chip`` cuts the 150x150 chip
and the ResNet turns it into the 128-d descriptor (L2 distance: same person < ~0.5). Which network
computes the descriptor is the face back-end's choice (:mod:`pipelines.models`): dlib itself
(``mtcnn-dlib``, the default on CPU) or the torch port of the same ResNet (``mtcnn-dlib-torch``, the
default on CUDA).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipelines.faces import models
from pipelines.faces.enhance import (
    DEFAULT_SMALL_FACES,
    SmallFaceOptions,
    aligned_chip,
    describe_small,
    face_side,
)
from pipelines.faces.images import as_rgb_uint8
from pipelines.faces.quality import QUALITY_FLOOR, QualityParts, face_quality

MODEL_VERSION = "faces-mtcnn-dlibresnet-v2"  # v2: flip-averaged descriptors of faces under 64 px

CHIP_SIZE = 150  # the ResNet's input: dlib.get_face_chip(size=150, padding=0.25)
CHIP_PADDING = 0.25
# MTCNN box -> the square box dlib's HOG detector would draw (what the 5-point predictor was trained
# on); fitted on the 26 faces of the face_recognition examples (centre x, centre y + 0.058 h,
# side 0.915 sqrt(w h); residual sd ~0.08 of the side).
DLIB_BOX_DY = 0.06
DLIB_BOX_SIDE = 0.915
PNET_RNET_THRESHOLDS = (0.6, 0.7)


@dataclass
class FaceDetection:
    bbox: tuple[float, float, float, float]  # x1, y1, x2, y2 in the input image's pixels
    det_score: float  # MTCNN O-Net probability
    landmarks: np.ndarray  # (5, 2) float32: left eye, right eye, nose, mouth left, mouth right
    quality: float  # 0..1 (size, sharpness, pose, det score); see pipelines.faces.quality
    embedding: np.ndarray  # (128,) float32 dlib ResNet descriptor
    crop: np.ndarray  # aligned RGB face chip, 150x150x3 uint8
    quality_parts: QualityParts | None = field(default=None, repr=False)

    @property
    def area(self) -> float:
        return max(self.bbox[2] - self.bbox[0], 0.0) * max(self.bbox[3] - self.bbox[1], 0.0)


class FaceAnalyzer:
    """Detect, align, score and embed faces. Models load once per process (pipelines.faces.models).

    ``det_threshold`` is MTCNN's final (O-Net) probability threshold; ``embed_backend`` is a face
    back-end key (``pesquisa models list``; the older names ``"dlib"`` and ``"torch"`` still work),
    None or ``"auto"`` for the ``models.faces`` setting (default: the back-end for the device);
    ``embed_options`` a ``models.options`` section (None: the settings')."""

    model_version: str
    quality_floor: float

    def __init__(
        self,
        device: str = "auto",
        min_face_px: int = 20,
        *,
        det_threshold: float = 0.9,
        quality_floor: float = QUALITY_FLOOR,
        embed_backend: str | None = None,
        embed_options: Mapping[str, Mapping[str, Any]] | None = None,
        batch_size: int | None = None,
        probe_max_side: int = 1280,
        small_faces: SmallFaceOptions = DEFAULT_SMALL_FACES,
    ) -> None:
        from pipelines.device import torch_device
        from pipelines.models import face_backend

        self.device = torch_device(device)
        self.min_face_px = int(min_face_px)
        self.det_threshold = float(det_threshold)
        self.quality_floor = float(quality_floor)
        backend = face_backend(
            None if embed_backend in (None, "auto") else embed_backend, self.device, embed_options
        )
        self.embed_backend = backend.key
        configured = getattr(backend.settings, "mtcnn_batch_size", None)
        self.batch_size = batch_size or configured or (16 if self.device == "cuda" else 4)
        self.probe_max_side = int(probe_max_side)
        version = MODEL_VERSION
        if self.min_face_px != 20 or abs(self.det_threshold - 0.9) > 1e-9:
            version += f"-min{self.min_face_px}-det{self.det_threshold:g}"
        self.small_faces = small_faces
        if small_faces != DEFAULT_SMALL_FACES:
            version += "-" + (small_faces.tag() or "plain")
        self.model_version = version
        self._mtcnn = models.load_mtcnn(
            self.device, self.min_face_px, (*PNET_RNET_THRESHOLDS, self.det_threshold)
        )
        self._dlib = models.load_dlib()  # the 5-point shape predictor aligns for every back-end
        self._embedder = backend.embedder()

    # ---- public API -------------------------------------------------------------------------
    def analyze(self, image: np.ndarray) -> list[FaceDetection]:
        """All faces in one RGB uint8 image, in detection order (highest probability first)."""
        return self.analyze_batch([image])[0]

    def analyze_batch(self, images: list[np.ndarray]) -> list[list[FaceDetection]]:
        """Faces per image; MTCNN runs batched over images that share a size."""
        rgb = [as_rgb_uint8(im) for im in images]
        detections = self._detect(rgb)
        return self._describe(rgb, detections)

    def probe(self, image: np.ndarray) -> FaceDetection | None:
        """The face to search with: the largest face at or above the quality floor, else the largest.

        Large stills are detected on a copy scaled to ``probe_max_side``; the embedding is computed on
        the full-resolution image."""
        rgb = as_rgb_uint8(image)
        scale = 1.0
        small = rgb
        if max(rgb.shape[:2]) > self.probe_max_side:
            import cv2

            scale = self.probe_max_side / max(rgb.shape[:2])
            size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
            small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        boxes, probs, points = self._detect([small])[0]
        if scale != 1.0 and len(boxes):
            boxes, points = boxes / scale, points / scale
        faces = self._describe([rgb], [(boxes, probs, points)])[0]
        if not faces:
            return None
        good = [f for f in faces if f.quality >= self.quality_floor]
        return max(good or faces, key=lambda f: f.area)

    # ---- stages -----------------------------------------------------------------------------
    def _detect(self, images: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(boxes Nx4, probs N, landmarks Nx5x2) per image, float32, highest probability first."""
        import torch

        out: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = [None] * len(images)
        groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for i, im in enumerate(images):
            groups[im.shape].append(i)
        for shape, idx in groups.items():
            if min(shape[:2]) < self.min_face_px:  # smaller than the smallest face: MTCNN has no scale
                for i in idx:
                    out[i] = _as_arrays(None, None, None)
                continue
            for start in range(0, len(idx), self.batch_size):
                chunk = idx[start : start + self.batch_size]
                try:
                    with torch.inference_mode():
                        boxes, probs, points = self._mtcnn.detect(
                            np.stack([images[i] for i in chunk]), landmarks=True
                        )
                except (RuntimeError, ValueError) as e:
                    # facenet-pytorch concatenates an empty candidate list when a stage keeps no box
                    if "non-empty list" not in str(e):
                        raise
                    boxes = probs = points = [None] * len(chunk)
                for j, i in enumerate(chunk):
                    out[i] = _as_arrays(boxes[j], probs[j], points[j])
        return out  # type: ignore[return-value]

    def _describe(
        self, images: list[np.ndarray], detections: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
    ) -> list[list[FaceDetection]]:
        import dlib

        sp = self._dlib.shape_predictor
        pending: list[tuple[int, float, tuple[float, float, float, float], np.ndarray, np.ndarray]] = []
        chips: list[np.ndarray] = []
        small: list[bool] = []
        opts = self.small_faces
        for i, (im, (boxes, probs, points)) in enumerate(zip(images, detections, strict=True)):
            h, w = im.shape[:2]
            for box, prob, pts in zip(boxes, probs, points, strict=True):
                is_small = opts.applies(box)
                if is_small and opts.upscale_to > face_side(box):
                    chip = aligned_chip(
                        im, _dlib_rect(box), sp, upscale=opts.upscale_to / max(face_side(box), 1.0)
                    )
                else:
                    chip = dlib.get_face_chip(
                        im, sp(im, _dlib_rect(box)), size=CHIP_SIZE, padding=CHIP_PADDING
                    )
                small.append(is_small)
                clipped = (
                    float(np.clip(box[0], 0, w)),
                    float(np.clip(box[1], 0, h)),
                    float(np.clip(box[2], 0, w)),
                    float(np.clip(box[3], 0, h)),
                )
                pending.append((i, float(prob), clipped, pts.astype(np.float32), chip))
                chips.append(chip)
        embeddings = self._embed(chips, small)
        result: list[list[FaceDetection]] = [[] for _ in images]
        for (i, prob, bbox, pts, chip), emb in zip(pending, embeddings, strict=True):
            parts = face_quality(bbox, prob, pts, chip)
            result[i].append(
                FaceDetection(
                    bbox=bbox,
                    det_score=prob,
                    landmarks=pts,
                    quality=parts.score,
                    embedding=emb,
                    crop=chip,
                    quality_parts=parts,
                )
            )
        return result

    def _embed(self, chips: list[np.ndarray], small: list[bool] | None = None) -> list[np.ndarray]:
        """128-d descriptors of aligned 150x150 chips (the back-end's network); ``small`` marks the
        chips described with the small-face options (flip averaging through the back-end, jitter
        in dlib)."""
        if not chips:
            return []
        opts = self.small_faces
        if small is None or not any(small) or not (opts.jitter or opts.flip):
            return self._embedder.embed(chips)
        if opts.jitter:
            plain = iter(self._embedder.embed([c for c, s in zip(chips, small, strict=True) if not s]))
            return [
                describe_small(self._dlib.face_rec, c, opts) if s else next(plain)
                for c, s in zip(chips, small, strict=True)
            ]
        mirrored = [np.ascontiguousarray(c[:, ::-1]) for c, s in zip(chips, small, strict=True) if s]
        vecs = self._embedder.embed(list(chips) + mirrored)
        out = [np.asarray(v, np.float32) for v in vecs[: len(chips)]]
        k = len(chips)
        for i, s in enumerate(small):
            if s:
                out[i] = ((out[i] + np.asarray(vecs[k], np.float32)) / 2.0).astype(np.float32)
                k += 1
        return out


def _as_arrays(boxes, probs, points) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if boxes is None or len(boxes) == 0:
        return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0, 5, 2), np.float32)
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    p = np.asarray(probs, dtype=np.float32).reshape(-1)
    pts = np.asarray(points, dtype=np.float32).reshape(-1, 5, 2)
    order = np.argsort(-p, kind="stable")
    return b[order], p[order], pts[order]


def _dlib_rect(box: np.ndarray):
    """The dlib-style square face box for an MTCNN box."""
    import dlib

    x1, y1, x2, y2 = (float(v) for v in box[:4])
    w, h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0 + DLIB_BOX_DY * h
    half = DLIB_BOX_SIDE * float(np.sqrt(w * h)) / 2.0
    return dlib.rectangle(round(cx - half), round(cy - half), round(cx + half), round(cy + half))
