"""Turn recognised characters with probabilities into ranked plate candidates.

A line's characters (:class:`CharSeq`, each with the recogniser's probability for every ``A-Z0-9``)
are matched against every pattern of the allowed formats. For a strict pattern each position takes
the most probable character of the class it requires (a ``B`` read where a digit must be becomes
``8`` if ``8`` is the likeliest digit there); the look-alike pairs ``O``/``0`` and ``I``/``1`` count
as one glyph whose class the camera's own pattern decides (another country's pattern takes the
glyph as the recogniser saw it). A candidate's score is the product of its
characters' probabilities. Variants of the line compete in the same ranking, each at a cost:
dropping caption words (``MERCOSUR``, country names: free) and makes/models, a country code token
at either end, trimming a stray character at an end, or deleting one spurious character inside
(a bolt, a sticker or the coat of arms read as a character); dropping a character costs more the
surer the recogniser was that something is there. A loose match (any ``A-Z0-9`` string, for formats
that allow one) pays a prior, lower for all-letter or all-digit strings, and for ``generic`` lower
again for sign-like text (:func:`pipelines.plates.words.generic_plate_likeness`); a strict match
that is not of the camera's registered format pays for sign words
(:func:`pipelines.plates.words.sign_word_factor`). The top-N distinct texts come out, best first.
"""

from __future__ import annotations

import functools
import heapq
from dataclasses import dataclass, field

import numpy as np

from .formats import PlateFormat, get_format, parse_pattern
from .text import ALPHABET as ALNUM
from .text import DIGITS, LETTERS, TWINS, normalize
from .words import COUNTRY_CODES, DROP_WORDS, PLATE_WORDS, generic_plate_likeness, sign_word_factor

LOOSE_PRIOR_MIXED = 0.6  # loose match with letters and digits
LOOSE_PRIOR_PLAIN = 0.35  # loose match of only letters or only digits
COUNTRY_CODE_COST = 0.9  # dropping a country-code token (it may be a real plate prefix)
TRIM_WEIGHT = 0.8  # trimming an end character of probability p costs (1 - TRIM_WEIGHT * p)
DELETE_WEIGHT = 0.8  # deleting an inner character costs (1 - DELETE_WEIGHT * p)
# p is the probability that the position holds any letter or digit at all (an ambiguous I/1 is
# still surely a character)
MIN_PROB = 1e-4
TWIN_SWAP_COST = 0.98
FOREIGN_PRIOR = 0.9  # a strict match of a preset other than the camera's own (formats[0])
GENERIC = "generic"
GENERIC_YIELD = 0.25  # a preset's candidate this close to the best generic one is preferred  # choosing the less likely twin: ties between layouts go to the read as seen


@functools.cache
def _mask(chars: str) -> np.ndarray:
    """Boolean mask over ALNUM of the characters a pattern position admits."""
    return np.array([c in chars for c in ALNUM])


@dataclass
class CharSeq:
    """The A-Z0-9 characters of one text line (or rows joined), with their distributions."""

    chars: str  # uppercase as emitted
    alt: np.ndarray  # (n, 36) probability of each ALNUM character at each position
    tokens: list[int]  # space-separated token index of each character
    raw: str = ""  # the recognised text with separators, for PlateRead.raw

    def __len__(self) -> int:
        return len(self.chars)

    def token_texts(self) -> list[str]:
        out: dict[int, str] = {}
        for c, t in zip(self.chars, self.tokens, strict=True):
            out[t] = out.get(t, "") + c
        return [out[k] for k in sorted(out)]

    @classmethod
    def from_line(cls, text: str, alnum_probs: np.ndarray) -> CharSeq:
        chars, rows, toks = [], [], []
        tok = 0
        for i, ch in enumerate(text):
            if ch.isspace():
                tok += 1
                continue
            c = normalize(ch)
            if len(c) != 1:  # separator, punctuation, symbol
                continue
            chars.append(c)
            rows.append(i)
            toks.append(tok)
        alt = alnum_probs[rows] if rows else np.zeros((0, len(ALNUM)), np.float32)
        return cls("".join(chars), np.asarray(alt, np.float32), toks, text.strip())

    @classmethod
    def join(cls, rows: list[CharSeq]) -> CharSeq:
        """Rows of a two-row plate, top first, as one sequence (each row keeps its own tokens)."""
        chars, alts, toks, raws = "", [], [], []
        offset = 0
        for r in rows:
            chars += r.chars
            alts.append(r.alt)
            toks += [t + offset for t in r.tokens]
            offset = (max(toks) + 1) if toks else offset
            raws.append(r.raw)
        alt = np.concatenate(alts) if alts else np.zeros((0, len(ALNUM)), np.float32)
        return cls(chars, alt, toks, " / ".join(raws))


