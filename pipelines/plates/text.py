"""Plate text: the one home of the plate alphabet, the normaliser and the OCR-confusion table.

Every part of the project that stores, reads, searches, generates or scores plate text uses this
module: the reader and its format repairs (:mod:`pipelines.plates.formats`,
:mod:`pipelines.plates.decode`), search (:mod:`pipelines.search.plate_match`, the postings and the
index), the synthetic city, the evaluator and the benchmarks.

Decisions, made once here:

- **Alphabet.** Plate text is ASCII ``A-Z0-9`` (:data:`ALPHABET`, digits first). Nothing else is
  stored, indexed or searched.
- **Accents.** Accented letters lose their accent (Unicode canonical decomposition, combining
  marks dropped): ``Ñ`` becomes ``N``, ``Á`` becomes ``A``, ``Ç`` becomes ``C``. So ``AÑ123`` is
  stored **and** searched as ``AN123``; a user typing ``AÑ-123`` finds it. Characters with no ASCII
  base letter (``ß``, ``Ø``, ``ı``, other scripts) are not plate characters: the normaliser drops
  them, the search pattern parser refuses them with a clear error.
- **Separators.** Spaces, dashes, dots and any other symbol are dropped: ``ab-123 cd`` is ``AB123CD``.
- **Two-row plates** join top row then bottom row, without separator (the reader's
  :meth:`pipelines.plates.decode.CharSeq.join`; :func:`join_rows` here for text).

The confusion table (:data:`CONFUSIONS`) lists groups of characters OCR mistakes for one another,
each with the cost search charges for swapping two members (:func:`sub_cost`): *strong*
confusions (same shape in plate fonts, ``0/O/D/Q``, ``1/I/L/T``, ``2/Z``, ``5/S``, ``8/B``,
``6/G``) cost :data:`STRONG_COST`, *weak* look-alikes (``4/A``, ``7/T``, ``U/0``, ``J/1``, ...)
cost :data:`WEAK_COST`, any other substitution :data:`SUB_COST`. The reader's repairs (a letter
read where the format needs a digit and the reverse, :data:`TO_DIGIT` / :data:`TO_LETTER`) are
derived from the same table, so every repair the reader makes is a confusion search forgives
cheaply.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
#: every plate character, digits first (the index order of the recogniser's probability columns)
ALPHABET = DIGITS + LETTERS

# ------------------------------------------------------------------ normaliser
_ASCII_UPPER = str.maketrans(LETTERS.lower(), LETTERS)
_NOT_PLATE = re.compile(r"[^A-Z0-9]")


def fold(text: str) -> str:
    """Accents removed (canonical decomposition, combining marks dropped), ASCII letters upper-cased;
    everything else kept as it is (the pattern parser decides what it accepts)."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_ASCII_UPPER)


def normalize(text: str | None) -> str:
    """Plate text as stored and searched: ``A-Z0-9`` only, upper case, accents folded
    (``"aÑ-12 3"`` -> ``"AN123"``); None and empty give ``""``. Idempotent."""
    if not text:
        return ""
    return _NOT_PLATE.sub("", fold(str(text)))


