"""One plate read over the frames of a track: CTC-aware fusion of the recogniser's probabilities.

Each frame's recognition keeps its per-timestep distribution reduced to 38 classes (blank, the 36
``A-Z0-9`` with upper and lower case pooled, everything else): :attr:`LineText.ctc`. Fusion:

1. **Candidates.** Every frame's format-constrained candidates (:func:`rank_candidates`), plus
   the candidates of a position-wise fused sequence: the frames whose greedy read has the most
   common length, their per-character distributions combined by summed log-probabilities.
2. **Scoring.** Each candidate text is scored on EVERY frame by the CTC likelihood of that text
   under the frame's distribution (forward algorithm: no alignment guess, a frame that saw one
   character more or less still votes on the rest); the log-likelihoods are summed over frames.
   Candidates rank by that sum (per frame) plus the log of their format prior (the camera's
   format, a regional preset, or ``generic``). Per-character confidences come from the fused
   result: the mean over frames of each character's probability on its best (Viterbi)
   alignment; the read's score is their product times the format prior, the same form as a
   one-frame read's score, and the other candidates' scores follow their likelihood ratio.

A vote over whole strings needs one frame to be right; this needs every character to be seen
right more often than wrong across the frames (tests: 5 noisy frames of a synthetic plate, none
read exactly, fused exactly).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .decode import FOREIGN_PRIOR, GENERIC, CharSeq, candidate_prior, rank_candidates
from .formats import ALNUM, PlateFormat, get_format, parse_pattern
from .text import TWINS

BLANK = 0
OTHER = len(ALNUM) + 1  # 37: any character outside A-Z0-9 (separators, symbols, CJK, ...)
N_CLASSES = len(ALNUM) + 2
_EPS = 1e-12


def greedy_seq(ctc: np.ndarray) -> CharSeq:
    """The greedy (best path) read of a reduced (T, 38) distribution, as a :class:`CharSeq`."""
    idx = ctc.argmax(axis=1)
    chars: list[str] = []
    rows: list[int] = []
    prev = -1
    for t, k in enumerate(idx):
        if k not in (BLANK, OTHER) and k != prev:
            chars.append(ALNUM[k - 1])
            rows.append(t)
        elif k == prev and k not in (BLANK, OTHER) and ctc[t, k] > ctc[rows[-1], k]:
            rows[-1] = t
        prev = k
    alt = ctc[rows, 1 : 1 + len(ALNUM)] if rows else np.zeros((0, len(ALNUM)), np.float32)
    return CharSeq("".join(chars), np.asarray(alt, np.float32), [0] * len(chars), "".join(chars))


def _labels(text: str) -> np.ndarray:
    return np.array([ALNUM.index(c) + 1 for c in text], np.int64)


def ctc_log_likelihood(logp: np.ndarray, text: str) -> float:
    """log P(text | frame) under CTC (sum over every alignment; ``logp`` is (T, 38) log-probs)."""
    lab = _labels(text)
    t_len = logp.shape[0]
    s = 2 * len(lab) + 1
    ext = np.zeros(s, np.int64)
    ext[1::2] = lab
    if t_len == 0:
        return -np.inf
    # transitions from s-2 allowed where ext[s] is a label different from ext[s-2]
    skip = np.zeros(s, bool)
    skip[3::2] = lab[1:] != lab[:-1]
    alpha = np.full(s, -np.inf)
    alpha[0] = logp[0, BLANK]
    if s > 1:
        alpha[1] = logp[0, ext[1]]
    for t in range(1, t_len):
        prev = alpha
        a1 = np.concatenate([[-np.inf], prev[:-1]])
        a2 = np.concatenate([[-np.inf, -np.inf], prev[:-2]])
        a2 = np.where(skip, a2, -np.inf)
        alpha = np.logaddexp(np.logaddexp(prev, a1), a2) + logp[t, ext]
    return float(np.logaddexp(alpha[-1], alpha[-2]) if s > 1 else alpha[-1])


def ctc_char_posteriors(logp: np.ndarray, text: str) -> np.ndarray:
    """Per character of ``text``, its probability at its best timestep on the Viterbi alignment."""
    lab = _labels(text)
    t_len = logp.shape[0]
    s = 2 * len(lab) + 1
    ext = np.zeros(s, np.int64)
    ext[1::2] = lab
    skip = np.zeros(s, bool)
    skip[3::2] = lab[1:] != lab[:-1]
    score = np.full((t_len, s), -np.inf)
    back = np.zeros((t_len, s), np.int64)
    score[0, 0] = logp[0, BLANK]
    if s > 1:
        score[0, 1] = logp[0, ext[1]]
    for t in range(1, t_len):
        prev = score[t - 1]
        cand = np.stack(
            [
                prev,
                np.concatenate([[-np.inf], prev[:-1]]),
                np.where(skip, np.concatenate([[-np.inf, -np.inf], prev[:-2]]), -np.inf),
            ]
        )
        k = cand.argmax(axis=0)
        score[t] = cand[k, np.arange(s)] + logp[t, ext]
        back[t] = k
    st = s - 1 if s == 1 or score[-1, -1] >= score[-1, -2] else s - 2
    best = np.full(len(lab), -np.inf)
    for t in range(t_len - 1, -1, -1):
        if st % 2 == 1:
            best[st // 2] = max(best[st // 2], logp[t, ext[st]])
        st -= back[t, st]
    return np.exp(best)


@dataclass
class FusedRead:
    text: str
    score: float
    plate_format: str
    candidates: list[tuple[str, float]]
    char_confidences: list[float]
    frames: int


def fuse_frames(
    frames: list[np.ndarray],
    formats: list[str] | list[PlateFormat],
    top_n: int = 5,
    beam: int = 8,
    *,
    registered: bool = True,
) -> FusedRead | None:
    """The plate read of a track from its frames' reduced (T, 38) distributions; None: nothing fits.

    Candidates: the joint CTC beam search under every strict pattern of ``formats`` (and, for
    formats with a loose length range, under free ``A-Z0-9`` slots of the lengths the frames saw),
    plus each frame's own candidates; each is scored on all frames."""
    frames = [np.asarray(f, np.float64) for f in frames if f is not None and len(f)]
    if not frames:
        return None
    fmts = [f if isinstance(f, PlateFormat) else get_format(f) for f in formats]
    logps = [_log_probs(f) for f in frames]
    seqs = [greedy_seq(f.astype(np.float32)) for f in frames]
    lengths = {len(s) for s in seqs if len(s) >= 2}
    near = {n + d for n in lengths for d in (-1, 0, 1)}
    # (format name, loose?, prior) per slot pattern; the first format listing a pattern owns it.
    # As in rank_candidates: the camera's format (formats[0]) at prior 1, other presets strict only
    # at FOREIGN_PRIOR, loose ranges only for the camera's format and ``generic``.
    owners: dict[tuple[str, ...], tuple[str, bool, float]] = {}
    for rank, f in enumerate(fmts):
        for pat in f.patterns:
            slots = parse_pattern(pat)
            if len(slots) in near:  # only lengths some frame saw (give or take one character)
                owners.setdefault(slots, (f.name, False, 1.0 if rank == 0 else FOREIGN_PRIOR))
        if f.loose_lengths and (rank == 0 or f.name == GENERIC):
            lo, hi = f.loose_lengths
            for n in sorted(near):
                if lo <= n <= hi:
                    owners.setdefault((ALNUM,) * n, (f.name, True, 1.0))
    scorer = _Scorer(logps)
    # as in rank_candidates: where the camera's own layout fixes the class, O/0 and I/1 count as one
    # shape (the pair's pooled probability) and the layout decides; loose reads keep the model's
    # choice. Without this a layout's letter O lost to a loose read of the digit the model prefers.
    pooled_logps = [_pool_twins(lp) for lp in logps]
    pooled: _Scorer | None = None
    pool: dict[str, tuple[str, bool, float]] = {}
    for _, text, slots in joint_decode(scorer, list(owners), beam=beam):
        pool.setdefault(text, owners[slots])
    for s in seqs:
        for c in rank_candidates(s, fmts, top_n, registered=registered):
            loose = set(c.pattern) == {"A"}
            pool.setdefault(
                c.text, (c.plate_format, loose, 1.0 if c.plate_format == fmts[0].name else FOREIGN_PRIOR)
            )
    if not pool:
        return None
    n = len(frames)
    scored = []
    own_strict: set[str] = set()
    for text, (fname, loose, fprior) in pool.items():
        if fname == fmts[0].name and not loose:
            pooled = pooled or _Scorer(pooled_logps)
            ll = pooled.log_likelihood(text)
            own_strict.add(text)
        else:
            ll = scorer.log_likelihood(text)
        prior = candidate_prior(text, fname, loose, fprior == 1.0, registered)
        scored.append((ll / n + float(np.log(prior)), text, fname, prior))
    scored.sort(key=lambda x: -x[0])
    best_key, best_text, best_fmt, best_prior = scored[0]
    lps = pooled_logps if best_text in own_strict else logps
    conf = np.mean([ctc_char_posteriors(lp, best_text) for lp in lps], axis=0)
    best_score = float(min(1.0, best_prior * float(np.prod(conf))))
    return FusedRead(
        text=best_text,
        score=best_score,
        plate_format=best_fmt,
        candidates=[(t, float(min(1.0, best_score * np.exp(k - best_key)))) for k, t, _, _ in scored[:top_n]],
        char_confidences=[float(x) for x in conf],
        frames=n,
    )


