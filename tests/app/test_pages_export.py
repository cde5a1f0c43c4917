"""AppTest: the "Export evidence" panel of the plate search page builds the package with the same
library call as ``pesquisa export`` (case, role, agency, audit, hold, signature), and the download
verifies; an investigator cannot unmask."""

from __future__ import annotations

import json

from app_testkit import button, open_case, signed_in

from lakehouse import Lakehouse


def _search(at, pattern: str):
    at.text_input(key="plate_pattern").set_value(pattern)
    button(at, "Search").click()
    at.run()
    assert not at.exception, at.exception


def test_plate_results_export_a_verifiable_package(app_env):
    from pipelines.governance.export import verify_members
    from pipelines.governance.export.package import read_members
    from pipelines.governance.holds import list_holds

    at = signed_in("sup")  # supervisor, police911: may unmask (no model load in this test)
    open_case(at, "C-EXPORT-APP", "evidence for the robbery on Av. España")
    _search(at, "XYZ9876")
    assert at.multiselect(key="plate_export_pick").value == ["r004"]
    at.checkbox(key="plate_export_unmask").check()
    button(at, "Build evidence package").click()
    at.run(timeout=120)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("Package for case C-EXPORT-APP" in str(s.value) for s in at.success)
    lh = Lakehouse(home=app_env)
    row = next(
        r for r in lh.read("audit_log").to_pylist() if r["action"] == "export" and r["outcome"] == "ok"
    )
    params = json.loads(row["parameters"])
    assert (row["user"], row["case_number"], params["unmask"], params["items"]) == (
        "sup",
        "C-EXPORT-APP",
        True,
        1,
    )
    assert any("r004" in (h["read_ids"] or []) for h in list_holds(lh) if h["case_number"] == "C-EXPORT-APP")
    # the package handed to the download button verifies against the registered key
    data = at.session_state["plate_export_package"]["data"]
    path = app_env / "downloaded.zip"
    path.write_bytes(data)
    res = verify_members(read_members(path), lh=lh)
    assert res.ok and res.key_source == "registered" and res.agency == "police911", res.problems
    path.unlink()


def test_investigator_cannot_unmask_in_the_app(app_env):
    at = signed_in("ana")
    open_case(at, "C-EXPORT-APP-2", "evidence for the robbery on Av. España")
    _search(at, "XYZ9876")
    assert at.checkbox(key="plate_export_unmask").disabled


def test_route_page_exports_the_route_including_a_shared_camera(app_env):
    """The route of ABC1234 crosses the municipal portico shared with the police: the police
    supervisor may export it (the sharing agreement applies to exports too)."""
    from pipelines.governance.export import verify_members
    from pipelines.governance.export.package import read_members

    at = signed_in("sup")
    open_case(at, "C-EXPORT-ROUTE", "vehicle of interest, evidence for the court")
    _search(at, "ABC1234")
    button(at, "Open route").click()
    at.run()
    assert not at.exception, at.exception
    picked = at.multiselect(key="route_export_pick").value
    assert len(picked) == 3
    at.checkbox(key="route_export_unmask").check()
    button(at, "Build evidence package").click()
    at.run(timeout=120)
    assert not at.exception, at.exception
    assert not [e.value for e in at.error if "refused" in e.value or "Cannot export" in e.value]
    built = at.session_state["route_export_package"]
    assert built["items"] == 3 and sorted(built["ids"]) == sorted(picked)
    path = app_env / "route.zip"
    path.write_bytes(built["data"])
    res = verify_members(read_members(path), lh=Lakehouse(home=app_env))
    path.unlink()
    assert res.ok, res.problems
    items = json.loads(read_members_json(built["data"]))
    assert {i["camera_id"] for i in items} == {"MUN-A1", "POL-P1", "POL-P2"}


def read_members_json(data: bytes) -> bytes:
    import io
    import zipfile

    return zipfile.ZipFile(io.BytesIO(data)).read("metadata/items.json")
