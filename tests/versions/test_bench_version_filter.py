"""The version-filter benchmark's smoke mode runs end to end (tiny size) and its two strategies agree
on what the filter hides."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_version_filter_benchmark_smoke(tmp_path, capsys) -> None:
    from benchmarks.version_filter import main

    assert main(["--smoke", "--rows", "20000", "--queries", "3", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    report = json.loads(out[out.index("{") :])
    assert report["rows"] == 20000 and report["planted"]["backfilled"] > 0
    res = report["results"]
    assert res["index"]["hidden_total"] == res["scan"]["hidden_total"]
    assert all(r["p95_with"] > 0 and r["p95_base"] > 0 for r in res.values())
