"""Licence-plate detection and reading (RapidOCR PP-OCRv6 + country format presets).

``PlateReader(formats, device, top_n).read(rgb)`` -> list of :class:`PlateRead`;
``read_crop(rgb_crop)`` for recognition only. Formats: :data:`PRESETS`, :func:`normalize`,
:func:`best_format`. Accuracy on a labelled folder: ``python -m pipelines.plates.evaluate DIR``.
"""

from .formats import PRESETS, PlateFormat, best_format, normalize, validate
from .reader import DEFAULT_FORMATS, MODEL_VERSION, PlateRead, PlateReader

__all__ = [
    "DEFAULT_FORMATS",
    "MODEL_VERSION",
    "PRESETS",
    "PlateFormat",
    "PlateRead",
    "PlateReader",
    "best_format",
    "normalize",
    "validate",
]
