"""Synthetic training crops for the second recogniser, and the split that keeps evaluation honest.

Every training crop is a pure function of ``(seed, index)`` (:func:`training_sample`), so the
data stream, and with it the trained weights, are reproducible on any machine with the same fonts
(the sidecar records each font file's SHA-256).

**Split (what training never sees).** The evaluation's synthetic sets
(:func:`pipelines.plates.eval_sets.synthetic_sets`, ``foreign_set``) and the tests draw plates in
the project's plate font (:func:`pipelines.synth.fonts.font_source`, DroidSansMono), with seeds
from :data:`pipelines.plates.eval_sets.SYNTH_SEED`, degraded by
:func:`pipelines.plates.eval_sets.cctv_crop` (rotation, Gaussian blur, noise, JPEG, night
darkening). Training:

- **fonts**: :data:`TRAIN_FONTS` (DejaVu and Liberation faces, Pillow's Aileron): the plate font
  is refused (:func:`training_fonts` raises if it ever appears);
- **seeds**: ``numpy.random.default_rng([TRAIN_STREAM, seed, index])`` (a three-word seed
  sequence: a stream no integer seed of the evaluation or the synthetic city produces); the
  validation crops watched during training use :data:`VAL_STREAM` instead;
- **conditions**: its own degradation (:func:`degrade`): perspective warp, crop anywhere from the
  tight text line to the plate with bumper, plate 14-30 px tall (one in five 30-56), Gaussian or
  motion blur, gamma, night, noise, JPEG 20-90, sometimes inverted.

Crops are grayscale; :func:`to_input` scales one to the model's 32x128 input (height 32, aspect
kept, padded right; contrast stretched between the 2nd and 98th percentile).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import cv2
import numpy as np

from pipelines.plates.text import ALPHABET

INPUT_H = 32
INPUT_W = 128
TRAIN_STREAM = 0x5EC0
VAL_STREAM = 0x5EC1
#: every country the reader has a preset for (the renderer draws each in its style)
COUNTRIES = ["AR", "BR", "PY", "UY", "PE", "SV", "BO", "CL", "CO", "EC", "MX", "GT", "HN", "US", "EU"]
#: the faces training draws with (those present here are used); the plate font is held out
TRAIN_FONTS = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Bold.ttf",
    "pillow:default",
]
PLATE_H_RANGE = (14, 30)  # CCTV plate heights, px (four crops in five) ...
LARGE_H_RANGE = (30, 56)  # ... and the rest larger (plate crops from closer cameras and photos)


def held_out_font() -> str:
    """The face the evaluation sets and the synthetic city draw plates with (never trained on)."""
    from pipelines.synth.fonts import font_source

    return font_source()


@functools.cache
def training_fonts() -> tuple[str, ...]:
    """:data:`TRAIN_FONTS` present on this machine (Pillow's face always is); the held-out plate
    font is refused."""
    from pipelines.synth.fonts import PILLOW_FONT

    held = held_out_font()
    found = tuple(f for f in TRAIN_FONTS if f == PILLOW_FONT or Path(f).is_file())
    for f in found:
        if f != PILLOW_FONT and Path(f).resolve() == Path(held).resolve():
            raise RuntimeError(f"the evaluation font {held} must not be a training font")
    return found


def font_digest(fonts: tuple[str, ...]) -> dict[str, str]:
    """Font -> SHA-256 of its file (Pillow's embedded face: its version), for the sidecar."""
    import PIL

    out = {}
    for f in fonts:
        p = Path(f)
        out[f] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else f"Pillow {PIL.__version__}"
    return out


# ------------------------------------------------------------------------------ text
def random_text(rng: np.random.Generator) -> tuple[str, str, list[str] | None]:
    """(text, country style, character groups or None for the country's own grouping): three in
    four a valid plate of a random country (sometimes with I, O, Q), else 4-8 free characters."""
    from pipelines.synth.plates import L_ALL, L, make_plate

    fmt = COUNTRIES[int(rng.integers(len(COUNTRIES)))]
    if rng.random() < 0.75:
        return make_plate(fmt, rng, L if rng.random() < 0.5 else L_ALL), fmt, None
    n = int(rng.integers(4, 9))
    text = "".join(ALPHABET[int(rng.integers(len(ALPHABET)))] for _ in range(n))
    cuts = sorted({int(c) for c in rng.integers(1, n, size=int(rng.integers(0, 3)))})
    groups = [text[a:b] for a, b in zip([0, *cuts], [*cuts, n], strict=True)]
    return text, fmt, groups


# ------------------------------------------------------------------------------ crops
def _plate_canvas(
    rng: np.random.Generator, text: str, fmt: str, groups: list[str] | None, font: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A gray plate on a bumper, perspective-warped: (image float32, plate corners (4, 2), text
    corners (4, 2)) in the warped image."""
    from pipelines.synth.plates import render_plate_boxed

    h0 = int(rng.integers(48, 84))
    rgb, (tx1, ty1, tx2, ty2) = render_plate_boxed(text, fmt, h0, font_path=font, groups=groups)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gray = gray * float(rng.uniform(0.75, 1.05))  # paint and lighting
    ph, pw = gray.shape
    mx, my = int(pw * 0.3), int(ph * 0.6)
    canvas = np.empty((ph + 2 * my, pw + 2 * mx), np.float32)
    canvas[:] = float(rng.uniform(15, 200))
    canvas += np.asarray(rng.normal(0, float(rng.uniform(0, 12)), canvas.shape), np.float32)
    canvas[my : my + ph, mx : mx + pw] = gray
    plate = np.array([[mx, my], [mx + pw, my], [mx + pw, my + ph], [mx, my + ph]], np.float32)
    tbox = np.array([[mx + tx1, my + ty1], [mx + tx2, my + ty1], [mx + tx2, my + ty2], [mx + tx1, my + ty2]])
    # perspective: each plate corner moved up to 7 % of the plate size, plus a rotation up to 5 deg
    jitter = rng.uniform(-0.07, 0.07, (4, 2)) * np.array([pw, ph])
    ang = np.deg2rad(float(rng.uniform(-5, 5)))
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    centre = plate.mean(axis=0)
    dst = ((plate - centre) @ rot.T + centre + jitter).astype(np.float32)
    m = cv2.getPerspectiveTransform(plate, dst)
    warped = cv2.warpPerspective(
        canvas, m, (canvas.shape[1], canvas.shape[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    tdst = cv2.perspectiveTransform(tbox.astype(np.float32)[None], m)[0]
    return warped, dst, tdst


def _crop_box(
    rng: np.random.Generator, plate: np.ndarray, text: np.ndarray, shape: tuple[int, ...]
) -> tuple[int, int, int, int]:
    """Where the crop is cut: the text line with a margin (what a text detector hands the
    recogniser), or the plate with some bumper (a plate detector's crop)."""
    tx1, ty1 = text.min(axis=0)
    tx2, ty2 = text.max(axis=0)
    th = ty2 - ty1
    if rng.random() < 0.5:
        mv, mh = rng.uniform(0.05, 0.4, 2) * th, rng.uniform(0.0, 0.5, 2) * th
        x1, y1, x2, y2 = tx1 - mh[0], ty1 - mv[0], tx2 + mh[1], ty2 + mv[1]
    else:
        px1, py1 = plate.min(axis=0)
        px2, py2 = plate.max(axis=0)
        ph = py2 - py1
        m = rng.uniform(0.0, 0.35, 4) * ph
        x1, y1, x2, y2 = px1 - m[0], py1 - m[1], px2 + m[2], py2 + m[3]
    hgt, wid = shape[:2]
    x1, y1 = max(0, int(x1)), max(0, int(y1))
    x2, y2 = min(wid, int(np.ceil(x2))), min(hgt, int(np.ceil(y2)))
    return x1, y1, x2, y2


def degrade(rng: np.random.Generator, img: np.ndarray, night: bool) -> np.ndarray:
    """CCTV damage on a small float gray crop: blur, gamma, night, noise, JPEG; uint8 out."""
    if rng.random() < 0.15:
        k = int(rng.integers(2, 4))
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2, :] = 1.0 / k
        if rng.random() < 0.5:
            kernel = kernel.T
        img = cv2.filter2D(img, -1, kernel)
    img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.2, 0.9)))
    img = 255.0 * (np.clip(img, 0, 255) / 255.0) ** float(rng.uniform(0.7, 1.4))
    if night:
        img = float(rng.uniform(5, 30)) + img * float(rng.uniform(0.15, 0.45))
        sigma = float(rng.uniform(2.5, 10))
    else:
        sigma = float(rng.uniform(0.5, 6))
    img = img + rng.normal(0, sigma, img.shape)
    out = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(20, 91))])
    assert ok
    dec = np.asarray(cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE), np.uint8)
    if rng.random() < 0.08:  # light characters on a dark plate (old plates, inverted exposure)
        dec = 255 - dec
    return dec


