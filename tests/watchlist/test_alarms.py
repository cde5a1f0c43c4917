"""Alarms over real Delta tables: one alert per entry, camera and pass; idempotent re-runs; routing
(covert, shared), expiry and removal; per-agency acknowledgement."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from watch_testkit import as_table, read_row

from pipelines.watchlist import acknowledge, list_alerts, raise_alerts
from pipelines.watchlist.manage import add_plate, remove_entry

REQUIRED = {
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
    "crop_jpeg",
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_one_alert_per_entry_camera_and_pass_and_reruns_raise_nothing(home, police):
    entry = add_plate(home, police, "ABC1234", reason="stolen car", priority=1).entry
    t = _now() - dt.timedelta(seconds=3)
    # one pass at MUN-1 split over three rows (two micro-batches), the plate only a candidate in one
    batch1 = as_table(
        [
            read_row("r1", "ABC1234", t, cands=[("ABC1234", 0.9)]),
            read_row(
                "r2", "ABC1Z34", t + dt.timedelta(seconds=1), cands=[("ABC1Z34", 0.6), ("ABC1234", 0.3)]
            ),
            read_row("x1", "XYZ9876", t),
        ]
    )
    batch2 = as_table([read_row("r3", "ABC1234", t + dt.timedelta(seconds=2))])
    home.append("plate_reads", batch1)
    alerts = raise_alerts(home, reads=batch1)
    assert len(alerts) == 1
    a = alerts[0]
    assert REQUIRED <= set(a)
    assert (a["entry_id"], a["kind"], a["value"], a["read_id"], a["camera_id"]) == (
        entry["entry_id"],
        "plate",
        "ABC1234",
        "r1",
        "MUN-1",
    )
    assert a["sighting_id"] is None and a["crop_jpeg"][:2] == b"\xff\xd8"
    assert a["agency"] == "police911" and a["recipients"] == ["police911", "municipal"]
    assert a["score"] == 1.0 and a["priority"] == 1 and a["case_number"] == "C-2026-7"
    assert 3.0 <= a["latency_s"] < 30.0
    # the rest of the pass and the same rows again: nothing new
    home.append("plate_reads", batch2)
    assert raise_alerts(home, reads=batch2) == []
    assert raise_alerts(home, reads=batch1) == []
    assert home.count("alerts") == 1
    # a later pass (after the suppression window), and the same plate at another camera: new alerts
    later = as_table(
        [
            read_row("r4", "ABC1234", t + dt.timedelta(minutes=10)),
            read_row("r5", "ABC1234", t + dt.timedelta(seconds=5), camera="POL-1"),
        ]
    )
    again = raise_alerts(home, reads=later)
    assert sorted(x["read_id"] for x in again) == ["r4", "r5"]
    assert next(x for x in again if x["camera_id"] == "POL-1")["recipients"] == ["police911"]
    assert home.count("alerts") == 3
    stored = {r["alert_id"]: r for r in home.read("alerts").to_pylist()}
    assert stored[a["alert_id"]]["latency_s"] == pytest.approx(a["latency_s"], abs=2.0)


def test_candidate_match_wildcard_and_ocr_tolerant_entries(home, police):
    wild = add_plate(home, police, "AB?12*", reason="partial plate from a witness").entry
    fuzzy = add_plate(home, police, "XYZ9876", reason="stolen", fuzzy=0.8).entry
    t = _now()
    reads = as_table(
        [
            read_row("w1", "AB712CD", t),  # wildcard
            read_row("f1", "XY29876", t, camera="POL-1", cands=[("XY29876", 0.7)]),  # Z/2 confusion
            read_row("n1", "QQQ0000", t),
        ]
    )
    got = {(a["entry_id"], a["read_id"]) for a in raise_alerts(home, reads=reads)}
    assert got == {(wild["entry_id"], "w1"), (fuzzy["entry_id"], "f1")}


def test_covert_alert_is_invisible_to_the_other_agency(home, police, municipal):
    add_plate(home, police, "COV3R7", reason="undercover operation", covert=True)
    reads = as_table([read_row("c1", "COV3R7", _now(), camera="MUN-1")])
    (a,) = raise_alerts(home, reads=reads)
    assert a["covert"] is True and a["recipients"] == ["police911"]
    assert [x["alert_id"] for x in list_alerts(home, police)] == [a["alert_id"]]
    assert list_alerts(home, municipal) == []
    from pipelines.watchlist import WatchlistError

    with pytest.raises(WatchlistError):
        acknowledge(home, municipal, a["alert_id"])
    from pipelines.watchlist import list_entries

    assert [e["value"] for e in list_entries(home, municipal)] == []
    assert [e["value"] for e in list_entries(home, police)] == ["COV3R7"]


def test_shared_alert_both_agencies_see_and_acknowledge_separately(home, police, municipal):
    add_plate(home, police, "SHR1234", reason="stolen")
    (a,) = raise_alerts(home, reads=as_table([read_row("s1", "SHR1234", _now(), camera="MUN-2")]))
    assert a["recipients"] == ["police911", "municipal"]
    assert [x["acknowledged"] for x in list_alerts(home, police)] == [False]
    acked = acknowledge(home, municipal, a["alert_id"])
    assert acked["acks"] == {"municipal": "mario"}
    assert [x["acknowledged"] for x in list_alerts(home, municipal)] == [True]
    assert [x["acknowledged"] for x in list_alerts(home, police)] == [False]
    assert list_alerts(home, police, unacknowledged=True)[0]["alert_id"] == a["alert_id"]
    acknowledge(home, police, a["alert_id"])
    acknowledge(home, police, a["alert_id"])  # twice: still one acknowledgement
    assert list_alerts(home, police)[0]["acks"] == {"municipal": "mario", "police911": "sara"}
    assert home.count("alert_acks") == 2
    # every acknowledgement is audited, per agency, under the acknowledging reader's case
    from pipelines.governance.audit import audit_rows

    acks = sorted(audit_rows(home, action="alerts.ack"), key=lambda r: r["ts"])
    assert [(r["agency"], r["user"], r["case_number"]) for r in acks] == [
        ("municipal", "mario", "M-11"),
        ("police911", "sara", "C-2026-7"),
        ("police911", "sara", "C-2026-7"),
    ]
    params = [json.loads(r["parameters"]) for r in acks]
    assert {p["alert_id"] for p in params} == {a["alert_id"]}
    assert [(p["ack_agency"], p["first"]) for p in params] == [
        ("municipal", True),
        ("police911", True),
        ("police911", False),
    ]


def test_an_ack_without_a_case_is_audited_under_the_alert_case(home, police, municipal):
    from dataclasses import replace

    from pipelines.governance.audit import audit_rows

    add_plate(home, police, "NOC1234", reason="stolen")
    (a,) = raise_alerts(home, reads=as_table([read_row("n1", "NOC1234", _now(), camera="MUN-2")]))
    operator = replace(municipal, case_number="", purpose="")  # a control-room operator, no case open
    acknowledge(home, operator, a["alert_id"], note="patrol sent")
    (row,) = audit_rows(home, action="alerts.ack")
    assert (row["agency"], row["case_number"], row["purpose"]) == (
        "municipal",
        "C-2026-7",
        "alert acknowledgement",
    )
    assert json.loads(row["parameters"])["note"] == "patrol sent"
    # an agency the alert was not routed to cannot acknowledge it, and nothing is audited
    from pipelines.governance import SearchContext
    from pipelines.watchlist.entries import WatchlistError

    other = SearchContext(user="x", role="supervisor", agency="transit", case_number="T-1", purpose="p")
    with pytest.raises(WatchlistError):
        acknowledge(home, other, a["alert_id"])
    assert len(audit_rows(home, action="alerts.ack")) == 1


def test_routing_follows_the_sharing_agreements_of_the_camera(home, municipal, police):
    add_plate(home, municipal, "MUN4444", reason="unpaid fines, towing order")
    t = _now()
    with_secret = dict(
        read_row("a1", "MUN4444", t, camera="MUN-1"), source_uri="rtsp://cam:s3cret@10.0.0.7/live"
    )
    alerts = raise_alerts(
        home,
        reads=as_table(
            [
                with_secret,  # MUN-1 is shared with the police
                read_row("a2", "MUN4444", t, camera="MUN-2"),
            ]
        ),
    )  # not shared
    got = {a["camera_id"]: a["recipients"] for a in alerts}
    stored = {r["camera_id"]: r["source_uri"] for r in home.read("alerts").to_pylist()}
    assert stored["MUN-1"] == "rtsp://***@10.0.0.7/live"  # stream credentials never reach a table
    assert got == {"MUN-1": ["municipal", "police911"], "MUN-2": ["municipal"]}
    assert [a["camera_id"] for a in list_alerts(home, police)] == ["MUN-1"]


def test_expired_and_removed_entries_raise_nothing(home, police):
    past = _now() - dt.timedelta(days=2)
    add_plate(home, police, "EXP1234", reason="stolen", expires="1d", now=past)  # expired yesterday
    gone = add_plate(home, police, "REM1234", reason="stolen").entry
    remove_entry(home, police, gone["entry_id"])
    reads = as_table([read_row("e1", "EXP1234", _now()), read_row("e2", "REM1234", _now())])
    assert raise_alerts(home, reads=reads) == []
    assert home.count("alerts") == 0
    actions = [r["action"] for r in home.read("audit_log").to_pylist()]
    assert actions.count("watchlist.add") == 2 and actions.count("watchlist.remove") == 1


def test_no_entries_or_no_rows_is_cheap_and_empty(home):
    assert raise_alerts(home) == []
    assert raise_alerts(home, reads=as_table([read_row("z", "ABC1234", _now())])) == []


def test_alerts_written_by_another_process_are_seen(home, police):
    """The in-process cache of recent alerts follows the table: an alert another writer committed
    suppresses the same pass here, and the cache never hides it."""
    entry = add_plate(home, police, "ABC1234", reason="stolen").entry
    t = _now()
    assert len(raise_alerts(home, reads=as_table([read_row("r1", "ABC1234", t, camera="MUN-1")]))) == 1
    other = {
        "alert_id": "from-another-process",
        "entry_id": entry["entry_id"],
        "kind": "plate",
        "value": "ABC1234",
        "read_id": "o1",
        "ts": t,
        "camera_id": "POL-1",
        "score": 1.0,
        "agency": "police911",
        "recipients": ["police911"],
    }
    home.append("alerts", [other])
    assert (
        raise_alerts(
            home, reads=as_table([read_row("r2", "ABC1234", t + dt.timedelta(seconds=2), camera="POL-1")])
        )
        == []
    )
    assert (
        raise_alerts(
            home, reads=as_table([read_row("r3", "ABC1234", t + dt.timedelta(seconds=3), camera="MUN-2")])
        )[0]["read_id"]
        == "r3"
    )
    assert home.count("alerts") == 3
