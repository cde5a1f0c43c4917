"""Licence-plate text formats: normalisation, country presets, validation and OCR-confusion repair.

A format is a list of *patterns*, one class per character position: ``L`` a letter, ``D`` a digit,
``A`` either, ``[XYZ]`` one of the letters/digits listed (e.g. El Salvador's class prefixes). A read
is repaired into a pattern by moving each character into the class its position requires along the
OCR confusions of :mod:`pipelines.plates.text` (``O->0``, ``I->1``, ``B->8``, ``S->5``, ``Z->2``,
``G->6``, ``U->0``, ``J->1``, ... and back). Formats whose plates carry no fixed class per position
(US vanity plates, the many European layouts) also accept any ``A-Z0-9`` string of a length range,
at a cost: the *loose* match. A strict match that needs at most one repair beats a loose one.

The reader scores the same patterns with the recogniser's per-character probabilities
(:mod:`pipelines.plates.decode`); this module is the text-only half, also used by search and tests.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

# the alphabet, the normaliser and the repairs live in .text (the one home of plate text)
from .text import ALPHABET as ALNUM
from .text import DIGITS, LETTERS, TO_DIGIT, TO_LETTER, normalize

__all__ = [
    "ALNUM",
    "CL_LETTERS",
    "DIGITS",
    "LETTERS",
    "LOOSE_COST",
    "PRESETS",
    "TO_DIGIT",
    "TO_LETTER",
    "PlateFormat",
    "best_format",
    "get_format",
    "normalize",
    "parse_pattern",
    "pattern_length",
    "repair_to_pattern",
    "validate",
]

# What one repair costs against the cost of a loose match (see best_format).
LOOSE_COST = 1.5


_CLASSES = {"L": LETTERS, "D": DIGITS, "A": ALNUM}


@functools.cache
def parse_pattern(pattern: str) -> tuple[str, ...]:
    """The characters each position of ``pattern`` admits: ``"L[PA]D"`` -> (LETTERS, "PA", DIGITS)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "[":
            j = pattern.index("]", i)
            chars = pattern[i + 1 : j]
            if not chars or any(ch not in ALNUM for ch in chars):
                raise ValueError(f"bad character set in plate pattern {pattern!r}")
            out.append(chars)
            i = j + 1
        elif c in _CLASSES:
            out.append(_CLASSES[c])
            i += 1
        else:
            raise ValueError(f"bad plate pattern {pattern!r}: use L, D, A or [..]")
    return tuple(out)


def pattern_length(pattern: str) -> int:
    return len(parse_pattern(pattern))


@dataclass(frozen=True)
class PlateFormat:
    """A plate numbering scheme: strict patterns and, optionally, a loose length range."""

    name: str
    description: str
    patterns: tuple[str, ...] = ()
    loose_lengths: tuple[int, int] | None = None  # (min, max) for any A-Z0-9 string
    examples: tuple[str, ...] = field(default=(), compare=False)

    def matches(self, text: str) -> bool:
        """True when ``text`` (normalized) fits a strict pattern or the loose range as it is."""
        return any(_fits(text, p) for p in self.patterns) or self.loose_ok(text)

    def loose_ok(self, text: str) -> bool:
        if self.loose_lengths is None:
            return False
        lo, hi = self.loose_lengths
        return lo <= len(text) <= hi and text.isalnum() and text.isascii()

    def repairs(self, text: str) -> list[tuple[str, str, int]]:
        """Every strict pattern ``text`` can be repaired into: (repaired, pattern, substitutions)."""
        out = []
        for p in self.patterns:
            fixed = repair_to_pattern(text, p)
            if fixed is not None:
                out.append((fixed, p, sum(a != b for a, b in zip(fixed, text, strict=True))))
        return sorted(out, key=lambda r: r[2])


def _fits(text: str, pattern: str) -> bool:
    slots = parse_pattern(pattern)
    return len(text) == len(slots) and all(c in k for c, k in zip(text, slots, strict=True))


def repair_to_pattern(text: str, pattern: str) -> str | None:
    """Move each character into the class its position requires; None if one cannot be moved."""
    slots = parse_pattern(pattern)
    if len(text) != len(slots):
        return None
    out = []
    for c, k in zip(text, slots, strict=True):
        if c in k:
            out.append(c)
        elif c in TO_DIGIT and TO_DIGIT[c] in k:
            out.append(TO_DIGIT[c])
        elif c in TO_LETTER and TO_LETTER[c] in k:
            out.append(TO_LETTER[c])
        else:
            return None
    return "".join(out)


#: the letters of Chile's series since 2007 (no vowels, no M, N, Q: no series spells a word)
CL_LETTERS = "BCDFGHJKLPRSTVWXYZ"
_CL = f"[{CL_LETTERS}]"

#: any plate-like text no preset fits is still recorded (format ``generic``, the loose prior)
_GENERIC = (2, 9)