def normalize_arrow(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """:func:`normalize` over an Arrow string array (None stays None), vectorised: same result as
    the scalar function, element by element."""
    import pyarrow.compute as pc

    if pc.all(pc.string_is_ascii(arr)).as_py() is not True:  # only non-ASCII text needs decomposing
        arr = pc.utf8_normalize(arr, form="NFD")
    return pc.replace_substring_regex(pc.ascii_upper(arr), pattern="[^A-Z0-9]", replacement="")


def join_rows(rows: Iterable[str]) -> str:
    """The text of a multi-row plate: rows top to bottom, concatenated, normalised."""
    return normalize("".join(rows))


def is_plate_text(text: str) -> bool:
    """True when ``text`` is already normalised and not empty."""
    return bool(text) and normalize(text) == text


# ------------------------------------------------------------------ confusion table
STRONG_COST = 0.4
WEAK_COST = 0.7
SUB_COST = 1.0  # any other substitution
INDEL_COST = 1.0  # a character inserted or deleted


@dataclass(frozen=True)
class Confusion:
    """Characters OCR reads for one another; swapping any two members costs ``cost``. Earlier
    entries, and earlier members within an entry, are the preferred repair (:func:`partners`)."""

    chars: str
    cost: float


CONFUSIONS: tuple[Confusion, ...] = (
    # strong: the same shape in plate fonts
    Confusion("0ODQ", STRONG_COST),
    Confusion("1ILT", STRONG_COST),
    Confusion("2Z", STRONG_COST),
    Confusion("5S", STRONG_COST),
    Confusion("8B", STRONG_COST),
    Confusion("6G", STRONG_COST),
    # weak: look-alikes
    Confusion("4A", WEAK_COST),
    Confusion("7T", WEAK_COST),
    Confusion("71", WEAK_COST),
    Confusion("38", WEAK_COST),
    Confusion("CG", WEAK_COST),
    Confusion("EF", WEAK_COST),
    Confusion("MN", WEAK_COST),
    Confusion("HN", WEAK_COST),
    Confusion("KX", WEAK_COST),
    Confusion("UV", WEAK_COST),
    Confusion("VY", WEAK_COST),
    Confusion("PR", WEAK_COST),
    Confusion("0U", WEAK_COST),  # worn or low-resolution 0 read as U (the reader repairs U -> 0)
    Confusion("1J", WEAK_COST),  # 1 with a serif foot read as J (the reader repairs J -> 1)
)
#: glyph pairs drawn alike in plate fonts whose class (letter or digit) only the plate format can
#: decide; the decoder pools their probabilities, the evaluator counts them as equal
TWINS: tuple[tuple[str, str], ...] = (("O", "0"), ("I", "1"))

STRONG_GROUPS: tuple[str, ...] = tuple(c.chars for c in CONFUSIONS if c.cost == STRONG_COST)
WEAK_PAIRS: tuple[str, ...] = tuple(c.chars for c in CONFUSIONS if c.cost == WEAK_COST)


def _pair_costs() -> dict[tuple[str, str], tuple[float, int, int]]:
    """(a, b) -> (cost, entry rank, position of b in the entry), cheapest entry kept."""
    out: dict[tuple[str, str], tuple[float, int, int]] = {}
    for rank, conf in enumerate(CONFUSIONS):
        for a in conf.chars:
            for pos, b in enumerate(conf.chars):
                if a != b:
                    key = (conf.cost, rank, pos)
                    if (a, b) not in out or key < out[(a, b)]:
                        out[(a, b)] = key
    return out


_PAIRS = _pair_costs()


def sub_cost(a: str, b: str) -> float:
    """Cost of reading ``b`` where ``a`` was meant (symmetric; 0 when equal)."""
    if a == b:
        return 0.0
    hit = _PAIRS.get((a, b))
    return hit[0] if hit else SUB_COST


def is_confusion(a: str, b: str) -> bool:
    """True when search charges less than an arbitrary substitution for ``a`` <-> ``b``."""
    return a != b and sub_cost(a, b) < SUB_COST


def partners(c: str) -> list[str]:
    """Characters ``c`` is confused with, cheapest (then earliest in the table) first."""
    found = [(key, b) for (a, b), key in _PAIRS.items() if a == c]
    return [b for _, b in sorted(found)]


def cost_matrix() -> np.ndarray:
    """``(128, 128)`` float32 substitution costs indexed by ASCII code (search's vectorised table)."""
    import numpy as np

    cost = np.full((128, 128), SUB_COST, dtype=np.float32)
    np.fill_diagonal(cost, 0.0)
    for (a, b), (c, _, _) in _PAIRS.items():
        cost[ord(a), ord(b)] = c
    return cost


def _repairs(to: str) -> dict[str, str]:
    """For every character outside ``to``: its cheapest partner inside ``to``, when it has one."""
    out: dict[str, str] = {}
    for c in ALPHABET:
        if c in to:
            continue
        for b in partners(c):
            if b in to:
                out[c] = b
                break
    return out


#: a letter read where the format needs a digit -> the digit it is taken for (``O -> 0``, ``U -> 0``,
#: ``J -> 1``, ``B -> 8``, ...)
TO_DIGIT: dict[str, str] = _repairs(DIGITS)
#: a digit read where the format needs a letter -> the letter it is taken for (``0 -> O``, ``8 -> B``, ...)
TO_LETTER: dict[str, str] = _repairs(LETTERS)


def to_digit(c: str) -> str | None:
    """``c`` as a digit: itself, its repair, or None when it looks like no digit."""
    return c if c in DIGITS else TO_DIGIT.get(c)


def to_letter(c: str) -> str | None:
    """``c`` as a letter: itself, its repair, or None when it looks like no letter."""
    return c if c in LETTERS else TO_LETTER.get(c)


_TWIN_FOLD = str.maketrans("".join(a for a, _ in TWINS), "".join(b for _, b in TWINS))


def twin_fold(text: str) -> str:
    """Normalised text with each twin (``O``/``0``, ``I``/``1``) written one way."""
    return normalize(text).translate(_TWIN_FOLD)


def twin_equal(a: str, b: str) -> bool:
    """Equal once the twins are the same character (label conventions differ on these)."""
    return twin_fold(a) == twin_fold(b)