def _log_probs(ctc: np.ndarray) -> np.ndarray:
    """Normalised log-probabilities with OTHER merged into blank: separators and symbols between
    the characters are not part of a plate's text, so emitting one is like emitting nothing."""
    p = ctc / np.clip(ctc.sum(axis=1, keepdims=True), _EPS, None)
    p = p.copy()
    p[:, BLANK] += p[:, OTHER]
    p[:, OTHER] = 0.0
    return np.log(np.clip(p, _EPS, None))


def _pool_twins(lp: np.ndarray) -> np.ndarray:
    """``lp`` with each twin pair's columns (O/0, I/1) both set to the pair's summed probability."""
    out = lp.copy()
    for a, b in TWINS:
        ia, ib = ALNUM.index(a) + 1, ALNUM.index(b) + 1
        out[:, ia] = out[:, ib] = np.logaddexp(lp[:, ia], lp[:, ib])
    return out


# ---------------------------------------------------------------------- joint CTC beam search
def _stack(logps: list[np.ndarray]) -> np.ndarray:
    """(F, T, 38) log-probs, shorter frames padded with certain blanks (which change no likelihood)."""
    t_max = max(lp.shape[0] for lp in logps)
    out = np.full((len(logps), t_max, N_CLASSES), np.log(_EPS))
    out[:, :, BLANK] = 0.0
    for i, lp in enumerate(logps):
        out[i, : lp.shape[0]] = lp
    return out


