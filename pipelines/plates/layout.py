"""Geometry of detected text boxes: plate-shaped lines, split lines, two-row plates, crops.

The detector returns one quadrilateral per text line (corners clockwise from top-left). A plate
shows up as one line, as a line split in pieces (a coat of arms or a wide gap between groups), or
as two stacked rows (motorcycle and some car plates). Captions (country bands, dealer names,
``MERCOSUR``) are lines clearly smaller than a neighbouring line.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MIN_TEXT_HEIGHT = 6.0  # px; below this nothing is legible
SUBORDINATE_RATIO = 1.6  # a line this many times taller nearby makes a line a caption


@dataclass
class TextBox:
    quad: np.ndarray  # (4, 2) float32, clockwise from top-left
    det_score: float = 1.0

    @property
    def width(self) -> float:
        q = self.quad
        return float((np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])) / 2)

    @property
    def height(self) -> float:
        q = self.quad
        return float((np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2)

    @property
    def aspect(self) -> float:
        return self.width / max(self.height, 1e-6)

    @property
    def rect(self) -> tuple[float, float, float, float]:
        x1, y1 = self.quad.min(axis=0)
        x2, y2 = self.quad.max(axis=0)
        return float(x1), float(y1), float(x2), float(y2)

    @property
    def center(self) -> tuple[float, float]:
        c = self.quad.mean(axis=0)
        return float(c[0]), float(c[1])


def union_box(boxes: list[TextBox]) -> TextBox:
    """The axis-aligned box around several boxes (for merged lines and two-row plates)."""
    pts = np.concatenate([b.quad for b in boxes])
    x1, y1 = pts.min(axis=0)
    x2, y2 = pts.max(axis=0)
    quad = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float32)
    return TextBox(quad, float(min(b.det_score for b in boxes)))


def side_by_side(a: TextBox, b: TextBox) -> bool:
    """``b`` continues the line of ``a`` to the right (same height and baseline, small gap)."""
    ha, hb = a.height, b.height
    if not 0.7 <= ha / max(hb, 1e-6) <= 1.4:
        return False
    h = max(ha, hb)
    (ax, ay), (bx, by) = a.center, b.center
    if abs(ay - by) > 0.4 * h or bx <= ax:
        return False
    gap = b.rect[0] - a.rect[2]
    return -0.3 * h <= gap <= 1.2 * h


def stacked(top: TextBox, bottom: TextBox) -> bool:
    """``bottom`` is the second row of a two-row plate whose first row is ``top``."""
    ht, hb = top.height, bottom.height
    if not 0.6 <= ht / max(hb, 1e-6) <= 1.7:
        return False
    tx1, ty1, tx2, ty2 = top.rect
    bx1, by1, bx2, by2 = bottom.rect
    overlap = min(tx2, bx2) - max(tx1, bx1)
    if overlap < 0.5 * min(tx2 - tx1, bx2 - bx1):
        return False
    # similar widths: a plate's rows span most of the plate
    if not 0.4 <= (tx2 - tx1) / max(bx2 - bx1, 1e-6) <= 2.5:
        return False
    gap = by1 - ty2
    return top.center[1] < bottom.center[1] and -0.3 * max(ht, hb) <= gap <= 0.8 * max(ht, hb)


def is_subordinate(box: TextBox, others: list[TextBox]) -> bool:
    """A caption: a line at least SUBORDINATE_RATIO times taller lies within ~1.5 heights of it."""
    x1, y1, x2, y2 = box.rect
    m = 1.5 * box.height
    for o in others:
        if o is box or o.height < SUBORDINATE_RATIO * box.height:
            continue
        ox1, oy1, ox2, oy2 = o.rect
        if ox1 < x2 + m and ox2 > x1 - m and oy1 < y2 + m and oy2 > y1 - m:
            return True
    return False


def shape_prior(box: TextBox, rows: int = 1) -> float:
    """How plate-like a line's (or a two-row block's) proportions are, 0..1."""
    a = box.aspect
    lo, hi = (1.6, 8.0) if rows == 1 else (0.8, 4.0)
    if lo <= a <= hi:
        return 1.0
    if a < lo:
        return max(0.2, a / lo)
    return max(0.2, hi / a)


def crop_quad(image: np.ndarray, quad: np.ndarray, pad_x: float = 0.03, pad_y: float = 0.08) -> np.ndarray:
    """The line straightened to a rectangle, with a little margin around it."""
    q = quad.astype(np.float32)
    ux = q[1] - q[0]
    uy = q[3] - q[0]
    w = max(1.0, float((np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])) / 2))
    h = max(1.0, float((np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2))
    ux /= max(np.linalg.norm(ux), 1e-6)
    uy /= max(np.linalg.norm(uy), 1e-6)
    dx, dy = ux * pad_x * w, uy * pad_y * h
    src = np.array([q[0] - dx - dy, q[1] + dx - dy, q[2] + dx + dy, q[3] - dx + dy], np.float32)
    out_w = int(round(w * (1 + 2 * pad_x)))
    out_h = int(round(h * (1 + 2 * pad_y)))
    dst = np.array([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]], np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(
        image, m, (out_w, out_h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )


def overlap_ratio(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over the smaller box's area."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    area = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return float(iw * ih / max(area, 1e-6))


def dark_on_light(crop_bgr: np.ndarray) -> bool:
    """True when a line's characters are darker than the surface they are printed on.

    Plates of every preset print dark characters on a light plate; road signs, badges and some
    legacy plates do the opposite. Inside the line's box the characters are the minority of the
    pixels, so the minority side of an Otsu split of the box's inner part is the ink.
    """
    gray = cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape
    inner = gray[int(0.2 * h) : max(int(0.8 * h), int(0.2 * h) + 1), int(0.05 * w) : max(int(0.95 * w), 1)]
    if inner.size < 16:
        return True
    thr, _ = cv2.threshold(inner, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return bool((inner <= thr).mean() < 0.5)
