"""Plate search over real Delta tables: candidates, ranking, filters, scope, limit, both strategies,
the index's incremental updates, and audit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random

import h3
import pytest

from pipelines.governance import MissingCaseError, audit_rows
from pipelines.search import Area, PlateIndex
from pipelines.search import plate_index as plate_index_mod
from pipelines.search import plate_match as pm
from pipelines.search.filters import resolve_filter
from pipelines.search.plates import find_plates

from .conftest import CAMERAS, T0, plate_hits, plate_result, read, scope_of

BOTH = pytest.mark.parametrize("strategy", ["scan", "index"])


def ids(hits):
    return [h["read_id"] for h in hits]


@BOTH
def test_read_with_confusion_is_found_through_its_candidate(city, ctx, strategy):
    hits = plate_hits(city, "ABC123", ctx, strategy=strategy)
    assert ids(hits) == ["r3", "r6", "r2", "r1"]  # best reads newest first, then the candidate match
    r1 = hits[-1]
    assert r1["plate"] == "ABC1Z3" and r1["matched_text"] == "ABC123" and r1["distance"] == 0
    assert r1["match_score"] == pytest.approx(0.5 + 0.4 * 0.3, abs=1e-4)
    assert [c["text"] for c in r1["candidates"]] == ["ABC1Z3", "ABC123"]
    for h in hits:
        assert {
            "read_id",
            "plate",
            "ts",
            "camera_id",
            "source_uri",
            "offset_s",
            "confidence",
            "candidates",
            "match_score",
        } <= set(h)
        assert h["ts"].tzinfo is not None and h["source_uri"].startswith("/videos/")


@BOTH
def test_fuzzy_ranks_exact_over_confusion_over_arbitrary_edit(city, ctx, strategy):
    hits = plate_hits(city, "ABC123", ctx, fuzzy=1, strategy=strategy)
    by = {h["read_id"]: h for h in hits}
    assert set(by) == {"r1", "r2", "r3", "r4", "r6", "r7"}
    assert by["r4"]["distance"] == pytest.approx(0.4) and by["r7"]["distance"] == 1
    assert by["r2"]["match_score"] == 1.0 > by["r4"]["match_score"] > by["r7"]["match_score"] > 0
    # r1: its best read is one confusion away (0.8) which beats the candidate's exact match (0.62)
    assert by["r1"]["match_score"] == pytest.approx(0.8, abs=1e-3) and by["r1"]["matched_text"] == "ABC1Z3"
    scores = [h["match_score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert ids(plate_hits(city, "ABC123", ctx, fuzzy=0.4, strategy=strategy)) == [
        "r3",
        "r6",
        "r2",
        "r4",
        "r1",
    ]


@BOTH
def test_wildcards(city, ctx, strategy):
    assert set(ids(plate_hits(city, "ABC?23", ctx, strategy=strategy))) == {"r1", "r2", "r3", "r6"}
    assert set(ids(plate_hits(city, "AB?123", ctx, strategy=strategy))) == {"r1", "r2", "r3", "r6", "r7"}
    assert set(ids(plate_hits(city, "*987", ctx, strategy=strategy))) == {"r5"}
    assert set(ids(plate_hits(city, "A*3", ctx, strategy=strategy))) == {"r1", "r2", "r3", "r4", "r6", "r7"}
    assert plate_hits(city, "ZZZ*", ctx, strategy=strategy) == []


@BOTH
def test_time_camera_and_limit_filters(city, ctx, strategy):
    day1 = plate_hits(city, "ABC123", ctx, start="2024-05-01", end="2024-05-01", strategy=strategy)
    assert set(ids(day1)) == {"r1", "r2", "r6"}  # a bare end date includes that day
    window = plate_hits(
        city,
        "ABC123",
        ctx,
        start=T0 + dt.timedelta(minutes=15),
        end=T0 + dt.timedelta(minutes=55),
        strategy=strategy,
    )
    assert set(ids(window)) == {"r2", "r6"}
    assert set(ids(plate_hits(city, "ABC123", ctx, cameras=["m1", "p1"], strategy=strategy))) == {"r1", "r3"}
    assert plate_hits(city, "ABC123", ctx, cameras=[], strategy=strategy) == []
    assert ids(plate_hits(city, "ABC123", ctx, fuzzy=1, limit=2, strategy=strategy)) == ["r3", "r6"]
    res = plate_result(city, "ABC123", ctx, fuzzy=1, limit=0, strategy=strategy)
    assert len(res.hits) == res.total == 6


@BOTH
def test_agency_scope(city, ctx, strategy):
    police = dataclasses.replace(ctx, agency="police911")
    municipal = dataclasses.replace(ctx, agency="municipal")
    admin = dataclasses.replace(ctx, agency=None, role="admin")  # an admin not narrowed to one agency
    # police: own p1, shared m1 and far, and its own rows from an unregistered camera; not m2
    assert set(ids(plate_hits(city, "ABC123", police, fuzzy=1, strategy=strategy))) == {
        "r1",
        "r3",
        "r4",
        "r6",
    }
    assert set(ids(plate_hits(city, "ABC123", municipal, fuzzy=1, strategy=strategy))) == {
        "r1",
        "r2",
        "r4",
        "r7",
    }
    assert len(plate_hits(city, "ABC123", admin, fuzzy=1, strategy=strategy)) == 6
    # an explicit camera outside the scope stays invisible
    assert plate_hits(city, "ABC123", police, cameras=["m2"], strategy=strategy) == []


@BOTH
def test_areas(city, ctx, strategy):
    def found(area):
        return set(ids(plate_hits(city, "ABC123", ctx, fuzzy=1, area=area, strategy=strategy)))

    assert found(Area(bbox=(-57.65, -25.295, -57.62, -25.275))) == {"r1", "r2", "r7"}  # m1, m2
    assert found(Area(near=(-25.3000, -57.6000, 1000))) == {"r3"}  # p1 only; m1 is ~4 km away
    assert found(Area(near=(-25.3000, -57.6000, 4000))) == {"r1", "r3"}  # m1 3.75 km, m2 4.17 km
    cell = h3.latlng_to_cell(-25.2800, -57.6300, 9)
    assert found(Area(h3_cells=(cell,))) == {"r1"}
    assert found(Area(h3_cells=(h3.cell_to_parent(cell, 4),))) >= {"r1", "r2", "r3", "r7"}
    square = {
        "type": "Feature",
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [
                    [-57.645, -25.295],
                    [-57.635, -25.295],
                    [-57.635, -25.285],
                    [-57.645, -25.285],
                    [-57.645, -25.295],
                ]
            ],
        },
    }
    assert found(Area(polygon=square)) == {"r2", "r7"}  # m2
    holed = {
        "type": "Polygon",
        "coordinates": [
            [[-57.7, -25.35], [-57.55, -25.35], [-57.55, -25.25], [-57.7, -25.25], [-57.7, -25.35]],
            [
                [-57.645, -25.295],
                [-57.635, -25.295],
                [-57.635, -25.285],
                [-57.645, -25.285],
                [-57.645, -25.295],
            ],
        ],
    }
    assert found(Area(polygon=holed)) == {"r1", "r3"}  # m1, p1; m2 sits in the hole


def test_area_validation():
    with pytest.raises(ValueError):
        Area()
    with pytest.raises(ValueError):
        Area(bbox=(1, 1, 0, 0))
    with pytest.raises(ValueError):
        Area(h3_cells=("nonsense",))
    with pytest.raises(ValueError):
        Area(polygon={"type": "Point", "coordinates": [0, 0]})


def test_every_search_is_audited_and_refused_without_case(city, ctx):
    hits = plate_hits(city, "ABC?23", ctx, fuzzy=0, cameras=["m1", "m2"], limit=10)
    rows = audit_rows(city)
    assert len(rows) == 1
    r = rows[0]
    assert (r["action"], r["case_number"], r["purpose"], r["user"], r["result_count"]) == (
        "plates.search",
        "C-2024-17",
        "robbery",
        "ana",
        len(hits),
    )
    params = json.loads(r["parameters"])
    assert params["pattern"] == "ABC?23" and params["cameras"] == ["m1", "m2"] and params["limit"] == 10
    assert params["matched"] == len(hits) == 2
    for bad in (dataclasses.replace(ctx, case_number=""), dataclasses.replace(ctx, case_number="  ")):
        with pytest.raises(MissingCaseError, match="a case number is required"):
            plate_hits(city, "ABC123", bad)
    rows = audit_rows(city)
    # nothing searched without a case; each refusal is logged as a refusal (issue 12.3)
    assert len(rows) == 3 and [r["outcome"] for r in rows].count("refused") == 2
    assert all(
        r["action"] == "plates.search" and not r["case_number"] for r in rows if r["outcome"] == "refused"
    )
    assert not PlateIndex(city).exists()


def test_pattern_errors_are_value_errors(city, ctx):
    with pytest.raises(pm.PatternError):
        plate_hits(city, "**", ctx)
    assert len(audit_rows(city)) == 0


# ------------------------------------------------------------------ index vs scan vs reference
ALNUM = pm.ALPHABET


def _random_reads(n: int, seed: int = 11) -> list[dict]:
    rng = random.Random(seed)
    plates = ["".join(rng.choice(ALNUM) for _ in range(rng.choice([6, 7]))) for _ in range(n // 4)]
    cams = [c["camera_id"] for c in CAMERAS] + ["cam-unregistered"]
    rows = []
    for i in range(n):
        true = rng.choice(plates)
        s = list(true)
        j = rng.randrange(len(s))
        partners = [b for g in pm.STRONG_GROUPS for a in g for b in g if a == s[j] and b != a]
        s[j] = rng.choice(partners) if partners and rng.random() < 0.7 else rng.choice(ALNUM)
        alt = "".join(s)
        best, second = (alt, true) if rng.random() < 0.2 else (true, alt)
        cands = [(best, 0.7), (second, 0.2)] + (
            [("".join(rng.choice(ALNUM) for _ in range(6)), 0.05)] if i % 3 == 0 else []
        )
        rows.append(
            read(
                f"x{i:05d}",
                best,
                rng.uniform(0, 60 * 24 * 3),
                rng.choice(cams),
                cands,
                agency=rng.choice(["municipal", "police911"]),
            )
        )
    return rows


def _reference(rows, pattern, fuzzy, start=None, end=None, cameras=None):
    p = pm.parse_pattern(pattern, fuzzy)
    out = {}
    for r in rows:
        if (
            start
            and r["ts"] < start
            or end
            and r["ts"] >= end
            or cameras is not None
            and r["camera_id"] not in cameras
        ):
            continue
        best = 0.0
        for text, score, is_best in [(r["plate"], None, True)] + [
            (c["text"], c["score"], c["text"] == r["plate"]) for c in r["candidates"]
        ]:
            d = pm.distance(p, text)
            if d <= fuzzy + pm.EPS:
                best = max(best, float(pm.match_score(d, fuzzy, is_best, score)))
        if best > 0:
            out[r["read_id"]] = round(best, 4)
    return out


@pytest.mark.parametrize("bigrams", [False, True])
def test_index_scan_and_reference_agree(lakehouse, ctx, monkeypatch, bigrams):
    if bigrams:  # force the bigram-postings path that large vocabularies take
        monkeypatch.setattr(plate_index_mod, "BIGRAM_MIN_TEXTS", 0)
    rows = _random_reads(1200)
    lakehouse.append("cameras", CAMERAS)
    lakehouse.append("plate_reads", rows[:700])
    lakehouse.append("plate_reads", rows[700:])
    rng = random.Random(2)
    patterns = []
    for r in rng.sample(rows, 6 if bigrams else 8):
        p = r["plate"]
        patterns += [
            (p, 0),
            (r["candidates"][1]["text"], 0),
            (p, 1),
            (p, 2),
            (p[:2] + "?" + p[3:], 0),
            ("*" + p[-3:], 0),
            (p[:3] + "*", 1),
        ]
    start, end = T0 + dt.timedelta(hours=20), T0 + dt.timedelta(hours=50)
    for i, (pattern, k) in enumerate(patterns):
        kw = {"start": start, "end": end, "cameras": ["m1", "p1", "cam-unregistered"]} if i % 3 == 0 else {}
        want = _reference(rows, pattern, k, kw.get("start"), kw.get("end"), kw.get("cameras"))
        flt = resolve_filter(
            lakehouse, scope_of(ctx, kw.get("start"), kw.get("end")), cameras=kw.get("cameras")
        )
        for strategy in ("index", "scan"):
            hits, total, used = find_plates(
                lakehouse, pm.parse_pattern(pattern, k), flt, limit=None, strategy=strategy
            )
            got = {h["read_id"]: h["match_score"] for h in hits}
            assert used == strategy and total == len(hits)
            assert got == want, (pattern, k, strategy, kw)
            order = [(-h["match_score"], -h["ts"].timestamp()) for h in hits]
            assert order == sorted(order)


def test_index_follows_appends_deletes_and_rewrites(city, ctx, monkeypatch):
    monkeypatch.setattr(plate_index_mod, "DEAD_FRACTION_REBUILD", 0.7)
    idx = PlateIndex(city)
    assert ids(plate_hits(city, "ABC123", ctx, strategy="index")) == ["r3", "r6", "r2", "r1"]
    st = idx.status()
    assert st["exists"] and st["reads"] == 7 and st["table_version"] == city.version("plate_reads")
    city.append("plate_reads", [read("r8", "ABC123", 90, "m2")])
    assert "r8" in ids(plate_hits(city, "ABC123", ctx, strategy="index"))
    assert idx.status()["reads"] == 8 and idx.status()["segments"] == 2
    city.table("plate_reads").delete("read_id = 'r5'")  # a small delete: its file is marked dead
    assert plate_hits(city, "XYZ987", ctx, strategy="index") == []
    assert idx.status()["dead_files"] == 1 and idx.status()["segments"] == 3
    monkeypatch.setattr(plate_index_mod, "DEAD_FRACTION_REBUILD", 0.3)
    city.table("plate_reads").delete("camera_id = 'm2'")  # a large one: the index rebuilds
    hits = plate_hits(city, "ABC123", ctx, strategy="index")
    assert "r8" not in ids(hits) and "r2" not in ids(hits) and "r3" in ids(hits)
    assert idx.status()["dead_files"] == 0
    # re-processing: the same read id now reads differently, in one commit
    city.replace("plate_reads", [read("r3", "QQQ111", 60 * 24 + 5, "p1")], "read_id = 'r3'")
    assert "r3" not in ids(plate_hits(city, "ABC123", ctx, strategy="index"))
    assert ids(plate_hits(city, "QQQ111", ctx, strategy="index")) == ["r3"]
    before = plate_hits(city, "ABC123", ctx, fuzzy=1, limit=0, strategy="index")
    summary = idx.rebuild()
    assert summary["action"] == "built" and idx.status()["dead_files"] == 0
    assert idx.status()["table_version"] == city.version("plate_reads")
    after = plate_hits(city, "ABC123", ctx, fuzzy=1, limit=0, strategy="index")
    assert [(h["read_id"], h["match_score"]) for h in after] == [
        (h["read_id"], h["match_score"]) for h in before
    ]
    assert after == plate_hits(city, "ABC123", ctx, fuzzy=1, limit=0, strategy="scan")


def test_auto_uses_index_when_it_exists_or_table_is_big(city, ctx, monkeypatch):
    assert plate_result(city, "ABC123", ctx).strategy == "scan"
    monkeypatch.setenv("PESQUISA_PLATE_INDEX_MIN_ROWS", "5")
    assert plate_result(city, "ABC123", ctx).strategy == "index"
    monkeypatch.setenv("PESQUISA_PLATE_INDEX_MIN_ROWS", "1000000")
    assert plate_result(city, "ABC123", ctx).strategy == "index"  # it exists now


def test_new_texts_go_to_a_delta_vocabulary_then_merge(city, ctx, monkeypatch):
    idx = PlateIndex(city)
    idx.update()
    main = idx.manifest()["vocab"]
    city.append("plate_reads", [read("n1", "NEW999", 5, "m1", [("NEW999", 0.8), ("NEW99", 0.1)])])
    assert ids(plate_hits(city, "NEW999", ctx, strategy="index")) == ["n1"]
    m = idx.manifest()
    assert m["vocab"] == main and m["vocab_delta"] and m["vocab_size"] == idx.status()["texts"]
    assert ids(plate_hits(city, "NEW99", ctx, fuzzy=1, strategy="index")) == ["n1"]
    assert ids(plate_hits(city, "NEW*", ctx, strategy="index")) == ["n1"]
    monkeypatch.setattr(plate_index_mod, "DELTA_MIN", 0)
    monkeypatch.setattr(plate_index_mod, "DELTA_FRACTION", 0.0)
    city.append("plate_reads", [read("n2", "NEW888", 6, "m1")])
    assert set(ids(plate_hits(city, "NEW*", ctx, strategy="index"))) == {"n1", "n2"}
    m = idx.manifest()
    assert m["vocab"] != main and m["vocab_delta"] is None
    assert plate_hits(city, "NEW*", ctx, fuzzy=1, limit=0, strategy="index") == plate_hits(
        city, "NEW*", ctx, fuzzy=1, limit=0, strategy="scan"
    )
