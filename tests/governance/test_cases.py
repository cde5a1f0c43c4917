"""Cases and warrant scope (issue 12.3): refused outside the scope, closed/expired cases stop their
searches, refusals are logged, probes kept owner-only with the case."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest

from jobs.cli import main
from lakehouse import Lakehouse
from pipelines.governance import SearchContext, audit_rows
from pipelines.governance.cases import CaseError, ScopeRefused, close_case, keep_probe, list_cases, open_case
from pipelines.governance.identity import PermissionDenied, map_os_user
from pipelines.governance.scope import ReadScope
from pipelines.search.area import Area

UTC = dt.UTC
CAMS = [
    {"camera_id": "p1", "agency": "police911", "lat": -25.28, "lon": -57.63},
    {"camera_id": "p2", "agency": "police911", "lat": -25.40, "lon": -57.50},
]
POLICE = SearchContext(
    user="ana", role="investigator", agency="police911", case_number="K-1", purpose="robbery"
)


def scope(ctx=POLICE, start=None, end=None) -> ReadScope:
    return ReadScope.of(ctx, start=start, end=end)


@pytest.fixture
def lh(lakehouse):
    lakehouse.append("cameras", CAMS)
    return lakehouse


def test_scoped_case_refuses_out_of_scope_searches_and_logs_them(lh):
    open_case(
        lh,
        POLICE,
        "K-1",
        "robbery at the bank",
        area=Area(near=(-25.28, -57.63, 500.0)),
        time_from=dt.datetime(2024, 5, 1, tzinfo=UTC),
        time_to=dt.datetime(2024, 5, 3, tzinfo=UTC),
        plates=["abc-123"],
    )
    ok = scope(start="2024-05-01", end="2024-05-02")
    ok.check(lh, "plates.search", plate="ABC123", cameras=["p1"])
    cams = ok.cameras(lh, "plates")
    assert cams.cameras == {"p1"} and not cams.allows("p2", "police911")  # the warrant area narrows
    refusals = [
        (scope(start="2024-04-01", end="2024-05-02"), {"plate": "ABC123"}, "warrant covers"),
        (scope(), {"plate": "ABC123"}, "warrant covers"),  # open time range
        (ok, {"plate": "XYZ999"}, "plates ABC123 only"),
        (ok, {"plate": "ABC*"}, "plates ABC123 only"),
        (ok, {"plate": "ABC123", "cameras": ["p2"]}, "excludes cameras p2"),
    ]
    for sc, q, why in refusals:
        with pytest.raises(ScopeRefused, match=why):
            sc.check(lh, "plates.search", **q)
    with pytest.raises(ScopeRefused):
        scope(start="2024-01-01", end="2024-12-31").cameras(lh, "plates")  # every reader goes through it
    refused = [r for r in audit_rows(lh) if r["outcome"] == "refused"]
    assert len(refused) == len(refusals) + 1 and all(
        r["case_number"] == "K-1" and r["reason"] for r in refused
    )


def test_closing_stops_searches_and_agency_and_expiry(lh):
    open_case(lh, POLICE, "K-1", "robbery", expires_at=dt.datetime.now(UTC) + dt.timedelta(hours=1))
    scope().check(lh, "plates.search", plate="ABC123")
    muni = SearchContext(user="mo", role="investigator", agency="municipal", case_number="K-1", purpose="x")
    with pytest.raises(ScopeRefused, match="belongs to agency police911"):
        scope(muni).cameras(lh, "plates")
    with pytest.raises(CaseError, match="belongs to"):
        close_case(lh, muni, "K-1")
    close_case(lh, POLICE, "K-1")
    with pytest.raises(ScopeRefused, match="closed"):
        scope().cameras(lh, "faces")
    with pytest.raises(CaseError, match="already closed"):
        close_case(lh, POLICE, "K-1")
    with pytest.raises(CaseError, match="in the past"):
        open_case(lh, POLICE, "K-2", "old", expires_at=dt.datetime(2020, 1, 1, tzinfo=UTC))
    row = open_case(lh, POLICE, "K-3", "burglary")
    lh.upsert("cases", [{**row, "expires_at": dt.datetime.now(UTC) - dt.timedelta(seconds=1)}])
    k3 = SearchContext(user="ana", role="investigator", agency="police911", case_number="K-3", purpose="p")
    with pytest.raises(ScopeRefused, match="expired"):
        scope(k3).cameras(lh, "plates")
    assert [c["case_number"] for c in list_cases(lh, POLICE)] == ["K-3", "K-1"]
    assert list_cases(lh, muni) == []
    actions = [r["action"] for r in audit_rows(lh)]
    assert "cases.open" in actions and "cases.close" in actions


def test_roles_and_registered_case_setting(lh, tmp_path):
    eng = SearchContext(user="ed", role="engineer", agency="police911", case_number="K-9", purpose="debug")
    with pytest.raises(ScopeRefused, match="may not search"):
        scope(eng).cameras(lh, "plates")
    with pytest.raises(PermissionDenied):
        open_case(lh, eng, "K-9", "debugging")
    (lh_home := tmp_path / "home").mkdir(exist_ok=True)
    (lh_home / "pesquisa.yaml").write_text("governance:\n  require_registered_case: true\n")
    strict = Lakehouse(home=lh_home)
    strict.append("cameras", CAMS)
    with pytest.raises(ScopeRefused, match="not registered"):
        scope().cameras(strict, "plates")


def test_probe_kept_owner_only_with_the_case(lh):
    data = b"\xff\xd8probe-photo-bytes"
    digest = keep_probe(lh, "K/1", data, suffix=".jpg")
    assert digest == hashlib.sha256(data).hexdigest()
    from pipelines.governance.cases import probes_dir

    files = list(probes_dir(lh, "K/1").iterdir())
    assert [f.name for f in files] == [f"{digest}.jpg"] and files[0].read_bytes() == data
    assert oct(files[0].stat().st_mode & 0o777) == "0o600"
    assert oct(probes_dir(lh, "K/1").stat().st_mode & 0o777) == "0o700"
    assert ".." not in str(probes_dir(lh, "../../etc"))


def test_cli_cases(tmp_path, capsys):
    home = tmp_path / "home"
    Lakehouse(home=home).append("cameras", CAMS)
    map_os_user(home, "ana", role="investigator", agency="police911")
    base = ["--home", str(home)]
    assert (
        main(
            [
                *base,
                "cases",
                "open",
                "K-7",
                "--purpose",
                "hit and run",
                "--plate",
                "ABC123",
                "--near",
                "-25.28,-57.63,500",
                "--from",
                "2024-05-01",
                "--to",
                "2024-05-02",
            ]
        )
        == 0
    )
    assert main([*base, "cases", "open", "K-7", "--purpose", "again"]) == 2
    assert main([*base, "--json", "cases", "list"]) == 0
    out = capsys.readouterr().out
    rec = json.loads(out.splitlines()[-1])
    assert rec["case_number"] == "K-7" and rec["target_plates"] == ["ABC123"] and rec["status"] == "open"
    assert main([*base, "cases", "close", "K-7"]) == 0
    assert main([*base, "cases", "close", "K-7"]) == 2
