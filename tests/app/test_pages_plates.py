"""AppTest: the plate search and route pages on a small real Delta table — results, agency scope,
refusal without a case, audit rows, and opening a result's route."""

from __future__ import annotations

from app_testkit import button, metrics, open_case, signed_in, texts, titles

from lakehouse import Lakehouse


def audit_rows(home, case: str) -> list[dict]:
    from pipelines.governance import audit_rows as rows

    return rows(Lakehouse(home=home), case_number=case)


def search(at, pattern: str, fuzzy: int = 0):
    at.text_input(key="plate_pattern").set_value(pattern)
    at.select_slider(key="plate_fuzzy").set_value(fuzzy)
    button(at, "Search").click()
    at.run()
    assert not at.exception, at.exception
    return at


def test_plate_search_without_case_is_refused_and_the_refusal_logged(app_env):
    before = Lakehouse(home=app_env).count("audit_log") if Lakehouse(home=app_env).exists("audit_log") else 0
    at = signed_in("ana")
    search(at, "ABC1234")
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("Search refused: a case number is required")
    assert not at.dataframe
    log = Lakehouse(home=app_env).read("audit_log").to_pylist()
    assert len(log) == before + 1  # nothing was searched; the refusal is logged (issue 12.3)
    last = max(log, key=lambda r: r["seq"])
    assert (last["user"], last["action"], last["outcome"]) == ("ana", "plates.search", "refused")


def test_plate_search_finds_scoped_reads_with_crops_and_audits(app_env):
    at = signed_in("ana")
    open_case(at, "C-PLATES-1", "robbery on Av. España")
    assert "Case <b>C-PLATES-1</b>" in texts(at)
    search(at, "ABC1234")
    df = at.dataframe[0].value
    # the police user sees the shared municipal portico and its own cameras, not municipal MUN-A2
    assert sorted(df["camera"]) == [
        "Av. España portico (MUN-A1)",
        "Plaza Uruguaya (POL-P1)",
        "Ruta Transchaco portico (POL-P2)",
    ]
    assert sorted(df["plate"]) == ["A8C1234", "ABC1234", "ABC1234"]  # the misread matches via its candidate
    assert df["crop"].str.startswith("data:image/jpeg;base64,").all()
    assert "3 reads" in texts(at)
    rows = audit_rows(app_env, "C-PLATES-1")
    assert len(rows) == 1
    row = rows[0]
    assert (row["user"], row["role"], row["agency"], row["action"], row["result_count"]) == (
        "ana",
        "investigator",
        "police911",
        "plates.search",
        3,
    )
    assert row["purpose"] == "robbery on Av. España" and '"pattern": "ABC1234"' in row["parameters"]


def test_admin_sees_every_agency_and_wildcards_work(app_env):
    at = signed_in("root")
    open_case(at, "C-PLATES-2", "audit of the municipal portico")
    search(at, "ABC12?4")
    df = at.dataframe[0].value
    assert len(df) == 4 and "Mercado 4 (MUN-A2)" in set(df["camera"])
    search(at, "AB*CD")
    assert at.dataframe[0].value["plate"].tolist() == ["AB123CD"]
    search(at, "QQQ999")
    assert not at.dataframe and "No sighting matches" in texts(at)
    assert [r["result_count"] for r in audit_rows(app_env, "C-PLATES-2")] == [0, 1, 4]


def test_area_filter_keeps_cameras_near_a_camera(app_env):
    at = signed_in("ana")
    open_case(at, "C-PLATES-3", "area check")
    at.selectbox(key="plates_area_kind").set_value("Around a camera").run()
    at.selectbox(key="plates_area_cam").set_value("POL-P1").run()
    at.number_input(key="plates_area_cam_r").set_value(3000).run()
    search(at, "ABC1234")
    # POL-P2 lies 16 km away: outside the 3 km circle around POL-P1
    assert sorted(at.dataframe[0].value["camera"]) == [
        "Av. España portico (MUN-A1)",
        "Plaza Uruguaya (POL-P1)",
    ]
    row = audit_rows(app_env, "C-PLATES-3")[0]
    assert '"near"' in row["parameters"]


def test_result_opens_its_route_on_the_map(app_env):
    at = signed_in("ana")
    open_case(at, "C-ROUTE-1", "vehicle of interest")
    search(at, "ABC1234")
    assert at.selectbox(key="route_pick").value == "ABC1234"
    button(at, "Open route").click()
    at.run()
    assert not at.exception, at.exception
    assert titles(at) == ["Route"]
    m = metrics(at)
    assert m["Sightings"] == "3" and m["Impossible hops"] == "1"
    hops = at.dataframe[0].value
    assert hops["camera"].tolist() == [
        "Av. España portico (MUN-A1)",
        "Plaza Uruguaya (POL-P1)",
        "Ruta Transchaco portico (POL-P2)",
    ]
    assert hops["impossible"].tolist() == [False, False, True]
    assert len(at.get("deck_gl_json_chart")) == 1
    actions = [r["action"] for r in audit_rows(app_env, "C-ROUTE-1")]
    assert sorted(actions) == ["plates.route", "plates.search"]
