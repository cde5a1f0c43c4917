"""Evidence export after retention (issue 12.5 + 12.6): a purge removes the table versions a logged
search read and erases every unheld expired row. Held evidence must still export and verify (by
id, and as the results of a logged search, re-run on the first version kept after the purge); an
erased, unheld item is refused with a message that says why — and once a hold is released and
retention has run, so is the item it held.

Real Delta tables, the real ``maintain retention`` (delete + purge of old versions and log), real
signed packages; the sources are not on disk, so no clip is cut (no model time)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from deltalake.exceptions import DeltaError

from jobs.cli import main
from lakehouse import Lakehouse, maintenance
from pipelines.governance import SearchContext, audit_rows
from pipelines.governance.cases import open_case
from pipelines.governance.export import (
    ExportError,
    ExportRefused,
    ExportRequest,
    export_evidence,
    verify_package,
)
from pipelines.governance.holds import release_hold
from pipelines.governance.scope import ReadScope
from pipelines.search.plates import PlateQuery, search_plates

UTC = dt.UTC
NOW = dt.datetime.now(UTC)
OLD = NOW - dt.timedelta(days=400)  # past every default retention
CASE = "K-RET-1"
INV = SearchContext(user="ana", role="investigator", agency="police911", case_number=CASE, purpose="robbery")
SUP = SearchContext(user="sara", role="supervisor", agency="police911", case_number=CASE, purpose="robbery")


def _read(rid: str, ts: dt.datetime) -> dict:
    return {
        "read_id": rid,
        "camera_id": "P1",
        "ts": ts,
        "plate": "ABC123",
        "confidence": 0.9,
        "candidates": [{"text": "ABC123", "score": 0.9}],
        "source_uri": f"/nowhere/{rid}.mp4",
        "offset_s": 1.0,
        "model_version": "v1",
        "agency": "police911",
    }


def _ids(res) -> set[str]:
    return {i["id"] for i in res.items}


def test_held_evidence_exports_after_a_purge_and_erased_items_refuse(
    tmp_path: Path, cli_user, capsys
) -> None:
    home = tmp_path / "home"
    lh = Lakehouse(home=home)
    lh.append("cameras", [{"camera_id": "P1", "agency": "police911", "lat": -25.28, "lon": -57.63}])
    lh.append("plate_reads", [_read("r-held", OLD), _read("r-free", OLD), _read("r-new", NOW)])
    open_case(lh, INV, CASE, "robbery at the bank")
    hits = search_plates(lh, PlateQuery("ABC123"), ReadScope.of(INV)).hits
    assert {h["read_id"] for h in hits} == {"r-held", "r-free", "r-new"}
    search = audit_rows(lh, action="plates.search")[0]
    logged = json.loads(search["table_versions"])["plate_reads"]

    # the first export holds what it exported (unmasked by a supervisor: no detector time here)
    first = export_evidence(lh, SUP, ExportRequest(read_ids=("r-held",), unmask=True), tmp_path / "a.zip")
    assert first.hold_id and verify_package(first.path, lh=lh).ok

    maintenance.retention(lh, now=NOW)
    left = set(lh.read("plate_reads", columns=["read_id"])["read_id"].to_pylist())
    assert left == {"r-held", "r-new"}
    with pytest.raises(DeltaError):  # the version the search read is purged
        lh.table("plate_reads", logged)

    # held evidence, by id
    again = export_evidence(lh, SUP, ExportRequest(read_ids=("r-held",), unmask=True), tmp_path / "b.zip")
    assert _ids(again) == {"r-held"} and verify_package(again.path, lh=lh).ok
    # the logged search, re-run on the first version kept: the held and fresh rows, the erased noted
    q = export_evidence(
        lh, SUP, ExportRequest(query_audit_id=search["audit_id"], unmask=True), tmp_path / "q.zip"
    )
    assert _ids(q) == {"r-held", "r-new"} and verify_package(q.path, lh=lh).ok
    assert any("purged by retention" in n for n in q.notes), q.notes
    info = json.loads(__import__("zipfile").ZipFile(q.path).read("export.json"))
    assert any("purged by retention" in n for n in info["notes"])

    # an erased, unheld read: refused with the reason, logged, no package
    with pytest.raises(ExportRefused, match="erased by retention"):
        export_evidence(lh, SUP, ExportRequest(read_ids=("r-free",), unmask=True), tmp_path / "c.zip")
    assert not (tmp_path / "c.zip").exists()
    refused = [r for r in audit_rows(lh, action="export") if r["outcome"] == "refused"]
    assert refused and "erased by retention" in refused[0]["reason"]
    cli_user(home, role="supervisor", agency="police911", name="sara")
    rc = main(["--home", str(home), "export", "--case", CASE, "--reads", "r-free", str(tmp_path / "d.zip")])
    assert rc == 3 and "erased by retention" in capsys.readouterr().err

    # released holds: retention erases the rows; exporting them again names the released hold
    for h in {first.hold_id, again.hold_id, q.hold_id}:
        release_hold(lh, SUP, h)
    maintenance.retention(lh, now=NOW)
    assert set(lh.read("plate_reads", columns=["read_id"])["read_id"].to_pylist()) == {"r-new"}
    with pytest.raises(ExportRefused, match="hold [0-9a-f]+ on them was released"):
        export_evidence(lh, SUP, ExportRequest(read_ids=("r-held",), unmask=True), tmp_path / "e.zip")
    # the logged search now exports only the fresh row; a search whose rows are all erased refuses
    q2 = export_evidence(
        lh, SUP, ExportRequest(query_audit_id=search["audit_id"], unmask=True), tmp_path / "q2.zip"
    )
    assert _ids(q2) == {"r-new"} and verify_package(q2.path, lh=lh).ok
    lh.replace("plate_reads", [], "read_id = 'r-new'")
    with pytest.raises(ExportError, match="erased by retention"):
        export_evidence(
            lh, SUP, ExportRequest(query_audit_id=search["audit_id"], unmask=True), tmp_path / "q3.zip"
        )
