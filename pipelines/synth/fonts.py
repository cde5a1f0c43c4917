"""Fonts for plates and signs, taken from packages already installed (nothing is downloaded).

Order of preference: a monospaced TrueType face shipped inside an installed package (matplotlib's
DejaVu Sans Mono Bold, captcha's Droid Sans Mono), then the TrueType face Pillow embeds
(``ImageFont.load_default(size)``, Aileron Regular), which always exists when Pillow has FreeType.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from PIL import ImageFont

__all__ = ["PILLOW_FONT", "font_source", "plate_font"]

#: ``plate_font(size, PILLOW_FONT)``: the face Pillow embeds (Aileron Regular), present everywhere
PILLOW_FONT = "pillow:default"

#: (package, path inside the package) of TrueType faces worth using for plates, best first
_CANDIDATES = [
    ("matplotlib", "mpl-data/fonts/ttf/DejaVuSansMono-Bold.ttf"),
    ("matplotlib", "mpl-data/fonts/ttf/DejaVuSansMono.ttf"),
    ("captcha", "data/DroidSansMono.ttf"),
]


@functools.cache
def _find_ttf() -> Path | None:
    for pkg, rel in _CANDIDATES:
        try:
            spec = importlib.util.find_spec(pkg)
        except (ImportError, ValueError):
            continue
        if spec is None or not spec.submodule_search_locations:
            continue
        for loc in spec.submodule_search_locations:
            p = Path(loc) / rel
            if p.is_file():
                return p
    return None


def font_source() -> str:
    """Which font the plates are drawn with (for logs and the manifest notes)."""
    p = _find_ttf()
    return str(p) if p else "Pillow built-in (Aileron Regular)"


@functools.cache
def plate_font(size: int, path: str | None = None) -> ImageFont.FreeTypeFont:
    """The plate font at ``size`` px; ``path``: that TrueType file instead (the second plate
    recogniser trains on other faces than the one the synthetic city and the evaluation draw with)."""
    if path == PILLOW_FONT:
        return ImageFont.load_default(size=size)  # type: ignore[return-value]
    if path is not None:
        return ImageFont.truetype(path, size)
    p = _find_ttf()
    if p is not None:
        return ImageFont.truetype(str(p), size)
    return ImageFont.load_default(size=size)  # type: ignore[return-value]