def render_sample(rng: np.random.Generator, fonts: tuple[str, ...]) -> tuple[np.ndarray, str]:
    """One training crop (gray uint8, CCTV size) and its text."""
    text, fmt, groups = random_text(rng)
    font = fonts[int(rng.integers(len(fonts)))]
    canvas, plate, tbox = _plate_canvas(rng, text, fmt, groups, font)
    x1, y1, x2, y2 = _crop_box(rng, plate, tbox, canvas.shape)
    crop = canvas[y1:y2, x1:x2]
    plate_h = float(plate[:, 1].max() - plate[:, 1].min())
    target = float(rng.uniform(*(PLATE_H_RANGE if rng.random() < 0.8 else LARGE_H_RANGE)))
    f = min(1.0, target / max(plate_h, 1.0))
    small = cv2.resize(
        crop,
        (max(4, int(round(crop.shape[1] * f))), max(4, int(round(crop.shape[0] * f)))),
        interpolation=cv2.INTER_AREA,
    )
    return degrade(rng, small, night=bool(rng.random() < 0.35)), text


def training_sample(seed: int, index: int, fonts: tuple[str, ...] | None = None) -> tuple[np.ndarray, str]:
    """Training crop number ``index`` of the stream ``seed``."""
    rng = np.random.default_rng([TRAIN_STREAM, seed, index])
    return render_sample(rng, fonts or training_fonts())


