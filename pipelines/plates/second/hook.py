"""The second opinion in the plate reader: where RapidOCR's read is weak, ask the second recogniser
and fuse the two candidate lists.

**When** (:meth:`SecondOpinion.weak`): the first read's best candidate scores below
``plates.second_below`` (nothing fits counts as 0), or its line crop is small (under
:data:`SMALL_PX` px tall), or flat/dark (the 5-95 percentile spread of its gray levels under
:data:`FLAT_SPREAD`: night). Strong reads never pay for the second model.

**How** (:func:`fuse_candidates`): candidate-level fusion. Each recogniser's line goes through the
same format-constrained decoding (:func:`pipelines.plates.decode.rank_candidates`: the camera's
format and the presets, letters where the layout wants letters, caption words and country codes
dropped, stray characters trimmed); each candidate text is then scored by the weighted geometric
mean of its two scores, a text missing from one list taking half that list's lowest score. Why
here and not inside the CTC fusion of :mod:`pipelines.plates.fusion`: the two models see the
crop on different time axes (RapidOCR 48 px high, about 40 steps; ours 32 px, 32 steps) and
RapidOCR's line often holds more than the plate (a country code, a caption, a bolt) that the
decoder removes as a *variant* of the line, which a CTC likelihood over the whole line cannot
express; candidate scores already carry the variants, the format prior and the repairs. The
second recogniser's (T, 38) distribution uses the reader's reduced layout, so a track's frames
could be fused on it too (:func:`pipelines.plates.fusion.fuse_frames`); the reader keeps
RapidOCR's for that.

**Whether** (setting ``plates.second_recogniser``): ``on``, ``off``, or ``auto`` = the measured
default :data:`MEASURED_DEFAULT` (benchmarks/RESULTS.md, "Second recogniser"): on only if it
raised accuracy on a real set the model never saw and lowered none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pipelines.plates.decode import Candidate, CharSeq, generic_last, prefer_unrepaired, rank_candidates
from pipelines.plates.formats import PlateFormat
from pipelines.plates.words import is_non_plate_text

#: what ``plates.second_recogniser: auto`` means, decided by the evaluation (RESULTS.md)
MEASURED_DEFAULT = "off"
MODES = ("auto", "on", "off")
WEAK_SCORE = 0.5  # default of plates.second_below
SMALL_PX = 20  # a line crop under this height is small
FLAT_SPREAD = 90.0  # gray 95th - 5th percentile under this: flat or dark (night)
SECOND_WEIGHT = 0.5  # exponent of the second recogniser's score in the fused score
MISSING = 0.5  # a text absent from a list scores this fraction of that list's lowest score
EMPTY_FLOOR = 0.02  # ... and this when the list is empty (the second alone cannot make a strong read)


def spread(crop: np.ndarray) -> float:
    """The 5-95 percentile spread of a crop's gray levels."""
    gray = crop if crop.ndim == 2 else crop.mean(axis=2)
    lo, hi = np.percentile(gray, (5, 95))
    return float(hi - lo)


def fuse_candidates(
    first: list[Candidate],
    second: list[Candidate],
    *,
    weight: float = SECOND_WEIGHT,
    top_n: int = 5,
    local: str | None = None,
) -> list[Candidate]:
    """Both recognisers' candidates ranked by ``first ** (1 - weight) * second ** weight`` (a text
    one list lacks takes :data:`MISSING` of that list's lowest score); per-character confidences
    combined the same way where both lists hold the text. The rules of
    :func:`rank_candidates` still hold: ``generic`` last, a foreign plate read as seen kept."""
    a = {c.text: c for c in first}
    b = {c.text: c for c in second}
    floor_a = MISSING * min(c.score for c in first) if first else EMPTY_FLOOR
    floor_b = MISSING * min(c.score for c in second) if second else EMPTY_FLOOR
    out: list[Candidate] = []
    for text in sorted(a.keys() | b.keys()):
        ca, cb = a.get(text), b.get(text)
        sa = ca.score if ca else floor_a
        sb = cb.score if cb else floor_b
        score = float(max(sa, 1e-12) ** (1.0 - weight) * max(sb, 1e-12) ** weight)
        base = ca or cb
        assert base is not None
        probs = list(base.char_probs)
        if ca and cb and len(ca.char_probs) == len(cb.char_probs):
            probs = [
                float(max(p, 1e-12) ** (1.0 - weight) * max(q, 1e-12) ** weight)
                for p, q in zip(ca.char_probs, cb.char_probs, strict=True)
            ]
        repairs = min(c.repairs for c in (ca, cb) if c is not None)
        out.append(Candidate(text, score, base.plate_format, base.pattern, probs, repairs))
    out.sort(key=lambda c: (-c.score, c.text))
    ranked = generic_last(out)
    if local is not None:
        ranked = prefer_unrepaired(ranked, local)
    return ranked[:top_n]


