"""Plate pattern matching: wildcards and an OCR-confusion-aware weighted edit distance.

Patterns are normalized like plates (upper case, A-Z0-9) and may hold ``?`` (exactly one
character) and ``*`` (any run, also empty). ``fuzzy=K`` accepts texts whose weighted edit distance
to the pattern is at most ``K``:

- insertion / deletion: 1
- substitution of characters OCR confuses (0/O/D/Q, 1/I/L/T, 2/Z, 5/S, 8/B, 6/G): ``STRONG_COST`` (0.4)
- substitution of look-alikes (4/A, 7/T, 7/1, 3/8, C/G, E/F, M/N, H/N, K/X, U/V, V/Y, P/R, U/0,
  J/1): ``WEAK_COST`` (0.7)
- any other substitution: 1

The costs, the alphabet and the normaliser are those of :mod:`pipelines.plates.text` (the one home
of plate text): every repair the reader makes is a cheap confusion here, and anything the reader
stores is a valid pattern (``AÑ123`` is stored and searched as ``AN123``).

so ``--fuzzy 1`` admits one arbitrary edit or two strong confusions. Wildcards cost nothing. The
distance between two plain texts is a metric-like score: symmetric, zero iff equal.

Everything here is vectorized over many texts at once (numpy, uint8 matrices), plus cheap
prefilters (length window, character-presence signatures, SQL ``LIKE``/``translate`` pieces) that
only ever *discard* texts that cannot match, never keep one that the exact distance rejects.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from pipelines.plates import text as plate_text
from pipelines.plates.text import ALPHABET as ALPHABET
from pipelines.plates.text import CONFUSIONS, INDEL_COST, SUB_COST
from pipelines.plates.text import STRONG_COST as STRONG_COST
from pipelines.plates.text import STRONG_GROUPS as STRONG_GROUPS
from pipelines.plates.text import WEAK_COST as WEAK_COST
from pipelines.plates.text import WEAK_PAIRS as WEAK_PAIRS
from pipelines.plates.text import sub_cost as sub_cost

MIN_SUB_COST = min(STRONG_COST, WEAK_COST)
EPS = 1e-6

ANY = -1  # token for '?'
STAR = -2  # token for '*'
MAX_FUZZY = 4.0

_SEPARATORS = re.compile(r"[\s\-\.·_/]+")


class PatternError(ValueError):
    """The plate pattern cannot be searched."""


# ------------------------------------------------------------------ costs
#: the confusion table as a (128, 128) matrix indexed by ASCII code
SUB_COSTS = plate_text.cost_matrix()


def _build_classes() -> dict[str, str]:
    """Union-find over every cheap pair: characters that may be swapped for less than SUB_COST end
    up in one class (its representative is the smallest member)."""
    parent = {c: c for c in ALPHABET}

    def find(c: str) -> str:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    pairs = [(conf.chars[0], x) for conf in CONFUSIONS if conf.cost < SUB_COST for x in conf.chars[1:]]
    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {c: find(c) for c in ALPHABET}


CANONICAL = _build_classes()
_CLASS_IDS = {rep: i for i, rep in enumerate(sorted(set(CANONICAL.values())))}
#: per ASCII code: bit of the raw character, bit of its confusion class (0 for other bytes)
RAW_BITS = np.zeros(256, dtype=np.uint64)
CANON_BITS = np.zeros(256, dtype=np.uint64)
for _i, _c in enumerate(ALPHABET):
    RAW_BITS[ord(_c)] = np.uint64(1) << np.uint64(_i)
    CANON_BITS[ord(_c)] = np.uint64(1) << np.uint64(_CLASS_IDS[CANONICAL[_c]])
#: SQL translate() arguments that map each character to its class representative
TRANSLATE_FROM = "".join(c for c in ALPHABET if CANONICAL[c] != c)
TRANSLATE_TO = "".join(CANONICAL[c] for c in TRANSLATE_FROM)
#: class representative -> every member, for regex character classes
CLASS_MEMBERS = {rep: "".join(c for c in ALPHABET if CANONICAL[c] == rep) for rep in set(CANONICAL.values())}


def canonical(text: str) -> str:
    return "".join(CANONICAL.get(c, c) for c in text)


# ------------------------------------------------------------------ patterns
#: plate text as stored and searched (the plate normaliser, under search's historical name)
normalize_plate = plate_text.normalize


@dataclass(frozen=True)
class PlatePattern:
    """A parsed search pattern: normalized text, tokens and the edit budget."""

    text: str
    fuzzy: float
    tokens: tuple[int, ...]

    @property
    def has_wildcards(self) -> bool:
        return any(t < 0 for t in self.tokens)

    @property
    def has_star(self) -> bool:
        return STAR in self.tokens

    @property
    def literal(self) -> str:
        return "".join(chr(t) for t in self.tokens if t >= 0)

    @property
    def fixed_len(self) -> int:
        """Characters the pattern consumes besides ``*`` runs."""
        return sum(1 for t in self.tokens if t != STAR)

    @property
    def is_exact(self) -> bool:
        return not self.has_wildcards and self.fuzzy < MIN_SUB_COST - EPS

    @property
    def raw_budget(self) -> int:
        """Most characters that may be changed at all (every change costs >= MIN_SUB_COST)."""
        return int(math.floor(self.fuzzy / MIN_SUB_COST + EPS))

    @property
    def class_budget(self) -> int:
        """Most edits that leave a character's confusion class (each costs 1)."""
        return int(math.floor(self.fuzzy / min(SUB_COST, INDEL_COST) + EPS))

    def length_window(self) -> tuple[int, int | None]:
        b = self.class_budget
        lo = max(1, self.fixed_len - b)
        return lo, (None if self.has_star else self.fixed_len + b)

    def prefix(self) -> str:
        """Literal characters before the first wildcard."""
        out = []
        for t in self.tokens:
            if t < 0:
                break
            out.append(chr(t))
        return "".join(out)

    def like(self, canonical_form: bool = False) -> str:
        """SQL LIKE pattern (texts hold only A-Z0-9, so nothing needs escaping)."""
        out = []
        for t in self.tokens:
            if t == ANY:
                out.append("_")
            elif t == STAR:
                out.append("%")
            else:
                out.append(CANONICAL.get(chr(t), chr(t)) if canonical_form else chr(t))
        return "".join(out)

    def regex(self) -> str:
        return "".join("." if t == ANY else ".*" if t == STAR else chr(t) for t in self.tokens)

    def literal_runs(self) -> list[str]:
        runs: list[str] = []
        cur: list[str] = []
        for t in self.tokens:
            if t < 0:
                if cur:
                    runs.append("".join(cur))
                cur = []
            else:
                cur.append(chr(t))
        if cur:
            runs.append("".join(cur))
        return runs

    def pieces(self, n: int) -> list[str]:
        """At least ``n`` disjoint literal pieces (pigeonhole filter), or [] when too short."""
        runs = [r for r in self.literal_runs() if r]
        if sum(len(r) for r in runs) < n:
            return []
        while len(runs) < n:
            runs.sort(key=len, reverse=True)
            longest = runs.pop(0)
            half = len(longest) // 2
            runs += [longest[:half], longest[half:]]
        return runs


