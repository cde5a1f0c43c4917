"""A second plate recogniser, trained by the project itself: a second opinion where RapidOCR is weak.

A small CRNN (:mod:`.model`: convolutions over a 32x128 grayscale crop, a bidirectional LSTM over
32 time steps, CTC over blank + the 36 plate characters of :data:`pipelines.plates.text.ALPHABET`),
trained with torch on synthetic plates of every supported country (:mod:`.data`: the synthetic
city's renderer in other fonts, perspective, blur, noise, JPEG, night, CCTV sizes) by
:mod:`.train` (``make train-plates`` / ``pesquisa models train-plates``; deterministic, under an
hour on 2 CPU cores). The weights are committed (``weights/plate_crnn.pt``, with a JSON sidecar:
SHA-256, command, data split, training time); nothing downloads at run time.

The plate reader asks it where RapidOCR's read is weak (:mod:`.hook`: low score, small or dark
crop) and fuses the two candidate lists (setting ``plates.second_recogniser``). Torch is imported
only when the model is loaded (:mod:`.infer`), so importing this package costs nothing.
"""

from __future__ import annotations

from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
#: the committed weights of the second recogniser and their sidecar (hash, command, split, timing)
WEIGHTS = WEIGHTS_DIR / "plate_crnn.pt"
SIDECAR = WEIGHTS_DIR / "plate_crnn.json"


def missing_weights(path: Path = WEIGHTS) -> str | None:
    """Why the weights cannot be used (absent file), or None."""
    if not Path(path).is_file():
        return f"second recogniser weights {path} are missing (rebuild: make train-plates)"
    return None