class SecondOpinion:
    """The second recogniser as the reader uses it: :meth:`revise` a weak read's candidates."""

    def __init__(
        self,
        recogniser: Any | Callable[[], Any],
        below: float = WEAK_SCORE,
        weight: float = SECOND_WEIGHT,
    ) -> None:
        self._recogniser = recogniser
        self.below = below
        self.weight = weight
        self.asked = 0  # weak reads the second recogniser was asked about
        self.changed = 0  # ... whose best text it changed

    @property
    def recogniser(self) -> Any:
        """The model, loaded on first use (a reader that never meets a weak read never loads torch)."""
        if callable(self._recogniser) and not hasattr(self._recogniser, "recognize"):
            self._recogniser = self._recogniser()
        return self._recogniser

    def weak(self, cands: list[Candidate], crops: list[np.ndarray]) -> bool:
        if not crops:
            return False
        if not cands or cands[0].score < self.below:
            return True
        if min(c.shape[0] for c in crops) < SMALL_PX:
            return True
        return min(spread(c) for c in crops) < FLAT_SPREAD

    def revise(
        self,
        cands: list[Candidate],
        crops: list[np.ndarray],
        formats: list[PlateFormat],
        top_n: int,
        *,
        registered: bool = True,
    ) -> list[Candidate]:
        """``cands`` (RapidOCR's, best first) fused with the second recogniser's reading of ``crops``
        (the line, or a two-row plate's rows top first) when the read is weak; else unchanged."""
        if not formats or not self.weak(cands, crops):
            return cands
        self.asked += 1
        texts = self.recogniser.recognize(crops)
        seqs = [CharSeq.from_line(t.text, t.alnum_probs) for t in texts]
        seq = seqs[0] if len(seqs) == 1 else CharSeq.join(seqs)
        second = [
            c
            for c in rank_candidates(seq, formats, top_n, registered=registered)
            if not is_non_plate_text(c.text)
        ]
        if not second:
            return cands
        fused = fuse_candidates(cands, second, weight=self.weight, top_n=top_n, local=formats[0].name)
        if fused and (not cands or fused[0].text != cands[0].text):
            self.changed += 1
        return fused


def resolve_mode(mode: str | None = None) -> tuple[bool, float]:
    """(use the second recogniser?, weak-score threshold) for ``mode`` (None: the settings)."""
    below = WEAK_SCORE
    if mode is None:
        from lakehouse.settings import get_settings

        s = get_settings().plates
        mode, below = s.second_recogniser, s.second_below
    if mode not in MODES:
        raise ValueError(f"plates.second_recogniser must be one of {', '.join(MODES)}, not {mode!r}")
    return (MEASURED_DEFAULT if mode == "auto" else mode) == "on", below


def second_opinion(mode: str | None = None, device: str = "auto") -> SecondOpinion | None:
    """The reader's second opinion for ``mode`` (``on``/``off``/``auto``; None: the
    ``plates.second_recogniser`` setting), or None when off. ``on`` without torch or the weights
    is a clear error; ``auto`` then quietly stays off."""
    from pipelines.models import BackendUnavailableError, select

    use, below = resolve_mode(mode)
    if not use:
        return None
    try:
        backend = select("plate_second", None, device)
    except BackendUnavailableError:
        if mode == "on" or (mode is None and _configured_mode() == "on"):
            raise
        return None
    return SecondOpinion(backend.recogniser, below)  # type: ignore[attr-defined]


def _configured_mode() -> str:
    from lakehouse.settings import get_settings

    return str(get_settings().plates.second_recogniser)
