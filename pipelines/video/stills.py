"""Still images (plate-reader snapshots, photos): pixels upright per EXIF, and when they were taken.

Capture time comes from EXIF ``DateTimeOriginal`` (with ``OffsetTimeOriginal`` when present;
without an offset the camera clock is taken as UTC). Callers fall back to the file's mtime.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipelines.video.errors import DecodeError

_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 36867
_OFFSET_TIME_ORIGINAL = 36881
_DATETIME = 306


@dataclass
class Still:
    image: np.ndarray  # RGB uint8, upright
    taken: dt.datetime | None  # UTC from EXIF, or None
    width: int
    height: int


def load_still(path: str | os.PathLike[str]) -> Still:
    """Decode a still. Raises :class:`DecodeError` for empty, truncated or non-image files."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise DecodeError(f"cannot read file: {exc.strerror or exc}") from exc
    if size == 0:
        raise DecodeError("empty file (0 bytes)")
    try:
        with Image.open(p) as im:
            im.load()
            taken = exif_time(im)
            upright = ImageOps.exif_transpose(im)
            rgb = np.asarray(upright.convert("RGB"), dtype=np.uint8)
    except UnidentifiedImageError as exc:
        raise DecodeError("not an image (unrecognised data)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise DecodeError(f"corrupt or truncated image: {exc}") from exc
    if rgb.ndim != 3 or rgb.shape[0] < 2 or rgb.shape[1] < 2:
        raise DecodeError(f"image too small or malformed: shape {rgb.shape}")
    return Still(np.ascontiguousarray(rgb), taken, int(rgb.shape[1]), int(rgb.shape[0]))


def exif_time(im) -> dt.datetime | None:  # noqa: ANN001 - a PIL image
    """EXIF DateTimeOriginal (else DateTime) as an aware UTC datetime, or None."""
    try:
        exif = im.getexif()
    except Exception:
        return None
    if not exif:
        return None
    sub = exif.get_ifd(_EXIF_IFD) if hasattr(exif, "get_ifd") else {}
    raw = sub.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    if not raw:
        return None
    try:
        naive = dt.datetime.strptime(str(raw).strip().rstrip("\x00"), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = sub.get(_OFFSET_TIME_ORIGINAL)
    tz = dt.UTC
    if offset:
        try:
            sign = -1 if str(offset).startswith("-") else 1
            hh, mm = str(offset).lstrip("+-").split(":")[:2]
            tz = dt.timezone(sign * dt.timedelta(hours=int(hh), minutes=int(mm)))
        except ValueError:
            tz = dt.UTC
    return naive.replace(tzinfo=tz).astimezone(dt.UTC)