def validation_sample(index: int, fonts: tuple[str, ...] | None = None) -> tuple[np.ndarray, str]:
    """Validation crop ``index`` (training fonts and conditions, a stream training never draws)."""
    rng = np.random.default_rng([VAL_STREAM, index])
    return render_sample(rng, fonts or training_fonts())


# ------------------------------------------------------------------------------ model input
def to_gray(image: np.ndarray) -> np.ndarray:
    """A BGR (3-channel) or gray uint8 crop as gray."""
    if image.ndim == 2:
        return image
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def to_input(gray: np.ndarray) -> np.ndarray:
    """A gray uint8 crop as the model's (32, 128) float32 input in [-1, 1]: height 32, aspect kept
    (squeezed when wider than 4:1), padded right with the crop's median; contrast stretched."""
    h, w = gray.shape[:2]
    new_w = int(min(INPUT_W, max(8, round(INPUT_H * w / max(h, 1)))))
    img = cv2.resize(gray, (new_w, INPUT_H), interpolation=cv2.INTER_AREA if h > INPUT_H else cv2.INTER_CUBIC)
    img = img.astype(np.float32)
    lo, hi = np.percentile(img, (2, 98))
    img = np.clip((img - lo) / max(hi - lo, 8.0), 0.0, 1.0)
    out = np.full((INPUT_H, INPUT_W), float(np.median(img)), np.float32)
    out[:, :new_w] = img
    return out * 2.0 - 1.0


def encode(text: str) -> list[int]:
    """CTC targets: 1 + index in ALPHABET (0 is the blank)."""
    return [ALPHABET.index(c) + 1 for c in text]