@dataclass
class Candidate:
    text: str
    score: float
    plate_format: str
    pattern: str  # the pattern matched ("A" * n for a loose match)
    char_probs: list[float] = field(default_factory=list)
    repairs: int = 0  # characters changed from the recogniser's own choice (twins aside) or trimmed


def _kbest(options: list[list[tuple[float, str]]], k: int) -> list[tuple[float, str, list[float]]]:
    """The k most probable strings choosing one option per position (options sorted, best first)."""
    if any(not o for o in options):
        return []
    n = len(options)
    start = (0,) * n

    def value(ix: tuple[int, ...]) -> float:
        v = 1.0
        for pos, i in enumerate(ix):
            v *= options[pos][i][0]
        return v

    heap = [(-value(start), start, 0)]
    out: list[tuple[float, str, list[float]]] = []
    while heap and len(out) < k:
        neg, ix, last = heapq.heappop(heap)
        out.append(
            (
                -neg,
                "".join(options[p][i][1] for p, i in enumerate(ix)),
                [options[p][i][0] for p, i in enumerate(ix)],
            )
        )
        for pos in range(last, n):  # increment only at or after the last incremented position
            if ix[pos] + 1 < len(options[pos]):
                nxt = ix[:pos] + (ix[pos] + 1,) + ix[pos + 1 :]
                heapq.heappush(heap, (-value(nxt), nxt, pos))
    return out


def _options(alt_row: np.ndarray, chars: str, limit: int) -> list[tuple[float, str]]:
    probs = np.where(_mask(chars), alt_row, 0.0)
    order = np.argsort(-probs)[:limit]
    return [(float(probs[i]), ALNUM[i]) for i in order if probs[i] >= MIN_PROB]


def _variants(seq: CharSeq) -> list[tuple[list[int], float]]:
    """(indices kept, cost factor) for the line and its trimmed / cleaned variants."""
    n = len(seq)
    char_p = np.clip(seq.alt.sum(axis=1), 0.0, 1.0) if n else np.zeros(0)
    tok_texts = seq.token_texts()
    n_tok = len(tok_texts)
    # token-level: drop caption words (MERCOSUR, country names) anywhere; makes and models
    # anywhere too, but also try keeping those (a short one like GTI can be a legacy plate's
    # letters); country codes at the ends, at a cost
    captions = {t for t, s in enumerate(tok_texts) if s in PLATE_WORDS}
    words = {t for t, s in enumerate(tok_texts) if s in DROP_WORDS}
    bases: list[tuple[set[int], float]] = [(words, 1.0)]
    if words != captions:
        bases.append((captions, 1.0))
    if n_tok > 1:
        for end in (0, n_tok - 1):
            if tok_texts[end] in COUNTRY_CODES:
                bases.append((words | {end}, COUNTRY_CODE_COST))
        if n_tok > 2 and tok_texts[0] in COUNTRY_CODES and tok_texts[-1] in COUNTRY_CODES:
            bases.append((words | {0, n_tok - 1}, COUNTRY_CODE_COST**2))
    out: dict[tuple[int, ...], float] = {}
    for dropped, cost in bases:
        keep = [i for i in range(n) if seq.tokens[i] not in dropped]
        m = len(keep)
        for a in range(0, 3):
            for b in range(0, 3):
                if a + b >= m - 1:
                    continue
                idx = keep[a : m - b]
                c = cost
                for i in keep[:a] + keep[m - b :]:
                    c *= 1.0 - TRIM_WEIGHT * float(char_p[i])
                key = tuple(idx)
                out[key] = max(out.get(key, 0.0), c)
                if a == 0 and b == 0 and len(idx) >= 5:
                    for j in range(1, len(idx) - 1):
                        dk = key[:j] + key[j + 1 :]
                        dc = c * (1.0 - DELETE_WEIGHT * float(char_p[idx[j]]))
                        out[dk] = max(out.get(dk, 0.0), dc)
    return [(list(k), v) for k, v in out.items()]


