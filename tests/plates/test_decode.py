"""Format decoding over per-character probabilities: repairs, logo words, trims, two rows, top-N."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.plates.decode import CharSeq, rank_candidates
from pipelines.plates.formats import ALNUM


def line(spec: list, confident: float = 0.98) -> CharSeq:
    """A recognised line: items are a character (read with ``confident``), a {char: prob} dict for an
    uncertain position, or " " between tokens."""
    text, rows = "", []
    for item in spec:
        if item == " ":
            text += " "
            rows.append(np.zeros(len(ALNUM)))
            continue
        dist = {item: confident} if isinstance(item, str) else item
        row = np.zeros(len(ALNUM))
        for c, p in dist.items():
            row[ALNUM.index(c)] = p
        text += max(dist, key=dist.get)
        rows.append(row)
    return CharSeq.from_line(text, np.asarray(rows, np.float32))


def chars(s: str) -> list:
    return list(s)


def test_a_letter_where_a_digit_must_be_takes_the_likeliest_digit():
    # "AB1230D": the 6th position reads 0 (0.6) or O (0.35); Argentina needs a letter there. O and 0
    # are one glyph to the pattern: the letter gets the pair's probability (less a tie-break cost)
    seq = line(chars("AB123") + [{"0": 0.6, "O": 0.35, "D": 0.02}] + ["D"])
    best = rank_candidates(seq, ["AR"])[0]
    assert (best.text, best.plate_format, best.pattern) == ("AB123OD", "AR", "LLDDDLL")
    assert best.char_probs[5] == pytest.approx(0.95 * 0.98)
    # D is no twin of 0: a D read (0.6) where a digit must be gives the best digit's own probability
    seq = line(chars("AB") + [{"D": 0.6, "0": 0.3, "8": 0.1}] + chars("23CD"))
    best = rank_candidates(seq, ["AR"])[0]
    assert best.text == "AB023CD" and best.char_probs[2] == pytest.approx(0.3)
    # the per-position class picks the best in class, not a fixed map: B read (0.5) over 8 (0.3) and 3 (0.2)
    seq = line(chars("AB") + [{"B": 0.5, "8": 0.3, "3": 0.2}] + chars("23CD"))
    assert rank_candidates(seq, ["AR"])[0].text == "AB823CD"


def test_candidates_are_distinct_ranked_and_carry_scores():
    seq = line(chars("AB123") + [{"C": 0.55, "G": 0.4}] + [{"D": 0.6, "O": 0.3}])
    cands = rank_candidates(seq, ["AR"], top_n=4)
    texts = [c.text for c in cands]
    assert texts[0] == "AB123CD"
    assert {"AB123GD", "AB123CO"} <= set(texts)
    assert len(texts) == len(set(texts)) == 4
    scores = [c.score for c in cands]
    assert scores == sorted(scores, reverse=True) and 0 < scores[-1] < scores[0] <= 1


def test_mercosur_caption_words_are_dropped():
    seq = line(chars("MERCOSUR") + [" "] + chars("AB") + [" "] + chars("123") + [" "] + chars("CD"))
    best = rank_candidates(seq, ["AR"])[0]
    assert best.text == "AB123CD"
    seq = line(chars("REPUBLICA") + [" "] + chars("ARGENTINA") + [" "] + chars("AB123CD"))
    assert rank_candidates(seq, ["AR", "generic"])[0].text == "AB123CD"
    seq = line(chars("BRASIL") + [" "] + chars("ABC1D23"))
    assert rank_candidates(seq, ["BR"])[0].text == "ABC1D23"
    # a make's badge next to the number is dropped; the same letters as the number's own group stay
    seq = line(chars("RENAULT") + [" "] + chars("ABC1234"))
    assert rank_candidates(seq, ["UY"])[0].text == "ABC1234"
    seq = line(chars("GTI") + [" "] + chars("123"))
    assert rank_candidates(seq, ["AR"])[0].text == "GTI123"


def test_country_code_token_dropped_when_the_rest_fits_better():
    # EU band "HR" read as a separate token before the number
    seq = line(chars("HR") + [" "] + chars("RK755AJ"))
    best = rank_candidates(seq, ["EU"])[0]
    assert best.text == "RK755AJ"
    # a code that begins the number itself (SK is also a Slovak district prefix) stays when the
    # whole fits a layout and the rest alone would not
    seq = line(chars("SK") + [" "] + chars("123AB"))
    assert rank_candidates(seq, ["EU"])[0].text == "SK123AB"


def test_a_stray_end_character_is_trimmed_when_unsure_and_kept_when_sure():
    # a coat of arms read as "R" (0.45) before a Slovak plate
    seq = line([{"R": 0.45}] + chars("RK346AL"))
    assert rank_candidates(seq, ["EU"])[0].text == "RK346AL"
    # ... but a confidently read 8th character is part of the plate
    seq = line(chars("WOBVWMK4"))
    assert rank_candidates(seq, ["EU"])[0].text == "WOBVWMK4"
    # an ambiguous I/1 at the end is a character (only its class is in doubt): never trimmed
    seq = line(chars("LM298A") + [{"1": 0.5, "I": 0.4}])
    assert rank_candidates(seq, ["EU"])[0].text == "LM298AI"


def test_a_spurious_inner_character_is_deleted():
    # Czech 4B2 1875 with the inspection sticker between the groups read as "8" (0.43)
    seq = line(chars("4B2") + [{"8": 0.43}] + chars("1875"))
    assert rank_candidates(seq, ["EU"])[0].text == "4B21875"


def test_two_rows_join_top_then_bottom():
    top, bottom = line(chars("ABC")), line(chars("1D23"))
    seq = CharSeq.join([top, bottom])
    assert seq.chars == "ABC1D23" and seq.raw == "ABC / 1D23"
    assert rank_candidates(seq, ["BR"])[0].text == "ABC1D23"
    # Argentina's motorcycle plate A123 / BCD
    seq = CharSeq.join([line(chars("A123")), line(chars("BCD"))])
    assert rank_candidates(seq, ["AR"])[0].text == "A123BCD"


def test_loose_formats_prefer_mixed_text_and_strict_formats_reject_words():
    word, number = line(chars("FELIX")), line(chars("FWE50"))
    assert rank_candidates(word, ["EU"])[0].score < rank_candidates(number, ["EU"])[0].score
    assert rank_candidates(line(chars("PARKING")), ["AR", "BR", "PY", "UY"]) == []
    assert rank_candidates(line(chars("A")), ["generic"]) == []
