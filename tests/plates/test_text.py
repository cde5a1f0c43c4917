"""Plate text has one home (pipelines.plates.text): the normaliser, the alphabet and the confusion
table that the reader, its format repairs, search and the postings all use. Properties: normalising
is idempotent and the scalar and Arrow versions agree; whatever the reader can store is a pattern
search accepts and finds exactly; every repair the reader makes is a cheap confusion for search."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.plates import formats, text
from pipelines.plates.decode import CharSeq, rank_candidates
from pipelines.search import plate_match as pm
from pipelines.search.plate_postings import explode_reads

ALNUM = text.ALPHABET
#: what a recogniser, a label file or a user may type: letters with and without accents, digits,
#: separators, symbols, other scripts
raw_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(ALNUM + ALNUM.lower() + "ÑñÁÉÍÓÚÜÇÃÕáéíóúüçãõ -.·_/"),
        st.characters(codec="utf-8"),
    ),
    max_size=14,
)
#: what a user types as a plate: letters (accents allowed), digits and separators only
typed_plate = st.text(alphabet=ALNUM + ALNUM.lower() + "ÑñÁÉÍÓÚÜÇÃÕáéíóúüçãõ -.·_/", max_size=12)


# ------------------------------------------------------------------ the decisions
def test_an_n_tilde_plate_is_stored_and_searched_as_plain_n():
    assert text.normalize("AÑ123") == "AN123"
    assert text.normalize("añ-12 3") == "AN123"
    assert formats.normalize("AÑ123") == pm.normalize_plate("AÑ123") == "AN123"
    p = pm.parse_pattern("AÑ-123")
    assert p.text == "AN123" and p.is_exact
    # through the postings that both search strategies score: the stored read is found exactly
    plate = pa.array(["AÑ123", "AN124"])
    cands = pa.array(
        [[{"text": "AÑ123", "score": 0.9}], []],
        pa.list_(pa.struct([("text", pa.string()), ("score", pa.float32())])),
    )
    post = explode_reads(plate, cands)
    keys = [k.decode() for k in post.key]
    assert "AN123" in keys and "A123" not in keys
    d = pm.match_texts(p, post.key)
    assert d[keys.index("AN123")] == 0 and not np.isfinite(d[keys.index("AN124")])


def test_two_row_plates_join_top_row_then_bottom_row():
    assert text.join_rows(["ab", "12-3"]) == "AB123"
    top = CharSeq.from_line("AB", np.eye(len(ALNUM), dtype=np.float32)[[ALNUM.index("A"), ALNUM.index("B")]])
    bottom = CharSeq.from_line("123", np.eye(len(ALNUM), dtype=np.float32)[[1, 2, 3]])
    assert CharSeq.join([top, bottom]).chars == text.join_rows(["AB", "123"])


def test_characters_without_an_ascii_letter_are_dropped_from_text_and_refused_in_patterns():
    assert text.normalize("ßØ-AB1") == "AB1"
    with pytest.raises(pm.PatternError):
        pm.parse_pattern("ßB1")


def test_the_repair_tables_are_the_reader_repairs_derived_from_the_confusion_table():
    assert text.TO_DIGIT == {
        "O": "0",
        "Q": "0",
        "D": "0",
        "U": "0",
        "I": "1",
        "L": "1",
        "J": "1",
        "T": "1",
        "Z": "2",
        "S": "5",
        "G": "6",
        "B": "8",
        "A": "4",
    }
    assert text.TO_LETTER == {"0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "7": "T", "8": "B"}
    assert formats.TO_DIGIT is text.TO_DIGIT and formats.TO_LETTER is text.TO_LETTER
    assert text.to_digit("U") == "0" and text.to_digit("J") == "1" and text.to_digit("7") == "7"
    assert text.to_letter("8") == "B" and text.to_letter("3") is None and text.to_digit("X") is None


# ------------------------------------------------------------------ properties
@given(raw_text)
def test_normalize_is_idempotent_and_plate_only(s):
    n = text.normalize(s)
    assert text.normalize(n) == n
    assert set(n) <= set(ALNUM)
    assert text.fold(text.fold(s)) == text.fold(s)
    assert text.twin_fold(text.twin_fold(s)) == text.twin_fold(s)


@given(st.lists(st.one_of(st.none(), raw_text), max_size=8))
def test_the_vectorised_normaliser_agrees_with_the_scalar_one(values):
    out = text.normalize_arrow(pa.array(values, pa.string())).to_pylist()
    assert out == [None if v is None else text.normalize(v) for v in values]


@given(raw_text)
def test_anything_stored_is_a_pattern_that_finds_itself_exactly(s):
    stored = text.normalize(s)
    if not stored:
        return
    p = pm.parse_pattern(stored)
    assert p.text == stored and p.is_exact
    assert pm.distance(p, stored) == 0
    assert pm.match_texts(p, [stored])[0] == 0


@given(typed_plate)
def test_a_typed_plate_searches_for_what_it_stores_as(s):
    stored = text.normalize(s)
    if not stored:
        return
    assert pm.parse_pattern(s).text == stored


@settings(max_examples=60, deadline=None)
@given(
    st.integers(4, 9),
    st.integers(0, 2**31 - 1),
    st.lists(
        st.sampled_from(["AR", "BR", "PY", "UY", "PE", "SV", "EU", "US", "generic"]),
        min_size=1,
        max_size=3,
        unique=True,
    ),
)
def test_every_candidate_the_decoder_emits_is_found_exactly_by_search(n, seed, fmts):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.full(len(ALNUM), 0.3), size=n).astype(np.float32)
    line = "".join(ALNUM[i] for i in probs.argmax(axis=1))
    for cand in rank_candidates(CharSeq.from_line(line, probs), fmts, top_n=5):
        assert text.is_plate_text(cand.text)
        p = pm.parse_pattern(cand.text)
        assert p.text == cand.text and pm.distance(p, cand.text) == 0


def test_every_repair_the_reader_makes_is_a_cheap_confusion_for_search():
    repairs = list(text.TO_DIGIT.items()) + list(text.TO_LETTER.items()) + list(text.TWINS)
    assert ("U", "0") in repairs and ("J", "1") in repairs
    for a, b in repairs:
        assert pm.sub_cost(a, b) < pm.SUB_COST, (a, b)
        assert pm.sub_cost(a, b) == pm.sub_cost(b, a) == pytest.approx(float(pm.SUB_COSTS[ord(a), ord(b)]))
    for a, b in text.TWINS:
        assert pm.sub_cost(a, b) == text.STRONG_COST


@given(st.text(alphabet=ALNUM, min_size=2, max_size=8), st.data())
def test_a_format_repair_costs_search_less_than_the_same_number_of_arbitrary_edits(s, data):
    pattern = "".join(data.draw(st.sampled_from("LDA")) for _ in s)
    fixed = formats.repair_to_pattern(s, pattern)
    if fixed is None:
        return
    changed = sum(a != b for a, b in zip(s, fixed, strict=True))
    d = pm.distance(fixed, s)
    assert d <= changed * text.WEAK_COST + 1e-6
    assert changed == 0 or d < changed * text.SUB_COST
