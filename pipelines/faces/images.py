"""Reading stills for face enrolment and search: any common image file to an RGB uint8 array.

Handles EXIF orientation, palette/RGBA/LA (composited on white), grayscale, 16-bit and float images.
Unreadable input raises :class:`ImageReadError` naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class ImageReadError(ValueError):
    """The file is missing, not an image, truncated, or in a format that cannot be decoded."""


#: largest still decoded (pixels): a 48 MP phone photo passes; a decompression bomb is refused before
#: any pixel is decoded (Pillow's own MAX_IMAGE_PIXELS only warns below twice its ~89 MP default)
MAX_PIXELS = 64_000_000


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Scale any numeric array to uint8 (16-bit by /257, floats in 0..1 or 0..255, others by range)."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.floating):
        a = np.nan_to_num(arr.astype(np.float32))
        hi = float(a.max()) if a.size else 0.0
        if hi <= 1.0:
            a = a * 255.0
        elif hi > 255.0:
            lo = float(a.min())
            a = (a - lo) * (255.0 / max(hi - lo, 1e-6))
        return np.clip(np.rint(a), 0, 255).astype(np.uint8)
    a = arr.astype(np.int64)
    hi = int(a.max()) if a.size else 0
    if hi <= 255:
        return np.clip(a, 0, 255).astype(np.uint8)
    if hi <= 65535:
        return np.clip(a // 257, 0, 255).astype(np.uint8)
    lo = int(a.min())
    return ((a - lo) * 255 // max(hi - lo, 1)).astype(np.uint8)


def as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """A contiguous HxWx3 uint8 RGB view of ``image`` (HxW, HxWx1, HxWx3 or HxWx4; any numeric dtype).

    An alpha channel is dropped (frames and decoded stills carry no meaningful transparency)."""
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4) or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"expected an HxW, HxWx3 or HxWx4 image, got shape {arr.shape}")
    arr = _to_uint8(arr)
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    elif arr.shape[2] == 4:
        arr = arr[:, :, :3]
    return np.ascontiguousarray(arr)


def load_image_rgb(path: str | Path) -> np.ndarray:
    """Read an image file as an upright RGB uint8 array (HxWx3).

    EXIF orientation is applied; transparent images are composited on white; grayscale, 16-bit and
    floating-point images are scaled to 8 bits. Raises :class:`ImageReadError` naming the file when it
    is missing or cannot be decoded."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise ImageReadError(f"cannot read image {p}: no such file")
    try:
        with Image.open(p) as opened:
            img: Image.Image = opened
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise ImageReadError(
                    f"cannot read image {p}: {w} x {h} pixels is more than the {MAX_PIXELS // 1_000_000} MP "
                    "allowed (a decompression bomb?)"
                )
            img.load()
            try:
                img = ImageOps.exif_transpose(img)
            except Exception:  # a corrupt EXIF block must not make a good picture unreadable
                pass
            return _pil_to_rgb(img)
    except UnidentifiedImageError as e:
        raise ImageReadError(f"cannot read image {p}: not a recognised image format") from e
    except ImageReadError:
        raise
    except Image.DecompressionBombError as e:
        raise ImageReadError(f"cannot read image {p}: {e}") from e
    except (OSError, SyntaxError, ValueError) as e:  # truncated/corrupt data, decoder errors
        raise ImageReadError(f"cannot read image {p}: {e}") from e


def _pil_to_rgb(img) -> np.ndarray:
    from PIL import Image

    mode = img.mode
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    if mode in ("RGB", "L", "1", "CMYK", "YCbCr", "LAB", "HSV"):
        return as_rgb_uint8(np.asarray(img.convert("RGB")))
    # I;16*, I (32-bit int) and F (float): scale with numpy; Pillow's convert("RGB") would clip.
    return as_rgb_uint8(np.asarray(img))
