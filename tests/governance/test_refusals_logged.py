"""Every write path refuses a missing case or a role without the permission AND logs the refusal
(issue 12.3: ``outcome = refused`` with the reason), exactly once: watchlist add / change / remove /
import, legal holds, sharing agreements, cases, model-version switches and exports; through the
library (what the app calls) and through the CLI, where a widening flag is refused and logged too."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jobs.cli import main
from lakehouse import Lakehouse
from pipelines.governance.agreements import add_agreement, revoke_agreement
from pipelines.governance.cases import CaseError, close_case, open_case
from pipelines.governance.context import SearchContext
from pipelines.governance.export import ExportRequest, export_evidence
from pipelines.governance.holds import add_hold, release_hold
from pipelines.versions import set_version
from pipelines.watchlist.manage import add_plate, import_csv, remove_entry


def _ctx(role: str, agency: str | None = "police911", case: str = "K-1") -> SearchContext:
    return SearchContext(user=f"u-{role}", role=role, agency=agency, case_number=case, purpose="review")


def _refusals(lh: Lakehouse) -> list[dict[str, Any]]:
    if not lh.exists("audit_log"):
        return []
    rows = [r for r in lh.read("audit_log").to_pylist() if r["outcome"] == "refused"]
    return sorted(rows, key=lambda r: r["seq"] or 0)


def _refused_once(lh: Lakehouse, fn: Callable[[], Any], action: str, match: str) -> dict[str, Any]:
    before = len(_refusals(lh))
    with pytest.raises(PermissionError, match=match):
        fn()
    rows = _refusals(lh)
    assert len(rows) == before + 1, [(r["action"], r["reason"]) for r in rows[before:]]
    row = rows[-1]
    assert row["action"] == action and row["reason"] and match.split(".*")[0] in row["reason"]
    return row


def test_every_write_path_logs_its_refusals(tmp_path: Path) -> None:
    lh = Lakehouse(home=tmp_path / "home")
    inv, analyst = _ctx("investigator"), _ctx("analyst")
    no_case = dataclasses.replace(inv, case_number="", purpose="")
    admin = SearchContext(user="boss", role="admin")

    # watchlist: no case, a role that may not edit, another agency's entry, an import without a case
    row = _refused_once(
        lh, lambda: add_plate(lh, no_case, "ABC123", reason="stolen"), "watchlist.add", "a case number"
    )
    assert row["user"] == "u-investigator" and row["case_number"] == ""
    _refused_once(
        lh, lambda: add_plate(lh, analyst, "ABC123", reason="stolen"), "watchlist.add", "may not watchlist"
    )
    other = dataclasses.replace(inv, user="m-inv", agency="municipal")
    entry = add_plate(lh, other, "XYZ789", reason="stolen", historical=False).entry
    _refused_once(
        lh, lambda: remove_entry(lh, inv, entry["entry_id"]), "watchlist.remove", "belongs to municipal"
    )
    _refused_once(
        lh,
        lambda: add_plate(lh, inv, "XYZ789", reason="changed", agency="municipal"),
        "watchlist.add",
        "may not add entries for agency municipal",
    )
    # a closed case: refused by the case check, which logs it; logged once, not again by the wrapper
    open_case(lh, inv, "K-9", "closed soon")
    close_case(lh, inv, "K-9")
    closed = dataclasses.replace(inv, case_number="K-9")
    _refused_once(lh, lambda: add_plate(lh, closed, "ABC123", reason="stolen"), "watchlist.add", "is closed")
    csv = tmp_path / "list.csv"
    csv.write_text("kind,value,reason\nplate,AAA111,stolen\n")
    _refused_once(lh, lambda: import_csv(lh, no_case, csv), "watchlist.import", "a case number")

    # legal holds, sharing agreements, cases
    _refused_once(lh, lambda: add_hold(lh, analyst, "K-1", read_ids=["r1"]), "holds.add", "may not cases")
    hold = add_hold(lh, inv, "K-1", read_ids=["r1"])
    row = _refused_once(lh, lambda: release_hold(lh, inv, hold["hold_id"]), "holds.release", "may not audit")
    assert "hold_id" in row["parameters"]
    _refused_once(
        lh,
        lambda: add_agreement(lh, inv, from_agency="municipal", to_agency="police911", data_types=["plates"]),
        "share.add",
        "may not administer",
    )
    ag = add_agreement(lh, admin, from_agency="municipal", to_agency="police911", data_types=["plates"])
    _refused_once(
        lh, lambda: revoke_agreement(lh, inv, ag["agreement_id"]), "share.revoke", "may not administer"
    )
    _refused_once(lh, lambda: open_case(lh, analyst, "K-2", "review"), "cases.open", "may not cases")
    mun_case = open_case(lh, other, "M-1", "municipal's own case")["case_number"]
    before = len(_refusals(lh))
    with pytest.raises(CaseError, match="belongs to municipal"):  # another agency's case
        close_case(lh, inv, mun_case)
    assert [r["action"] for r in _refusals(lh)[before:]] == ["cases.close"]

    # a model-version switch by a role that may not operate ingestion
    _refused_once(
        lh,
        lambda: set_version(lh, "v1", by=inv.user, ctx=dataclasses.replace(inv, case_number="operations")),
        "versions.set",
        "may not ingest",
    )
    # an export by a role without the permission (logged once, by the export itself)
    out = tmp_path / "x.zip"
    _refused_once(
        lh,
        lambda: export_evidence(lh, analyst, ExportRequest(read_ids=("r1",)), out),
        "export",
        "may not export",
    )
    assert not out.exists()
    # nothing refused was written
    assert lh.read("holds").num_rows == 1 and lh.read("sharing_agreements").num_rows == 1
    assert sorted(r["case_number"] for r in lh.read("cases").to_pylist()) == ["K-9", "M-1"]


def test_cli_write_paths_log_refusals(tmp_path: Path, cli_user, capsys, monkeypatch) -> None:
    home = tmp_path / "home"
    lh = Lakehouse(home=home)
    cli_user(home, role="investigator", agency="police911")

    def cli(*argv: str) -> int:
        rc = main(["--home", str(home), *argv])
        capsys.readouterr()
        return rc

    assert cli("watchlist", "add", "plate", "ABC123", "--reason", "stolen") == 2  # no case
    monkeypatch.setenv("PESQUISA_ROLE", "admin")  # the environment may not widen the identity either
    assert cli("hold", "add", "--case", "K-1", "--reads", "r1") == 2
    monkeypatch.delenv("PESQUISA_ROLE")
    assert cli("share", "add", "--from", "municipal", "--to", "police911", "--types", "plates") == 3
    assert cli("versions", "set", "--model-version", "v1") == 3
    rows = _refusals(lh)
    assert [r["action"] for r in rows] == ["watchlist.add", "hold.add", "share.add", "versions.set"]
    assert all(r["os_user"] and r["reason"] for r in rows)
    assert "would widen" in rows[1]["reason"] and rows[1]["user"] == "tester"
    assert not lh.exists("holds") or lh.read("holds").num_rows == 0
