"""``pesquisa plates search|route|index`` and ``pesquisa faces search|index`` (DESIGN.md §9)."""

from __future__ import annotations

import json

import h3
import numpy as np
import pytest

from jobs.cli import main
from pipelines.governance import audit_rows

from .conftest import CAMERAS, T0


def run(capsys, home, *argv):
    rc = main(["--home", str(home), *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def jlines(out: str) -> list[dict]:
    return [json.loads(x) for x in out.splitlines() if x.strip()]


@pytest.fixture
def home(city, cli_user):
    root = city.storage.root.removesuffix("/tables")
    cli_user(root, role="admin")  # the OS user running the tests (root in CI) acts as an admin
    return root


CASE = ["--case", "C-9", "--purpose", "stolen car"]


def test_plates_search_json(capsys, home, city):
    rc, out, err = run(capsys, home, "plates", "search", "ABC123", "--json", *CASE)
    assert rc == 0
    hits = jlines(out)
    assert [h["read_id"] for h in hits] == ["r3", "r6", "r2", "r1"]
    for h in hits:
        assert {
            "read_id",
            "plate",
            "ts",
            "camera_id",
            "source_uri",
            "offset_s",
            "confidence",
            "candidates",
            "match_score",
        } <= set(h)
    assert hits[-1]["candidates"][1] == {"text": "ABC123", "score": pytest.approx(0.3)}
    assert "4 reads match ABC123" in err and "audited" in err
    rc, out, _ = run(
        capsys, home, "plates", "search", "ABC123", "--fuzzy", "1", "--limit", "2", "--json", *CASE
    )
    assert [h["read_id"] for h in jlines(out)] == ["r3", "r6"]
    rc, out, _ = run(
        capsys, home, "plates", "search", "ABC123", "--fuzzy", "1", "--limit", "0", "--json", *CASE
    )
    assert len(jlines(out)) == 6
    rows = audit_rows(city)
    assert len(rows) == 3 and {r["case_number"] for r in rows} == {"C-9"} and rows[0]["result_count"] == 6


def test_plates_search_filters_and_text_output(capsys, home, city, tmp_path):
    rc, out, _ = run(
        capsys,
        home,
        "plates",
        "search",
        "ABC123",
        "--fuzzy",
        "1",
        "--camera",
        "m1",
        "--camera",
        "far",
        "--json",
        *CASE,
    )
    assert {h["read_id"] for h in jlines(out)} == {"r1", "r4"}
    rc, out, _ = run(capsys, home, "plates", "search", "ABC123", "--from", "2024-05-02", "--json", *CASE)
    assert [h["read_id"] for h in jlines(out)] == ["r3"]
    rc, out, _ = run(capsys, home, "plates", "search", "ABC123", "--to", "2024-05-01", "--json", *CASE)
    assert {h["read_id"] for h in jlines(out)} == {"r1", "r2", "r6"}
    rc, out, _ = run(
        capsys, home, "plates", "search", "ABC123", "--near", "-25.30,-57.60,1000", "--json", *CASE
    )
    assert [h["read_id"] for h in jlines(out)] == ["r3"]
    rc, out, _ = run(
        capsys, home, "plates", "search", "ABC123", "--bbox", "-57.65,-25.295,-57.62,-25.275", "--json", *CASE
    )
    assert {h["read_id"] for h in jlines(out)} == {"r1", "r2"}
    cell = h3.latlng_to_cell(-25.28, -57.63, 9)
    rc, out, _ = run(capsys, home, "plates", "search", "ABC123", "--h3", cell, "--json", *CASE)
    assert [h["read_id"] for h in jlines(out)] == ["r1"]
    poly = tmp_path / "m2.geojson"
    poly.write_text(
        json.dumps(
            {
                "type": "Polygon",
                "coordinates": [
                    [[-57.645, -25.295], [-57.635, -25.295], [-57.635, -25.285], [-57.645, -25.295]]
                ],
            }
        )
    )
    rc, out, _ = run(capsys, home, "plates", "search", "ABC123", "--polygon", str(poly), "--json", *CASE)
    assert [h["read_id"] for h in jlines(out)] == ["r2"]
    rc, out, _ = run(capsys, home, "plates", "search", "ABC123", "--agency", "municipal", "--json", *CASE)
    assert {h["read_id"] for h in jlines(out)} == {"r1", "r2"}
    rc, out, _ = run(capsys, home, "plates", "search", "ABC123", *CASE)
    assert rc == 0 and "match_score" in out.splitlines()[0] and "ABC1Z3" in out


def test_search_refused_without_case(capsys, home, city, monkeypatch):
    monkeypatch.delenv("PESQUISA_CASE", raising=False)
    monkeypatch.delenv("PESQUISA_PURPOSE", raising=False)
    rc, out, err = run(capsys, home, "plates", "search", "ABC123", "--json")
    assert rc == 2 and out == ""
    assert "a case number is required: pass --case or set PESQUISA_CASE" in err
    rc, out, err = run(capsys, home, "plates", "route", "ABC123", "--purpose", "x")
    assert rc == 2 and "case number is required" in err
    rc, out, err = run(capsys, home, "faces", "search", "/nonexistent.jpg")
    assert rc == 2 and "case number is required" in err
    rc, out, err = run(capsys, home, "plates", "search", "ABC123", "--case", "C-1")
    assert rc == 2 and "purpose is required" in err
    # nothing was searched, but every refusal is logged (issue 12.3)
    log = city.read("audit_log").to_pylist()
    assert sorted(r["action"] for r in log) == [
        "faces.search",
        "plates.route",
        "plates.search",
        "plates.search",
    ]
    assert {r["outcome"] for r in log} == {"refused"} and {r["result_count"] for r in log} == {0}


def test_identity_from_environment(capsys, home, city, monkeypatch):
    """The environment may narrow the proven identity (role, agency), never replace or widen it."""
    monkeypatch.setenv("PESQUISA_CASE", "ENV-7")
    monkeypatch.setenv("PESQUISA_PURPOSE", "env purpose")
    monkeypatch.setenv("PESQUISA_USER", "carla")
    rc, out, err = run(capsys, home, "plates", "search", "ABC123", "--json")
    assert rc == 2 and "carla" in err and not out
    monkeypatch.setenv("PESQUISA_USER", "tester")
    monkeypatch.setenv("PESQUISA_ROLE", "analyst")
    monkeypatch.setenv("PESQUISA_AGENCY", "police911")
    rc, out, _ = run(capsys, home, "plates", "search", "ABC123", "--json")
    assert rc == 0 and {h["read_id"] for h in jlines(out)} == {"r1", "r3", "r6"}
    r = audit_rows(city)[0]
    assert (r["user"], r["role"], r["agency"], r["case_number"], r["purpose"]) == (
        "tester",
        "analyst",
        "police911",
        "ENV-7",
        "env purpose",
    )


def test_bad_input_is_one_line(capsys, home, city):
    rc, _, err = run(capsys, home, "plates", "search", "A%B", *CASE)
    assert rc == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1
    rc, _, err = run(capsys, home, "plates", "search", "ABC", "--from", "yesterday", *CASE)
    assert rc == 2 and "not an ISO date" in err
    rc, _, err = run(capsys, home, "plates", "search", "ABC", "--near", "1,2", *CASE)
    assert rc == 2 and "--near" in err


def test_plates_route_and_index(capsys, home, city):
    rc, out, err = run(capsys, home, "plates", "route", "ABC123", "--json", *CASE)
    steps = jlines(out)
    assert rc == 0 and [s["read_id"] for s in steps] == ["r1", "r2", "r6", "r3"]
    assert steps[1]["from_camera_id"] == "m1" and steps[1]["speed_kmh"] is not None
    assert {"step", "travel_s", "distance_m", "speed_kmh", "impossible", "lat", "lon"} <= set(steps[0])
    rc, out, _ = run(capsys, home, "plates", "index", "--json")
    rec = jlines(out)[0]
    assert rc == 0 and rec["action"] == "built" and rec["reads"] == 7
    rc, out, _ = run(capsys, home, "plates", "index", "--status", "--json")
    assert jlines(out)[0]["table_version"] == city.version("plate_reads")


@pytest.mark.slow
def test_faces_index_and_search(capsys, home, city, shared_data):
    vecs = np.random.default_rng(1).normal(0, 0.1, (12, 128)).astype(np.float32)
    city.append(
        "face_sightings",
        [
            {
                "sighting_id": f"s{i}",
                "camera_id": CAMERAS[i % 3]["camera_id"],
                "ts": T0,
                "embedding": v.tolist(),
                "searchable": i != 0,
                "quality": 0.1 if i == 0 else 0.8,
                "model_version": "t",
                "source_uri": f"/v/{i}.mp4",
                "offset_s": 1.5,
            }
            for i, v in enumerate(vecs)
        ],
    )
    rc, out, _ = run(capsys, home, "faces", "index", "--json")
    rec = jlines(out)[0]
    assert rc == 0 and rec["vectors"] == 12 and rec["kind"] == "flat"  # low-quality faces are indexed too
    rc, out, _ = run(capsys, home, "faces", "index", "--rebuild", "--json")
    assert jlines(out)[0]["action"] == "built"
    photo = (
        shared_data / "faces" / "face_recognition_examples" / "examples/knn_examples/train/biden/biden.jpg"
    )
    rc, out, err = run(capsys, home, "faces", "search", str(photo), "--k", "4", "--json", *CASE)
    hits = jlines(out)
    assert rc == 0 and len(hits) == 4
    assert {"sighting_id", "score", "quality", "ts", "camera_id", "source_uri", "offset_s"} <= set(hits[0])
    rc, out, err = run(
        capsys, home, "faces", "search", str(photo), "--k", "12", "--min-quality", "0.5", "--json", *CASE
    )
    hits = jlines(out)
    assert rc == 0 and len(hits) == 11 and "s0" not in {h["sighting_id"] for h in hits}
    rc, out, err = run(
        capsys, home, "faces", "search", str(photo), "--k", "4", "--camera", "p1", "--json", *CASE
    )
    assert {h["camera_id"] for h in jlines(out)} == {"p1"}
    assert audit_rows(city)[0]["action"] == "faces.search"
    rc, _, err = run(capsys, home, "faces", "search", str(photo) + ".missing", *CASE)
    assert rc == 1 and "cannot read" in err
