"""The plate evaluation sets: real labelled photos and crops, synthetic CCTV-size plates of every
supported country (day and night), and negative controls (no plate to read).

- ``openalpr_eu``: 108 European car photos, full images (``NAME.txt``: ``file x y w h PLATE``),
  read at a camera registered ``EU``.
- ``peru_angeldx_dev`` (62 crops, ``PE``) and ``chile_enlinea777`` (50 crops, ``CL``):
  ``labels.csv`` = ``file,plate``, hand-checked; recognition only.
- ``synthetic <CC> day|night``: plates rendered by :mod:`pipelines.synth.plates` for each country,
  shrunk to CCTV size (plate 18-26 px tall), then blurred, noised and JPEG-compressed; night
  darkens and lowers the contrast first. Seeds differ from everything the synthetic city uses.
- ``synthetic foreign @AR``: the same kind of crops, one per non-Argentine country, read at a
  camera registered ``AR`` (the camera's format first, then the regional presets, ``generic``
  last): a foreign plate must come out as itself, never "repaired" into the local layout.
- negative controls: frames of the real parking-lot clip (``video/intel_sample_videos``: plates
  far too small to read) and synthetic street frames with shop signs, brand names, street numbers
  and route numbers painted on (:func:`signage_frames`). Every read there is a false plate.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .text import normalize

#: letters each country's registry uses, where the synthetic renderer's default set is wrong
#: (Chile's series since 2007: consonants only, see :data:`pipelines.plates.formats.CL_LETTERS`)
SERIAL_LETTERS = {"CL": "BCDFGHJKLPRSTVWXYZ"}


def _make_plate(cc: str, rng: np.random.Generator) -> str:
    from pipelines.synth.plates import make_plate

    letters = SERIAL_LETTERS.get(cc)
    return make_plate(cc, rng, letters) if letters else make_plate(cc, rng)


#: countries of the synthetic sets; camera format = the preset of the same name
SYNTH_COUNTRIES = ["AR", "BR", "PY", "UY", "PE", "SV", "BO", "CL", "CO", "EC", "MX", "GT", "HN", "US", "EU"]
SYNTH_SEED = 9_100  # far from the synthetic city's seeds


@dataclass
class Sample:
    name: str
    plate: str  # normalized label; "" for a negative control
    kind: str  # "full" (find the plate) or "crop" (recognition only)
    path: Path | None = None
    array: np.ndarray | None = None  # RGB uint8, when generated
    box: tuple[float, float, float, float] | None = None

    def rgb(self) -> np.ndarray:
        if self.array is not None:
            return self.array
        assert self.path is not None
        bgr = cv2.imread(str(self.path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"cannot read image {self.path}")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@dataclass
class EvalSet:
    name: str
    formats: list[str]  # the camera's registered format (first) and what else it accepts
    samples: list[Sample]
    note: str = ""
    tags: dict[str, str] = field(default_factory=dict)


def openalpr_set(folder: Path, formats: list[str] | None = None) -> EvalSet:
    out = []
    for txt in sorted(folder.glob("*.txt")):
        parts = txt.read_text().strip().split("\t")
        if len(parts) < 6:
            continue
        name, x, y, w, h, plate = parts[:6]
        x1, y1 = float(x), float(y)
        out.append(
            Sample(name, normalize(plate), "full", folder / name, box=(x1, y1, x1 + float(w), y1 + float(h)))
        )
    if not out:
        raise FileNotFoundError(f"no labelled images (NAME.txt: file x y w h PLATE) in {folder}")
    return EvalSet(folder.name, formats or ["EU"], out, "full photos: find and read")


def crop_set(folder: Path, formats: list[str]) -> EvalSet:
    """A folder with ``labels.csv`` (``file,plate``) of plate crops."""
    with open(folder / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = [Sample(Path(r["file"]).name, normalize(r["plate"]), "crop", folder / r["file"]) for r in rows]
    if not out:
        raise FileNotFoundError(f"{folder}/labels.csv lists no crops")
    return EvalSet(folder.name, formats, out, "plate crops: recognition only")


def real_sets(shared_plates: Path) -> list[EvalSet]:
    """The real sets present under ``shared/data/plates`` (missing ones are skipped)."""
    out = []
    if (shared_plates / "openalpr_eu").is_dir():
        out.append(openalpr_set(shared_plates / "openalpr_eu"))
    for name, fmt in (("peru_angeldx_dev", "PE"), ("chile_enlinea777", "CL")):
        if (shared_plates / name / "labels.csv").is_file():
            out.append(crop_set(shared_plates / name, [fmt]))
    return out


# ------------------------------------------------------------------------------ synthetic
def cctv_crop(plate_rgb: np.ndarray, height_px: int, night: bool, rng: np.random.Generator) -> np.ndarray:
    """A rendered plate as a CCTV camera's plate crop: ``height_px`` tall, some bumper around it,
    slight tilt, blur, sensor noise and JPEG; at night darker, flatter and noisier."""
    h0, w0 = plate_rgb.shape[:2]
    margin = 0.35
    canvas = np.empty((int(h0 * (1 + 2 * margin)), int(w0 * (1 + margin)), 3), np.float32)
    canvas[:] = rng.uniform(40, 140, 3)
    y0, x0 = int(h0 * margin), int(w0 * margin / 2)
    canvas[y0 : y0 + h0, x0 : x0 + w0] = plate_rgb
    angle = float(rng.uniform(-4, 4))
    m = cv2.getRotationMatrix2D((canvas.shape[1] / 2, canvas.shape[0] / 2), angle, 1.0)
    canvas = cv2.warpAffine(canvas, m, (canvas.shape[1], canvas.shape[0]), borderMode=cv2.BORDER_REPLICATE)
    f = height_px / h0
    small = cv2.resize(canvas, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    if night:
        small = 18 + small * float(rng.uniform(0.25, 0.4))
        small = cv2.GaussianBlur(small, (0, 0), float(rng.uniform(0.6, 0.9)))
        small += rng.normal(0, float(rng.uniform(3, 6)), small.shape)
        quality = int(rng.integers(35, 60))
    else:
        small = cv2.GaussianBlur(small, (0, 0), float(rng.uniform(0.3, 0.7)))
        small += rng.normal(0, float(rng.uniform(1.5, 4)), small.shape)
        quality = int(rng.integers(50, 80))
    out = np.clip(np.rint(small), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def synthetic_sets(n: int = 12, countries: list[str] | None = None, seed: int = SYNTH_SEED) -> list[EvalSet]:
    """Per country, a day and a night set of ``n`` CCTV-size crops at a camera of that country."""
    from pipelines.synth.plates import render_plate

    out = []
    for ci, cc in enumerate(countries or SYNTH_COUNTRIES):
        for night in (False, True):
            rng = np.random.default_rng(seed + 100 * ci + int(night))
            samples = []
            for i in range(n):
                text = _make_plate(cc, rng)
                h = int(rng.integers(18, 24)) if night else int(rng.integers(20, 27))
                crop = cctv_crop(render_plate(text, cc, 72), h, night, rng)
                samples.append(
                    Sample(f"{cc}-{'night' if night else 'day'}-{i:02d}", text, "crop", array=crop)
                )
            out.append(
                EvalSet(
                    f"synthetic {cc} {'night' if night else 'day'}",
                    [cc],
                    samples,
                    "rendered plates at CCTV size",
                    {"country": cc, "night": str(night)},
                )
            )
    return out


def foreign_set(camera_format: str = "AR", per_country: int = 2, seed: int = SYNTH_SEED + 5_000) -> EvalSet:
    """Plates of every other country read at a camera registered ``camera_format``."""
    from pipelines.synth.plates import render_plate

    from .reader import DEFAULT_FORMATS

    rng = np.random.default_rng(seed)
    samples = []
    for cc in SYNTH_COUNTRIES:
        if cc == camera_format:
            continue
        for i in range(per_country):
            text = _make_plate(cc, rng)
            crop = cctv_crop(render_plate(text, cc, 72), int(rng.integers(22, 27)), False, rng)
            samples.append(Sample(f"{cc}@{camera_format}-{i}", text, "crop", array=crop))
    formats = [camera_format] + [f for f in DEFAULT_FORMATS if f != camera_format]
    return EvalSet(
        f"synthetic foreign @{camera_format}",
        formats,
        samples,
        "foreign plates at a camera of another country: read as themselves",
    )


#: layouts no preset fits (Dutch sidecodes, Polish, Russian with region, Cuban, ...): read at a
#: camera of another country they must still come out, as ``generic``
GENERIC_LAYOUTS = ["DDLLLD", "LLDDDDD", "LDDDLLDD", "DLLLDD", "DDDDDLL", "LLDDDLLD"]


def generic_set(camera_format: str = "AR", per_layout: int = 2, seed: int = SYNTH_SEED + 6_000) -> EvalSet:
    """Plates of layouts no preset knows, read at a camera registered ``camera_format`` (its format
    first, then every preset, ``generic`` last)."""
    from pipelines.synth.plates import L, render_plate

    from .reader import DEFAULT_FORMATS

    rng = np.random.default_rng(seed)
    samples = []
    for layout in GENERIC_LAYOUTS:
        for i in range(per_layout):
            text = "".join(
                L[int(rng.integers(len(L)))] if k == "L" else str(int(rng.integers(10))) for k in layout
            )
            crop = cctv_crop(render_plate(text, "EU", 72), int(rng.integers(22, 27)), False, rng)
            samples.append(Sample(f"{layout}@{camera_format}-{i}", text, "crop", array=crop))
    formats = [camera_format] + [f for f in DEFAULT_FORMATS if f != camera_format]
    return EvalSet(
        f"synthetic generic @{camera_format}",
        formats,
        samples,
        "plates of layouts no preset fits: recorded as generic",
    )


# ------------------------------------------------------------------------------ negatives
SIGN_TEXTS = [
    "FARMACIA",
    "KIOSCO 24",
    "OPEN 24H",
    "PIZZERIA",
    "COCA-COLA",
    "SHELL",
    "YPF",
    "SALE 50%",
    "HOTEL",
    "BANCO NACION",
    "AV. CORRIENTES 1234",
    "CALLE 13",
    "LINEA 152",
    "BUS 60",
    "PARE",
    "STOP",
    "TEL 4311-2020",
    "ALQUILER",
    "SE VENDE",
    "CAFE",
    "PANADERIA",
    "TALLER",
    "LAVADERO",
    "GARAGE 3",
    "MOVISTAR",
    "CLARO 4G",
    "ESSO",
    "ZONA 30",
    "ENTRADA",
    "SALIDA B2",
    "NO ESTACIONAR",
    "KM 27",
]


#: seed of the held-out signage control (scenes and texts never used to tune the reader)
HELDOUT_SIGNAGE_SEED = 424_242


def _syllables(rng: np.random.Generator, n: int) -> str:
    cons, vow = "BCDFGKLMNPRSTVZ", "AEIOU"
    return "".join(cons[int(rng.integers(len(cons)))] + vow[int(rng.integers(len(vow)))] for _ in range(n))


def heldout_sign_text(rng: np.random.Generator) -> str:
    """A sign text made up at random, not from a list: invented shop and brand names (syllables),
    the synthetic city's street names with house numbers, level and gate marks, distances, phone
    numbers and prices. The reader was never tuned on these."""
    from pipelines.synth.geo import CITY_PRESETS

    streets = sorted({st for c in CITY_PRESETS.values() for st in c.streets})
    kind = int(rng.integers(9))
    num = int(rng.integers(1, 1000))
    if kind == 0:  # an invented name and a number: "TAKERO 24"
        return f"{_syllables(rng, int(rng.integers(2, 4)))} {num}"
    if kind == 1:  # a street and a house number
        return f"{streets[int(rng.integers(len(streets)))]} {int(rng.integers(1, 5000))}"
    if kind == 2:  # an invented name alone
        return _syllables(rng, int(rng.integers(2, 5)))
    if kind == 3:  # an invented name, a level or gate mark: "LOMIKA B4"
        mark = "ABCDEFGH"[int(rng.integers(8))] + str(int(rng.integers(1, 20)))
        return f"{_syllables(rng, int(rng.integers(2, 4)))} {mark}"
    if kind == 4:  # a mark alone: "C12"
        return "ABCDEFGHKLMNPRST"[int(rng.integers(16))] + str(int(rng.integers(1, 100)))
    if kind == 5:  # a distance
        return f"{num} M" if rng.random() < 0.5 else f"{int(rng.integers(1, 300))} KM"
    if kind == 6:  # a phone number
        return f"{int(rng.integers(1000, 9999))}-{int(rng.integers(1000, 9999))}"
    if kind == 7:  # a price
        return f"$ {int(rng.integers(1, 99))}.{int(rng.integers(100, 999))}"
    # an invented two-word name: "MAKO TIREL"
    return f"{_syllables(rng, 2)} {_syllables(rng, int(rng.integers(2, 4)))}"


def signage_frames(
    n: int = 20,
    seed: int = SYNTH_SEED + 7_000,
    size: tuple[int, int] = (1280, 720),
    texts: list[str] | None = None,
) -> list[np.ndarray]:
    """Synthetic street frames (the synthetic city's painted scene, day and night) with shop signs,
    brand names, street and route numbers on them, and no plate. ``texts``: the sign texts to draw
    from (default :data:`SIGN_TEXTS`); ``texts=[]``: as many texts invented by
    :func:`heldout_sign_text` (seeded by ``seed + 1``)."""
    from PIL import Image, ImageDraw

    from pipelines.synth.fonts import plate_font
    from pipelines.synth.scene import make_geometry, paint_background

    if texts is None:
        pool = SIGN_TEXTS
    elif texts:
        pool = texts
    else:  # as many invented texts as the tuned list has, recurring across frames like its texts
        trng = np.random.default_rng(seed + 1)
        pool = [heldout_sign_text(trng).upper() for _ in range(len(SIGN_TEXTS))]
    rng = np.random.default_rng(seed)
    w, h = size
    frames = []
    for i in range(n):
        night = bool(i % 3 == 2)
        g, layout = make_geometry("street" if i % 2 else "portico", w, h, 28.0)
        bg, _ = paint_background(g, layout, rng, night)
        img = Image.fromarray(bg)
        draw = ImageDraw.Draw(img)
        for _ in range(int(rng.integers(3, 7))):
            text = pool[int(rng.integers(len(pool)))]
            size_px = int(rng.integers(14, 44))
            font = plate_font(size_px)
            bb = draw.textbbox((0, 0), text, font=font)
            tw, th = int(bb[2] - bb[0]), int(bb[3] - bb[1])  # integer pixels (the stubs say float)
            x = int(rng.integers(0, max(1, w - tw - 20)))
            y = int(rng.integers(0, max(1, h - th - 20)))
            board = tuple(int(c) for c in rng.integers(0, 255, 3))
            ink = (255, 255, 255) if sum(board) < 380 else (20, 20, 20)
            draw.rectangle((x - 6, y - 6, x + tw + 6, y + th + 8), fill=board)
            draw.text((x - bb[0], y - bb[1]), text, font=font, fill=ink)
        frame = np.asarray(img).astype(np.float32)
        if night:
            frame = frame * 0.45
        frame += rng.normal(0, 3, frame.shape)
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return frames


def video_frames(path: Path, every_s: float = 1.0) -> tuple[list[np.ndarray], float]:
    """RGB frames of a video every ``every_s`` seconds, and the video's duration in seconds."""
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    step = max(1, int(round(fps * every_s)))
    frames = []
    for fi in range(0, n, step):
        cap.set(cv2.CAP_PROP_POS_FRAMES, fi)
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return frames, n / fps
