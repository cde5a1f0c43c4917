"""Masking of exported evidence: bystanders' faces and other vehicles' plates are blurred, the
subject of the export stays visible (issue 12.6, DESIGN.md §8).

Detection uses the project's own models: the face detector (:class:`pipelines.faces.FaceAnalyzer`,
MTCNN) and the plate detector/reader (:class:`pipelines.plates.reader.PlateReader`, RapidOCR).
In a clip the detectors run on every ``detect_every``-th frame (and on the subject's frame); a
frame between two detection frames is masked with the boxes of both, joined per object (so a
moving face or plate stays covered between detections), each widened by ``pad``.

The subject is followed from its known box on its best frame outwards: on each detection frame the
subject is the detection of its kind that overlaps (or is nearest to) the subject's box on the
previous detection frame; a plate whose text matches the subject's plate counts as the subject
too. Where the subject is not found nothing of it is kept visible by mistake: every other detection
is blurred.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Box = tuple[float, float, float, float]

FACE = "face"
PLATE = "plate"


@dataclass(frozen=True)
class Subject:
    """Who stays visible: ``kind`` (face | plate), ``box`` on the best frame, ``text`` a plate's."""

    kind: str
    box: Box
    text: str | None = None


@dataclass
class Detections:
    """One frame's detections: face boxes and plate boxes (with their texts)."""

    faces: list[Box] = field(default_factory=list)
    plates: list[tuple[Box, str]] = field(default_factory=list)

    def of(self, kind: str) -> list[Box]:
        return list(self.faces) if kind == FACE else [b for b, _ in self.plates]


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / ua if ua > 0 else 0.0


def _center(b: Sequence[float]) -> tuple[float, float]:
    return (b[0] + b[2]) / 2, (b[1] + b[3]) / 2


def _dist(a: Sequence[float], b: Sequence[float]) -> float:
    (ax, ay), (bx, by) = _center(a), _center(b)
    return float(np.hypot(ax - bx, ay - by))


def _size(b: Sequence[float]) -> float:
    return max(b[2] - b[0], b[3] - b[1], 1.0)


def _plate_like(a: str | None, b: str | None) -> bool:
    """Same plate text, allowing one OCR slip (same length, one character differs)."""
    if not a or not b:
        return False
    if a == b:
        return True
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) <= 1


def match_subject(dets: Detections, subject: Subject, prev: Box | None, gap: int = 1) -> Box | None:
    """The subject's box among ``dets`` given its box ``prev`` on the previous detection frame
    (``gap`` frames away). None when it is not found."""
    cands = dets.of(subject.kind)
    if subject.kind == PLATE and subject.text:
        texted = [b for b, t in dets.plates if _plate_like(t, subject.text)]
        if texted:
            return min(texted, key=lambda b: _dist(b, prev)) if prev is not None else texted[0]
    if prev is None or not cands:
        return None
    best = max(cands, key=lambda b: iou(b, prev))
    if iou(best, prev) >= 0.2:
        return best
    near = min(cands, key=lambda b: _dist(b, prev))
    if _dist(near, prev) <= _size(prev) * (0.5 + 0.25 * gap):
        return near
    return None


def bystanders(dets: Detections, subject_box: Box | None, subject_kind: str | None) -> list[Box]:
    """Every detection except the subject's own box."""
    out: list[Box] = []
    for kind, boxes in ((FACE, dets.faces), (PLATE, [b for b, _ in dets.plates])):
        for b in boxes:
            if subject_box is not None and kind == subject_kind and iou(b, subject_box) >= 0.5:
                continue
            out.append(b)
    return out


def join_boxes(a: list[Box], b: list[Box]) -> list[Box]:
    """Boxes covering ``a`` (one detection frame) and ``b`` (the next): a box of ``a`` and its
    nearest box of ``b`` (within twice their size) become the rectangle enclosing both, so an object
    moving between the two frames stays covered; the rest are kept as they are."""
    out: list[Box] = []
    used: set[int] = set()
    for x in a:
        j = min(range(len(b)), key=lambda k: _dist(x, b[k]), default=None)
        if j is not None and _dist(x, b[j]) <= 2 * max(_size(x), _size(b[j])):
            y = b[j]
            used.add(j)
            out.append((min(x[0], y[0]), min(x[1], y[1]), max(x[2], y[2]), max(x[3], y[3])))
        else:
            out.append(x)
    out.extend(y for k, y in enumerate(b) if k not in used)
    return out