@dataclass
class _Prefix:
    text: str
    lb: np.ndarray  # (F, T) log P(prefix emitted by time t, ending in blank)
    lnb: np.ndarray  # (F, T) ... ending in its last character
    score: float  # summed over frames: log P(some labelling starting with the prefix)


def _extend(lp: np.ndarray, pre: _Prefix, chars: str) -> list[_Prefix]:
    """Every one-character extension of ``pre`` by ``chars``, all frames at once (vectorized over
    time with cumulative log-sums instead of a loop)."""
    f, t_len, _ = lp.shape
    cols = np.array([ALNUM.index(c) + 1 for c in chars])
    y = lp[:, :, cols]  # (F, T, K)
    both = np.logaddexp(pre.lb, pre.lnb)  # (F, T): the prefix emitted by time t (the empty one: blanks)
    prev = np.repeat(both[:, :, None], len(cols), axis=2)
    if pre.text:
        last = ALNUM.index(pre.text[-1]) + 1
        prev[:, :, cols == last] = pre.lb[:, :, None]  # a repeated character needs a blank between
        start = np.full((f, 1, len(cols)), -np.inf)
    else:
        start = np.zeros((f, 1, len(cols)))  # before the first frame the empty prefix is certain
    # prev_ext[s] for s = -1 .. T-2 (state before emitting at time s + 1)
    prev_ext = np.concatenate([start, prev[:, :-1]], axis=1)  # (F, T, K)
    ycum = np.cumsum(y, axis=1)
    ycum_ext = np.concatenate([np.zeros((f, 1, len(cols))), ycum[:, :-1]], axis=1)
    lnb = ycum + np.logaddexp.accumulate(prev_ext - ycum_ext, axis=1)
    bcum = np.cumsum(lp[:, :, BLANK], axis=1)[:, :, None]
    bcum_ext = np.concatenate([np.zeros((f, 1, 1)), bcum[:, :-1]], axis=1)
    lnb_shift = np.concatenate([np.full((f, 1, len(cols)), -np.inf), lnb[:, :-1]], axis=1)
    lb = bcum + np.logaddexp.accumulate(lnb_shift - bcum_ext, axis=1)
    lb[:, 0] = -np.inf
    first = np.logaddexp.reduce(prev_ext + y, axis=1)  # (F, K): prefix probability per frame
    score = first.sum(axis=0)
    return [_Prefix(pre.text + c, lb[:, :, k], lnb[:, :, k], float(score[k])) for k, c in enumerate(chars)]


