"""Watchlist entries: case + role + audit, hygiene warnings, historical matching, CSV import, CLI."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from watch_testkit import as_table, read_row

from jobs.cli import main
from pipelines.governance import MissingCaseError, SearchContext
from pipelines.watchlist import WatchlistError, list_entries
from pipelines.watchlist.manage import add_plate, import_csv, parse_expiry, remove_entry


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_adding_needs_a_case_and_an_editing_role_and_writes_nothing_otherwise(home, police):
    no_case = SearchContext(user="sara", role="supervisor", agency="police911")
    with pytest.raises(MissingCaseError):
        add_plate(home, no_case, "ABC1234", reason="stolen")
    analyst = SearchContext(user="al", role="analyst", agency="police911", case_number="C1", purpose="p")
    with pytest.raises(PermissionError):
        add_plate(home, analyst, "ABC1234", reason="stolen")
    with pytest.raises(WatchlistError, match="characters other than"):
        add_plate(home, police, "ABC-12$4", reason="stolen")
    with pytest.raises(WatchlistError, match="priority"):
        add_plate(home, police, "ABC1234", reason="stolen", priority=9)
    with pytest.raises(WatchlistError, match="past"):
        add_plate(home, police, "ABC1234", reason="stolen", expires="2020-01-01")
    assert home.count("watchlist") == 0
    # the two refusals (no case, a role that may not edit) are logged; bad input is not a refusal
    refused = [r for r in home.read("audit_log").to_pylist() if r["outcome"] == "refused"]
    assert sorted((r["action"], r["user"]) for r in refused) == [
        ("watchlist.add", "al"),
        ("watchlist.add", "sara"),
    ]
    assert home.count("audit_log") == 2
    res = add_plate(home, police, "abc-1234", reason="stolen", expires="30d")
    assert res.created and res.entry["value"] == "ABC1234" and res.entry["agency"] == "police911"
    assert res.entry["expires_at"] == pytest.approx(
        _now() + dt.timedelta(days=30), abs=dt.timedelta(minutes=1)
    )
    again = add_plate(home, police, "ABC 1234", reason="stolen, plates swapped", priority=1)
    assert not again.created and again.entry["entry_id"] == res.entry["entry_id"]
    assert home.count("watchlist") == 1
    audit = [r for r in home.read("audit_log").to_pylist() if r["outcome"] == "ok"]
    assert sorted(r["action"] for r in audit) == [
        "watchlist.add",
        "watchlist.historical",
        "watchlist.historical",
        "watchlist.update",
    ]
    assert {r["case_number"] for r in audit} == {"C-2026-7"}


def test_only_the_owning_agency_removes_an_entry(home, police, municipal):
    e = add_plate(home, police, "ABC1234", reason="stolen").entry
    with pytest.raises(PermissionError):
        remove_entry(home, municipal, e["entry_id"])
    remove_entry(home, police, e["entry_id"])
    with pytest.raises(WatchlistError, match="already removed"):
        remove_entry(home, police, e["entry_id"])
    assert list_entries(home, police) == []
    assert [r["status"] for r in list_entries(home, police, include_removed=True)] == ["removed"]


def test_hygiene_warns_on_ocr_equivalent_entries_and_broad_patterns(home, police, municipal):
    assert add_plate(home, police, "ABC1234", reason="stolen").warnings == []
    warn = add_plate(home, municipal, "A8C1234", reason="stolen").warnings
    assert len(warn) == 1 and "collides with entry" in warn[0] and "ABC1234" in warn[0]
    # wildcards: a literal plate inside an existing pattern, and a pattern over an existing plate
    add_plate(home, police, "KX?9*", reason="partial plate")
    assert "KX?9*" in add_plate(home, police, "KX79000", reason="stolen").warnings[0]
    assert any("KX79000" in w for w in add_plate(home, police, "KX7*", reason="fleet").warnings)
    # a covert entry of another agency is not revealed by the warning
    add_plate(home, police, "SEC7777", reason="undercover", covert=True)
    assert add_plate(home, municipal, "SEC777", reason="x", fuzzy=1).warnings == []
    # plates seen last month: look-alikes of an exact entry, and a pattern that matches too many
    t = _now() - dt.timedelta(days=3)
    seen = ["XYZ9876", "XY29876", "KLM1001", "KLM1002", "KLM1003", "KLM1004", "KLM1005"]
    home.append(
        "plate_reads",
        as_table([read_row(f"s{i}", p, t + dt.timedelta(minutes=i)) for i, p in enumerate(seen)]),
    )
    twins = add_plate(home, police, "XYZ9876", reason="stolen").warnings
    assert len(twins) == 1 and "XY29876 (1 reads)" in twins[0]
    broad = add_plate(home, police, "KLM10*", reason="fleet").warnings
    assert len(broad) == 1 and "matches 5 distinct plates" in broad[0]


def test_historical_matching_finds_past_hits_under_the_entry_case(home, police):
    t = _now() - dt.timedelta(days=2)
    home.append(
        "plate_reads",
        as_table(
            [
                read_row("h1", "HIS7001", t, camera="MUN-1"),
                read_row(
                    "h2",
                    "HI57001",
                    t + dt.timedelta(hours=1),
                    camera="POL-1",
                    cands=[("HI57001", 0.6), ("HIS7001", 0.3)],
                ),
                read_row("h3", "HIS7001", t, camera="MUN-2"),  # not shared with the police: out of scope
                read_row(
                    "h4", "HIS7001", t - dt.timedelta(days=200), camera="MUN-1"
                ),  # older than the window
                read_row("h5", "OTHER11", t, camera="MUN-1"),
            ]
        ),
    )
    res = add_plate(home, police, "HIS7001", reason="stolen")
    assert sorted(h["read_id"] for h in res.historical) == ["h1", "h2"]
    assert all(h["entry_id"] == res.entry["entry_id"] for h in res.historical)
    hist = [r for r in home.read("audit_log").to_pylist() if r["action"] == "watchlist.historical"]
    assert len(hist) == 1 and hist[0]["case_number"] == "C-2026-7" and hist[0]["result_count"] == 2
    add = next(r for r in home.read("audit_log").to_pylist() if r["action"] == "watchlist.add")
    assert json.loads(add["parameters"])["historical_hits"] == 2


def test_csv_import_is_all_or_nothing_and_idempotent(home, police, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "kind,value,reason,priority,expires,covert\nplate,AAA111,stolen,1,,\nplate,BB$2,stolen,2,,\n"
    )
    with pytest.raises(WatchlistError, match="line 3"):
        import_csv(home, police, bad)
    assert home.count("watchlist") == 0
    good = tmp_path / "hot.csv"
    good.write_text(
        "kind,value,reason,priority,expires,covert,fuzzy\nplate,AAA111,stolen,1,30d,,\n"
        "plate,CCC3*,gang,2,,yes,0\nplate,DDD444,robbery,3,,,0.4\n"
    )
    first = import_csv(home, police, good)
    assert [r.created for r in first] == [True, True, True]
    assert [r.created for r in import_csv(home, police, good)] == [False, False, False]
    rows = {r["value"]: r for r in list_entries(home, police)}
    assert set(rows) == {"AAA111", "CCC3*", "DDD444"}
    assert rows["CCC3*"]["covert"] and rows["DDD444"]["fuzzy"] == pytest.approx(0.4)
    assert [r["action"] for r in home.read("audit_log").to_pylist()].count("watchlist.import") == 2


def test_expiry_parsing():
    now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    assert parse_expiry(None, now) is None
    assert parse_expiry("12h", now) == now + dt.timedelta(hours=12)
    assert parse_expiry("2w", now) == now + dt.timedelta(days=14)
    assert parse_expiry("2026-12-31", now) > dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.UTC)
    with pytest.raises(WatchlistError):
        parse_expiry("soon", now)


def test_cli_add_list_alerts_ack_remove(home, tmp_path, capsys, cli_user):
    h = str(home.storage.root).removesuffix("/tables")
    cli_user(h, role="admin")  # the OS user is an admin: --role/--agency below narrow it (issue 12.1)
    ident = ["--case", "C-9", "--purpose", "stolen car", "--role", "supervisor", "--agency", "police911"]
    assert (
        main(
            [
                "--home",
                h,
                "--json",
                "watchlist",
                "add",
                "plate",
                "ABC1234",
                "--reason",
                "stolen",
                "--priority",
                "1",
                *ident,
            ]
        )
        == 0
    )
    entry = json.loads(capsys.readouterr().out.strip())
    assert entry["value"] == "ABC1234" and entry["created"] and entry["historical_hits"] == 0
    assert main(["--home", h, "watchlist", "add", "plate", "A8C1234", "--reason", "stolen", *ident]) == 0
    cap = capsys.readouterr()
    assert "collides with entry" in cap.err and "added plate entry" in cap.out
    assert (
        main(["--home", h, "watchlist", "add", "plate", "ABC1234", "--reason", "x", "--agency", "police911"])
        == 2
    )
    assert "case number is required" in capsys.readouterr().err
    assert main(["--home", h, "watchlist", "list", "--json", "--agency", "municipal"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2

    from pipelines.watchlist import raise_alerts

    (a,) = raise_alerts(home, reads=as_table([read_row("r1", "ABC1234", _now(), camera="MUN-1")]))
    assert main(["alerts", "list", "--home", h, "--json", "--agency", "municipal", "--since", "1h"]) == 0
    (listed,) = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    for k in (
        "alert_id",
        "entry_id",
        "kind",
        "value",
        "ts",
        "camera_id",
        "agency",
        "score",
        "latency_s",
        "read_id",
        "sighting_id",
    ):
        assert k in listed
    assert listed["alert_id"] == a["alert_id"] and listed["acknowledged"] is False
    assert (
        main(["alerts", "ack", a["alert_id"], "--home", h, "--agency", "municipal", "--user", "mario"]) == 2
    )
    assert "mario" in capsys.readouterr().err  # --user cannot change who acts
    assert main(["alerts", "ack", a["alert_id"], "--home", h, "--agency", "municipal"]) == 0
    assert "acknowledged" in capsys.readouterr().out
    from pipelines.governance.audit import audit_rows

    (audited,) = audit_rows(home, action="alerts.ack")  # the refused ack above wrote nothing
    assert (audited["agency"], audited["case_number"]) == ("municipal", "C-9")
    assert json.loads(audited["parameters"])["alert_id"] == a["alert_id"]
    assert main(["alerts", "list", "--home", h, "--json", "--agency", "municipal", "--unacknowledged"]) == 0
    assert capsys.readouterr().out.strip() == ""
    assert main(["alerts", "ack", "nope", "--home", h, "--agency", "municipal"]) == 2
    capsys.readouterr()
    assert main(["--home", h, "--json", "watchlist", "remove", entry["entry_id"], *ident]) == 0
    assert json.loads(capsys.readouterr().out)["active"] is False


def test_the_case_warrant_limits_entries_and_their_historical_window(home, police):
    from pipelines.governance.cases import ScopeRefused, close_case, open_case

    t = _now()
    home.append(
        "plate_reads",
        as_table(
            [
                read_row("old", "ABC1234", t - dt.timedelta(days=20), camera="MUN-1"),
                read_row("new", "ABC1234", t - dt.timedelta(days=2), camera="MUN-1"),
            ]
        ),
    )
    open_case(
        home, police, "C-2026-7", "stolen vehicle", plates=["ABC1234"], time_from=t - dt.timedelta(days=5)
    )
    with pytest.raises(ScopeRefused, match="covers plates ABC1234 only"):
        add_plate(home, police, "XYZ9876", reason="not in the warrant")
    with pytest.raises(ScopeRefused):
        add_plate(home, police, "ABC12*", reason="a wildcard reaches beyond the warrant's plate")
    assert home.count("watchlist") == 0
    res = add_plate(home, police, "ABC1234", reason="stolen")
    assert [h["read_id"] for h in res.historical] == ["new"]  # the warrant starts 5 days ago
    close_case(home, police, "C-2026-7")
    with pytest.raises(ScopeRefused, match="closed"):
        add_plate(home, police, "ABC1234", reason="stolen", priority=1)
    assert [r["priority"] for r in home.read("watchlist").to_pylist()] == [3]
