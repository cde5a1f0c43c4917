"""Plate numbers of several countries and their pictures.

Formats (normalized text, as the readers store it): Mercosur Argentina ``AB123CD``, Brazil
``ABC1D23``, Paraguay ``ABCD123``, Uruguay ``ABC1234``; Peru ``ABC123``; El Salvador ``P123456``.
Pictures follow each country's look (white plate, blue band with the country name, black or dark
blue characters in a condensed bold face, printed with the small gaps real plates have).
"""

from __future__ import annotations

import re

import cv2
import numpy as np
from PIL import Image, ImageDraw

from pipelines.plates.text import normalize
from pipelines.synth.fonts import plate_font

__all__ = [
    "FORMATS",
    "PLATE_H_M",
    "PLATE_W_M",
    "CAP_FRAC",
    "make_plate",
    "normalize",
    "plate_display",
    "render_plate",
    "render_plate_boxed",
]

#: plate size in metres (about 1.15x the real 400 x 130 mm, so readers get enough pixels)
PLATE_W_M = 0.46
PLATE_H_M = 0.15
#: character height as a fraction of the plate height
CAP_FRAC = 0.56
_BAND_FRAC = 0.2

L = "ABCDEFGHJKLMNPRSTUVWXYZ"  # no I, O, Q (as most registries) unless hard mode asks for them
L_ALL = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
D = "0123456789"

#: format -> (pattern of L/D slots, display grouping, country label)
FORMATS: dict[str, tuple[str, tuple[int, ...], str]] = {
    "AR": ("LLDDDLL", (2, 3, 2), "ARGENTINA"),
    "BR": ("LLLDLDD", (7,), "BRASIL"),
    "PY": ("LLLLDDD", (4, 3), "PARAGUAY"),
    "UY": ("LLLDDDD", (3, 4), "URUGUAY"),
    "PE": ("LLLDDD", (3, 3), "PERU"),
    "SV": ("PDDDDDD", (1, 3, 3), "EL SALVADOR"),
}
#: countries the plate reader supports that the synthetic city does not put on its cars (the plate
#: evaluation renders them: pipelines.plates.eval_sets)
MORE_FORMATS: dict[str, tuple[str, tuple[int, ...], str]] = {
    "BO": ("DDDDLLL", (4, 3), "BOLIVIA"),
    "CL": ("LLLLDD", (2, 2, 2), "CHILE"),
    "CO": ("LLLDDD", (3, 3), "COLOMBIA"),
    "EC": ("LLLDDDD", (3, 4), "ECUADOR"),
    "MX": ("LLLDDDL", (3, 3, 1), "MEXICO"),
    "GT": ("PDDDLLL", (1, 3, 3), "GUATEMALA"),
    "HN": ("LLLDDDD", (3, 4), "HONDURAS"),
    "US": ("DLLLDDD", (1, 3, 3), "CALIFORNIA"),
    "EU": ("LLDDDLL", (2, 3, 2), "EUROPA"),
}
_ALL_FORMATS = {**FORMATS, **MORE_FORMATS}
_REGEX = {
    k: re.compile("^" + v[0].replace("L", "[A-Z]").replace("D", "[0-9]") + "$")
    for k, v in _ALL_FORMATS.items()
}


def make_plate(fmt: str, rng: np.random.Generator, letters: str = L) -> str:
    """A random valid plate of format ``fmt`` (normalized)."""
    pattern = _ALL_FORMATS[fmt][0]
    out = []
    for slot in pattern:
        if slot == "L":
            out.append(letters[int(rng.integers(len(letters)))])
        elif slot == "D":
            out.append(D[int(rng.integers(10))])
        else:
            out.append(slot)
    text = "".join(out)
    assert _REGEX[fmt].match(text), (fmt, text)
    return text


def plate_display(text: str, fmt: str) -> list[str]:
    """The character groups as printed on the plate (e.g. ``AB 123 CD`` -> [AB, 123, CD])."""
    groups, i = [], 0
    for n in _ALL_FORMATS[fmt][1]:
        groups.append(text[i : i + n])
        i += n
    if i < len(text):
        groups.append(text[i:])
    return groups


_STYLE = {
    # fmt: (band colour, text colour, separator drawn between groups)
    "AR": ((30, 60, 150), (20, 20, 20), ""),
    "BR": ((25, 55, 150), (20, 20, 20), ""),
    "PY": ((30, 60, 150), (20, 20, 20), ""),
    "UY": ((30, 60, 150), (20, 20, 20), ""),
    "PE": ((35, 70, 160), (20, 20, 20), "-"),
    "SV": ((25, 50, 140), (15, 30, 95), "-"),
    "BO": ((30, 110, 60), (20, 20, 20), "-"),
    "CL": ((200, 200, 200), (20, 20, 20), ""),
    "CO": ((60, 60, 60), (20, 20, 20), ""),
    "EC": ((35, 70, 160), (20, 20, 20), "-"),
    "MX": ((120, 40, 50), (20, 20, 20), "-"),
    "GT": ((40, 80, 170), (20, 20, 20), ""),
    "HN": ((30, 60, 150), (20, 20, 20), ""),
    "US": ((238, 238, 232), (25, 35, 110), ""),
    "EU": ((30, 60, 150), (20, 20, 20), "-"),
}