def _full(pre: _Prefix) -> float:
    """Summed log-likelihood of exactly ``pre.text`` over the frames."""
    return float(np.logaddexp(pre.lb[:, -1], pre.lnb[:, -1]).sum())


class _Scorer:
    """Prefixes of candidate texts under all frames, each computed once (a trie of cached states)."""

    def __init__(self, logps: list[np.ndarray]) -> None:
        self.lp = _stack(logps)
        f, t_len, _ = self.lp.shape
        root = _Prefix("", np.cumsum(self.lp[:, :, BLANK], axis=1), np.full((f, t_len), -np.inf), 0.0)
        self.prefixes: dict[str, _Prefix] = {"": root}
        self._ext: dict[tuple[str, str], list[_Prefix]] = {}

    def extend(self, pre: _Prefix, chars: str) -> list[_Prefix]:
        key = (pre.text, chars)
        if key not in self._ext:
            todo = "".join(c for c in chars if pre.text + c not in self.prefixes)
            if todo:
                for child in _extend(self.lp, pre, todo):
                    self.prefixes[child.text] = child
            self._ext[key] = [self.prefixes[pre.text + c] for c in chars]
        return self._ext[key]

    def prefix(self, text: str) -> _Prefix:
        if text not in self.prefixes:
            self.extend(self.prefix(text[:-1]), text[-1])
        return self.prefixes[text]

    def log_likelihood(self, text: str) -> float:
        """Summed over frames: log P(text | frame) (CTC forward, every alignment)."""
        return _full(self.prefix(text))


def joint_decode(
    logps: list[np.ndarray] | _Scorer, slot_sets: list[tuple[str, ...]], beam: int = 8
) -> list[tuple[float, str, tuple[str, ...]]]:
    """The best strings that fit each slot pattern under all frames jointly: (summed
    log-likelihood, text, pattern slots), best first. Prefixes shared by patterns are computed once."""
    scorer = logps if isinstance(logps, _Scorer) else _Scorer(logps)
    out: list[tuple[float, str, tuple[str, ...]]] = []
    for slots in slot_sets:
        beams = [scorer.prefixes[""]]
        for chars in slots:
            nxt: list[_Prefix] = []
            for pre in beams:
                nxt += scorer.extend(pre, chars)
            nxt.sort(key=lambda p: -p.score)
            beams = nxt[:beam]
        out += [(_full(p), p.text, slots) for p in beams]
    out.sort(key=lambda x: -x[0])
    return out
