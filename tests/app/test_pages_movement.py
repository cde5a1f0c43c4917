"""AppTest: the movement pages (canvass, convoy, stakeout + crime-series leads, traffic, anomalies)
on a real Delta home with a synthetic city's planted cases — results, refusal without a case,
audit rows, agency scope, hand-over canvass -> route / convoy."""

from __future__ import annotations

import datetime as dt

import pytest
from app_testkit import build_home, button, open_case, signed_in, titles

from lakehouse import Lakehouse


@pytest.fixture(scope="module")
def city_home(tmp_path_factory):
    from pipelines.movement.scenario import SMALL_CITY, simulate_city

    home = build_home(tmp_path_factory.mktemp("movementapp"))
    lh = Lakehouse(home=home)
    scn = simulate_city(**SMALL_CITY, seed=21)
    scn.write_to(lh)
    from pipelines.movement.face_scenario import simulate_faces

    faces = simulate_faces(scn, crowd=60, seed=21)
    faces.write_to(lh)
    scn.faces = faces.truth  # the face leads' truth, for the stakeout page test
    return home, scn


@pytest.fixture
def env(city_home, monkeypatch):
    home, scn = city_home
    monkeypatch.setenv("PESQUISA_HOME", str(home))
    monkeypatch.setenv("PESQUISA_USERS_FILE", str(home / "users.yaml"))
    monkeypatch.delenv("PESQUISA_TABLES_URI", raising=False)
    monkeypatch.setenv("PESQUISA_MAP_STYLE", "none")
    return home, scn


def _window(at, prefix: str, d0: dt.date, d1: dt.date) -> None:
    at.date_input(key=f"{prefix}_d0").set_value(d0)
    at.date_input(key=f"{prefix}_d1").set_value(d1)


def _actions(home, case: str) -> list[str]:
    from pipelines.governance import audit_rows

    return [r["action"] for r in audit_rows(Lakehouse(home=home), case_number=case)]


def test_canvass_refused_without_case_then_found_route_and_convoy(env):
    home, scn = env
    day = scn.start.date()
    at = signed_in("root")
    at.switch_page("pages/movement_canvass.py").run()
    assert titles(at) == ["Canvass"]
    at.multiselect(key="canvass_cameras").set_value(["C0101"])
    _window(at, "canvass", day, day)
    button(at, "Who passed here").click().run()
    assert any("Canvass refused: a case number is required" in e.value for e in at.error)
    open_case(at, "C-MOV-1", "canvass test")
    at.multiselect(key="canvass_cameras").set_value(["C0101"])
    _window(at, "canvass", day, day)
    button(at, "Who passed here").click().run()
    assert not at.exception, at.exception
    want = {r["plate"] for r in scn.rows if r["camera_id"] == "C0101" and r["ts"].date() == day}
    assert set(at.dataframe[0].value["plate"]) == want
    target = scn.truth.convoys[0][0]
    if target in want:
        at.selectbox(key="canvass_pick").set_value(target)
    button(at, "Find convoy").click().run()
    assert titles(at) == ["Convoy"] and at.text_input(key="convoy_plate").value
    assert _actions(home, "C-MOV-1") == ["plates.canvass"]


def test_convoy_page_ranks_planted_partner_first(env):
    home, scn = env
    target, partner, a, b = scn.truth.convoys[0]
    at = signed_in("root")
    open_case(at, "C-MOV-2", "convoy test")
    at.switch_page("pages/movement_convoy.py").run()
    at.text_input(key="convoy_plate").set_value(target)
    _window(at, "convoy", scn.start.date(), (scn.end - dt.timedelta(seconds=1)).date())
    button(at, "Find convoy").click().run()
    assert not at.exception, at.exception
    assert at.dataframe[0].value["plate"].iloc[0] == partner
    button(at, "Open its route").click().run()
    assert titles(at) == ["Route"]
    assert "movement.convoy" in _actions(home, "C-MOV-2")


def test_stakeout_windows_and_crime_leads(env):
    home, scn = env
    plate, wins = scn.truth.stakeouts[0]
    at = signed_in("root")
    open_case(at, "C-MOV-3", "stakeout test")
    at.switch_page("pages/movement_stakeout.py").run()
    for w in wins:
        at.multiselect(key="stakeout_cameras").set_value(list(w.cameras))
        _window(at, "stakeout", w.start.date(), w.end.date())
        at.time_input(key="stakeout_t0").set_value(w.start.time())
        at.time_input(key="stakeout_t1").set_value(w.end.time())
        button(at, "Add window").click().run()
        assert not at.exception, at.exception
    button(at, "Find vehicles").click().run()
    assert not at.exception, at.exception
    assert at.dataframe[-1].value["plate"].iloc[0] == plate
    offender, ids = scn.truth.crime_series[0]
    at.multiselect(key="leads_ids").set_value(ids)
    button(at, "Find leads").click().run()
    assert not at.exception, at.exception
    assert at.dataframe[-2].value["plate"].iloc[0] == offender
    assert at.dataframe[-1].value["face"].iloc[0] in scn.faces.offenders[0][0]  # faces: the offender first
    assert {"movement.stakeout", "crime.leads"} <= set(_actions(home, "C-MOV-3"))


def test_traffic_page_for_an_analyst_is_scoped(env):
    home, scn = env
    at = signed_in("ali")  # municipal analyst: no case needed for counts, only municipal cameras
    at.switch_page("pages/movement_traffic.py").run()
    assert titles(at) == ["Traffic"]
    _window(at, "traffic", scn.start.date(), (scn.end - dt.timedelta(seconds=1)).date())
    button(at, "Show traffic").click().run()
    assert not at.exception, at.exception
    mun = {c["camera_id"] for c in scn.cameras if c["agency"] == "municipal"}
    reads = {m.label: m.value for m in at.metric}["Reads"]
    assert int(str(reads).replace(",", "")) == sum(1 for r in scn.rows if r["camera_id"] in mun)
    assert len(at.dataframe[0].value) > 0  # OD matrix


def test_anomalies_page_lists_explained_hits(env):
    home, scn = env
    at = signed_in("root")
    open_case(at, "C-MOV-4", "anomalies test")
    at.switch_page("pages/movement_anomalies.py").run()
    _window(at, "anomaly", scn.start.date(), (scn.end - dt.timedelta(seconds=1)).date())
    button(at, "Find anomalies").click().run()
    assert not at.exception, at.exception
    df = at.dataframe[0].value
    assert set(scn.truth.circling) <= set(df[df["kind"] == "circling"]["plate"])
    assert set(scn.truth.clones) == set(df[df["kind"] == "clone"]["plate"])
    assert df["explanation"].str.len().min() > 20
    assert "movement.anomalies" in _actions(home, "C-MOV-4")