def blur_boxes(rgb: np.ndarray, boxes: Iterable[Sequence[float]], pad: float = 0.25) -> np.ndarray:
    """A copy of ``rgb`` with each box (widened by ``pad`` of its size on every side) replaced by a
    heavily smoothed version: downsampled to about 1/12 of its size, scaled back up bilinearly and
    blurred, so no edge of a face or a character survives."""
    import cv2

    out = np.array(rgb, copy=True)
    h, w = out.shape[:2]
    for b in boxes:
        bw, bh = b[2] - b[0], b[3] - b[1]
        if bw <= 0 or bh <= 0:
            continue
        x1 = int(max(0, np.floor(b[0] - pad * bw)))
        y1 = int(max(0, np.floor(b[1] - pad * bh)))
        x2 = int(min(w, np.ceil(b[2] + pad * bw)))
        y2 = int(min(h, np.ceil(b[3] + pad * bh)))
        if x2 - x1 < 2 or y2 - y1 < 2:
            continue
        region = out[y1:y2, x1:x2]
        rw, rh = x2 - x1, y2 - y1
        small = cv2.resize(region, (max(2, rw // 12), max(2, rh // 12)), interpolation=cv2.INTER_AREA)
        up = cv2.resize(small, (rw, rh), interpolation=cv2.INTER_LINEAR)
        sigma = max(rw, rh) / 16
        out[y1:y2, x1:x2] = cv2.GaussianBlur(up, (0, 0), sigmaX=sigma, sigmaY=sigma)
    return out


class Masker:
    """The detectors (loaded once) and the masking of frames, clips and crops."""

    def __init__(
        self, *, faces: Any = None, plates: Any = None, pad: float = 0.25, device: str = "auto"
    ) -> None:
        if faces is None:
            from pipelines.search.faces import default_analyzer

            faces = default_analyzer()
        if plates is None:
            from pipelines.plates.reader import PlateReader

            plates = PlateReader(device=device)
        self.faces = faces
        self.plates = plates
        self.pad = float(pad)

    def detect(self, rgb: np.ndarray) -> Detections:
        """Faces (MTCNN boxes) and plates (RapidOCR reads) of one RGB frame."""
        boxes, _probs, _points = self.faces._detect([rgb])[0]  # noqa: SLF001 (boxes only: no embedding)
        faces = [tuple(float(v) for v in b) for b in np.asarray(boxes).reshape(-1, 4)]
        plates = [(tuple(float(v) for v in r.bbox), r.text) for r in self.plates.read(rgb)]
        return Detections(faces=faces, plates=plates)  # type: ignore[arg-type]

    def mask_still(self, rgb: np.ndarray, subject: Subject | None) -> tuple[np.ndarray, int]:
        """One still (a best frame or a crop): (masked copy, boxes blurred). ``subject.box`` is the
        subject's box in this image (None: keep the detection of the subject's kind nearest the
        centre, e.g. in a crop of the subject)."""
        dets = self.detect(rgb)
        keep: Box | None = None
        if subject is not None:
            if subject.box is not None and any(subject.box):
                keep = match_subject(dets, subject, subject.box)
            else:
                h, w = rgb.shape[:2]
                centre = (w * 0.25, h * 0.25, w * 0.75, h * 0.75)
                keep = match_subject(dets, Subject(subject.kind, centre, subject.text), centre, gap=2)
        boxes = bystanders(dets, keep, subject.kind if subject else None)
        return blur_boxes(rgb, boxes, self.pad), len(boxes)


def mask_sequence(
    masker: Masker,
    frames: list[np.ndarray],
    subject: Subject | None,
    subject_index: int | None,
    detect_every: int = 2,
) -> tuple[list[np.ndarray], dict[str, int]]:
    """Mask a clip's decoded frames. ``subject_index`` the frame where ``subject.box`` holds (None:
    no subject in the clip). Returns the masked frames and counts (frames, detection frames, boxes
    blurred over all frames)."""
    n = len(frames)
    if n == 0:
        return [], {"frames": 0, "detected_frames": 0, "boxes_blurred": 0}
    step = max(1, int(detect_every))
    keys = set(range(0, n, step)) | {n - 1}
    if subject_index is not None and 0 <= subject_index < n:
        keys.add(subject_index)
    order = sorted(keys)
    dets = {k: masker.detect(frames[k]) for k in order}
    # follow the subject outwards from its frame
    subject_at: dict[int, Box | None] = {}
    if subject is not None and subject_index is not None and subject_index in dets:
        start = order.index(subject_index)
        subject_at[subject_index] = match_subject(dets[subject_index], subject, subject.box) or subject.box
        for seq in (order[start + 1 :], order[:start][::-1]):
            prev, prev_k = subject_at[subject_index], subject_index
            for k in seq:
                found = match_subject(dets[k], subject, prev, gap=abs(k - prev_k))
                subject_at[k] = found
                if found is not None:
                    prev, prev_k = found, k
    kind = subject.kind if subject is not None else None
    masked_by_key = {k: bystanders(dets[k], subject_at.get(k), kind) for k in order}
    out: list[np.ndarray] = []
    blurred = 0
    for i in range(n):
        if i in masked_by_key:
            boxes = masked_by_key[i]
        else:
            lo = max(k for k in order if k < i)
            hi = min(k for k in order if k > i)
            boxes = join_boxes(masked_by_key[lo], masked_by_key[hi])
        blurred += len(boxes)
        out.append(blur_boxes(frames[i], boxes, masker.pad))
    return out, {"frames": n, "detected_frames": len(order), "boxes_blurred": blurred}
