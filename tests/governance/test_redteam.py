"""The red team of issue 12, as a test: every bad input, every cross-agency probe per read path,
every tamper attempt and every retention check (``benchmarks/governance.py``) — none may leak, each
must be handled or detected. Run with ``-s`` to see the closing table; the JSON summary is written
next to the test's temporary home (``python -m benchmarks.governance`` writes
``benchmarks/results/governance.md``)."""

from __future__ import annotations

import json

from benchmarks import governance


def test_red_team_finds_nothing(tmp_path):
    s = governance.run(tmp_path / "work")
    (tmp_path / "governance.json").write_text(json.dumps(s, indent=2, default=str))
    print("\n" + governance.table(s))

    bad = s["bad_inputs"]
    assert bad["tried"] >= 30 and bad["handled"] == bad["tried"], [r for r in bad["rows"] if not r["handled"]]

    cross = s["cross_agency"]
    assert cross["paths"] >= 21 and cross["probes"] == 4 * cross["paths"]
    # the stored movement outputs are probed for real: the daily run stored rows of every kind, a
    # reader who may see every read is shown all of them, and withholding never exceeds the truth
    assert all(n > 0 for n in cross["stored_rows"].values()), cross["stored_rows"]
    for name, (shown, truth, stored) in cross["stored_shown"]["all"].items():
        assert shown == truth == stored, (name, shown, truth, stored)
    assert any(v[0] for v in cross["stored_shown"]["none"].values())  # police911's own rows are shown
    assert cross["leaks"] == 0, cross["leak_details"]
    assert cross["misses"] == 0, {k: v for k, v in cross["per_path"].items() if v["misses"]}
    assert cross["case_refused"] == cross["case_attempts"] == cross["case_refusals_logged"]

    tamper = s["tamper"]
    assert tamper["attempts"] >= 12 and tamper["detected"] == tamper["attempts"], tamper["per_attempt"]

    ret = s["retention"]
    assert ret["control"], "the scan must see every pattern before retention (positive control)"
    assert ret["bytes_left"] == 0, (ret["left"], ret["released_left"])
    assert all(ret["held_survived"].values()), ret["held_survived"]
