"""The before/after tools' own logic: what ``benchmarks/golden.py`` drops before comparing two
``--json`` outputs, how it reports a difference, and which cells ``benchmarks/golden_bench.py`` reads
as timings. (The tools themselves need an old checkout and real models: they are run by hand, see
benchmarks/RESULTS.md, "Golden --json before/after".)"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.golden import INTENDED, diff, normalise
from benchmarks.golden_bench import timings
from benchmarks.run_all import benchmark_names


def test_normalise_drops_new_and_volatile_fields_and_the_home_path(tmp_path: Path):
    home = tmp_path / "home-new"
    out = "\n".join(
        [
            json.dumps({"camera_id": "C1", "sample_fps": 5, "path": f"{home}/x.mp4", "uri": f"{home}/x.mp4"}),
            "",
            json.dumps({"camera_id": "C2", "gating": "region", "seconds": 0.2}),
        ]
    )
    recs = normalise("cameras list", out, home)
    assert recs == [
        {"camera_id": "C1", "path": "<volatile>", "uri": "HOME/x.mp4"},
        {"camera_id": "C2", "seconds": "<volatile>"},
    ]


def test_diff_names_the_changed_added_and_missing_fields():
    old = [{"a": 1, "b": 2}, {"a": 1}]
    new = [{"a": 1, "b": 3, "c": 0}, {"a": 1}, {"a": 2}]
    lines = diff(old, new)
    assert lines[0] == "2 records before, 3 after"
    assert lines[1] == "record 0: new fields ['c']; b: 2 -> 3"
    assert diff(old, old) == []
    assert all(why.startswith("13.") for why in INTENDED.values())  # each cites the fix


def test_timings_pairs_each_time_cell_by_table_row_and_column():
    md = """## bench

| query | pattern | hits | library (s) | page (s) | page / library |
|---|---|---:|---:|---:|---:|
| exact | `X1` | 4 | 0.061 | 0.228 | 3.8x |
| fuzzy=1 | `X2` | 4 | 0.032 | 0.118 | 3.7x |

| incidents | implementation | heat map | total |
|---|---|---|---|
| 1,000,000 | pesquisa | 280 ms | 1.89 s |
"""
    t = timings(md)
    assert t["0 | exact | library (s)"] == 0.061  # rows are named by their first cell
    assert t["0 | fuzzy=1 | page (s)"] == 0.118
    assert t["1 | 1,000,000 / pesquisa | heat map"] == 0.28  # (and the second after a size)
    assert t["1 | 1,000,000 / pesquisa | total"] == 1.89
    assert len(t) == 6  # hits, ratios and sizes are not timings


def test_the_before_after_tools_are_not_benchmarks_of_make_bench():
    assert not {"golden", "golden_bench"} & set(benchmark_names())
