"""Run the second recogniser on plate crops: per-timestep probabilities in the reader's layout.

:meth:`SecondRecogniser.recognize` returns one :class:`pipelines.plates.engine.LineText` per crop,
like RapidOCR's engine: the greedy text, each character's probability and its ``A-Z0-9``
alternatives (what :func:`pipelines.plates.decode.rank_candidates` ranks), and the (T, 38) reduced
distribution (blank, ``A-Z0-9``, other: always 0 here) that :mod:`pipelines.plates.fusion` fuses.
Torch is imported here, when a recogniser is built; the device is picked at run time
(:func:`pipelines.device.torch_device`: CUDA when present and allowed, else CPU).
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import numpy as np

from pipelines.plates.engine import LineText
from pipelines.plates.text import ALPHABET

from . import WEIGHTS, missing_weights
from .data import to_gray, to_input

MODEL_NAME = "plate-crnn-v1"


class SecondRecogniser:
    """The trained :class:`.model.PlateCRNN` on ``device`` (``auto``: CUDA when present)."""

    def __init__(self, weights: Path = WEIGHTS, device: str = "auto") -> None:
        import torch

        from pipelines.device import torch_device

        from .model import PlateCRNN

        why = missing_weights(weights)
        if why:
            raise FileNotFoundError(why)
        self.device = torch_device(device)
        self.weights = Path(weights)
        model = PlateCRNN()
        state = torch.load(self.weights, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
        model.eval()
        self.model = model.to(self.device)
        self._lock = threading.Lock()

    def probabilities(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        """(T, 38) probabilities per crop (BGR or gray uint8): blank, ``A-Z0-9``, other (0)."""
        import torch

        if not crops:
            return []
        x = torch.from_numpy(np.stack([to_input(to_gray(c)) for c in crops])[:, None]).to(self.device)
        with self._lock, torch.inference_mode():
            p = self.model(x).exp().permute(1, 0, 2).cpu().numpy()  # (N, T, 37)
        other = np.zeros(p.shape[:2] + (1,), np.float32)
        return list(np.concatenate([p.astype(np.float32), other], axis=2))

    def recognize(self, crops: list[np.ndarray]) -> list[LineText]:
        """One :class:`LineText` per crop, as RapidOCR's engine gives them."""
        return [line_text(p) for p in self.probabilities(crops)]


def line_text(ctc: np.ndarray) -> LineText:
    """Greedy CTC decode of a (T, 38) distribution keeping, per character, its best step's
    ``A-Z0-9`` distribution (the layout of :class:`LineText`)."""
    idx = ctc.argmax(axis=1)
    chars: list[str] = []
    rows: list[int] = []
    prev = 0
    for t, k in enumerate(idx):
        if 0 < k <= len(ALPHABET) and k != prev:
            chars.append(ALPHABET[k - 1])
            rows.append(t)
        elif k == prev and 0 < k <= len(ALPHABET) and ctc[t, k] > ctc[rows[-1], k]:
            rows[-1] = t
        prev = k
    alt = ctc[rows, 1 : 1 + len(ALPHABET)] if rows else np.zeros((0, len(ALPHABET)), np.float32)
    probs = np.array([ctc[r, idx[r]] for r in rows], np.float32)
    return LineText("".join(chars), probs, np.asarray(alt, np.float32), ctc.astype(np.float32))


@functools.cache
def load_recogniser(device: str = "auto", weights: str = str(WEIGHTS)) -> SecondRecogniser:
    """One recogniser per process, device and weights file (loads in well under a second)."""
    return SecondRecogniser(Path(weights), device)
