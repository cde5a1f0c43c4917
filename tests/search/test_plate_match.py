"""Matching semantics: wildcards, the OCR-confusion weighted distance, and that every prefilter
(signatures, bigram postings, SQL) keeps every true match."""

from __future__ import annotations

import random

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.search import plate_match as pm

ALNUM = pm.ALPHABET
texts = st.text(alphabet=ALNUM, min_size=1, max_size=9)
STRONG_PAIRS = [(a, b) for g in pm.STRONG_GROUPS for a in g for b in g if a != b]


def matches(pattern: str, text: str, fuzzy: float = 0) -> bool:
    p = pm.parse_pattern(pattern, fuzzy)
    return bool(np.isfinite(pm.match_texts(p, [text])[0]))


# ------------------------------------------------------------------ examples
def test_examples():
    assert pm.distance("ABC123", "ABC123") == 0
    assert pm.distance("ABC123", "ABC1Z3") == pytest.approx(pm.STRONG_COST)  # 2/Z
    assert pm.distance("ABC123", "A8C1Z3") == pytest.approx(2 * pm.STRONG_COST)
    assert pm.distance("ABC123", "ABC124") == 1.0
    assert pm.distance("ABC123", "ABC12") == 1.0
    assert pm.distance("ABC123", "ABC1234") == 1.0
    assert matches("AB?123", "ABX123") and not matches("AB?123", "AB123")
    assert matches("AB*", "AB") and matches("AB*", "ABXYZ9") and matches("*123", "XY123")
    assert matches("A*3", "ABC123") and not matches("A*3", "ABC124")
    assert matches("ABC123", "ABC1Z3", 0.4) and not matches("ABC123", "ABC1Z3", 0)
    assert matches("ABC123", "A8C1Z3", 1) and not matches("ABC123", "A8C1Z3", 0.5)
    assert matches("ABC123", "XBC123", 1) and not matches("ABC123", "XYC123", 1)
    assert matches("AB?1*", "ABZ1", 0) and matches("AB?1*", "A8Z1", 1)


def test_pattern_normalization_and_errors():
    assert pm.parse_pattern(" ab-c 12.3 ").text == "ABC123"
    assert pm.parse_pattern("ab**1").text == "AB*1"
    assert pm.parse_pattern("ÁÑ-123").text == "AN123"  # accents fold as in stored plate text
    for bad in ["", "**", "??", "ABC%1", "ßBC"]:
        with pytest.raises(pm.PatternError):
            pm.parse_pattern(bad)
    with pytest.raises(pm.PatternError):
        pm.parse_pattern("ABC", fuzzy=-1)
    with pytest.raises(pm.PatternError):
        pm.parse_pattern("ABC", fuzzy=99)


def test_every_confusion_is_cheaper_than_any_other_substitution():
    for a, b in STRONG_PAIRS:
        assert pm.sub_cost(a, b) == pytest.approx(pm.STRONG_COST) and pm.STRONG_COST < pm.SUB_COST
    design = ["0O", "0D", "OQ", "1I", "1L", "IT", "2Z", "5S", "8B", "6G"]
    assert all(pm.sub_cost(x, y) < 1 for x, y in design)
    for a in ALNUM:
        others = [pm.sub_cost(a, b) for b in ALNUM if b != a]
        assert min(others) > 0 and max(others) == pm.SUB_COST


# ------------------------------------------------------------------ properties
@given(texts, texts)
def test_distance_symmetric_and_zero_iff_equal(a, b):
    d = pm.distance(a, b)
    assert d == pytest.approx(pm.distance(b, a))
    assert (d == 0) == (a == b)
    assert d <= max(len(a), len(b))


@given(texts, st.integers(0, 8), st.sampled_from(STRONG_PAIRS), st.sampled_from(ALNUM))
def test_confusion_substitution_never_costs_more_than_arbitrary(t, i, pair, other):
    i = i % len(t)
    a, b = pair
    t = t[:i] + a + t[i + 1 :]
    conf = t[:i] + b + t[i + 1 :]
    arb = t[:i] + other + t[i + 1 :]
    assert pm.distance(t, conf) <= pm.distance(t, arb) or arb == t


@st.composite
def wildcard_of(draw, t: str):
    """A wildcard pattern that matches ``t``: some characters -> '?', some runs -> '*'."""
    out, i = [], 0
    while i < len(t):
        r = draw(st.integers(0, 9))
        if r < 2:
            out.append("?")
            i += 1
        elif r < 3:
            j = draw(st.integers(i, len(t)))
            out.append("*")
            i = j
        else:
            out.append(t[i])
            i += 1
    pat = "".join(out)
    if not any(c in ALNUM for c in pat):
        pat = t
    return pat


@given(st.data(), texts)
def test_every_exact_hit_is_a_wildcard_and_fuzzy_hit(data, t):
    assert matches(t, t)
    pat = data.draw(wildcard_of(t))
    assert matches(pat, t), pat
    for k in (0.4, 1, 2):
        assert matches(t, t, k)
        assert matches(pat, t, k)


@settings(max_examples=150)
@given(st.text(alphabet=ALNUM + "??*", min_size=1, max_size=8), st.lists(texts, min_size=1, max_size=20))
def test_vectorized_distance_equals_reference(pattern, candidates):
    if not any(c in ALNUM for c in pattern):
        pattern += "A"
    p = pm.parse_pattern(pattern)
    mat, lens = pm.encode(candidates)
    vec = pm.distances(p, mat, lens)
    ref = [pm.distance(p, c) for c in candidates]
    assert np.allclose(vec, ref, atol=1e-5)


