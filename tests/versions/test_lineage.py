"""``pesquisa lineage diff`` on a planted change reports exactly the planted differences."""

from __future__ import annotations

import datetime as dt
import json

from jobs.cli import main
from lakehouse import Lakehouse
from pipelines.lineage import diff_versions, lineage_reports, report_sources
from tests.versions.conftest import START, commit_source, face_row

V1, V2 = "m-v1", "m-v2"


def _planted(lh: Lakehouse) -> None:
    # cam-1 (vidA): v2 re-reads 1 pass (XYZ789 -> XYZ780), drops 1 (DDD111), adds 1 (NEW999), 1 same;
    # one face sighting added. cam-2 (vidB): identical under both versions.
    commit_source(lh, "vidA", "cam-1", V1, [(1.0, "ABC123"), (5.0, "XYZ789"), (9.0, "DDD111")], [(2.0, 1)])
    commit_source(lh, "vidB", "cam-2", V1, [(3.0, "ABC123"), (7.0, "KLM456")], [(4.0, 2)])
    commit_source(
        lh, "vidA", "cam-1", V2, [(1.1, "ABC123"), (5.2, "XYZ780"), (14.0, "NEW999")], [(2.0, 1), (11.0, 3)]
    )
    commit_source(lh, "vidB", "cam-2", V2, [(3.0, "ABC123"), (7.0, "KLM456")], [(4.0, 2)])
    now = dt.datetime.now(dt.UTC)
    lh.append(
        "watchlist",
        [
            {
                "entry_id": "w-plate",
                "kind": "plate",
                "value": "XYZ789",
                "reason": "stolen",
                "priority": 1,
                "created_at": now,
                "agency": "municipal",
            },
            {
                "entry_id": "w-face",
                "kind": "face",
                "embedding": face_row("vidA", "cam-1", V2, 11.0, 3)["embedding"],
                "reason": "missing person",
                "priority": 1,
                "created_at": now,
                "agency": "municipal",
            },
            {"entry_id": "w-same", "kind": "plate", "value": "KLM456", "priority": 2, "created_at": now},
        ],
    )
    lh.append(
        "audit_log",
        [
            {
                "audit_id": "a1",
                "ts": now,
                "user": "ana",
                "case_number": "C-7",
                "purpose": "robbery",
                "action": "plates.search",
                "parameters": json.dumps({"pattern": "NEW99?"}),
                "result_count": 0,
            },
            {
                "audit_id": "a2",
                "ts": now,
                "user": "ana",
                "case_number": "C-8",
                "purpose": "theft",
                "action": "plates.search",
                "parameters": json.dumps({"pattern": "ABC123"}),
                "result_count": 2,
            },
        ],
    )


def test_lineage_reports_exactly_the_planted_change(lakehouse) -> None:
    lh = lakehouse
    _planted(lh)
    rep = diff_versions(lh, V1, V2)
    by = {s.video_id: s for s in rep.sources}
    a, b = by["vidA"], by["vidB"]
    assert a.counts() == {
        "passes_added": 1,
        "passes_dropped": 1,
        "passes_reread": 1,
        "passes_same": 1,
        "faces_added": 1,
        "faces_dropped": 0,
    }
    assert [(r["old"], r["new"]) for r in a.passes_reread] == [("XYZ789", "XYZ780")]
    assert [p["plate"] for p in a.passes_added] == ["NEW999"]
    assert [p["plate"] for p in a.passes_dropped] == ["DDD111"]
    assert not b.changed and b.passes_same == 2
    t = rep.totals()
    assert (t["passes_added"], t["passes_dropped"], t["passes_reread"], t["faces_added"]) == (1, 1, 1, 1)
    assert sorted((w["entry_id"], w["change"]) for w in rep.watchlist) == [
        ("w-face", "gained"),
        ("w-plate", "lost"),
    ]
    assert [(c["case_number"], len(c["gained"]), len(c["lost"])) for c in rep.cases] == [("C-7", 1, 0)]
    assert rep.cases_from in {"audit_log", "cases"}


def test_lineage_cli_stores_the_report(tmp_path, capsys, cli_user) -> None:
    home = tmp_path / "home"
    cli_user(home, role="admin")
    lh = Lakehouse(home=home)
    _planted(lh)
    rc = main(
        [
            "--home",
            str(home),
            "--json",
            "lineage",
            "diff",
            V1,
            V2,
            "--camera",
            "cam-1",
            "--from",
            START.date().isoformat(),
            "--to",
            START.date().isoformat(),
        ]
    )
    assert rc == 0
    rep = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rep["totals"]["sources"] == 1 and rep["totals"]["passes_reread"] == 1
    assert rep["sources"][0]["reread"][0]["old"] == "XYZ789"
    (stored,) = lineage_reports(lh)
    assert stored["report_id"] == rep["report_id"] and stored["passes_added"] == 1
    (src,) = report_sources(lh, rep["report_id"])
    assert src["video_id"] == "vidA" and src["details"]["reread"][0]["new"] == "XYZ780"
    # same version twice, and a selection without rows, are clear errors
    assert main(["--home", str(home), "lineage", "diff", V1, V1]) == 2
    assert main(["--home", str(home), "lineage", "diff", V1, V2, "--camera", "nowhere"]) == 1
    assert "no rows" in capsys.readouterr().err


def test_open_cases_come_from_the_cases_table_when_it_exists(lakehouse) -> None:
    lh = lakehouse
    _planted(lh)
    now = dt.datetime.now(dt.UTC)
    lh.append(
        "cases",
        [
            {"case_number": "C-7", "status": "closed", "opened_at": now},
            {"case_number": "C-8", "status": "open", "opened_at": now},
        ],
    )
    rep = diff_versions(lh, V1, V2)
    assert rep.cases_from == "cases"
    assert rep.cases == []  # C-7's search would change, but C-7 is closed; C-8's results do not change
    lh.upsert("cases", [{"case_number": "C-7", "status": "open", "opened_at": now}])
    assert [c["case_number"] for c in diff_versions(lh, V1, V2).cases] == ["C-7"]