PRESETS: dict[str, PlateFormat] = {
    f.name: f
    for f in (
        PlateFormat(
            "AR",
            "Argentina: Mercosur AB 123 CD (2016-), legacy ABC 123; motorcycles A 123 BCD, legacy 123 ABC",
            ("LLDDDLL", "LLLDDD", "LDDDLLL", "DDDLLL"),
            examples=("AB123CD", "ABC123", "A123BCD"),
        ),
        PlateFormat(
            "BR",
            "Brazil: Mercosur ABC1D23 (2018-), legacy ABC-1234",
            ("LLLDLDD", "LLLDDDD"),
            examples=("ABC1D23", "ABC1234"),
        ),
        PlateFormat("PY", "Paraguay: Mercosur ABCD 123", ("LLLLDDD",), examples=("ABCD123",)),
        PlateFormat("UY", "Uruguay: Mercosur ABC 1234", ("LLLDDDD",), examples=("ABC1234",)),
        PlateFormat(
            "PE",
            "Peru: ABC-123 (the second character is a digit in some series, A1B-123)",
            ("LLLDDD", "LDLDDD"),
            examples=("ABC123", "A1B123"),
        ),
        PlateFormat(
            "SV",
            "El Salvador: class prefix (P particular, A alquiler, C comercial, M moto, N, O oficial, "
            "AB/MB buses, CD/CC diplomatic, ...) + number, P 123-456",
            (
                "[PACMNOTVEFD]DDDDDD",
                "[PACMNOTVEFD]DDDDD",
                "[AM][B]DDDDD",
                "[AM][B]DDDDDD",  # AB, MB: buses
                "[C][CD]DDDDD",
                "[C][CD]DDDDDD",  # CC, CD: consular, diplomatic
            ),
            examples=("P123456", "AB12345"),
        ),
        PlateFormat(
            "US",
            "United States: 2-8 letters/digits per state; ABC1234 and 1ABC234 repaired",
            ("LLLDDDD", "DLLLDDD"),
            loose_lengths=(2, 8),
            examples=("ABC1234", "7ABC123"),
        ),
        PlateFormat(
            "EU",
            "Europe: the most common national layouts repaired (AB 123 CD: FR, IT, SK, HR, ...; "
            "1A2 3456 CZ; AB12 CDE GB; 1234 BCD ES), anything of 4-9 letters/digits accepted",
            (
                "LLDDDLL",
                "DLDDDDD",
                "DLLDDDD",
                "LLDDLLL",
                "DDDDLLL",
            ),
            loose_lengths=(4, 9),
            examples=("AB123CD", "1B23456", "AB12CDE"),
        ),
        PlateFormat(
            "BO",
            "Bolivia: 1234 ABC (2000-), older 123 ABC; motorcycles 1234 AB",
            ("DDDDLLL", "DDDLLL", "DDDDLL"),
            examples=("1234ABC", "123ABC"),
        ),
        PlateFormat(
            "CL",
            "Chile: BB CC 12 (2007-, four letters, consonants only: no vowels, M, N, Q), AB 1234 "
            "(older); motorcycles BBB 12 (consonants), older AB 123",
            (_CL * 4 + "DD", "LLDDDD", _CL * 3 + "DD", "LLDDD"),
            examples=("BBCC12", "AB1234"),
        ),
        PlateFormat(
            "CO",
            "Colombia: ABC 123; motorcycles ABC 12D, older ABC 12",
            ("LLLDDD", "LLLDDL", "LLLDD"),
            examples=("ABC123", "ABC12D"),
        ),
        PlateFormat(
            "EC",
            "Ecuador: ABC-1234 (2012-), older ABC-123; motorcycles AB123C",
            ("LLLDDDD", "LLLDDD", "LLDDDL"),
            examples=("ABC1234", "ABC123", "AB123C"),
        ),
        PlateFormat(
            "MX",
            "Mexico: per state; ABC-123-D, ABC-12-34, A-123-BCD, 123-ABC, and motorcycles; other "
            "strings of 5-7 letters/digits accepted",
            ("LLLDDDL", "LLLDDDD", "LDDDLLL", "DDDLLL", "LLDDDDL", "DDLLLL"),
            loose_lengths=(5, 7),
            examples=("ABC123D", "ABC1234"),
        ),
        PlateFormat(
            "GT",
            "Guatemala: class letter (P particular, C comercial, M moto, A alquiler, O oficial, U urbano, "
            "TC, ...) + 123 ABC",
            ("[PCMAOUTEDN]DDDLLL", "[T][C]DDDLLL"),
            examples=("P123ABC", "M123ABC"),
        ),
        PlateFormat(
            "HN",
            "Honduras: ABC 1234 (2015-), older AB 1234",
            ("LLLDDDD", "LLDDDD"),
            examples=("HAB1234",),
        ),
        PlateFormat(
            "generic",
            "any 2-9 letters/digits no preset fits (recorded with a lower confidence)",
            (),
            loose_lengths=_GENERIC,
        ),
    )
}


def get_format(name: str) -> PlateFormat:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown plate format {name!r}; known: {', '.join(PRESETS)}") from None


def best_format(text: str, formats: list[str]) -> tuple[str, str] | None:
    """The best (repaired text, format name) for a read, or None when no format accepts it.

    Costs: one repaired character costs 1, a loose match costs ``LOOSE_COST``; the cheapest wins,
    ties go to the earlier format in ``formats`` (so list the expected country first).
    """
    t = normalize(text)
    if not t:
        return None
    best: tuple[float, int, str, str] | None = None
    for rank, name in enumerate(formats):
        fmt = get_format(name)
        options: list[tuple[float, str]] = [(float(n), fixed) for fixed, _, n in fmt.repairs(t)]
        if fmt.loose_ok(t):
            options.append((LOOSE_COST, t))
        for cost, fixed in options:
            key = (cost, rank, fixed, name)
            if best is None or key[:2] < best[:2]:
                best = key
    return None if best is None else (best[2], best[3])


def validate(text: str, fmt: str) -> bool:
    """True when ``text`` is already a valid plate of preset ``fmt`` (no repair)."""
    return get_format(fmt).matches(normalize(text))
