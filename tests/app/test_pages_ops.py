"""AppTest: sign-in, role-based pages, and the pages that show tables (cameras, ingest status)."""

from __future__ import annotations

import pytest
from app_testkit import APP_MAIN, button, metrics, signed_in, texts, titles
from streamlit.testing.v1 import AppTest


def test_visitor_sees_only_sign_in_and_bad_password_is_refused(app_env):
    at = AppTest.from_file(APP_MAIN, default_timeout=60).run()
    assert titles(at) == ["Pesquisa"]
    assert not at.sidebar.button  # no navigation, no case panel
    with pytest.raises(ValueError):
        at.switch_page("pages/plate_search.py")
    at.text_input(key="signin_user").set_value("ana")
    at.text_input(key="signin_password").set_value("not the password")
    button(at, "Sign in").click()
    at.run()
    assert [e.value for e in at.error] == ["Unknown user or wrong password."]
    assert "pesquisa_user" not in at.session_state
    assert titles(at) == ["Pesquisa"]


def test_investigator_lands_on_plate_search_with_agency_in_sidebar(app_env):
    at = signed_in("ana")
    assert titles(at) == ["Plate search"]
    side = "\n".join(str(m.value) for m in at.sidebar.markdown)
    assert "Ana Benítez" in side and "police911" in side and "Investigator" in side
    assert "No active case" in texts(at)
    with pytest.raises(ValueError):  # investigators have no ingest page
        at.switch_page("pages/ingest.py")
    button(at, "Sign out").click()
    at.run()
    assert titles(at) == ["Pesquisa"] and "pesquisa_user" not in at.session_state


def test_engineer_sees_ingest_status_but_cannot_search(app_env):
    at = signed_in("eng")
    with pytest.raises(ValueError):
        at.switch_page("pages/plate_search.py")
    at.switch_page("pages/ingest.py").run()
    assert not at.exception, at.exception
    assert titles(at) == ["Ingest status"]
    m = metrics(at)
    # scoped to what municipal may know of: its cameras + POL-P1 (shared); not POL-P2's run (issue 12.2)
    assert (m["Sources"], m["Succeeded"], m["Failed"], m["Running"], m["Model versions"]) == (
        "4",
        "3",
        "1",
        "0",
        "1",
    )
    frames = [d.value for d in at.dataframe]
    failures = next(f for f in frames if "error" in f.columns)
    assert failures["error"].tolist() == ["moov atom not found (truncated file)"]
    by_version = next(f for f in frames if "sources" in f.columns)
    assert by_version.iloc[0]["plate_reads"] == 6 and by_version.iloc[0]["failed"] == 1
    sizes = next(f for f in frames if "table" in f.columns).set_index("table")["rows"]
    # table sizes are scoped too: municipal's 5 visible reads of 6, 3 known cameras of 4, and no
    # table without cameras (the audit log, cases) is counted for it
    assert sizes["plate_reads"] == 5 and sizes["cameras"] == 3
    assert "audit_log" not in sizes and "cases" not in sizes


@pytest.mark.parametrize(
    "user, cameras, reads",
    [
        ("ana", {"MUN-A1", "POL-P1", "POL-P2"}, 5),  # police: own + the portico municipal shares
        ("eng", {"MUN-A1", "MUN-A2", "POL-P1"}, 5),  # municipal: own + the street camera police shares
        ("root", {"MUN-A1", "MUN-A2", "POL-P1", "POL-P2"}, 6),  # admin: everything
    ],
)
def test_cameras_page_is_scoped_to_the_agency(app_env, user, cameras, reads):
    at = signed_in(user)
    at.switch_page("pages/cameras.py").run()
    at.segmented_control(key="cam_window").set_value("All time").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert set(table["camera_id"]) == cameras
    assert int(table["plate_reads"].sum()) == reads
    assert metrics(at)["Cameras"] == str(len(cameras))
    assert len(at.get("deck_gl_json_chart")) == 1
    # the last 24 h hold none of the test reads (they are dated 2026-11-10)
    at.segmented_control(key="cam_window").set_value("24 h").run()
    assert metrics(at)["Plate reads"] == "0"


def test_empty_home_shows_helpful_empty_states(tmp_path, monkeypatch):
    from app.auth import add_user

    home = tmp_path / "empty"
    add_user(home / "users.yaml", "root", "pw-12345678", "admin", None)
    monkeypatch.setenv("PESQUISA_HOME", str(home))
    monkeypatch.setenv("PESQUISA_USERS_FILE", str(home / "users.yaml"))
    at = signed_in("root", "pw-12345678")
    assert titles(at) == ["Plate search"]
    at.switch_page("pages/cameras.py").run()
    assert "No cameras are registered yet" in texts(at)
    at.switch_page("pages/ingest.py").run()
    assert "No extraction runs yet" in texts(at)
    assert not at.exception


def test_analyst_gets_the_mounted_crime_map_and_no_search(app_env):
    at = signed_in("ali")
    assert not at.exception, at.exception
    assert titles(at)[0] == "Crime map"  # the crime helper's render(lh), mounted by app/pages/crime.py
    with pytest.raises(ValueError):
        at.switch_page("pages/plate_search.py")
    assert "Active case" not in "\n".join(str(m.value) for m in at.sidebar.markdown)


def test_supervisor_audit_page_shows_own_agency_searches(app_env):
    from app_testkit import open_case

    at = signed_in("sup")
    open_case(at, "C-AUDIT-9", "review of plate searches")
    at.text_input(key="plate_pattern").set_value("XYZ9876")
    button(at, "Search").click()
    at.run()
    assert len(at.dataframe[0].value) == 1
    at.switch_page("pages/audit.py").run()
    assert not at.exception, at.exception
    at.selectbox(key="audit_days").set_value(365).run()  # test data is dated 2026-11-10
    at.text_input(key="audit_case").set_value("audit-9").run()
    log = at.dataframe[0].value
    assert log[["user", "case_number", "action", "result_count"]].values.tolist() == [
        ["sup", "C-AUDIT-9", "plates.search", 1]
    ]
    assert "pattern=XYZ9876" in log["parameters"].iloc[0]
    at.text_input(key="audit_case").set_value("").run()
    assert set(at.dataframe[0].value["agency"]) == {"police911"}  # never another agency's entries


@pytest.mark.parametrize("user", ["ana", "ali", "eng", "sup", "root"])
def test_every_page_of_every_role_renders(app_env, user):
    from app.ui.navigation import page_defs_for

    at = signed_in(user)
    role = at.session_state["pesquisa_user"].role
    defs = page_defs_for(role)
    movement = {"canvass", "convoy", "stakeout", "anomalies", "traffic"}
    expected = {
        "investigator": {"plates", "faces", "route", "alerts", "watchlist", "crime-map", "cameras"}
        | movement,
        "analyst": {"crime-map", "cameras", "traffic"},
        "engineer": {"cameras", "ingest", "lineage", "traffic"},
        "supervisor": {
            "plates",
            "faces",
            "route",
            "alerts",
            "watchlist",
            "crime-map",
            "cameras",
            "ingest",
            "audit",
        }
        | movement,
        "admin": {
            "plates",
            "faces",
            "route",
            "alerts",
            "watchlist",
            "crime-map",
            "cameras",
            "ingest",
            "audit",
            "lineage",
        }
        | movement,
    }[role]
    assert {d.url_path for d in defs} == expected
    for d in defs:
        at.switch_page(d.path).run()
        assert not at.exception, f"{d.title} for {role}: {at.exception}"
        assert titles(at)[0] == d.title
