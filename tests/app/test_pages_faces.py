"""AppTest: the face search page with real models on real photos (../shared/data faces).

Face sightings are made from one photo per person (MTCNN + dlib embeddings, real crops); the probe
is a different photo of Obama uploaded through the page. The police investigator must get the Obama
sighting on a camera they can see first, never the one on a municipal-only camera."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from app_testkit import T0, build_home, button, open_case, signed_in, texts

from lakehouse import Lakehouse

pytestmark = pytest.mark.slow

FACES = "faces/face_recognition_examples/examples/knn_examples"
GALLERY = [  # (identity, photo, camera)
    ("obama", "train/obama/obama.jpg", "POL-P1"),
    ("obama", "train/obama/obama.jpg", "MUN-A2"),  # municipal only: hidden from the police user
    ("biden", "train/biden/biden.jpg", "POL-P1"),
    ("kit_harington", "train/kit_harington/john1.jpeg", "MUN-A1"),
    ("rose_leslie", "train/rose_leslie/img1.jpg", "POL-P2"),
    ("alex_lacamoire", "train/alex_lacamoire/img1.jpg", "POL-P2"),
]
PROBE = "train/obama/obama2.jpg"


def _small(rgb, side: int = 640):
    """Gallery photos scaled to at most ``side`` px (3x faster detection; faces stay > 100 px)."""
    import numpy as np
    from PIL import Image

    scale = side / max(rgb.shape[:2])
    if scale >= 1:
        return rgb
    size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))


def _jpeg(rgb) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture(scope="module")
def face_home(tmp_path_factory, shared_data):
    from pipelines.faces import load_image_rgb
    from pipelines.search.faces import default_analyzer

    home = build_home(tmp_path_factory.mktemp("facehome"))
    analyzer = default_analyzer()
    rows = []
    for i, (who, photo, cam) in enumerate(GALLERY):
        faces = analyzer.analyze(_small(load_image_rgb(shared_data / FACES / photo)))
        assert faces, f"{photo}: no face found"
        f = max(faces, key=lambda d: d.area)  # the portrait's subject
        agency = "municipal" if cam.startswith("MUN") else "police911"
        rows.append(
            {
                "sighting_id": f"s{i:02d}-{who}",
                "camera_id": cam,
                "video_id": f"v-{cam}",
                "source_uri": f"/videos/{cam}.mp4",
                "ts": T0 + timedelta(minutes=i),
                "offset_s": 60.0 * i,
                "bbox": [float(x) for x in f.bbox],
                "det_score": f.det_score,
                "quality": f.quality,
                "searchable": True,
                "embedding": f.embedding.astype("float32").tolist(),
                "crop_jpeg": _jpeg(f.crop),
                "track_len": 8,
                "model_version": analyzer.model_version,
                "agency": agency,
            }
        )
    Lakehouse(home=home).append("face_sightings", rows)
    return home


@pytest.fixture
def face_env(face_home, monkeypatch):
    monkeypatch.setenv("PESQUISA_HOME", str(face_home))
    monkeypatch.setenv("PESQUISA_USERS_FILE", str(face_home / "users.yaml"))
    monkeypatch.setenv("PESQUISA_MAP_STYLE", "none")
    return face_home


def _search(at, shared_data, photo: str = PROBE, name: str = "obama2.jpg", k: int = 5):
    payload = (shared_data / FACES / photo).read_bytes()
    at.switch_page("pages/face_search.py").run()
    at.file_uploader(key="face_probe").set_value((name, payload, "image/jpeg"))
    at.run()
    at.slider(key="face_k").set_value(k).run()
    button(at, "Search faces").click()
    at.run(timeout=180)
    assert not at.exception, at.exception
    return at


def test_face_search_finds_the_person_in_visible_cameras_and_audits(face_env, shared_data):
    from pipelines.governance import audit_rows

    at = signed_in("ana")
    open_case(at, "C-FACES-1", "missing person report 77")
    _search(at, shared_data)
    # biometric results: a static table, no st.dataframe (whose toolbar downloads CSV)
    assert not at.dataframe
    table = at.table[0].value
    # 5 sightings are visible to the police user (the municipal-only Obama sighting is not)
    assert len(table) == 5
    top = table.iloc[0]
    assert top["camera"] == "Plaza Uruguaya (POL-P1)" and top["distance"] < 0.5
    assert (table["distance"].iloc[1:] > 0.55).all()  # every other person is clearly farther
    assert table["similarity"].is_monotonic_decreasing
    assert len(at.image) >= 6  # the probe thumbnail plus a crop per result
    caption = " ".join(str(c.value) for c in at.caption)
    assert "#1 · similarity" in caption
    rows = audit_rows(Lakehouse(home=face_env), case_number="C-FACES-1")
    assert [(r["action"], r["result_count"], r["user"]) for r in rows] == [("faces.search", 5, "ana")]


def test_face_search_without_case_is_refused(face_env, shared_data):
    from pipelines.governance import audit_rows

    at = signed_in("ana")
    _search(at, shared_data)
    assert any(str(e.value).startswith("Search refused: a case number is required") for e in at.error)
    assert not at.dataframe
    rows = [r for r in audit_rows(Lakehouse(home=face_env)) if r["user"] == "ana"]
    # nothing was searched without a case; the refusal itself is logged (issue 12.3)
    assert all(r["case_number"] or r["outcome"] == "refused" for r in rows)
    assert any(r["action"] == "faces.search" and r["outcome"] == "refused" for r in rows)


def test_photo_without_a_face_is_explained(face_env, shared_data):
    from app_testkit import plate_jpeg

    at = signed_in("ana")
    open_case(at, "C-FACES-2", "probe check")
    at.switch_page("pages/face_search.py").run()
    at.file_uploader(key="face_probe").set_value(("plate.jpg", plate_jpeg("ABC1234"), "image/jpeg"))
    at.run()
    button(at, "Search faces").click()
    at.run(timeout=180)
    assert not at.exception, at.exception
    assert "No face was found" in texts(at)


def _export_pick(at) -> list[str]:
    return list(at.multiselect(key="face_export_pick").value)


def test_face_results_export_a_verifiable_package(face_env, shared_data):
    """The face page's "Export evidence" panel: the same library call as ``pesquisa export``
    (case, role, agency, audit, legal hold, agency signature), only sightings the user may see, and
    the package handed to the download button verifies against the registered key."""
    import json

    from pipelines.governance.export import verify_members
    from pipelines.governance.export.package import read_members
    from pipelines.governance.holds import list_holds

    at = signed_in("sup")  # police911 supervisor: may unmask (no masking model time here)
    open_case(at, "C-FACES-EXP", "missing person report 77, evidence for the court")
    _search(at, shared_data)
    options = at.multiselect(key="face_export_pick").options
    # the 5 visible results; the municipal-only sighting (camera MUN-A2) is not offered
    assert len(options) == 5 and not any("MUN-A2" in str(o) for o in options), options
    picked = _export_pick(at)
    assert len(picked) == 3 and "s00-obama" in picked  # the top results, the best match first
    at.checkbox(key="face_export_unmask").check()
    button(at, "Build evidence package").click()
    at.run(timeout=180)
    assert not at.exception, at.exception
    assert not [e.value for e in at.error], [e.value for e in at.error]
    built = at.session_state["face_export_package"]
    assert built["items"] == 3 and sorted(built["ids"]) == sorted(picked) and not built["masked"]
    assert any("Package for case C-FACES-EXP" in str(s.value) for s in at.success)

    lh = Lakehouse(home=face_env)
    row = next(
        r
        for r in lh.read("audit_log").to_pylist()
        if r["action"] == "export" and r["outcome"] == "ok" and r["case_number"] == "C-FACES-EXP"
    )
    params = json.loads(row["parameters"])
    assert (row["user"], params["source"], params["sightings"], params["unmask"]) == (
        "sup",
        "sightings",
        3,
        True,
    )
    assert "embedding" not in row["parameters"]
    held = [h for h in list_holds(lh) if h["case_number"] == "C-FACES-EXP"]
    assert held and set(picked) <= set(held[0]["sighting_ids"] or [])
    path = face_env / "faces-downloaded.zip"
    path.write_bytes(built["data"])
    try:
        res = verify_members(read_members(path), lh=lh)
    finally:
        path.unlink()
    assert res.ok and res.key_source == "registered" and res.agency == "police911", res.problems
    import io
    import zipfile

    z = zipfile.ZipFile(io.BytesIO(built["data"]))
    items = json.loads(z.read("metadata/items.json"))
    assert "MUN-A2" not in {i["camera_id"] for i in items}  # MUN-A1 is shared with police911, MUN-A2 not
    assert all(i["kind"] == "face" and i["crop"] for i in items)
    assert "embedding" not in z.read("metadata/items.csv").decode()


def test_face_export_by_an_investigator_is_masked(face_env, shared_data):
    """An investigator cannot unmask; the package is masked (the crops go through the detectors)."""
    at = signed_in("ana")
    open_case(at, "C-FACES-EXP-2", "missing person report 77")
    _search(at, shared_data)
    assert at.checkbox(key="face_export_unmask").disabled
    at.multiselect(key="face_export_pick").set_value(["s00-obama"])
    at.run()
    button(at, "Build evidence package").click()
    at.run(timeout=240)
    assert not at.exception, at.exception
    built = at.session_state["face_export_package"]
    assert built["masked"] and built["ids"] == ["s00-obama"] and built["items"] == 1
