"""Case requirement, audit rows and agency scope (legacy shared_with read as agreements)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from pipelines.governance import (
    CASE_REQUIRED_MESSAGE,
    MissingCaseError,
    MissingPurposeError,
    SearchContext,
    audit,
    audit_rows,
    camera_scope,
    require_case,
    visible_cameras,
)


def ctx(**kw) -> SearchContext:
    base = {"user": "ana", "role": "investigator", "agency": None, "case_number": "C-1", "purpose": "robbery"}
    return SearchContext(**{**base, **kw})


@pytest.mark.parametrize("case", ["", "   ", None])
def test_require_case_refuses_without_case(case):
    with pytest.raises(MissingCaseError) as err:
        require_case(ctx(case_number=case or ""))
    assert (
        str(err.value)
        == CASE_REQUIRED_MESSAGE
        == "a case number is required: pass --case or set PESQUISA_CASE"
    )
    with pytest.raises(MissingCaseError):
        require_case(None)


def test_require_case_needs_purpose_too():
    with pytest.raises(MissingPurposeError, match="purpose is required"):
        require_case(ctx(purpose="  "))
    assert require_case(ctx()) is not None


def test_unknown_role_is_rejected():
    with pytest.raises(ValueError, match="unknown role"):
        ctx(role="janitor")


def test_audit_appends_one_row_with_json_parameters(lakehouse):
    t = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
    row = audit(
        lakehouse,
        ctx(agency="police911"),
        "plates.search",
        {"pattern": "ABC123", "from": t, "cameras": ["c2", "c1"]},
        7,
    )
    assert row["result_count"] == 7
    rows = audit_rows(lakehouse)
    assert len(rows) == 1
    r = rows[0]
    assert (r["user"], r["role"], r["agency"], r["case_number"], r["purpose"], r["action"]) == (
        "ana",
        "investigator",
        "police911",
        "C-1",
        "robbery",
        "plates.search",
    )
    assert json.loads(r["parameters"]) == {
        "pattern": "ABC123",
        "from": t.isoformat(),
        "cameras": ["c2", "c1"],
    }
    assert r["ts"].tzinfo is not None
    audit(lakehouse, ctx(case_number="C-2"), "faces.search", {}, 0)
    assert [x["case_number"] for x in audit_rows(lakehouse)] == ["C-2", "C-1"]  # newest first
    assert [x["action"] for x in audit_rows(lakehouse, case_number="C-1")] == ["plates.search"]


def test_audit_refuses_incomplete_context_and_writes_nothing(lakehouse):
    with pytest.raises(MissingCaseError):
        audit(lakehouse, ctx(case_number=""), "plates.search", {}, 0)
    assert lakehouse.count("audit_log") == 0


CAMS = [
    {"camera_id": "m1", "agency": "municipal", "shared_with": ["police911"]},
    {"camera_id": "m2", "agency": "municipal", "shared_with": []},
    {"camera_id": "p1", "agency": "police911", "shared_with": None},
]


def test_visible_cameras_own_plus_shared():
    assert visible_cameras(CAMS, "police911") == {"m1", "p1"}
    assert visible_cameras(CAMS, "municipal") == {"m1", "m2"}
    assert visible_cameras(CAMS, "transit") == frozenset()


def test_camera_scope_only_admin_sees_all_and_no_agency_sees_nothing(lakehouse):
    lakehouse.append("cameras", CAMS)
    nobody = camera_scope(lakehouse, ctx(agency=None))
    assert (
        nobody is not None
        and not nobody.cameras
        and not nobody.allows("m1")
        and not nobody.allows("m1", "municipal")
    )
    assert camera_scope(lakehouse, ctx(agency=None, role="admin")) is None
    assert camera_scope(lakehouse, ctx(agency="police911", role="admin")).cameras == {"m1", "p1"}  # narrowed
    s = camera_scope(lakehouse, ctx(agency="police911"))
    assert s.cameras == {"m1", "p1"}
    assert s.allows("m1") and not s.allows("m2") and s.allows("unregistered", "police911")


def test_searches_refused_for_want_of_a_case_are_logged(lakehouse, tmp_path, cli_user, capsys):
    """Every refused search — library or CLI, missing case or missing purpose — writes a refusal row
    (outcome ``refused`` with the reason); nothing is read (issue 12.3)."""
    from jobs.cli import main
    from lakehouse import Lakehouse
    from pipelines.governance.scope import ReadScope
    from pipelines.search.plates import PlateQuery, search_plates
    from pipelines.search.route import RouteQuery, plate_route

    with pytest.raises(MissingCaseError):
        search_plates(lakehouse, PlateQuery("ABC123"), ReadScope.of(ctx(case_number="")))
    with pytest.raises(MissingPurposeError):
        plate_route(lakehouse, RouteQuery("ABC123"), ReadScope.of(ctx(purpose="")))
    rows = audit_rows(lakehouse)
    assert [(r["action"], r["outcome"]) for r in rows] == [
        ("plates.route", "refused"),
        ("plates.search", "refused"),
    ]
    assert "purpose is required" in rows[0]["reason"] and "case number is required" in rows[1]["reason"]
    assert rows[0]["result_count"] == 0 and rows[0]["os_user"]

    home = tmp_path / "cli-home"
    home.mkdir()
    cli_user(home, role="investigator", agency="police911")
    assert main(["--home", str(home), "plates", "search", "ABC123"]) == 2
    assert "case number is required" in capsys.readouterr().err
    (row,) = audit_rows(Lakehouse(home=home))
    assert (row["action"], row["outcome"], row["user"]) == ("plates.search", "refused", "tester")


def test_cli_identity_refusals_are_logged(tmp_path, cli_user, capsys):
    """A search refused because a flag tries to widen the caller's identity is logged under the
    proven identity; an unknown OS user's under ``unknown:<os user>``; a home that does not exist is
    not created by a refusal."""
    from jobs.cli import main
    from lakehouse import Lakehouse
    from pipelines.governance.identity import os_user

    home = tmp_path / "home"
    home.mkdir()
    cli_user(home, role="investigator", agency="police911")
    case = ["--case", "C-1", "--purpose", "test"]
    assert main(["--home", str(home), "plates", "search", "ABC123", "--agency", "municipal", *case]) == 2
    assert main(["--home", str(home), "plates", "search", "ABC123", "--role", "admin", *case]) == 2
    capsys.readouterr()
    rows = audit_rows(Lakehouse(home=home))
    assert [(r["user"], r["agency"], r["outcome"], r["case_number"]) for r in rows] == [
        ("tester", "police911", "refused", "C-1")
    ] * 2
    other = tmp_path / "other"
    other.mkdir()
    assert main(["--home", str(other), "plates", "search", "ABC123", *case]) == 2
    (row,) = audit_rows(Lakehouse(home=other))
    assert row["user"] == f"unknown:{os_user()}" and row["outcome"] == "refused" and row["reason"]
    missing = tmp_path / "no-such-home"
    assert main(["--home", str(missing), "plates", "search", "ABC123", *case]) == 2
    assert not missing.exists()