def parse_pattern(pattern: str, fuzzy: float = 0) -> PlatePattern:
    """Normalize a user pattern like plate text (:func:`pipelines.plates.text.fold`: upper case,
    accents folded, ``Ñ`` -> ``N``), separators dropped, ``**`` folded; any other character is
    refused. A stored plate text is always a valid pattern that matches itself exactly."""
    if pattern is None:
        raise PatternError("empty plate pattern")
    try:
        fuzzy = float(fuzzy or 0)
    except (TypeError, ValueError):
        raise PatternError(f"fuzzy must be a number, got {fuzzy!r}") from None
    if not 0 <= fuzzy <= MAX_FUZZY:  # NaN fails every comparison: refused here, not deep in the search
        raise PatternError(f"fuzzy must be between 0 and {MAX_FUZZY:g}, got {fuzzy:g}")
    text = _SEPARATORS.sub("", plate_text.fold(str(pattern)))
    bad = sorted({c for c in text if c not in ALPHABET and c not in "?*"})
    if bad:
        raise PatternError(
            f"plate pattern {pattern!r} has characters other than A-Z, 0-9, ? and *: {''.join(bad)}"
        )
    text = re.sub(r"\*+", "*", text)
    if not any(c in ALPHABET for c in text):
        raise PatternError(f"plate pattern {pattern!r} needs at least one letter or digit")
    tokens = tuple(ANY if c == "?" else STAR if c == "*" else ord(c) for c in text)
    return PlatePattern(text=text, fuzzy=fuzzy, tokens=tokens)


