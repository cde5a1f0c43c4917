"""Find and read licence plates in a frame or still: :class:`PlateReader`.

``read(image)``: text detection (RapidOCR PP-OCRv6 DB detector, longest side capped at 960 px) ->
plate-shaped lines, lines split in pieces re-joined, two-row plates joined top + bottom, captions
(lines much smaller than a neighbour) penalised -> recognition with full per-character
probabilities -> format decoding (country presets, repairs, caption/country-code words dropped,
stray characters trimmed) -> one :class:`PlateRead` per plate, best first. When the first pass
finds nothing plate-like (no read scoring SECOND_PASS_BELOW) a second pass detects at a higher
resolution (small images upscaled) and its reads join the first pass's.

``read_crop(crop)``: recognition only, on an image of one plate (one row, or two rows split at
the emptiest row band).

A read's score is its best candidate's decoding score (product of character probabilities times
the format prior, :mod:`pipelines.plates.decode`) times priors on where it was found: plate-like
proportions, dark characters on a light surface (signs and badges are mostly the reverse), not a
caption next to bigger text, and height relative to the tallest candidate text in the image.
Reads below ``min_score`` are dropped; overlapping reads keep the best.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .decode import Candidate, CharSeq, rank_candidates
from .engine import ENGINE_VERSION, OcrEngine, get_engine
from .formats import get_format
from .layout import (
    MIN_TEXT_HEIGHT,
    TextBox,
    crop_quad,
    dark_on_light,
    is_subordinate,
    overlap_ratio,
    shape_prior,
    side_by_side,
    stacked,
    union_box,
)
from .second.hook import second_opinion
from .words import has_non_plate_marks, is_non_plate_text

MODEL_VERSION = f"plates-{ENGINE_VERSION}-v2"
#: a camera without a registered format: the region's presets (strict patterns; the first one's
#: loose range too) and, last, ``generic``: plate-like text of 2-9 letters/digits that no preset
#: fits is still recorded, with the lower loose-match confidence. A camera's own format goes first
#: (pipelines.extract.ingest.plate_formats): a prior that ranks and repairs, never a filter.
DEFAULT_FORMATS = [
    "AR",
    "BR",
    "PY",
    "UY",
    "PE",
    "SV",
    "BO",
    "CL",
    "CO",
    "EC",
    "MX",
    "GT",
    "HN",
    "US",
    "EU",
    "generic",
]
CAPTION_PRIOR = 0.5  # a line clearly smaller than a neighbour (dealer name, country band)
LIGHT_ON_DARK_PRIOR = 0.8  # light characters on a dark surface: signs, badges (and old dark plates)
HEIGHT_EXPONENT = 0.25  # prior (height / tallest candidate's height) ** HEIGHT_EXPONENT
MAX_LINE_ASPECT = 12.0  # longer lines are captions, addresses, sign text: not read
SECOND_PASS_BELOW = 0.3  # a second pass runs when no read of the first scores this much
SECOND_PASS_SIDE = 1280  # detector resolution of the second pass (small images are upscaled)
SECOND_PASS_MAX_UPSCALE = 2.5
SECOND_PASS_LIMIT = 1600  # large images: detect at native resolution up to this side


@dataclass
class PlateRead:
    text: str  # normalized, format-repaired best text
    raw: str  # as recognised
    score: float  # 0..1
    bbox: tuple[float, float, float, float]  # x1,y1,x2,y2 in the given image's pixels
    candidates: list[tuple[str, float]]  # top-N alternatives (text, score), best first, includes `text`
    char_confidences: list[float]
    plate_format: str  # preset name, or "generic"
    #: the recogniser's (T, 38) per-timestep distribution of the line(s) read (rows joined in
    #: time): what a track's frames are fused on (pipelines.plates.fusion)
    ctc: np.ndarray | None = field(default=None, repr=False, compare=False)


@dataclass
class _Group:
    rows: list[int]  # indices of the recognised lines, top row first
    box: TextBox  # union of the rows
    n_rows: int = 1
    caption: bool = False


def to_bgr(image: np.ndarray) -> np.ndarray:
    """RGB / gray / RGBA uint8 -> contiguous BGR uint8 (what the PP-OCR models expect)."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise TypeError(f"expected a uint8 image, got {arr.dtype}")
    if arr.ndim == 2:
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2BGR)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"expected an HxWx3 RGB image, got shape {arr.shape}")
    if arr.shape[2] == 4:
        return cv2.cvtColor(arr, cv2.COLOR_RGBA2BGR)
    return np.ascontiguousarray(arr[:, :, ::-1])


