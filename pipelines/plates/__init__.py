"""Licence-plate detection and reading (RapidOCR PP-OCRv6 + country format presets).

``PlateReader(formats, device, top_n).read(rgb)`` -> list of :class:`PlateRead`;
``read_crop(rgb_crop)`` for recognition only. Plate text (alphabet, :func:`normalize`, the
OCR-confusion table): :mod:`pipelines.plates.text`. Formats: :data:`PRESETS`, :func:`best_format`.
Accuracy on a labelled folder: ``python -m pipelines.plates.evaluate DIR``.

Names are imported lazily, so ``pipelines.plates.text`` (used by search) loads no image library.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DEFAULT_FORMATS": "reader",
    "MODEL_VERSION": "reader",
    "PlateRead": "reader",
    "PlateReader": "reader",
    "PRESETS": "formats",
    "PlateFormat": "formats",
    "best_format": "formats",
    "validate": "formats",
    "normalize": "text",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