def _text_mask(groups: list[str], sep: str, height: int, font_path: str | None = None) -> np.ndarray:
    """Anti-aliased mask (float 0..1) of the plate characters, ``height`` px of cap height
    (``font_path``: a TrueType file instead of the plate font)."""
    size = 120
    font = plate_font(size, font_path)
    probe = Image.new("L", (10, 10))
    pd = ImageDraw.Draw(probe)
    cap = pd.textbbox((0, 0), "H", font=font)
    cap_h = int(cap[3] - cap[1])  # integer pixels (the stubs type bounding boxes as floats)
    adv = pd.textlength("0", font=font)
    gap = int(adv * 0.45)

    def span(text: str) -> int:  # the plate font is monospaced; another face may not be
        return int(adv * len(text)) if font_path is None else int(np.ceil(pd.textlength(text, font=font)))

    stroke = max(1, size // 30)
    pieces: list[tuple[str, bool]] = []
    for i, g in enumerate(groups):
        if i:
            pieces.append((sep, True) if sep else ("", True))
        pieces.append((g, False))
    width = 0
    for text, is_gap in pieces:
        width += gap if is_gap and not text else (gap + int(adv * 0.9) if is_gap else span(text))
    img = Image.new("L", (width + 4 * stroke, cap_h + 6 * stroke), 0)
    d = ImageDraw.Draw(img)
    x = 2 * stroke
    for text, is_gap in pieces:
        if is_gap and not text:
            x += gap
            continue
        if is_gap:
            x += gap // 2
        d.text((x, 3 * stroke - cap[1]), text, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
        x += int(adv * 0.9) if is_gap else span(text)
        if is_gap:
            x += gap // 2
    arr = np.asarray(img, dtype=np.float32) / 255.0
    ys, xs = np.nonzero(arr > 0.05)
    arr = arr[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    return arr


def render_plate(text: str, fmt: str, height_px: int) -> np.ndarray:
    """RGB picture of plate ``text`` (normalized) ``height_px`` tall (width from the plate size)."""
    return render_plate_boxed(text, fmt, height_px)[0]


def render_plate_boxed(
    text: str,
    fmt: str,
    height_px: int,
    *,
    font_path: str | None = None,
    groups: list[str] | None = None,
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """:func:`render_plate` in a given TrueType face (None: the plate font), with the box of its
    characters (x1, y1, x2, y2; what a text detector would find); ``groups``: the character groups
    as printed (default: the country's grouping). The second plate recogniser trains on these."""
    h = int(height_px)
    w = int(round(h * PLATE_W_M / PLATE_H_M))
    band_col, text_col, sep = _STYLE[fmt]
    img = np.empty((h, w, 3), np.float32)
    img[:] = (238, 238, 232)
    band = max(2, int(round(h * _BAND_FRAC)))
    img[:band] = band_col
    # country name in the band (small, white), a little flag square on the right
    label = _ALL_FORMATS[fmt][2]
    lab_h = max(3, int(band * 0.62))
    lab = _label_mask(label, lab_h, font_path)
    lw = min(lab.shape[1], int(w * 0.6))
    lab = cv2.resize(lab, (lw, lab_h), interpolation=cv2.INTER_AREA) if lw != lab.shape[1] else lab
    y0 = (band - lab_h) // 2
    x0 = (w - lw) // 2
    img[y0 : y0 + lab_h, x0 : x0 + lw] += (
        np.array([250, 250, 250]) - img[y0 : y0 + lab_h, x0 : x0 + lw]
    ) * lab[..., None]
    fs = max(2, int(band * 0.55))
    fx = w - int(w * 0.06) - fs
    img[(band - fs) // 2 : (band - fs) // 2 + fs, fx : fx + fs] = (235, 235, 235)
    # characters
    cap_px = max(4, int(round(h * CAP_FRAC)))
    mask = _text_mask(groups or plate_display(text, fmt), sep, cap_px, font_path)
    tw = int(round(mask.shape[1] * cap_px / mask.shape[0]))
    tw = min(tw, int(w * 0.9))
    mask = cv2.resize(mask, (tw, cap_px), interpolation=cv2.INTER_AREA)
    ty = band + (h - band - cap_px) // 2
    tx = (w - tw) // 2
    roi = img[ty : ty + cap_px, tx : tx + tw]
    roi += (np.array(text_col, np.float32) - roi) * np.clip(mask, 0, 1)[..., None]
    # border
    bw = max(1, h // 40)
    img[:bw] = img[-bw:] = (40, 40, 40)
    img[:, :bw] = img[:, -bw:] = (40, 40, 40)
    return np.clip(img, 0, 255).astype(np.uint8), (tx, ty, tx + tw, ty + cap_px)


def _label_mask(label: str, height: int, font_path: str | None = None) -> np.ndarray:
    font = plate_font(48, font_path)
    probe = ImageDraw.Draw(Image.new("L", (4, 4)))
    bb = probe.textbbox((0, 0), label, font=font)
    img = Image.new("L", (int(bb[2] - bb[0]) + 4, int(bb[3] - bb[1]) + 4), 0)
    ImageDraw.Draw(img).text((2 - bb[0], 2 - bb[1]), label, font=font, fill=255)
    arr = np.asarray(img, np.float32) / 255.0
    w = max(1, int(round(arr.shape[1] * height / arr.shape[0])))
    return cv2.resize(arr, (w, height), interpolation=cv2.INTER_AREA)