class PlateReader:
    """Licence-plate detector and reader; ``formats`` are preset names tried in order of preference.

    The OCR engine is ``engine``, else that of the plate back-end ``backend`` (a key from
    ``pesquisa models list``; None: the ``models.plates`` setting, by default the device's default)."""

    model_version: str = MODEL_VERSION

    def __init__(
        self,
        formats: list[str] | None = None,
        device: str = "auto",
        top_n: int = 5,
        *,
        second_pass: bool = True,
        min_score: float = 0.2,
        max_lines: int = 16,
        engine: OcrEngine | None = None,
        backend: str | None = None,
        second: str | None = None,
    ) -> None:
        self.formats = list(formats) if formats else list(DEFAULT_FORMATS)
        #: False: the camera has no registered format (its formats are the regional defaults)
        self.registered = bool(formats)
        self._fmts = [get_format(f) for f in self.formats]  # raises on an unknown name
        self.top_n = max(1, int(top_n))
        self.second_pass = second_pass
        self.min_score = min_score
        self.max_lines = max_lines
        self.engine = engine or get_engine(device, backend=backend)
        self.device = self.engine.device
        # where a read is weak, a second recogniser's candidates are fused in (``second``: on, off,
        # auto; None: the plates.second_recogniser setting) -- pipelines.plates.second.hook
        self.second = second_opinion(second, device)

    # -- full frames -----------------------------------------------------------------------------
    def read(self, image: np.ndarray) -> list[PlateRead]:
        """Every plate found in an RGB uint8 image, best score first."""
        bgr = to_bgr(image)
        quads, scores = self.engine.detect(bgr)
        reads = self._read_boxes(bgr, [TextBox(q, float(s)) for q, s in zip(quads, scores, strict=True)])
        if self.second_pass and (not reads or reads[0].score < SECOND_PASS_BELOW):
            more = self._read_boxes(bgr, self._detect_high_res(bgr))
            if more:
                reads = _suppress(reads + more)
        return reads

    def _detect_high_res(self, bgr: np.ndarray) -> list[TextBox]:
        side = max(bgr.shape[:2])
        if side < SECOND_PASS_SIDE:
            f = min(SECOND_PASS_MAX_UPSCALE, SECOND_PASS_SIDE / side)
            up = cv2.resize(bgr, None, fx=f, fy=f, interpolation=cv2.INTER_CUBIC)
            limit = max(up.shape[:2])
        else:
            f, up, limit = 1.0, bgr, min(side, SECOND_PASS_LIMIT)
            if limit <= self.engine.det_limit_side:
                return []
        quads, scores = self.engine.detect(up, limit_side=limit)
        return [TextBox(q / f, float(s)) for q, s in zip(quads, scores, strict=True)]

    def _read_boxes(self, bgr: np.ndarray, boxes: list[TextBox]) -> list[PlateRead]:
        boxes = [b for b in boxes if b.height >= MIN_TEXT_HEIGHT and 0.8 <= b.aspect <= MAX_LINE_ASPECT]
        if not boxes:
            return []
        # most plate-like lines first when there are too many to read
        boxes.sort(key=lambda b: -(shape_prior(b) * min(b.height, 40.0)))
        boxes = boxes[: self.max_lines]
        captions = [is_subordinate(b, boxes) for b in boxes]

        lines: list[TextBox] = list(boxes)
        groups = [_Group([i], b, 1, captions[i]) for i, b in enumerate(boxes)]
        # pieces of one line (split by a coat of arms or a wide gap) read again as one crop
        for chain in _chains(boxes):
            merged = union_box([boxes[i] for i in chain])
            lines.append(merged)
            groups.append(_Group([len(lines) - 1], merged, 1, all(captions[i] for i in chain)))
        # two-row plates: rows read separately, joined top + bottom
        for i, a in enumerate(boxes):
            for j, b in enumerate(boxes):
                if i != j and stacked(a, b):
                    groups.append(_Group([i, j], union_box([a, b]), 2, captions[i] and captions[j]))

        crops = [crop_quad(bgr, b.quad) for b in lines]
        texts = self.engine.recognize(crops)
        seqs = [CharSeq.from_line(t.text, t.alnum_probs) for t in texts]
        polarity = [dark_on_light(c) for c in crops]

        scored: list[tuple[float, PlateRead]] = []  # (row height, read before the height prior)
        for g in groups:
            if any(has_non_plate_marks(texts[i].text) for i in g.rows):
                continue
            seq = seqs[g.rows[0]] if len(g.rows) == 1 else CharSeq.join([seqs[i] for i in g.rows])
            cands = [
                c
                for c in rank_candidates(seq, self._fmts, self.top_n + 2, registered=self.registered)
                if not is_non_plate_text(c.text)
            ]
            if self.second is not None:
                rows = [crops[i] for i in g.rows]
                cands = self.second.revise(
                    cands, rows, self._fmts, self.top_n + 2, registered=self.registered
                )
            if not cands:
                continue
            prior = shape_prior(g.box, g.n_rows)
            prior *= CAPTION_PRIOR if g.caption else 1.0
            prior *= 1.0 if any(polarity[i] for i in g.rows) else LIGHT_ON_DARK_PRIOR
            row_h = float(np.mean([lines[i].height for i in g.rows]))
            read = _to_read(cands[: self.top_n], prior, seq.raw, g.box.rect)
            read.ctc = _joined_ctc([texts[i].ctc for i in g.rows])
            scored.append((row_h, read))
        if not scored:
            return []
        tallest = max(h for h, _ in scored)
        found = [_rescale(r, (h / tallest) ** HEIGHT_EXPONENT) for h, r in scored]
        return _suppress([r for r in found if r.score >= self.min_score])

    # -- plate crops -----------------------------------------------------------------------------
    def read_crop(self, crop: np.ndarray) -> PlateRead | None:
        """Read an RGB uint8 image of one plate (recognition only), or None when nothing fits."""
        bgr = to_bgr(crop)
        h, w = bgr.shape[:2]
        if h < 4 or w < 4:
            return None
        parts = [bgr]
        split = _row_split(bgr) if w / h < 2.6 else None
        if split is not None:
            parts += [bgr[:split], bgr[split:]]
        texts = self.engine.recognize(parts)
        seqs = [CharSeq.from_line(t.text, t.alnum_probs) for t in texts]
        options = [seqs[0]] + ([CharSeq.join(seqs[1:3])] if split is not None else [])
        ctcs = [texts[0].ctc] + ([_joined_ctc([t.ctc for t in texts[1:3]])] if split is not None else [])
        best: PlateRead | None = None
        crops = [[parts[0]]] + ([parts[1:3]] if split is not None else [])
        for seq, ctc, rows in zip(options, ctcs, crops, strict=True):
            cands = [
                c
                for c in rank_candidates(seq, self._fmts, self.top_n + 2, registered=self.registered)
                if not is_non_plate_text(c.text)
            ]
            if self.second is not None:
                cands = self.second.revise(
                    cands, rows, self._fmts, self.top_n + 2, registered=self.registered
                )
            if not cands:
                continue
            r = _to_read(cands[: self.top_n], 1.0, seq.raw, (0.0, 0.0, float(w), float(h)))
            r.ctc = ctc
            if best is None or r.score > best.score:
                best = r
        return best