# ------------------------------------------------------------------ scalar distance (reference)
def distance(pattern: str | PlatePattern, text: str) -> float:
    """Weighted edit distance from ``pattern`` (may hold ``?``/``*``) to ``text``. Reference
    implementation in pure Python; :func:`distances` is the vectorized one used in search."""
    tokens = (
        pattern.tokens
        if isinstance(pattern, PlatePattern)
        else tuple(ANY if c == "?" else STAR if c == "*" else ord(c) for c in pattern)
    )
    n = len(text)
    prev = [j * INDEL_COST for j in range(n + 1)]
    for tok in tokens:
        cur = [0.0] * (n + 1)
        if tok == STAR:
            cur[0] = prev[0]
            for j in range(1, n + 1):
                cur[j] = min(prev[j], cur[j - 1])
        else:
            cur[0] = prev[0] + INDEL_COST
            for j in range(1, n + 1):
                sub = 0.0 if tok == ANY else float(SUB_COSTS[tok & 127, ord(text[j - 1]) & 127])
                cur[j] = min(prev[j] + INDEL_COST, cur[j - 1] + INDEL_COST, prev[j - 1] + sub)
        prev = cur
    return float(prev[n])


# ------------------------------------------------------------------ vectorized
def encode(texts: Sequence[str] | np.ndarray, width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Texts -> (uint8 matrix n x width, zero padded; lengths). Accepts a numpy ``S`` array."""
    if isinstance(texts, np.ndarray) and texts.dtype.kind == "S":
        arr = texts
    else:
        seq = ["" if t is None else t for t in texts]
        w = max((len(t) for t in seq), default=1) or 1
        arr = np.array(seq, dtype=f"S{w}")
    w = max(arr.dtype.itemsize, 1)
    if width is not None and width > w:
        arr = arr.astype(f"S{width}")
        w = width
    mat = np.ascontiguousarray(arr).view(np.uint8).reshape(len(arr), w)
    lens = (mat != 0).sum(axis=1).astype(np.int32)
    return mat, lens


def signatures(mat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per text: bitset of the characters it holds, and of their confusion classes."""
    raw = np.zeros(len(mat), dtype=np.uint64)
    canon = np.zeros(len(mat), dtype=np.uint64)
    for j in range(mat.shape[1]):
        col = mat[:, j]
        raw |= RAW_BITS[col]
        canon |= CANON_BITS[col]
    return raw, canon


def _sig_of(chars: Iterable[str], bits: np.ndarray) -> np.uint64:
    s = np.uint64(0)
    for c in chars:
        s |= bits[ord(c)]
    return s


def prefilter_mask(
    p: PlatePattern, raw_sig: np.ndarray, canon_sig: np.ndarray, lens: np.ndarray
) -> np.ndarray:
    """Cheap necessary conditions for ``distance(p, text) <= p.fuzzy`` (never drops a true match):
    length window; pattern characters (classes) missing from the text at most the edit budget;
    without wildcards, text characters (classes) absent from the pattern likewise."""
    lo, hi = p.length_window()
    mask = lens >= lo
    if hi is not None:
        mask &= lens <= hi
    lit = p.literal
    for sig, bits, budget in ((raw_sig, RAW_BITS, p.raw_budget), (canon_sig, CANON_BITS, p.class_budget)):
        ps = _sig_of(lit, bits)
        mask &= np.bitwise_count(ps & ~sig) <= budget
        if not p.has_wildcards:
            mask &= np.bitwise_count(sig & ~ps) <= budget
    return mask


def distances(p: PlatePattern | str, mat: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Weighted distance from the pattern to every row of ``mat`` (see :func:`encode`), float32."""
    if not isinstance(p, PlatePattern):
        p = parse_pattern(p)
    n, w = mat.shape
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    cols = [mat[:, j].astype(np.intp) & 127 for j in range(w)]
    prev = np.broadcast_to(np.arange(w + 1, dtype=np.float32) * INDEL_COST, (n, w + 1)).copy()
    cur = np.empty_like(prev)
    for tok in p.tokens:
        if tok == STAR:
            cur[:, 0] = prev[:, 0]
            for j in range(1, w + 1):
                np.minimum(prev[:, j], cur[:, j - 1], out=cur[:, j])
        else:
            cur[:, 0] = prev[:, 0] + INDEL_COST
            row = None if tok == ANY else SUB_COSTS[tok & 127]
            for j in range(1, w + 1):
                diag = prev[:, j - 1] if row is None else prev[:, j - 1] + row[cols[j - 1]]
                np.minimum(np.minimum(prev[:, j], cur[:, j - 1]) + INDEL_COST, diag, out=cur[:, j])
        prev, cur = cur, prev
    out: np.ndarray = prev[np.arange(n), lens].astype(np.float32)
    return out


def match_texts(p: PlatePattern, texts: Sequence[str] | np.ndarray) -> np.ndarray:
    """Distance of every text to the pattern, ``inf`` where it cannot match (prefiltered)."""
    mat, lens = encode(texts)
    out = np.full(len(mat), np.inf, dtype=np.float32)
    if len(mat) == 0:
        return out
    raw, canon = signatures(mat)
    keep = np.flatnonzero(prefilter_mask(p, raw, canon, lens))
    if len(keep):
        d = verify(p, mat[keep], lens[keep])
        out[keep] = np.where(d <= p.fuzzy + EPS, d, np.inf)
    return out


def verify(p: PlatePattern, mat: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Exact distances of candidate texts; wildcard-only patterns use Arrow's LIKE (0 or inf),
    faster than the edit-distance table when many texts survive the prefilters."""
    if p.fuzzy >= MIN_SUB_COST - EPS or len(mat) < 2048:
        return distances(p, mat, lens)
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = pa.array(np.ascontiguousarray(mat).view(f"S{mat.shape[1]}").ravel()).cast(pa.string())
    ok = pc.match_like(texts, p.like()).to_numpy(zero_copy_only=False)
    return np.where(ok, 0.0, np.inf).astype(np.float32)


# ------------------------------------------------------------------ scores
def text_similarity(d: np.ndarray | float, fuzzy: float) -> np.ndarray | float:
    """1 for an exact (or wildcard) match, falling linearly with distance; > 0 within budget."""
    return 1.0 - np.asarray(d, dtype=np.float64) / (float(fuzzy) + 1.0)


def read_weight(is_best: np.ndarray | bool, cand_score: np.ndarray | float) -> np.ndarray:
    """1 when the matched text is the read's best read; a candidate weighs 0.5 + 0.4 x its OCR score
    (at most 0.9, so the best read wins a tie)."""
    cs = np.clip(np.nan_to_num(np.asarray(cand_score, dtype=np.float64), nan=0.0), 0.0, 1.0)
    return np.where(np.asarray(is_best, dtype=bool), 1.0, 0.5 + 0.4 * cs)


def match_score(
    d: np.ndarray | float, fuzzy: float, is_best: np.ndarray | bool, cand_score: np.ndarray | float
) -> np.ndarray:
    """``match_score`` of a hit = text_similarity(distance) x read_weight (0..1, higher is better)."""
    score: np.ndarray = np.asarray(text_similarity(d, fuzzy)) * read_weight(is_best, cand_score)
    return score


# ------------------------------------------------------------------ SQL prefilter
def class_regex(text: str) -> str:
    """Regex matching ``text`` up to confusions: each character becomes its class, e.g. ``[08B3]``."""
    out = []
    for c in text:
        members = CLASS_MEMBERS.get(CANONICAL.get(c, c), c)
        out.append(f"[{members}]" if len(members) > 1 else members)
    return "".join(out)


def sql_prefilter(p: PlatePattern, expr: str) -> str:
    """A DuckDB boolean expression over the text expression ``expr`` that keeps every text within
    the pattern's budget (and usually little else); exact scoring follows in numpy.

    Exact: equality. Wildcards only: ``LIKE``. Fuzzy with only confusions affordable: a full regex
    whose characters are confusion classes. Otherwise pigeonhole: with at most B class-changing edits,
    one of B+1 disjoint literal pieces survives intact (up to confusions), so the text must contain
    one of them (``regexp_matches``, RE2; far cheaper than ``translate`` in DuckDB)."""
    if p.is_exact:
        return f"{expr} = '{p.text}'"
    if p.fuzzy < MIN_SUB_COST - EPS:  # wildcards only
        return f"{expr} LIKE '{p.like()}'"
    if p.class_budget == 0:
        body = "".join("." if t == ANY else ".*" if t == STAR else class_regex(chr(t)) for t in p.tokens)
        return f"regexp_full_match({expr}, '{body}')"
    pieces = p.pieces(p.class_budget + 1)
    if not pieces:
        return "TRUE"
    return f"regexp_matches({expr}, '{'|'.join(class_regex(x) for x in pieces)}')"


@cache
def compiled_regex(p: PlatePattern) -> re.Pattern[str]:
    return re.compile(p.regex())


# ------------------------------------------------------------------ bigram index over a vocabulary
#: per ASCII code: 1 + confusion class id (0 for padding / other bytes)
CLASS_OF = np.zeros(256, dtype=np.int16)
for _c in ALPHABET:
    CLASS_OF[ord(_c)] = _CLASS_IDS[CANONICAL[_c]] + 1
N_BIGRAMS = (len(_CLASS_IDS) + 1) ** 2


def _bigram_code(a: int, b: int) -> int:
    return int(CLASS_OF[a]) * (len(_CLASS_IDS) + 1) + int(CLASS_OF[b])


def bigram_codes(piece: str) -> list[int]:
    """Confusion-class bigrams of a literal piece (confusions map to the same codes)."""
    return sorted({_bigram_code(ord(x), ord(y)) for x, y in zip(piece, piece[1:], strict=False)})


def _chunk_codes(mat: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    cls = CLASS_OF[mat[lo:hi]]
    codes = cls[:, :-1] * (len(_CLASS_IDS) + 1) + cls[:, 1:]
    valid = (cls[:, :-1] > 0) & (cls[:, 1:] > 0)
    ids = np.broadcast_to(np.arange(lo, hi, dtype=np.int32)[:, None], codes.shape)[valid]
    return codes[valid].astype(np.int16), ids


def build_bigram_index(mat: np.ndarray, chunk: int = 2_000_000) -> tuple[np.ndarray, np.ndarray]:
    """Postings of class bigrams over texts (rows of ``mat``): (offsets[N_BIGRAMS + 1], text ids).
    Each posting list is ascending (texts in row order). Two passes over chunks (count, then place),
    so memory stays at the output plus one chunk."""
    n, w = mat.shape
    if n == 0 or w < 2:
        return np.zeros(N_BIGRAMS + 1, np.int64), np.zeros(0, np.int32)
    counts = np.zeros(N_BIGRAMS, np.int64)
    for lo in range(0, n, chunk):
        codes, _ = _chunk_codes(mat, lo, min(n, lo + chunk))
        counts += np.bincount(codes, minlength=N_BIGRAMS)
    offsets = np.zeros(N_BIGRAMS + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    out = np.empty(offsets[-1], np.int32)
    cursor = offsets[:-1].copy()
    for lo in range(0, n, chunk):
        codes, ids = _chunk_codes(mat, lo, min(n, lo + chunk))
        order = np.argsort(codes, kind="stable")
        codes, ids = codes[order], ids[order]
        c = np.bincount(codes, minlength=N_BIGRAMS)
        first = np.concatenate([[0], np.cumsum(c)[:-1]])  # start of each code's run in this chunk
        dest = cursor[codes] + (np.arange(len(codes)) - first[codes])
        out[dest] = ids
        cursor += c
    return offsets, out


def keys_as_u64(keys: np.ndarray) -> np.ndarray | None:
    """Fixed-width texts of at most 8 bytes as integers with the same order (big-endian packing),
    for fast binary search; None when the texts are wider."""
    w = keys.dtype.itemsize
    if w > 8:
        return None
    packed = np.ascontiguousarray(np.asarray(keys).astype("S8")).view(">u8").ravel()
    return packed.astype(np.uint64)


def bigram_candidates(p: PlatePattern, offsets: np.ndarray, ids: np.ndarray) -> np.ndarray | None:
    """Ids of texts that can be within the pattern's budget, from the bigram postings (a superset
    of the true matches), or None when the pattern is too short for a bigram filter.

    Without a budget for class-changing edits every literal run must appear (up to confusions);
    with budget B, one of B+1 disjoint pieces must (pigeonhole)."""

    def texts_with(piece: str) -> np.ndarray:
        out: np.ndarray | None = None
        for code in sorted(bigram_codes(piece), key=lambda c: offsets[c + 1] - offsets[c]):
            post = np.asarray(ids[offsets[code] : offsets[code + 1]])
            out = _dedup_sorted(post) if out is None else _intersect_sorted(out, post)
            if not len(out):
                break
        return out if out is not None else np.zeros(0, np.int32)

    if p.class_budget == 0:
        runs = [r for r in p.literal_runs() if len(r) >= 2]
        if not runs:
            return None
        return _all_runs(runs, texts_with)
    pieces = p.pieces(p.class_budget + 1)
    if not pieces or any(len(x) < 2 for x in pieces):
        return None
    return _dedup_sorted(np.sort(np.concatenate([texts_with(x) for x in pieces])))


def _all_runs(runs: list[str], texts_with: Callable[[str], np.ndarray]) -> np.ndarray:
    out: np.ndarray | None = None
    for r in runs:
        t = texts_with(r)
        out = t if out is None else _intersect_sorted(out, t)
        if not len(out):
            break
    return out if out is not None else np.zeros(0, np.int32)


def _dedup_sorted(a: np.ndarray) -> np.ndarray:
    if len(a) < 2:
        return a
    keep = np.empty(len(a), bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


def _intersect_sorted(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elements of sorted unique ``a`` present in sorted ``b``."""
    if not len(a) or not len(b):
        return a[:0]
    if len(a) > len(b):
        a, b = _dedup_sorted(b), a
    i = np.searchsorted(b, a)
    i[i == len(b)] = len(b) - 1
    found: np.ndarray = a[b[i] == a]
    return found
