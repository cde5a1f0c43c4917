"""Better descriptors for small faces: upscaling before alignment, dlib's jittered embedding and
flip averaging (each optional; measured by ``python -m pipelines.faces.evaluate``).

- **Upscale before alignment.** dlib's 5-point predictor places its points on a face of 30 px with
  a pixel or two of error, which is a large rotation/scale error once the chip is blown up to 150 px.
  A crop around the face is first resized (bicubic) so the face side is ``upscale_to`` pixels; the
  predictor and ``get_face_chip`` then run on that crop.
- **Jitter.** ``compute_face_descriptor(chip, num_jitters=n)`` averages the descriptor of ``n``
  randomly jittered (shifted, scaled, mirrored) copies of the chip: steadier for noisy chips.
- **Flip averaging.** The mean of the descriptors of the chip and its mirror image.

:class:`SmallFaceOptions` says which apply and below which face side (``max_side_px``); faces at or
above that side are described exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

CHIP_SIZE = 150
CHIP_PADDING = 0.25


@dataclass(frozen=True)
class SmallFaceOptions:
    max_side_px: float = 0.0  # faces smaller than this (sqrt of box area) get the options below; 0: none
    upscale_to: float = 0.0  # resize the face region so its side is this many px before alignment; 0: off
    jitter: int = 0  # dlib num_jitters for small faces; 0: off
    flip: bool = False  # average with the mirrored chip's descriptor

    @property
    def enabled(self) -> bool:
        return self.max_side_px > 0 and (self.upscale_to > 0 or self.jitter > 0 or self.flip)

    def applies(self, bbox: tuple[float, float, float, float] | np.ndarray) -> bool:
        return self.enabled and face_side(bbox) < self.max_side_px

    def tag(self) -> str:
        """Short text for model versions (empty when nothing applies)."""
        if not self.enabled:
            return ""
        parts = [f"small<{self.max_side_px:g}"]
        if self.upscale_to:
            parts.append(f"up{self.upscale_to:g}")
        if self.jitter:
            parts.append(f"jit{self.jitter}")
        if self.flip:
            parts.append("flip")
        return "-".join(parts)


NO_ENHANCEMENT = SmallFaceOptions()
#: what FaceAnalyzer does by default: flip averaging for faces under 64 px. Measured on the
#: CCTV-degraded one-still evaluation (python -m pipelines.faces.evaluate): recall@1 up on heavy
#: blur, low light and heavy JPEG, never down; jitter (10) does as well at 5x the cost; upscaling
#: before alignment loses.
DEFAULT_SMALL_FACES = SmallFaceOptions(max_side_px=64, flip=True)


def face_side(bbox: tuple[float, float, float, float] | np.ndarray) -> float:
    x1, y1, x2, y2 = (float(v) for v in bbox[:4])
    return float(np.sqrt(max(x2 - x1, 0.0) * max(y2 - y1, 0.0)))


def aligned_chip(image: np.ndarray, rect: Any, shape_predictor: Any, upscale: float = 1.0) -> np.ndarray:
    """The 150x150 aligned chip for the dlib rectangle ``rect`` in ``image`` (RGB uint8); with
    ``upscale`` > 1 the region around the face is resized by that factor before alignment."""
    import dlib

    if upscale <= 1.0:
        return dlib.get_face_chip(image, shape_predictor(image, rect), size=CHIP_SIZE, padding=CHIP_PADDING)
    import cv2

    h, w = image.shape[:2]
    side = max(rect.right() - rect.left(), rect.bottom() - rect.top(), 1)
    margin = side  # the chip's padding reaches 0.25 side past the landmarks; keep a full side
    x0, y0 = max(0, rect.left() - margin), max(0, rect.top() - margin)
    x1, y1 = min(w, rect.right() + margin + 1), min(h, rect.bottom() + margin + 1)
    crop = image[y0:y1, x0:x1]
    big = cv2.resize(
        crop,
        (max(1, round(crop.shape[1] * upscale)), max(1, round(crop.shape[0] * upscale))),
        interpolation=cv2.INTER_CUBIC,
    )
    r = dlib.rectangle(
        round((rect.left() - x0) * upscale),
        round((rect.top() - y0) * upscale),
        round((rect.right() - x0) * upscale),
        round((rect.bottom() - y0) * upscale),
    )
    return dlib.get_face_chip(
        np.ascontiguousarray(big), shape_predictor(big, r), size=CHIP_SIZE, padding=CHIP_PADDING
    )


def describe_small(face_rec: Any, chip: np.ndarray, opts: SmallFaceOptions) -> np.ndarray:
    """The 128-d descriptor of one small face's chip with jitter and/or flip averaging."""
    chip = np.ascontiguousarray(chip)
    vec = np.asarray(face_rec.compute_face_descriptor(chip, num_jitters=max(opts.jitter, 0) or 0), np.float32)
    if opts.flip:
        mirrored = np.ascontiguousarray(chip[:, ::-1])
        vec = (
            vec
            + np.asarray(
                face_rec.compute_face_descriptor(mirrored, num_jitters=max(opts.jitter, 0) or 0), np.float32
            )
        ) / 2.0
    return vec


__all__ = [
    "DEFAULT_SMALL_FACES",
    "NO_ENHANCEMENT",
    "SmallFaceOptions",
    "aligned_chip",
    "describe_small",
    "face_side",
]