def _to_read(
    cands: list[Candidate], prior: float, raw: str, rect: tuple[float, float, float, float]
) -> PlateRead:
    top = cands[0]
    return PlateRead(
        text=top.text,
        raw=raw,
        score=float(min(1.0, top.score * prior)),
        bbox=rect,
        candidates=[(c.text, float(min(1.0, c.score * prior))) for c in cands],
        char_confidences=[float(p) for p in top.char_probs],
        plate_format=top.plate_format,
    )


def _joined_ctc(parts: list[np.ndarray | None]) -> np.ndarray | None:
    """Rows of a plate one after the other in time (top row first); None if one is missing."""
    arrays = [p for p in parts if p is not None]
    if not parts or len(arrays) != len(parts):
        return None
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays, axis=0)


def _rescale(read: PlateRead, factor: float) -> PlateRead:
    read.score *= factor
    read.candidates = [(t, s * factor) for t, s in read.candidates]
    return read


def _chains(boxes: list[TextBox]) -> list[list[int]]:
    """Groups of >= 2 boxes that continue each other left to right (at most 4 pieces)."""
    n = len(boxes)
    nxt: dict[int, int] = {}
    for i in range(n):
        best = None
        for j in range(n):
            if i != j and side_by_side(boxes[i], boxes[j]):
                gap = boxes[j].rect[0] - boxes[i].rect[2]
                if best is None or gap < best[0]:
                    best = (gap, j)
        if best is not None:
            nxt[i] = best[1]
    heads = set(nxt) - set(nxt.values())
    out = []
    for h in heads:
        chain = [h]
        while chain[-1] in nxt and len(chain) < 4 and nxt[chain[-1]] not in chain:
            chain.append(nxt[chain[-1]])
        out.append(chain)
    return out


def _row_split(bgr: np.ndarray) -> int | None:
    """The row between the two text rows of a squarish plate crop (least ink), or None."""
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    h = gray.shape[0]
    if h < 16:
        return None
    edges = np.abs(cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)).mean(axis=1)
    k = max(1, h // 20)
    smooth = np.convolve(edges, np.ones(k) / k, mode="same")
    lo, hi = int(0.3 * h), int(0.7 * h)
    i = lo + int(np.argmin(smooth[lo:hi]))
    # a real gap: much less ink than the rows on either side
    if smooth[i] > 0.6 * min(smooth[:i].max(), smooth[i:].max()):
        return None
    return i


def _suppress(reads: list[PlateRead]) -> list[PlateRead]:
    """Keep the best read per place: drop reads whose boxes mostly overlap a better one."""
    kept: list[PlateRead] = []
    for r in sorted(reads, key=lambda r: -r.score):
        if all(overlap_ratio(r.bbox, k.bbox) < 0.5 for k in kept):
            kept.append(r)
    return kept