def loose_prior(text: str, generic: bool = False) -> float:
    """The prior of a loose match (any ``A-Z0-9`` string): lower for all-letter or all-digit text;
    for ``generic`` (no preset fits) also times :func:`generic_plate_likeness` (sign words, long or
    pronounceable letter runs, very short reads: sign text, not a registry's number)."""
    has_l = any(c in LETTERS for c in text)
    has_d = any(c in DIGITS for c in text)
    prior = LOOSE_PRIOR_MIXED if (has_l and has_d) else LOOSE_PRIOR_PLAIN
    return prior * generic_plate_likeness(text) if generic else prior


def candidate_prior(text: str, fmt: str, loose: bool, own: bool, registered: bool = True) -> float:
    """The format prior of a candidate: a strict match of the camera's own format 1 (the first
    regional default at a camera with no registered format), another preset's
    :data:`FOREIGN_PRIOR`; a strict match that is not of the camera's registered format is lower
    when its letters are a sign word (``BUS 60`` fits a Colombian motorcycle layout, ``PISO 12``
    the old Argentine one). A loose match: :func:`loose_prior`."""
    if loose:
        return loose_prior(text, fmt == GENERIC)
    if own and registered:
        return 1.0
    return (1.0 if own else FOREIGN_PRIOR) * sign_word_factor(text)


