"""Enrolling faces: one 128-d descriptor per photo, with the face models of :mod:`pipelines.faces`
(the probe face of each photo, as face search uses it)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.watchlist.entries import WatchlistError


@dataclass(frozen=True)
class Enrolled:
    name: str
    sha256: str
    embedding: np.ndarray
    quality: float


def enrol_photos(photos: Sequence[str | Path], analyzer: Any = None) -> list[Enrolled]:
    """A descriptor per photo; a photo that cannot be read or shows no face is refused (nothing is
    enrolled)."""
    from pipelines.faces import ImageReadError, load_image_rgb
    from pipelines.search.faces import default_analyzer

    if not photos:
        raise WatchlistError("a face entry needs at least one photo")
    analyzer = analyzer or default_analyzer()
    out = []
    for photo in photos:
        path = Path(photo)
        try:
            data = path.read_bytes()
            image = load_image_rgb(path)
        except (OSError, ImageReadError) as exc:
            raise WatchlistError(f"cannot read photo {path}: {exc}") from None
        det = analyzer.probe(image)
        if det is None:
            raise WatchlistError(f"no face found in {path}")
        out.append(
            Enrolled(
                path.name,
                hashlib.sha256(data).hexdigest(),
                np.asarray(det.embedding, np.float32),
                float(det.quality),
            )
        )
    return out