def _mutate(rng: random.Random, t: str, edits: int) -> str:
    s = list(t)
    for _ in range(edits):
        op = rng.random()
        if op < 0.5 and s:
            i = rng.randrange(len(s))
            partners = [b for a, b in STRONG_PAIRS if a == s[i]]
            s[i] = rng.choice(partners) if partners and rng.random() < 0.6 else rng.choice(ALNUM)
        elif op < 0.75 and len(s) > 1:
            del s[rng.randrange(len(s))]
        else:
            s.insert(rng.randrange(len(s) + 1), rng.choice(ALNUM))
    return "".join(s)


def _random_cases(n: int, seed: int = 3):
    rng = random.Random(seed)
    cases = []
    for _ in range(n):
        base = "".join(rng.choice(ALNUM) for _ in range(rng.randint(4, 8)))
        pat = list(base)
        if rng.random() < 0.3:
            pat[rng.randrange(len(pat))] = "?"
        if rng.random() < 0.2:
            i = rng.randrange(len(pat))
            pat[i : i + rng.randint(1, 3)] = ["*"]
        pattern = "".join(pat)
        if not any(c in ALNUM for c in pattern):
            pattern = base
        k = rng.choice([0, 0.4, 0.8, 1, 1.4, 2])
        text = _mutate(rng, base, rng.randint(0, 3))
        if text:
            cases.append((pattern, k, text))
    return cases


def test_prefilters_never_drop_a_true_match():
    """Signature/length prefilter, bigram postings and the SQL prefilter all keep every text within
    the budget (checked on 3,000 random pattern/text pairs, about a third of them true matches)."""
    cases = _random_cases(3000)
    con = duckdb.connect()
    n_true = 0
    for i, (pattern, k, text) in enumerate(cases):
        p = pm.parse_pattern(pattern, k)
        d = pm.distance(p, text)
        if d > k + pm.EPS:
            continue
        n_true += 1
        mat, lens = pm.encode([text])
        raw, canon = pm.signatures(mat)
        assert pm.prefilter_mask(p, raw, canon, lens)[0], (pattern, k, text)
        off, ids = pm.build_bigram_index(mat)
        cand = pm.bigram_candidates(p, off, ids)
        assert cand is None or 0 in cand, (pattern, k, text)
        sql = pm.sql_prefilter(p, "t")
        assert con.execute(f"SELECT {sql} FROM (SELECT ? AS t)", [text]).fetchone()[0], (
            pattern,
            k,
            text,
            sql,
        )
        if i % 7 == 0:  # the same through a list lambda, as the scan uses it
            lam = pm.sql_prefilter(p, "c.text")
            q = f"SELECT len(list_filter(?::STRUCT(text VARCHAR, score FLOAT)[], lambda c: {lam})) > 0"
            assert con.execute(q, [[{"text": text, "score": 0.5}]]).fetchone()[0]
    assert n_true > 500


def test_bigram_candidates_narrow_a_vocabulary():
    rng = random.Random(5)
    vocab = sorted(
        {"".join(rng.choice(ALNUM) for _ in range(7)) for _ in range(20_000)} | {"AB123CD", "A8123CD"}
    )
    mat, _ = pm.encode(vocab)
    off, ids = pm.build_bigram_index(mat)
    p = pm.parse_pattern("AB123CD", 1)
    cand = pm.bigram_candidates(p, off, ids)
    assert len(cand) < len(vocab) / 20
    hits = {vocab[i] for i in cand if pm.distance(p, vocab[i]) <= 1}
    truth = {v for v in vocab if pm.distance(p, v) <= 1}
    assert hits == truth and {"AB123CD", "A8123CD"} <= truth


def test_match_score_ranks_best_read_above_candidate_and_exact_above_fuzzy():
    s = pm.match_score(
        np.array([0, 0, 0.4, 1.0]), 1, np.array([True, False, True, True]), np.array([0.9, 0.9, 0.9, 0.9])
    )
    assert s[0] == 1.0 and s[0] > s[1] and s[0] > s[2] > s[3] > 0
    assert pm.match_score(0, 0, False, 0.1) < pm.match_score(0, 0, False, 0.8) < 1


def test_sql_prefilter_shapes():
    assert pm.sql_prefilter(pm.parse_pattern("ABC123"), "x") == "x = 'ABC123'"
    assert pm.sql_prefilter(pm.parse_pattern("AB?1*"), "x") == "x LIKE 'AB_1%'"
    assert "regexp_full_match" in pm.sql_prefilter(pm.parse_pattern("AB12", 0.8), "x")
    assert "regexp_matches" in pm.sql_prefilter(pm.parse_pattern("ABC123", 1), "x")


def test_encode_accepts_arrow_strings():
    arr = pa.array(["AB1", "XYZ789"]).to_numpy(zero_copy_only=False)
    mat, lens = pm.encode(arr)
    assert mat.shape == (2, 6) and list(lens) == [3, 6]


def test_like_verification_agrees_with_edit_distance():
    rng = random.Random(8)
    batch = ["".join(rng.choice(ALNUM) for _ in range(rng.randint(3, 9))) for _ in range(5000)]
    mat, lens = pm.encode(batch)
    for pat in ["*2?D", "A*", "?B*", "*AB?", "A?C*1", "??1"]:
        p = pm.parse_pattern(pat)
        like = pm.verify(p, mat, lens)
        assert np.array_equal(np.isfinite(like), pm.distances(p, mat, lens) <= pm.EPS), pat