def rank_candidates(
    seq: CharSeq, formats: list[str] | list[PlateFormat], top_n: int = 5, *, registered: bool = True
) -> list[Candidate]:
    """Distinct plate texts for ``seq`` under ``formats``, best first (at most ``top_n``).

    ``formats[0]`` is the camera's own format (or the first regional default): its patterns and its
    loose range have prior 1; the other presets count only as strict patterns, at
    :data:`FOREIGN_PRIOR`; ``generic`` (any 2-9 letters/digits) at the loose prior wherever it is
    listed. A valid foreign plate read as it is (no repair) is never displaced by a local
    candidate that needs one (see :func:`prefer_unrepaired`). ``registered=False``: ``formats``
    are the regional defaults of a camera with no registered format (see
    :func:`candidate_prior`)."""
    fmts = [f if isinstance(f, PlateFormat) else get_format(f) for f in formats]
    if len(seq) < 2 or not fmts:
        return []
    # Where a pattern fixes the class, the glyph pairs O/0 and I/1 (drawn alike in plate fonts,
    # and read with a strong bias towards the class of the neighbours) count as one shape: the
    # pattern decides, with the pair's pooled probability. Loose matches keep the model's choice.
    pooled = seq.alt.copy()
    for a, b in TWINS:
        ia, ib = ALNUM.index(a), ALNUM.index(b)
        pair = seq.alt[:, ia] + seq.alt[:, ib]
        pooled[:, ia] = np.where(seq.alt[:, ia] >= seq.alt[:, ib], pair, pair * TWIN_SWAP_COST)
        pooled[:, ib] = np.where(seq.alt[:, ib] >= seq.alt[:, ia], pair, pair * TWIN_SWAP_COST)
    best_by: dict[tuple[str, bool], np.ndarray] = {}

    def best(chars: str, strict: bool) -> np.ndarray:  # best probability in the set, per position
        key = (chars, strict)
        if key not in best_by:
            best_by[key] = np.where(_mask(chars), pooled if strict else seq.alt, 0.0).max(axis=1)
        return best_by[key]

    # (upper bound of score, variant idx, cost, slots, pattern, format, the camera's own format?)
    combos: list[tuple[float, list[int], float, tuple[str, ...], str, str, bool]] = []
    for idx, cost in _variants(seq):
        m = len(idx)
        for rank, f in enumerate(fmts):
            fprior = 1.0 if rank == 0 else FOREIGN_PRIOR
            for pat in f.patterns:
                slots = parse_pattern(pat)
                if len(slots) != m:
                    continue
                # the twins are pooled for the camera's own layout only: another country's layout
                # is one guess among many, it does not overrule the glyph the recogniser saw
                bound = (
                    cost
                    * fprior
                    * float(np.prod([best(k, rank == 0)[i] for k, i in zip(slots, idx, strict=True)]))
                )
                combos.append((bound, idx, cost, slots, pat, f.name, rank == 0))
            loose_ok = rank == 0 or f.name == GENERIC
            if loose_ok and f.loose_lengths and f.loose_lengths[0] <= m <= f.loose_lengths[1]:
                top = "".join(ALNUM[int(j)] for j in seq.alt[idx].argmax(axis=1))
                prior = loose_prior(top, f.name == GENERIC)
                bound = cost * prior * float(np.prod(best(ALNUM, False)[idx]))
                combos.append((bound, idx, cost, (ALNUM,) * m, "A" * m, f.name, rank == 0))
    if not combos:
        return []
    combos.sort(key=lambda c: -c[0])
    found: dict[str, Candidate] = {}
    own = "".join(ALNUM[int(j)] for j in seq.alt.argmax(axis=1)) if len(seq) else ""
    for bound, idx, cost, slots, pat, fname, is_own in combos[: max(4, 2 * top_n)]:
        if len(found) >= top_n and bound <= min(c.score for c in found.values()):
            break
        loose = set(pat) == {"A"}
        alt = pooled if (is_own and not loose) else seq.alt
        opts = [_options(alt[i], k, limit=4) for k, i in zip(slots, idx, strict=True)]
        for p, text, probs in _kbest(opts, top_n):
            prior = candidate_prior(text, fname, loose, is_own, registered)
            score = cost * prior * p
            if text not in found or found[text].score < score:
                repairs = sum(not _same_glyph(c, own[i]) for c, i in zip(text, idx, strict=True)) + int(
                    cost < 1.0
                )
                found[text] = Candidate(text, score, fname, pat, probs, repairs)
    ranked = sorted(found.values(), key=lambda c: -c.score)
    return prefer_unrepaired(generic_last(ranked), fmts[0].name)[:top_n]


def _same_glyph(a: str, b: str) -> bool:
    return a == b or any({a, b} == {x, y} for x, y in TWINS)


def generic_last(ranked: list[Candidate]) -> list[Candidate]:
    """``generic`` is the fallback for shapes no preset knows: a preset's candidate of the same
    length scoring at least :data:`GENERIC_YIELD` of the best generic one goes first (an 8 read
    where the camera's layout wants a letter is a B, not a reason to call the plate generic); one
    that drops or trims a character the recogniser was sure of does not (a Polish WX 23456 is not
    a Chilean WX 3456)."""
    if not ranked or ranked[0].plate_format != GENERIC:
        return ranked
    strict = next(
        (
            c
            for c in ranked
            if c.plate_format != GENERIC
            and set(c.pattern) != {"A"}
            and len(c.text) == len(ranked[0].text)
            and c.score >= GENERIC_YIELD * ranked[0].score
        ),
        None,
    )
    if strict is None:
        return ranked
    return [strict] + [c for c in ranked if c is not strict]


def prefer_unrepaired(ranked: list[Candidate], local: str) -> list[Candidate]:
    """A foreign preset's candidate read exactly as recognised goes before local candidates that
    needed a repair: a valid BR plate at an AR camera stays BR, never "repaired" into AR."""
    if not ranked or ranked[0].plate_format != local or ranked[0].repairs == 0:
        return ranked
    foreign = next((c for c in ranked if c.plate_format not in (local, GENERIC) and c.repairs == 0), None)
    if foreign is None:
        return ranked
    return [foreign] + [c for c in ranked if c is not foreign]
